package cli_test

import (
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl/cli"
)

// tooWide returns the lines of s wider than width terminal columns (Chinese names take two).
func tooWide(s string, width int) []string {
	var bad []string
	for _, l := range strings.Split(s, "\n") {
		if runewidth.StringWidth(l) > width {
			bad = append(bad, l)
		}
	}
	return bad
}

// notRendered are the commands TestEveryTableFits80Columns does not run, each with why.
var notRendered = map[string]string{
	"chaos":                 "a long random run; prints a report of lines, not tables",
	"completion bash":       "a shell script",
	"completion fish":       "a shell script",
	"completion powershell": "a shell script",
	"completion zsh":        "a shell script",
	"conformance bank":      "needs a bank server; its report is conformance's own (walletctl/conformance)",
	"conformance wallet":    "needs a wallet server; its report is conformance's own (walletctl/conformance)",
	"conformance merchant":  "needs a notification receiver; its report is conformance's own (walletctl/conformance)",
	"scenario run":          "prints transcripts and PASS/FAIL lines, not tables",
	"serve":                 "a server: prints its URL",
	"sandbox reset":         "prints the same status table as sandbox init, run here",
	"help":                  "help of every command is TestEveryHelpLineFits80Columns",
	"password reset":        "step 1 prints one line; covered by the prompt tests",
	"transfer cancel":       "prints the transfer record, as transfer does, run here",
	"user set-status":       "prints one line",
	"card unbind":           "prints one line",
	"bank fault delete":     "prints one line",
	"bank fault clear":      "prints one line",
	"bank otp":              "prints the code",
	"password set":          "prints one line",
}

// leaves are the commands of the tree that do something: every command without subcommands,
// and transfer (which sends one).
func leaves() []string {
	var out []string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if len(path) > 0 && (!c.HasSubCommands() || c.Name() == "transfer") && !strings.HasPrefix(c.Name(), "__") {
			out = append(out, strings.Join(path, " "))
		}
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(cli.CommandTree(), nil)
	return out
}

// TestEveryTableFits80Columns renders every command that prints a table, on a sandbox with a
// user of every kind of record (cards, top-up, payment, withdrawal, transfers in and out, fault
// rules, a journal with a fired fault), with stdout not a terminal and COLUMNS unset: no line may
// be wider than 80 columns. --wide still shows every column, and -o json every field.
func TestEveryTableFits80Columns(t *testing.T) {
	w := &world{t: t, home: t.TempDir(), env: map[string]string{}}
	ran := map[string]bool{}
	check := func(stdin string, args ...string) result {
		t.Helper()
		r := w.run(stdin, args...)
		if r.code != 0 {
			t.Fatalf("walletctl %s: %s", strings.Join(args, " "), r)
		}
		if bad := tooWide(r.out, 80); len(bad) > 0 {
			t.Errorf("walletctl %s: %d lines wider than 80 columns, e.g.\n%s\n%s", strings.Join(args, " "), len(bad), bad[0], r.out)
		}
		if strings.Contains(r.out, "(none)") {
			t.Errorf("walletctl %s: an empty table proves nothing:\n%s", strings.Join(args, " "), r.out)
		}
		var words []string
		for len(args) > 1 && args[0] == "--as" {
			args = args[2:]
		}
		for _, a := range args {
			if strings.HasPrefix(a, "-") {
				break
			}
			words = append(words, a)
		}
		for i := len(words); i > 0; i-- {
			ran[strings.Join(words[:i], " ")] = true
		}
		return r
	}
	const pw = "135790\n"
	check("", "sandbox", "init", "--seed", "7", "--customers", "30")
	check("", "flow", "open-wallet", "--seed-customer", "1")
	u2, _ := w.openWallet(2)
	ok := testCard(t, "ok")
	u3 := strings.TrimSpace(check("", "user", "register", "--phone", ok.Phone).out)
	check("", "--as", u3, "kyc", "submit", "--name", ok.Name, "--id", ok.IDNo)
	var b struct {
		BindingID string `json:"binding_id"`
	}
	check("", "--as", u3, "card", "bind", "--card", ok.CardNo, "--phone", ok.Phone)
	w.jsonOf(&b, "", "--as", u3, "card", "bind", "--card", ok.CardNo, "--phone", ok.Phone)
	check("", "--as", u3, "card", "confirm", "--binding", b.BindingID, "--otp", w.otp(ok.Phone))
	w.okIn(pw+pw, "--as", u3, "password", "set", "--password-stdin")
	check("", "bank", "fault", "add", "delay;op=debit;delay=1ms;card="+ok.CardNo)
	check("", "bank", "fault", "add", "--kind", "refuse", "--op", "credit", "--min-amount", "900000", "--bank", "ICBC")
	check(pw, "--as", u3, "topup", "--card", "c3", "--amount", "200", "--password-stdin")
	check(pw, "--as", u3, "pay", "--merchant", "m-cafe", "--amount", "12.50", "--password-stdin")
	check(pw, "--as", u3, "withdraw", "--card", "c3", "--amount", "3", "--password-stdin")
	check(pw, "--as", u3, "transfer", "--to", u2, "--amount", "10", "--password-stdin")
	check(pw, "--as", u3, "transfer", "--to", u2, "--amount", "5", "--delay", "2h", "--password-stdin")
	check(pw, "--as", u3, "transfer", "--to", u2, "--amount", "6", "--password-stdin")
	var trs []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	w.jsonOf(&trs, "", "--as", u2, "transfer", "list")
	check("", "--as", u2, "transfer", "accept", trs[0].ID)
	for _, args := range [][]string{
		{"--as", u3, "tx", "list"}, {"--as", u2, "tx", "list"}, {"--as", u3, "tx", "show", trs[0].ID},
		{"--as", u3, "tx", "show", "t3"}, {"--as", u2, "transfer", "list"}, {"--as", u3, "card", "list"},
		{"--as", u3, "user", "show"}, {"--as", u3, "kyc", "status"}, {"--as", u3, "balance"},
		{"--as", u3, "security", "log"}, {"user", "list"}, {"merchant", "list"}, {"bank", "cards"},
		{"bank", "customers"}, {"bank", "fault", "list"}, {"bank", "journal"}, {"codes"},
		{"sandbox", "status"}, {"sandbox", "settings"}, {"sandbox", "check"}, {"clock", "show"}, {"clock", "advance", "1h"},
		{"reconcile"}, {"version"}, {"scenario", "list", "../../scenarios"},
		{"scenario", "coverage", "../../scenarios"},
	} {
		check("", args...)
	}

	for _, c := range leaves() {
		if !ran[c] && notRendered[c] == "" {
			t.Errorf("walletctl %s: neither rendered here nor listed in notRendered with a reason", c)
		}
	}

	// What a narrow table leaves out is in --wide and in -o json.
	if r := w.ok("--as", u3, "tx", "list", "--wide"); len(tooWide(r.out, 80)) == 0 || !strings.Contains(r.out, "SOURCE") {
		t.Errorf("tx list --wide shows every column, wider than 80:\n%s", r.out)
	}
	var txns []map[string]any
	w.jsonOf(&txns, "", "--as", u3, "tx", "list")
	for _, k := range []string{"created_at", "source", "direction"} {
		if _, ok := txns[0][k]; !ok {
			t.Errorf("tx list -o json lacks %s: %v", k, txns[0])
		}
	}
	// A wider terminal ($COLUMNS) gets more columns.
	w.env["COLUMNS"] = "200"
	if r := w.ok("--as", u3, "tx", "list"); !strings.Contains(r.out, "TIME") || len(tooWide(r.out, 80)) == 0 {
		t.Errorf("COLUMNS=200: tx list keeps its columns:\n%s", r.out)
	}
	if r := w.ok("bank", "journal"); len(tooWide(r.out, 200)) > 0 {
		t.Errorf("COLUMNS=200: bank journal fits 200:\n%s", r.out)
	}
}

// TestEveryHelpLineFits80Columns: the help of every command (flag descriptions included)
// wraps at 80 columns.
func TestEveryHelpLineFits80Columns(t *testing.T) {
	home := t.TempDir()
	for _, c := range append(leaves(), "", "bank", "card", "tx", "sandbox", "scenario", "transfer") {
		args := append(strings.Fields(c), "--help")
		r := runIn(home, "", nil, args...)
		if r.code != 0 {
			t.Fatalf("walletctl %s: %s", strings.Join(args, " "), r)
		}
		if bad := tooWide(r.out, 80); len(bad) > 0 {
			t.Errorf("walletctl %s: %d lines wider than 80 columns, e.g.\n%s", strings.Join(args, " "), len(bad), bad[0])
		}
	}
}
