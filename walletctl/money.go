package walletctl

import (
	"fmt"
	"math"

	"github.com/walletctl/walletctl/bankapi"
)

// MaxAmount is the largest amount, in fen, that one command may move: the bank's maximum
// (bankapi.MaxAmount, 100,000,000,000.00 CNY).
const MaxAmount = bankapi.MaxAmount

// TooLarge is the INVALID_AMOUNT error of an amount above MaxAmount (what is a string, as typed,
// or the amount in fen formatted as yuan).
func TooLarge(what string) *Error {
	return &Error{Code: CodeInvalidAmount,
		Message: fmt.Sprintf("invalid amount %s: more than the most one payment may move, %s CNY", what, FormatAmount(MaxAmount)),
		Hint:    "amounts are at most " + FormatAmount(MaxAmount) + " yuan (the bank's limit); split a larger sum",
		Details: map[string]any{"max_amount": MaxAmount}}
}

// ParseAmount turns what a user types in yuan ("12", "12.5", "12.50") into fen. It refuses more
// than two decimals, zero, negatives, signs, spaces, non-ASCII digits, overflow and amounts
// above MaxAmount.
func ParseAmount(s string) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, &Error{Code: CodeInvalidAmount, Message: fmt.Sprintf("invalid amount %q: %s", s, why), Hint: Hint(CodeInvalidAmount)}
	}
	if s == "" {
		return bad("empty")
	}
	var yuan, fen int64
	decimals := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if decimals >= 0 {
				return bad("more than one decimal point")
			}
			if i == 0 {
				return bad("no digit before the decimal point")
			}
			decimals = 0
		case c >= '0' && c <= '9':
			d := int64(c - '0')
			if decimals >= 0 {
				decimals++
				if decimals > 2 {
					return bad("more than two decimals (the smallest unit is 0.01 yuan)")
				}
				fen = fen*10 + d
				continue
			}
			if yuan > (math.MaxInt64/100-d)/10 {
				return 0, TooLarge(fmt.Sprintf("%q", s))
			}
			yuan = yuan*10 + d
		case c == '-':
			return bad("negative amounts are not allowed")
		default:
			return bad("only ASCII digits and one decimal point are allowed")
		}
	}
	if decimals == 0 {
		return bad("no digit after the decimal point")
	}
	if decimals == 1 {
		fen *= 10
	}
	if yuan > (math.MaxInt64-fen)/100 {
		return 0, TooLarge(fmt.Sprintf("%q", s))
	}
	total := yuan*100 + fen
	if total == 0 {
		return bad("must be more than zero")
	}
	if total > MaxAmount {
		return 0, TooLarge(fmt.Sprintf("%q", s))
	}
	return total, nil
}

// FormatAmount renders fen as yuan with two decimals: 1250 -> "12.50".
func FormatAmount(fen int64) string {
	sign := ""
	if fen < 0 {
		sign = "-"
		fen = -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}
