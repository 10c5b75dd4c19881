package secretscan_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/walletctl/secretscan"
)

// TestScannerCatchesPlanted proves the scan can fail: a copy of a real golden is clean, and the
// same copy with secrets planted on chosen lines is reported at exactly those lines.
func TestScannerCatchesPlanted(t *testing.T) {
	src := filepath.Join(repoRoot, "golden", "bind-card-happy.golden")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	ok := bankmock.TestCards[0].Customer
	lost := bankmock.TestCards[3].Customer // its ID ends in X
	sc := secretscan.New()
	for _, tc := range bankmock.TestCards {
		sc.Add(secretscan.Card, tc.Customer.CardNo)
		sc.Add(secretscan.ID, tc.Customer.IDNo)
	}
	sc.Add(secretscan.Password, "135790")
	sc.Add(secretscan.OTP, "803063")

	if f := sc.Scan(src, string(b)); len(f) != 0 {
		t.Fatalf("the committed golden should be clean, got %v", f)
	}

	lines := strings.Split(string(b), "\n")
	if len(lines) < 20 {
		t.Fatalf("golden too short to plant in: %d lines", len(lines))
	}
	group := func(s string) string {
		var g []string
		for len(s) > 4 {
			g, s = append(g, s[:4]), s[4:]
		}
		return strings.Join(append(g, s), " ")
	}
	plants := map[int]struct {
		text string
		kind secretscan.Kind
	}{
		3:  {"card " + ok.CardNo + " bound", secretscan.Card},
		5:  {"grouped " + group(ok.CardNo), secretscan.Card},
		7:  {"id=" + strings.ToLower(lost.IDNo), secretscan.ID},
		9:  {`{"otp":"803063"}`, secretscan.OTP},
		11: {"password: 135790.", secretscan.Password},
		13: {"ref 00" + ok.CardNo + "99", secretscan.Card}, // inside a longer run of digits
	}
	for n, p := range plants {
		lines[n-1] += " " + p.text
	}
	// Not leaks: the password's digits inside a longer number, a masked card, a masked ID.
	lines[14] += " amount 1357901 card 622202*********0018 id 1101**********123X"
	planted := filepath.Join(t.TempDir(), "bind-card-happy.golden")
	if err := os.WriteFile(planted, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	pb, _ := os.ReadFile(planted)
	found := sc.Scan(planted, string(pb))
	got := map[int]secretscan.Kind{}
	for _, f := range found {
		got[f.Line] = f.Kind
		if f.Source != planted {
			t.Errorf("finding names %q, want %q", f.Source, planted)
		}
		s := f.String()
		if !strings.Contains(s, planted+":") || strings.Contains(s, ok.CardNo) || strings.Contains(s, "803063") || strings.Contains(s, "135790") {
			t.Errorf("report %q must name file:line and never repeat the secret", s)
		}
	}
	for n, p := range plants {
		if got[n] != p.kind {
			t.Errorf("line %d (%s): got %q, want %q", n, p.text, got[n], p.kind)
		}
	}
	if len(found) != len(plants) {
		t.Errorf("got %d findings, want %d: %v", len(found), len(plants), found)
	}
}

// TestAllowedPhrase: fixed product text is not a finding, the same digits elsewhere are.
func TestAllowedPhrase(t *testing.T) {
	sc := secretscan.New()
	sc.Add(secretscan.Password, "123456")
	sc.Allow("avoid runs like 123456")
	if f := sc.Scan("x", "hint: avoid runs like 123456, and your birth date"); len(f) != 0 {
		t.Errorf("hint reported: %v", f)
	}
	if f := sc.Scan("x", "hint: avoid runs like 123456\nyour password is 123456"); len(f) != 1 || f[0].Line != 2 {
		t.Errorf("want one finding on line 2, got %v", f)
	}
}

// A merchant key is found anywhere in a line, as given (base64 is case-sensitive), and a payment
// code standing alone.
func TestScanKeysAndPayCodes(t *testing.T) {
	sc := secretscan.New()
	sc.Add(secretscan.Key, "Abcdefgh12345678Abcdefgh12345678")
	sc.Add(secretscan.Key, "short")
	sc.Add(secretscan.PayCode, "131234567890123456")
	got := sc.Scan("x", "apiv3_key=Abcdefgh12345678Abcdefgh12345678;\nabcdefgh12345678abcdefgh12345678\ncode 131234567890123456\n")
	if len(got) != 2 || got[0].Kind != secretscan.Key || got[0].Line != 1 || got[1].Kind != secretscan.PayCode || got[1].Line != 3 {
		t.Fatalf("findings %v", got)
	}
	if c := sc.Counts(); c[secretscan.Key] != 1 || c[secretscan.PayCode] != 1 {
		t.Fatalf("counts %v", c)
	}
}
