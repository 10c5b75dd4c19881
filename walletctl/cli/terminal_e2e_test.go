//go:build linux

package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/walletctl/walletctl/internal/ptytest"
)

// Issue 22 items 7-12 as a person sees them: the built binaries run on an 80-column
// pseudo-terminal (their stdout and stderr are the terminal, its width is what they ask), and no
// line the terminal shows may be wider than 80 columns, except a value meant to be copied whole.

// terminalEnv is a shell's environment for a process on the test terminal: no $COLUMNS, so the
// width is the terminal's; colour stays on (widths are measured without escape sequences).
func terminalEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COLUMNS=") && !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "WALLETCTL_") {
			env = append(env, kv)
		}
	}
	return env
}

// onTerminal runs bin with args on an 80-column pseudo-terminal and returns what it showed
// (escape sequences removed) and the exit code.
func onTerminal(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = terminalEnv()
	out, code := ptytest.Run(t, cmd, 80)
	return plain(out), code
}

var escapes = regexp.MustCompile("\x1b\\[[0-9;]*m")

// plain is s without colour.
func plain(s string) string { return escapes.ReplaceAllString(s, "") }

// over80 are the lines of s wider than 80 columns, but for those equal to one of except.
func over80(s string, except ...string) []string {
	var bad []string
	for _, l := range strings.Split(s, "\n") {
		if text.StringWidthWithoutEscSequences(l) > 80 && !contains1(except, l) {
			bad = append(bad, l)
		}
	}
	return bad
}

func contains1(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// unwrap joins the wrapped lines of a terminal's error output back into one line each: a line
// that starts with a space continues the one before, after one space.
func unwrap(s string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if n := len(out); n > 0 && strings.HasPrefix(l, " ") {
			out[n-1] += " " + strings.TrimLeft(l, " ")
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// TestTerminal80ErrorAndHintWrap (item 7): on a terminal an error's lines wrap to its width, at
// spaces, continuation lines under the text (after "error: ", "hint: "), a URL never split; into
// a pipe the same lines stay whole, one each (goldens, grep, CI logs).
func TestTerminal80ErrorAndHintWrap(t *testing.T) {
	home := t.TempDir()
	url := "http://127.0.0.1:1/a/path/long/enough/to/need/a/line/of/its/own"
	args := []string{"--home", home, "--backend", url, "sandbox", "init"}
	piped, _ := process(t, time.Minute, "", shellEnv(), "", args...)
	if piped.code != 2 || piped.out != "" || !strings.Contains(piped.errOut, "hint: ") {
		t.Fatalf("piped: %s", piped)
	}
	for _, l := range strings.Split(piped.errOut, "\n") {
		if strings.HasPrefix(l, " ") {
			t.Errorf("into a pipe an error line is wrapped:\n%s", piped.errOut)
		}
	}
	out, code := onTerminal(t, binary(t), args...)
	if code != 2 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if bad := over80(out); len(bad) > 0 {
		t.Errorf("%d lines wider than 80 columns, e.g.\n%s\n%s", len(bad), bad[0], out)
	}
	if !strings.Contains(out, url) {
		t.Errorf("the URL is not whole on one line:\n%s", out)
	}
	if got, want := unwrap(out), strings.TrimRight(piped.errOut, "\n"); got != want {
		t.Errorf("the terminal's lines are not the pipe's wrapped at spaces:\n%s\nunwrapped:\n%s\nwant:\n%s", out, got, want)
	}
	var label string
	wrapped := 0
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "error: "):
			label = "error: "
		case strings.HasPrefix(l, "hint: "):
			label = "hint: "
		case strings.HasPrefix(l, " "):
			wrapped++
			if indent := len(l) - len(strings.TrimLeft(l, " ")); indent != len(label) {
				t.Errorf("a continuation of %q starts at column %d, not under its text (%d):\n%s", label, indent, len(label), out)
			}
		}
	}
	if wrapped < 2 {
		t.Errorf("the long error and hint did not wrap:\n%s", out)
	}
}

// TestTerminal80Conformance (item 8): the conformance kit's report fits the terminal.
func TestTerminal80Conformance(t *testing.T) {
	bank := startServer(t, bankmockBinary(t), []string{"BANKMOCK_ADMIN_TOKEN=" + e2eBankToken}, "serve", "--addr", "127.0.0.1:0", "--quiet")
	out, code := onTerminal(t, binary(t), "conformance", "bank", "--url", bank.url, "--admin-token", e2eBankToken)
	if (code != 0 && code != 11) || !strings.Contains(out, "bank conformance of "+bank.url) || !strings.Contains(out, "│ healthz") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if bad := over80(out); len(bad) > 0 {
		t.Errorf("%d lines wider than 80 columns, e.g.\n%s\n%s", len(bad), bad[0], out)
	}
}

// TestTerminal80H5URL (item 9): an H5 order's URL is never wrapped inside a table cell: it is
// whole on a line of its own, which a copy from the terminal gives as it is.
func TestTerminal80H5URL(t *testing.T) {
	home := t.TempDir()
	succeeded(t, exe(t, home, "", "sandbox", "init", "--seed", "3", "--customers", "5"))
	var m struct {
		ID string `json:"id"`
	}
	if r := succeeded(t, exe(t, home, "", "merchant", "create", "--name", "shop", "-o", "json")); json.Unmarshal([]byte(r.out), &m) != nil || m.ID == "" {
		t.Fatalf("merchant create: %s", r)
	}
	out, code := onTerminal(t, binary(t), "--home", home, "merchant", "order", "create", "--mchid", m.ID, "--type", "h5",
		"--out-trade-no", "h5-order-0001", "--amount", "1.00", "--description", "a test order")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	var o struct {
		H5URL string `json:"h5_url"`
	}
	r := succeeded(t, exe(t, home, "", "merchant", "order", "show", "--mchid", m.ID, "--out-trade-no", "h5-order-0001", "-o", "json"))
	if json.Unmarshal([]byte(r.out), &o) != nil || !strings.HasPrefix(o.H5URL, "https://") {
		t.Fatalf("order show: %s", r)
	}
	if !contains1(strings.Split(out, "\n"), o.H5URL) {
		t.Errorf("the H5 URL %s is not whole on a line of its own:\n%s", o.H5URL, out)
	}
	if bad := over80(out, o.H5URL); len(bad) > 0 {
		t.Errorf("%d lines wider than 80 columns, e.g.\n%s\n%s", len(bad), bad[0], out)
	}
}

// TestTerminal80Help (item 10): help wraps at word boundaries: a paragraph of the description
// reads as one (no short line before a word that would have fitted on it), and a command's or
// flag's description continues under its column, in both binaries.
func TestTerminal80Help(t *testing.T) {
	for _, c := range []struct {
		bin  string
		args []string
	}{
		{binary(t), []string{"--help"}},
		{binary(t), []string{"conformance", "--help"}},
		{binary(t), []string{"conformance", "bank", "--help"}},
		{binary(t), []string{"bank", "fault", "add", "--help"}},
		{bankmockBinary(t), []string{"partner", "--help"}},
		{bankmockBinary(t), []string{"--help"}},
	} {
		out, code := onTerminal(t, c.bin, c.args...)
		what := c.bin[strings.LastIndex(c.bin, "/")+1:] + " " + strings.Join(c.args, " ")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", what, code, out)
		}
		if bad := over80(out); len(bad) > 0 {
			t.Errorf("%s: %d lines wider than 80 columns, e.g.\n%s", what, len(bad), bad[0])
		}
		for _, p := range helpProblems(out, 80) {
			t.Errorf("%s: %s\n%s", what, p, out)
		}
	}
}

// helpProblems are the ragged places of a help page: in the description (before "Usage:"), a line
// of prose followed by one whose first word would have fitted on it; in a list of commands or
// flags, a continuation line that does not start under the descriptions.
func helpProblems(out string, width int) []string {
	var bad []string
	lines := strings.Split(out, "\n")
	usage := len(lines)
	for i, l := range lines {
		if l == "Usage:" {
			usage = i
			break
		}
	}
	prose := func(l string) bool {
		return l != "" && l[0] != ' ' && !strings.Contains(l, "  ") && !strings.HasSuffix(l, ":")
	}
	for i := 1; i < usage; i++ {
		prev, l := lines[i-1], lines[i]
		if !prose(prev) || !prose(l) {
			continue
		}
		word := strings.Fields(l)[0]
		if text.StringWidthWithoutEscSequences(prev)+1+text.StringWidthWithoutEscSequences(word) < width {
			bad = append(bad, "ragged description: "+strings.TrimSpace(word)+" would fit on "+prev)
		}
	}
	col, commands := -1, false
	for _, l := range lines[usage:] {
		switch {
		case strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " "): // a section
			col, commands = -1, strings.HasSuffix(l, "Commands:")
		case strings.HasPrefix(l, "  ") && strings.TrimSpace(l) != "":
			indent := len(l) - len(strings.TrimLeft(l, " "))
			if m := regexp.MustCompile(`^(\s+\S.*?\s\s+)\S`).FindStringSubmatch(l); m != nil && col < 0 {
				col = len(m[1])
			}
			// An entry starts at the list's indent (2 or 6 for a flag without a short form);
			// anything deeper continues the entry above and must start under its text.
			if indent > 6 && col > 0 && indent != col {
				bad = append(bad, "a continuation at column "+itoa(indent)+", not under the descriptions at "+itoa(col)+": "+l)
			}
			// In a list of commands an entry is one name, then its description at the column.
			if commands && indent == 2 && col > 0 && (len(l) <= col || strings.Contains(strings.TrimSpace(l[:col]), " ") || l[col-1] != ' ') {
				bad = append(bad, "not a command entry with its description at column "+itoa(col)+": "+l)
			}
		}
	}
	return bad
}

// TestTerminal80TxListSaysWide (item 11): when tx list leaves columns out to fit the terminal,
// stderr says which and that --wide shows them; not with --wide, and never into a pipe.
func TestTerminal80TxListSaysWide(t *testing.T) {
	home := t.TempDir()
	succeeded(t, exe(t, home, "", "sandbox", "init", "--seed", "3", "--customers", "5"))
	succeeded(t, exe(t, home, "", "flow", "open-wallet"))
	out, code := onTerminal(t, binary(t), "--home", home, "--as", "u1", "tx", "list")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	m := regexp.MustCompile(`\n\(([A-Z, ]+) hidden at 80 columns: --wide shows them\)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("tx list does not say which columns it left out:\n%s", out)
	}
	header := strings.SplitN(out, "\n", 3)[1]
	for _, col := range strings.Split(m[1], ", ") {
		if strings.Contains(header, " "+col+" ") {
			t.Errorf("%s is said hidden but shown:\n%s", col, out)
		}
	}
	if bad := over80(out); len(bad) > 0 {
		t.Errorf("%d lines wider than 80 columns, e.g.\n%s", len(bad), bad[0])
	}
	if out, _ := onTerminal(t, binary(t), "--home", home, "--as", "u1", "tx", "list", "--wide"); strings.Contains(out, "hidden at") {
		t.Errorf("tx list --wide hides nothing:\n%s", out)
	}
	if r := succeeded(t, exe(t, home, "", "--as", "u1", "tx", "list")); strings.Contains(r.errOut, "hidden") {
		t.Errorf("into a pipe: %s", r)
	}
}

// TestTerminal80PasswordRefusedFirst (item 12): password set refuses a malformed or weak first
// entry before it asks "Repeat it:".
func TestTerminal80PasswordRefusedFirst(t *testing.T) {
	home := t.TempDir()
	succeeded(t, exe(t, home, "", "sandbox", "init", "--seed", "3", "--customers", "5"))
	succeeded(t, exe(t, home, "", "user", "register", "--phone", "13800138000"))
	for pw, code := range map[string]string{"12": "PASSWORD_FORMAT", "111111": "PASSWORD_WEAK"} {
		cmd := exec.Command(binary(t), "--home", home, "--as", "u1", "password", "set")
		cmd.Env = terminalEnv()
		term := ptytest.Start(t, cmd, 80, 24)
		term.WaitFor(time.Minute, "New 6-digit payment password: ")
		term.WaitNoEcho(time.Minute)
		term.Type(pw + "\n")
		if seen := term.WaitFor(time.Minute, "Repeat it:"); seen != "" {
			t.Errorf("%s: asked again before refusing it:\n%s", pw, term.Output())
			continue
		}
		out, exit := term.Wait(time.Minute)
		if out = plain(out); exit != 2 || !strings.Contains(out, "error: "+code+": ") || (len(pw) == 6 && strings.Contains(out, pw)) {
			t.Errorf("%s: exit %d, want 2 with %s (and the password never shown):\n%s", pw, exit, code, out)
		}
	}
}

// TestMakeRunLinesFit80 (item 11): what `make run` prints to go on from fits 80 columns.
func TestMakeRunLinesFit80(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"$(BIN)": "bin", "$(RUN_HOME)": ".walletctl"}
	in, n := false, 0
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "run:"):
			in = true
		case in && !strings.HasPrefix(l, "\t"):
			in = false
		case in && strings.HasPrefix(l, "\t@echo "):
			s := strings.Trim(strings.TrimPrefix(l, "\t@echo "), `"`)
			for k, v := range vars {
				s = strings.ReplaceAll(s, k, v)
			}
			n++
			if w := text.StringWidth(s); w > 80 {
				t.Errorf("make run prints a line of %d columns:\n%s", w, s)
			}
		}
	}
	if n < 3 {
		t.Fatalf("found %d echo lines in the run target", n)
	}
}
