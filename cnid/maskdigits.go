package cnid

import (
	"strings"
)

// MaskDigits masks every card-number-like run (12 or more ASCII digits) and resident ID (17
// digits and an X) in s, for logs: /admin/customers/6222021234567890123 becomes
// /admin/customers/622202*********0123. Shorter numbers (amounts, dates, phones) pass.
func MaskDigits(s string) string {
	if !hasLongDigitRun(s) {
		return s // the common case allocates nothing
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		switch n := j - i; {
		case n == 17 && j < len(s) && (s[j] == 'X' || s[j] == 'x'):
			b.WriteString(MaskID(s[i : j+1]))
			j++
		case n >= 12:
			b.WriteString(MaskCard(s[i:j]))
		default:
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

func hasLongDigitRun(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			run++
			if run >= 12 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
