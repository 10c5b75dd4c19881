package walletctl

import (
	"strings"

	"github.com/walletctl/walletctl/cnid"
)

// SixDigits says whether s is exactly 6 ASCII digits (full-width digits and spaces are not): a
// payment password or a bank SMS code.
func SixDigits(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CheckPasswordFormat refuses what cannot be a payment password (exactly 6 ASCII digits):
// PASSWORD_FORMAT.
func CheckPasswordFormat(pw string) error {
	if len(pw) != 6 {
		return Errorf(CodePasswordFormat, "the payment password must be exactly 6 digits")
	}
	if !SixDigits(pw) {
		return Errorf(CodePasswordFormat, "the payment password must be exactly 6 digits (0-9 only)")
	}
	return nil
}

// CheckPassword is the rule of a new payment password, the engine's and the prompts': the
// format (PASSWORD_FORMAT), then weakness (PASSWORD_WEAK). idNo is the holder's resident ID, for
// the birth-date rule; "" (a client that does not know it) checks the rest, and the engine checks
// it all again with the ID it holds.
func CheckPassword(pw, idNo string) error {
	if err := CheckPasswordFormat(pw); err != nil {
		return err
	}
	if why := weakReason(pw, idNo); why != "" {
		return Errorf(CodePasswordWeak, "this payment password is too easy to guess: %s", why)
	}
	return nil
}

// weakReason says why pw is weak, or "". Refused: one digit repeated; ascending or descending
// runs (123456, 654321); a repeated pair or triple (121212, 123123); the birth date in the ID as
// YYMMDD, MMDDYY or DDMMYY, or containing its MMDD.
func weakReason(pw, idNo string) string {
	same, up, down := true, true, true
	for i := 1; i < len(pw); i++ {
		d := int(pw[i]) - int(pw[i-1])
		same = same && d == 0
		up = up && d == 1
		down = down && d == -1
	}
	switch {
	case same:
		return "one digit repeated"
	case up:
		return "an ascending run"
	case down:
		return "a descending run"
	case pw[0:2] == pw[2:4] && pw[2:4] == pw[4:6]:
		return "a repeated pair"
	case pw[0:3] == pw[3:6]:
		return "a repeated triple"
	}
	if b := cnid.BirthDate(idNo); len(b) == 8 {
		yy, mm, dd := b[2:4], b[4:6], b[6:8]
		for _, p := range []string{yy + mm + dd, mm + dd + yy, dd + mm + yy} {
			if pw == p {
				return "the birth date in the ID"
			}
		}
		if strings.Contains(pw, mm+dd) {
			return "it contains the birthday in the ID"
		}
	}
	return ""
}
