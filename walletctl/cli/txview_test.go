package cli_test

import (
	"regexp"
	"strings"
	"testing"
)

// rfc3339 matches a JSON timestamp value.
var rfc3339 = regexp.MustCompile(`"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d:\d\d)"`)

// TestJSONTimesAreShanghai: every timestamp of every -o json output is RFC 3339 in Asia/Shanghai
// (+08:00), as the clock: records read back from the store (bound_at, created_at, verified_at,
// the security log) included, never Z.
func TestJSONTimesAreShanghai(t *testing.T) {
	w := newWorld(t, false)
	u1, c1 := w.openWallet(1)
	u2, _ := w.openWallet(2)
	w.okIn("135790\n", "--as", u1, "topup", "--card", c1, "--amount", "100", "--password-stdin")
	w.okIn("135790\n", "--as", u1, "transfer", "--to", u2, "--amount", "5", "--delay", "2h", "--password-stdin")
	w.ok("clock", "advance", "3h")
	seen := 0
	for _, args := range [][]string{
		{"--as", u1, "card", "list"}, {"--as", u1, "user", "show"}, {"--as", u1, "kyc", "status"},
		{"--as", u1, "security", "log"}, {"--as", u1, "tx", "list"}, {"--as", u1, "tx", "show", "t3"},
		{"--as", u2, "transfer", "list"}, {"user", "list"}, {"clock", "show"}, {"sandbox", "status"},
		{"bank", "journal"}, {"--as", u1, "balance"},
	} {
		r := w.ok(append([]string{"-o", "json"}, args...)...)
		for _, m := range rfc3339.FindAllStringSubmatch(r.out, -1) {
			seen++
			if m[2] != "+08:00" {
				t.Errorf("walletctl -o json %s: %s is not in Shanghai (+08:00)", strings.Join(args, " "), m[0])
			}
		}
	}
	if seen < 20 {
		t.Fatalf("only %d timestamps seen", seen)
	}
}

// TestTxListDirectionAndStatusCounts: the payee's tx list shows a transfer as incoming from the
// payer, with the transfer's one status; sandbox status counts each transfer once, by what it
// waits for; tx show carries the key the bank's journal shows.
func TestTxListDirectionAndStatusCounts(t *testing.T) {
	w := newWorld(t, false)
	u1, c1 := w.openWallet(1)
	u2, _ := w.openWallet(2)
	w.okIn("135790\n", "--as", u1, "topup", "--card", c1, "--amount", "100", "--password-stdin")
	w.okIn("135790\n", "--as", u1, "transfer", "--to", u2, "--amount", "5", "--password-stdin")
	w.okIn("135790\n", "--as", u1, "transfer", "--to", u2, "--amount", "6", "--delay", "2h", "--password-stdin")

	var in []struct {
		ID             string `json:"id"`
		Kind           string `json:"kind"`
		Counterparty   string `json:"counterparty"`
		Direction      string `json:"direction"`
		TransferStatus string `json:"transfer_status"`
	}
	w.jsonOf(&in, "", "--as", u2, "tx", "list")
	n := 0
	for _, x := range in {
		if x.Kind != "transfer" {
			continue
		}
		n++
		if x.Direction != "in" || x.Counterparty != u1 {
			t.Errorf("payee's tx list: transfer %s is %s with %s, want in from %s", x.ID, x.Direction, x.Counterparty, u1)
		}
	}
	if n != 2 {
		t.Fatalf("payee's tx list has %d transfers, want 2: %+v", n, in)
	}
	tbl := w.ok("--as", u2, "tx", "list").out
	for _, want := range []string{"DIR", "│ in ", "arrived", "scheduled"} {
		if !strings.Contains(tbl, want) {
			t.Errorf("payee's tx list lacks %q:\n%s", want, tbl)
		}
	}
	if strings.Contains(tbl, "pending") {
		t.Errorf("payee's tx list shows a second status (pending) for a transfer:\n%s", tbl)
	}
	if out := w.ok("--as", u1, "tx", "list").out; !strings.Contains(out, "│ out ") || strings.Contains(out, "pending") {
		t.Errorf("payer's tx list: transfers out, one status each:\n%s", out)
	}

	// tx show, for the payee: the same direction, payer and one status.
	show := w.ok("--as", u2, "tx", "show", in[len(in)-2].ID).out
	for _, want := range []string{"DIRECTION    │ in", "COUNTERPARTY │ " + u1, "STATUS       │ arrived"} {
		if !strings.Contains(show, want) {
			t.Errorf("payee's tx show lacks %q:\n%s", want, show)
		}
	}

	var st map[string]any
	w.jsonOf(&st, "", "sandbox", "status")
	if st["txns_pending"] != 0.0 || st["transfers_scheduled"] != 1.0 || st["transfers_unaccepted"] != 1.0 {
		t.Errorf("sandbox status counts each transfer once, by what it waits for: %v", st)
	}
	if out := w.ok("sandbox", "status").out; !strings.Contains(out, "AWAITING ACCEPTANCE") || strings.Contains(out, "TXNS PENDING") {
		t.Errorf("sandbox status names what it counts:\n%s", out)
	}

	// tx show: the bank's key is the journal's KEY; the wallet's own key is apart.
	var topup struct {
		IdempotencyKey string `json:"idempotency_key"`
		BankKey        string `json:"bank_idempotency_key"`
	}
	w.jsonOf(&topup, "", "--as", u1, "tx", "show", "t3")
	var journal []struct {
		Op  string `json:"op"`
		Key string `json:"idempotency_key"`
	}
	w.jsonOf(&journal, "", "bank", "journal")
	found := false
	for _, e := range journal {
		found = found || (e.Op == "debit" && e.Key == topup.BankKey && e.Key != "")
	}
	if !found || topup.BankKey == topup.IdempotencyKey {
		t.Errorf("tx show t3: bank_idempotency_key %q is not a debit key of the journal %+v (wallet key %q)", topup.BankKey, journal, topup.IdempotencyKey)
	}
}
