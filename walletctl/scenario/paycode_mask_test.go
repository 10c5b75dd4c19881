package scenario_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Payment codes are money to whoever holds them, and new in every run: a transcript shows none of
// their digits, wherever they appear (printed, as JSON, captured, typed as --code, in the wallet's
// PAYCODE_INVALID message), and so two runs give the same transcript.
func TestRunnerMasksPayCodes(t *testing.T) {
	_, _, tr := twiceAlike(t, filepath.Join("testdata", "paycode", "paycode-masked.txt"))
	if m := regexp.MustCompile(`13[0-9*]{12}[0-9]{4}`).FindString(tr); m != "" {
		t.Errorf("transcript shows (part of) a payment code: %s\n%s", m, tr)
	}
	for _, want := range []string{
		"$ walletctl --as u1 paycode\n******\n",
		`"code": "******"`,
		"capture CODE1 = /([0-9]{18})/  → ******\n",
		"capture CODE2 = .code  → ******\n",
		"--code ******\n",
		"error: PAYCODE_INVALID: payment code ****** is unknown, used or expired\n",
	} {
		if !strings.Contains(tr, want) {
			t.Errorf("transcript lacks %q\n%s", want, tr)
		}
	}
}
