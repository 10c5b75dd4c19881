package walletctl_test

import (
	"testing"

	"github.com/walletctl/walletctl/walletctl"
)

// CheckPassword is the one rule of a new payment password (the engine's and the CLI prompts'):
// the format first, then weakness, the birth date only when the ID is known.
func TestCheckPassword(t *testing.T) {
	const id = "110105198503071230" // born 1985-03-07
	for _, c := range []struct {
		pw, id, code string
	}{
		{"258036", id, ""},
		{"12", "", walletctl.CodePasswordFormat},
		{"１２３４５６", "", walletctl.CodePasswordFormat},
		{"111111", "", walletctl.CodePasswordWeak},
		{"123456", "", walletctl.CodePasswordWeak},
		{"121212", "", walletctl.CodePasswordWeak},
		{"850307", id, walletctl.CodePasswordWeak},
		{"850307", "", ""}, // the ID unknown: the engine checks the birth date
	} {
		if got := walletctl.ErrorCode(walletctl.CheckPassword(c.pw, c.id)); got != c.code {
			t.Errorf("CheckPassword(%q, %q) = %q, want %q", c.pw, c.id, got, c.code)
		}
	}
}
