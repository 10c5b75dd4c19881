package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	_ "modernc.org/sqlite"
)

// The limits' usage counters are read and written by their key, and the stored txn whose status
// a settlement changes by its id: the statements the store prepared while a world paid, transferred,
// withdrew (a withdrawal left pending, then failed by reconcile) and showed its KYC status, as
// SQLite plans them. Nothing is scanned (the users of an ID number come from its index).
func TestUsageCountersReadByKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wallet.db")
	st, prepared := tracedStore(t, path) // not the migrations' (the backfill reads every txn, once)
	w := testworld.New(t, testworld.Store(st))
	payer, card := w.OpenWallet(testworld.Card("ok"), 500_00).IDs()
	payee, _ := w.OpenWallet(testworld.Card("credit"), 100_00).IDs()
	e := w.Engine
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.Pay(ctx, walletctl.PayRequest{UserID: payer, Merchant: "m-cafe", Amount: 1_00, Password: testworld.Password}))
	must(e.Pay(ctx, walletctl.PayRequest{UserID: payer, Merchant: "m-cafe", Amount: 1_00, Source: "card:" + card, Password: testworld.Password}))
	must(e.Transfer(ctx, walletctl.TransferRequest{UserID: payer, To: payee, Amount: 1_00, Password: testworld.Password, ConfirmPayee: testworld.Card("credit").Name}))
	must(w.Admin.AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultRefuse, Op: bankapi.OpCredit, First: 1}))
	if _, err := e.Withdraw(ctx, payer, card, 10_00, testworld.Password); walletctl.ErrorCode(err) != walletctl.CodePending {
		t.Fatalf("withdrawal: %v, want it pending", err)
	}
	must(e.Reconcile(ctx, "")) // the bank never saw it: failed, its counter moved back
	must(e.KYCStatus(ctx, payer))

	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reads, writes := 0, 0
	for _, q := range prepared() {
		byID := strings.HasPrefix(q, "SELECT kind, status, user_id, amount, source, created_at FROM txns WHERE id = ?")
		if !strings.Contains(q, "usage_counters") && !byID {
			continue
		}
		plan, err := queryPlan(db, q)
		if err != nil {
			t.Fatalf("explain %q: %v", q, err)
		}
		key := false
		for _, d := range plan {
			key = key || strings.Contains(d, "USING PRIMARY KEY") || byID && strings.Contains(d, "sqlite_autoindex_txns_1 (id=?)")
			// A multi-row upsert reads its VALUES; it names the key as its conflict target.
			if strings.HasPrefix(d, "SCAN ") && !strings.HasSuffix(d, "VALUES CLAUSE") {
				t.Errorf("a scan:\n  %s\n  plan: %s", strings.Join(strings.Fields(q), " "), strings.Join(plan, " | "))
			}
		}
		switch {
		case strings.HasPrefix(q, "INSERT INTO usage_counters") && strings.Contains(q, "ON CONFLICT(user_id, scope, period)"):
			writes++
		case key:
			reads++
		default:
			t.Errorf("not read by its key:\n  %s\n  plan: %s", strings.Join(strings.Fields(q), " "), strings.Join(plan, " | "))
		}
	}
	// By user, by ID number, the txn a settlement changes; the counters of a payment from the
	// balance, of a card payment and of a status change.
	if reads < 3 || writes < 2 {
		t.Fatalf("%d reads and %d writes checked: the flows did not run", reads, writes)
	}
	t.Logf("%d reads and %d writes of usage counters checked", reads, writes)
}
