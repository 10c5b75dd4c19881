package walletctl_test

import (
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
)

// TestHintsAreShortAndForTheUser (issue 22 item 7): a default hint is one short sentence a wallet
// user can act on: at most two lines of an 80-column terminal after "hint: " (BANK_AUTH_FAILED's
// was 204 characters of advice to the bank's operator). The operator's side is in the docs.
func TestHintsAreShortAndForTheUser(t *testing.T) {
	for _, c := range walletctl.Codes() {
		h := walletctl.Hint(c)
		if len([]rune(h)) > 110 {
			t.Errorf("%s: the hint is %d characters: %s", c, len([]rune(h)), h)
		}
	}
	for _, operator := range []string{"--data", "restarted", "partner credentials"} {
		if h := walletctl.Hint(walletctl.CodeBankAuth); strings.Contains(h, operator) {
			t.Errorf("BANK_AUTH_FAILED's hint speaks to the bank's operator (%q): %s", operator, h)
		}
	}
}
