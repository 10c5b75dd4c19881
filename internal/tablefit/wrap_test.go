package tablefit

import (
	"strings"
	"testing"
)

// A paragraph written at 100 columns reads as one at 80: filled again, not cut line by line
// into long and short lines; indented lines and "Label:  value" lines stay as written.
func TestReflowFillsParagraphs(t *testing.T) {
	long := "A partner is one caller of the bank (a wallet sandbox, a walletctl serve tenant, a CI job) with its own\n" +
		"key, sent as Authorization: Bearer <key>. Its idempotency keys, bindings, agreements, transactions,\n" +
		"statements, journal, OTP reads and fault rules are its own.\n\n" +
		"Start with:  walletctl flow open-wallet\nError codes:  walletctl codes\n\n  indented line one\n  indented line two"
	got := Reflow(long, 80)
	want := "A partner is one caller of the bank (a wallet sandbox, a walletctl serve\n" +
		"tenant, a CI job) with its own key, sent as Authorization: Bearer <key>. Its\n" +
		"idempotency keys, bindings, agreements, transactions, statements, journal, OTP\n" +
		"reads and fault rules are its own.\n\n" +
		"Start with:  walletctl flow open-wallet\nError codes:  walletctl codes\n\n  indented line one\n  indented line two"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if Reflow(long, 120) != long {
		t.Error("a text that fits is left as written")
	}
}

// A command list's entry whose name fills the name column (one space before its description)
// continues under the descriptions, as its neighbours do.
func TestWrapTextContinuesUnderTheColumn(t *testing.T) {
	s := "  completion  Generate the autocompletion script for the specified shell\n" +
		"  conformance Check a bank-adapter, wallet API or merchant notification receiver against the protocol\n" +
		"  flow        Whole journeys in one command"
	got := WrapText(s, 80)
	want := "  completion  Generate the autocompletion script for the specified shell\n" +
		"  conformance Check a bank-adapter, wallet API or merchant notification\n" +
		"              receiver against the protocol\n" +
		"  flow        Whole journeys in one command"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// A word is never broken: a URL longer than the room stays whole on a line of its own.
func TestWrapHangingKeepsWords(t *testing.T) {
	url := "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2026010509000012345678&package=1"
	got := WrapHanging("hint: open "+url+" in a browser to pay", 80, 6)
	want := "hint: open\n      " + url + "\n      in a browser to pay"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// An example's command line breaks at a space outside quotes with a shell continuation, so that
// it still pastes as one command.
func TestWrapCommandsContinue(t *testing.T) {
	s := `  walletctl conformance bank --url https://bank.example --admin-token "$BANK ADMIN TOKEN" -o json`
	got := WrapCommands(s, 60)
	want := "  walletctl conformance bank --url https://bank.example \\\n" +
		`    --admin-token "$BANK ADMIN TOKEN" -o json`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, l := range strings.Split(got, "\n") {
		if LineWidth(l) > 60 {
			t.Errorf("wider than 60: %s", l)
		}
	}
}
