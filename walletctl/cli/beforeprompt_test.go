package cli_test

import (
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl/cli"
)

// TestChecksBeforeThePrompt: what needs no secret (unknown merchant or card, more than the
// balance, no password set) fails before the password prompt, at a terminal.
func TestChecksBeforeThePrompt(t *testing.T) {
	w := newWorld(t, false)
	user, card := w.openWallet(1)
	tty := func(args ...string) result {
		return w.runIO(&cli.IOStreams{In: strings.NewReader(cli.SandboxPassword + "\n"), InTTY: true}, args...)
	}
	payee, _ := w.openWallet(2)
	fresh := strings.TrimSpace(w.ok("user", "register", "--phone", "13900000077").out)
	for _, c := range []struct {
		code string
		exit int
		args []string
	}{
		{"NOT_FOUND", 3, []string{"--as", user, "pay", "--merchant", "m-nosuch", "--amount", "1"}},
		{"NOT_FOUND", 3, []string{"--as", user, "pay", "--merchant", "m-cinema", "--amount", "1", "--source", "card:c99"}},
		{"NOT_FOUND", 3, []string{"--as", user, "topup", "--card", "c99", "--amount", "1"}},
		{"NOT_FOUND", 3, []string{"--as", user, "withdraw", "--card", "c99", "--amount", "1"}},
		{"INSUFFICIENT_BALANCE", 6, []string{"--as", user, "pay", "--merchant", "m-cinema", "--amount", "999999"}},
		{"INSUFFICIENT_BALANCE", 6, []string{"--as", user, "withdraw", "--card", card, "--amount", "999999"}},
		{"INSUFFICIENT_BALANCE", 6, []string{"--as", user, "transfer", "--to", payee, "--amount", "999999"}},
		{"PASSWORD_NOT_SET", 5, []string{"--as", fresh, "pay", "--merchant", "m-cinema", "--amount", "1"}},
	} {
		r := tty(c.args...)
		if r.code != c.exit || !strings.Contains(r.errOut, "error: "+c.code+": ") {
			t.Errorf("%v: want %s (exit %d): %s", c.args, c.code, c.exit, r)
		}
		if strings.Contains(r.errOut, "password:") {
			t.Errorf("%v: asked for the password before failing: %s", c.args, r)
		}
	}
	// Sanity: a movement that can happen does ask.
	if r := tty("--as", user, "topup", "--card", card, "--amount", "1"); r.code != 0 || !strings.Contains(r.errOut, "Payment password:") {
		t.Fatalf("topup at a terminal: %s", r)
	}
}

// TestMalformedPasswordIsFormatNotAttempt: at pay, top-up, withdraw and transfer time, what cannot
// be a password is PASSWORD_FORMAT (exit 2), however often: the lock is never reached and the
// right password still works.
func TestMalformedPasswordIsFormatNotAttempt(t *testing.T) {
	w := newWorld(t, false)
	user, card := w.openWallet(1)
	payee, _ := w.openWallet(2)
	w.okIn(cli.SandboxPassword+"\n", "--as", user, "topup", "--card", card, "--amount", "100", "--password-stdin")
	moves := [][]string{
		{"--as", user, "topup", "--card", card, "--amount", "1", "--password-stdin"},
		{"--as", user, "withdraw", "--card", card, "--amount", "1", "--password-stdin"},
		{"--as", user, "pay", "--merchant", "m-cinema", "--amount", "1", "--password-stdin"},
		{"--as", user, "transfer", "--to", payee, "--amount", "1", "--password-stdin"},
	}
	for _, bad := range []string{"12345", "abcdef", "１２３４５６", "12 456", " 135790", "1234567"} {
		for _, m := range moves {
			r := w.fail(bad+"\n", "PASSWORD_FORMAT", 2, m...)
			if strings.Contains(r.errOut, "attempt") {
				t.Fatalf("%q: %s", bad, r)
			}
		}
	}
	r := w.run("", "--as", user, "-o", "json", "security", "log")
	if strings.Contains(r.out, "password_wrong") || strings.Contains(r.out, "password_locked") {
		t.Fatalf("malformed passwords were counted: %s", r.out)
	}
	for _, m := range moves {
		w.okIn(cli.SandboxPassword+"\n", m...)
	}
}
