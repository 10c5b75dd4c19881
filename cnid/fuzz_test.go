package cnid

import (
	"math/rand/v2"
	"testing"
	"time"
)

// fuzzNow is a fixed "today" for the birth-date bound, so a fuzz run never depends on the wall clock.
var fuzzNow = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// independentIDCheck recomputes ISO 7064 MOD 11-2 the textbook way, without the package's weight
// table: weight of position i (0-based, 18 positions) is 2^(17-i) mod 11, and the whole 18-character
// number, with X = 10, must sum to 1 mod 11.
func independentIDCheck(id string) bool {
	if len(id) != 18 {
		return false
	}
	sum := 0
	w := 1 // 2^0 for the check character; doubles (mod 11) moving left
	for i := 17; i >= 0; i-- {
		c := id[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case i == 17 && (c == 'X' || c == 'x'):
			v = 10
		default:
			return false
		}
		sum += v * w
		w = w * 2 % 11
	}
	return sum%11 == 1
}

// independentDate checks YYYYMMDD with its own calendar arithmetic (not time.Parse).
func independentDate(s string) (y, m, d int, ok bool) {
	for i := 0; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, 0, 0, false
		}
	}
	atoi := func(b string) int {
		n := 0
		for i := 0; i < len(b); i++ {
			n = n*10 + int(b[i]-'0')
		}
		return n
	}
	y, m, d = atoi(s[:4]), atoi(s[4:6]), atoi(s[6:8])
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days[2] = 29
	}
	return y, m, d, m >= 1 && m <= 12 && d >= 1 && d <= days[m]
}

// provinceCodes are the GB/T 2260 province-level codes, written out again rather than read from
// Provinces so that a typo there shows up here.
var provinceCodes = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true, "21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
}

// FuzzValidateResidentID: arbitrary strings never panic and anything accepted really is a resident
// ID; an ID from the generator is accepted, and with any single character changed it is rejected.
func FuzzValidateResidentID(f *testing.F) {
	for _, s := range []string{
		"11010519491231002X", "11010519491231002x", "110105194912310021", "440524188001010014",
		"99010519491231002X", "11010519491331002X", "1101051949123100", "11010520300101002X",
		"１10105194912310021", "1101051949123100A2", "", "X", "000000000000000000",
		"11010520000229001X", "110105190002290011", "11010519491231002Ｘ", "\x00\xff",
	} {
		f.Add(s, uint64(1), uint8(0), uint8(1))
	}
	f.Add("33010619880520135X", uint64(42), uint8(17), uint8(5))
	f.Add("310104199008151247", uint64(7), uint8(9), uint8(9))
	f.Fuzz(func(t *testing.T, s string, seed uint64, pos, delta uint8) {
		err := ValidateResidentID(s, fuzzNow)
		if err == nil {
			if !independentIDCheck(s) {
				t.Fatalf("accepted %q whose MOD 11-2 check fails", s)
			}
			if !provinceCodes[s[:2]] {
				t.Fatalf("accepted %q with province %q", s, s[:2])
			}
			y, m, d, ok := independentDate(s[6:14])
			if !ok || y < 1900 || time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).After(fuzzNow) {
				t.Fatalf("accepted %q with birth date %s", s, s[6:14])
			}
		} else if err.Error() == "" {
			t.Fatalf("rejection of %q has an empty message", s)
		}

		// Generated IDs: valid, and every single-character substitution is caught (MOD 11-2 detects
		// all of them because every weight is non-zero mod the prime 11).
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		id := ResidentID(r, seed%2 == 0)
		if err := ValidateResidentID(id, fuzzNow); err != nil || !independentIDCheck(id) {
			t.Fatalf("generated %q rejected: %v", id, err)
		}
		i := int(pos) % 18
		b := []byte(id)
		const alphabet = "0123456789X" // 11 symbols; the last position may be X
		n := 10
		if i == 17 {
			n = 11
		}
		cur := indexOf(alphabet, b[i])
		b[i] = alphabet[(cur+1+int(delta)%(n-1))%n]
		if b[i] == id[i] {
			t.Fatalf("mutation did not change %q at %d", id, i)
		}
		if ValidateResidentID(string(b), fuzzNow) == nil {
			t.Fatalf("%q (from %q, position %d changed) accepted", b, id, i+1)
		}
	})
}

// independentLuhn: from the right, double every second digit, subtract 9 above 9, sum mod 10 == 0.
func independentLuhn(s string) bool {
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[len(s)-1-i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return len(s) > 0 && sum%10 == 0
}

// FuzzValidateCardNumber: arbitrary strings never panic; anything accepted is 13-19 ASCII digits and
// passes an independent Luhn check; a generated card with one digit changed is rejected.
func FuzzValidateCardNumber(f *testing.F) {
	for _, s := range []string{
		"4111111111111111", "4111111111111112", "6222020000000000018", "4392250000000108",
		"411111111111", "41111111111111111111", "4111 1111 1111 1111", "41111111111111１1",
		"", "0000000000000", "79927398713", "-4111111111111111", "\x00",
	} {
		f.Add(s, uint64(3), uint8(0), uint8(1), uint8(16))
	}
	f.Add("6217000000000000020", uint64(99), uint8(18), uint8(8), uint8(19))
	f.Fuzz(func(t *testing.T, s string, seed uint64, pos, delta, length uint8) {
		if err := ValidateCardNumber(s); err == nil {
			if len(s) < 13 || len(s) > 19 || !independentLuhn(s) {
				t.Fatalf("accepted %q", s)
			}
		} else if err.Error() == "" {
			t.Fatalf("rejection of %q has an empty message", s)
		}
		if LuhnValid(s) != independentLuhn(s) && len(s) >= 2 {
			t.Fatalf("LuhnValid(%q) = %v, independent check says %v", s, LuhnValid(s), independentLuhn(s))
		}

		r := rand.New(rand.NewPCG(seed, 17))
		n := 13 + int(length)%7
		card := CardNumber(r, "622202", n)
		if len(card) != n || ValidateCardNumber(card) != nil || !independentLuhn(card) {
			t.Fatalf("generated card %q (length %d) invalid", card, n)
		}
		i := int(pos) % n
		b := []byte(card)
		b[i] = byte('0' + (int(b[i]-'0')+1+int(delta)%9)%10)
		if ValidateCardNumber(string(b)) == nil {
			t.Fatalf("%q (from %q, digit %d changed) accepted", b, card, i+1)
		}
	})
}

func indexOf(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return 0
}
