package walletctl

import (
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	good := map[string]int64{"12": 1200, "12.5": 1250, "12.50": 1250, "0.01": 1, "0.10": 10, "1000000": 100000000,
		"100000000000": MaxAmount, "100000000000.00": MaxAmount}
	for in, want := range good {
		got, err := ParseAmount(in)
		if err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := []string{"", "0", "0.00", "-1", "+1", "1.234", "1.", ".5", "1..2", "1,00", " 1", "１２", "92233720368547758.08", "99999999999999999999", "1e3", "abc",
		"100000000000.01", "99999999999999999", "92233720368547758.07"}
	for _, in := range bad {
		if got, err := ParseAmount(in); err == nil {
			t.Errorf("ParseAmount(%q) = %d, want an error", in, got)
		} else if ErrorCode(err) != CodeInvalidAmount {
			t.Errorf("ParseAmount(%q) code %s", in, ErrorCode(err))
		}
	}
}

func TestFormatAmount(t *testing.T) {
	for fen, want := range map[int64]string{0: "0.00", 1: "0.01", 1250: "12.50", -305: "-3.05", 100000: "1000.00"} {
		if got := FormatAmount(fen); got != want {
			t.Errorf("FormatAmount(%d) = %q, want %q", fen, got, want)
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.50", "0", "-1", "1.234", "99999999999999999999", "１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fen, err := ParseAmount(s)
		if err != nil {
			if ErrorCode(err) != CodeInvalidAmount {
				t.Fatalf("code %s", ErrorCode(err))
			}
			return
		}
		if fen <= 0 {
			t.Fatalf("accepted non-positive %d from %q", fen, s)
		}
		back, err := ParseAmount(FormatAmount(fen))
		if err != nil || back != fen {
			t.Fatalf("round trip %q -> %d -> %q -> %d, %v", s, fen, FormatAmount(fen), back, err)
		}
	})
}

func TestCodeTableComplete(t *testing.T) {
	rows := Codes()
	if len(rows) < 30 {
		t.Fatalf("only %d codes", len(rows))
	}
	for _, c := range rows {
		if Hint(c) == "" && c != CodeAlreadyExists {
			t.Errorf("%s has no hint", c)
		}
	}
}

// Amounts above the bank's maximum are INVALID_AMOUNT with a hint naming the limit, whether or not
// they would overflow int64.
func TestParseAmountTooLarge(t *testing.T) {
	for _, in := range []string{"100000000000.01", "99999999999999999", "92233720368547758.07", "99999999999999999999"} {
		_, err := ParseAmount(in)
		e, ok := err.(*Error)
		if !ok || e.Code != CodeInvalidAmount || !strings.Contains(e.Hint, "100000000000.00") || e.Details["max_amount"] != MaxAmount {
			t.Errorf("ParseAmount(%q): %#v", in, err)
		}
	}
}
