package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
)

// fuzzUnsafe are flags the harness strips: they would point the command outside its temp sandbox
// (another home, a server somewhere on the network, a report file anywhere) or make one execution
// build a world of millions of customers; without --data, serve stops at once instead of listening.
// Everything else goes through unchanged.
var fuzzUnsafe = []string{"--home", "--bank", "--backend", "--junit", "--customers", "--golden", "--data", "--addr"}

// fuzzArgs splits the fuzz string into an argument vector (on NUL if it has one, else on spaces)
// and drops what fuzzUnsafe names, with the value of a separated flag, and absolute or parent paths.
func fuzzArgs(s string) []string {
	var words []string
	if strings.Contains(s, "\x00") {
		words = strings.Split(s, "\x00")
	} else {
		words = strings.Fields(s)
	}
	out := make([]string, 0, len(words))
	for i := 0; i < len(words); i++ {
		w := words[i]
		unsafe := false
		for _, p := range fuzzUnsafe {
			if strings.HasPrefix(w, p) {
				unsafe = true
				if w == p {
					i++ // its value
				}
			}
		}
		if unsafe || strings.HasPrefix(w, "/") || strings.Contains(w, "..") || strings.HasPrefix(w, "~") {
			continue
		}
		out = append(out, w)
	}
	return out
}

var (
	errLine   = regexp.MustCompile(`(?m)^error: ([A-Z_]+): `)
	knownCode = func() map[string]bool {
		m := map[string]bool{}
		for _, c := range walletctl.Codes() {
			m[c] = true
		}
		return m
	}()
)

// fuzzTemplate is a sandbox made once per process and copied for every execution: a fresh home
// per input, without paying for sandbox init each time.
func fuzzTemplate(f *testing.F) string {
	tpl := filepath.Join(f.TempDir(), "tpl")
	for _, args := range [][]string{
		{"sandbox", "init", "--seed", "3", "--customers", "5"},
		{"user", "register", "--phone", "13900000001"},
		{"user", "register", "--phone", "13900000002"},
	} {
		var out, errOut bytes.Buffer
		if code := cli.Run(context.Background(), append([]string{"--home", tpl}, args...),
			&cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, fuzzEnv); code != 0 {
			f.Fatalf("template %v: exit %d: %s", args, code, errOut.String())
		}
	}
	return tpl
}

func fuzzEnv(k string) string {
	if k == "NO_COLOR" {
		return "1"
	}
	return ""
}

// FuzzCLIArgs runs arbitrary argument vectors through cli.Run on a copy of a real sandbox:
// never a panic; the exit code is one of the table's (0 and 2..10; 1 is INTERNAL, a bug); a failure
// prints "error: CODE: ..." (or the JSON error body with -o json) with a code from the table; and
// the sandbox is never left half-written: `sandbox status` still succeeds afterwards.
func FuzzCLIArgs(f *testing.F) {
	for _, s := range []string{
		"", "balance", "--as u1 balance", "--as 13900000001 balance -o json", "user list", "user show",
		"--as u1 kyc submit --name 张伟 --id 110105198503071230",
		"--as u1 kyc submit --name x --id 11010519491231002Y",
		"--as u1 card bind --card 6222020000000000018 --phone 13800138000",
		"--as u1 card bind --card 6222020000000000019", "--as u1 card confirm --binding b1 --otp 000000",
		"--as u1 topup --card c1 --amount 12.505 --password-stdin",
		"--as u1 pay --merchant m-cafe --amount -1", "--as u1 pay --merchant m-cafe --amount １０",
		"--as u1 pay --merchant m-cafe --amount 99999999999999999999",
		"--as u1 transfer --to u2 --amount 1 --delay 3h", "--as u1 transfer accept t9", "tx show x",
		"--as u1 password set --password-stdin", "--as u1 password reset --name a --id b --card c",
		"bank customers -o json", "bank fault add drop_after;op=debit", "bank fault add --kind nope",
		"bank fault list", "bank fault clear", "bank otp --phone 1", "bank journal --last -3",
		"clock advance 25h", "clock advance -1h", "clock advance forever", "clock show",
		"user set-status frozen", "--as u2 user set-status restricted", "reconcile --date 2026-02-30",
		"sandbox reset", "sandbox init", "sandbox init --force --seed -9", "sandbox status -o yaml",
		"merchant list", "security log", "codes", "help codes", "help nothing", "version",
		"completion bash", "completion nushell", "nosuchcommand", "--as", "-o", "--no-color=maybe",
		"--as\x00u1\x00kyc\x00submit\x00--name\x00\x00--id\x00 ", "pay\x00--amount\x00\x00",
		"flow open-wallet", "scenario list", "__complete --as ''", "user register --phone 13900000001",
	} {
		f.Add(s)
	}
	tpl := fuzzTemplate(f)
	f.Fuzz(func(t *testing.T, s string) {
		home := filepath.Join(t.TempDir(), "home")
		if err := os.CopyFS(home, os.DirFS(tpl)); err != nil {
			t.Fatal(err)
		}
		t.Chdir(t.TempDir()) // relative paths (scenario run, its goldens) land in a temp dir
		args := append([]string{"--home", home}, fuzzArgs(s)...)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var out, errOut bytes.Buffer
		code := cli.Run(ctx, args, &cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, fuzzEnv)
		if code < 0 || code > 10 || code == 1 {
			t.Fatalf("%q: exit %d\nstderr: %s", args, code, errOut.String())
		}
		if code != 0 {
			es := errOut.String()
			var jb struct {
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			c := ""
			if m := errLine.FindStringSubmatch(es); m != nil {
				c = m[1]
			} else if json.Unmarshal([]byte(es), &jb) == nil {
				c = jb.Error.Code
			}
			if !knownCode[c] {
				t.Fatalf("%q: exit %d with no known code on stderr: %q", args, code, es)
			}
			if cli.ExitCode(c) != code {
				t.Fatalf("%q: exit %d but code %s maps to %d", args, code, c, cli.ExitCode(c))
			}
		}
		var sOut, sErr bytes.Buffer
		if sc := cli.Run(context.Background(), []string{"--home", home, "sandbox", "status"},
			&cli.IOStreams{In: strings.NewReader(""), Out: &sOut, ErrOut: &sErr}, fuzzEnv); sc != 0 {
			t.Fatalf("after %q the sandbox no longer opens: exit %d: %s", args, sc, sErr.String())
		}
	})
}

// TestSandboxInitCustomersBounded: a huge --customers is refused before anything is built (found
// while writing FuzzCLIArgs: it used to try to generate them all).
func TestSandboxInitCustomersBounded(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	for _, n := range []string{"100001", "2147483647", "-1"} {
		var out, errOut bytes.Buffer
		code := cli.Run(context.Background(), []string{"--home", home, "sandbox", "init", "--customers", n},
			&cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, fuzzEnv)
		if code != 2 || !strings.Contains(errOut.String(), "INVALID_ARGUMENT") {
			t.Errorf("--customers %s: exit %d %q, want 2 INVALID_ARGUMENT", n, code, errOut.String())
		}
		if _, err := os.Stat(filepath.Join(home, "sandbox.json")); err == nil {
			t.Errorf("--customers %s left a sandbox behind", n)
		}
	}
}
