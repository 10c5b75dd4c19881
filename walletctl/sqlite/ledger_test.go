package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// The ledger audit reads only what was posted since the last clean audit, and still finds what a
// full audit finds: a sum that is off, an entry that does not balance, and an account whose kept
// balance left its postings, even one with no posting since (its balance as of the audit is kept).
func TestLedgerAuditIsIncrementalAndComplete(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	post := func(id string, ps ...walletctl.Posting) {
		t.Helper()
		if err := st.Update(ctx, func(tx walletctl.StoreTx) error {
			if err := tx.CreateTxn(&walletctl.TxnRecord{Txn: walletctl.Txn{ID: id, Kind: "pay", Status: "succeeded", UserID: "u1", Amount: 1,
				IdempotencyKey: "k-" + id}}); err != nil {
				return err
			}
			return tx.Post(id, ps)
		}); err != nil {
			t.Fatal(err)
		}
	}
	check := func() *walletctl.LedgerReport {
		t.Helper()
		var r *walletctl.LedgerReport
		if err := st.View(ctx, func(tx walletctl.StoreTx) error {
			var err error
			r, err = tx.LedgerCheck()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	mark := func(r *walletctl.LedgerReport) {
		t.Helper()
		if err := st.Update(ctx, func(tx walletctl.StoreTx) error { return tx.MarkLedgerAudited(r.Upto) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Update(ctx, func(tx walletctl.StoreTx) error { // the txns need their user
		return tx.CreateUser(&walletctl.UserRecord{User: walletctl.User{ID: "u1", Phone: "13800000000", Status: "normal"}})
	}); err != nil {
		t.Fatal(err)
	}
	post("t1", walletctl.Posting{Account: "user:u1", Amount: 5}, walletctl.Posting{Account: "bank:X:clearing", Amount: -5})
	r := check()
	if !r.Clean() || r.Upto != 2 {
		t.Fatalf("first audit %+v", r)
	}
	mark(r)
	post("t2", walletctl.Posting{Account: "user:u1", Amount: -2}, walletctl.Posting{Account: "merchant:m", Amount: 2})
	if r = check(); !r.Clean() || r.Upto != 4 {
		t.Fatalf("second audit %+v", r)
	}
	mark(r)

	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A kept balance changed with no posting (bank:X:clearing had none since the audit).
	if _, err := db.Exec(`UPDATE accounts SET balance = balance + 7 WHERE name = 'bank:X:clearing'`); err != nil {
		t.Fatal(err)
	}
	if r = check(); fmt.Sprint(r.DriftedAccounts) != "[bank:X:clearing]" || r.Sum != 0 {
		t.Fatalf("a drifted account with no new posting: %+v", r)
	}
	if _, err := db.Exec(`UPDATE accounts SET balance = balance - 7 WHERE name = 'bank:X:clearing'`); err != nil {
		t.Fatal(err)
	}
	// A posting that unbalances an entry (and the sum), and sends a merchant below zero.
	if _, err := db.Exec(`INSERT INTO postings(txn_id, entry, account, amount) VALUES ('t2', 9, 'merchant:m', -3)`); err != nil {
		t.Fatal(err)
	}
	if r = check(); r.Sum != -3 || fmt.Sprint(r.UnbalancedTxns) != "[t2#9]" || fmt.Sprint(r.NegativeAccounts) != "[merchant:m]" ||
		fmt.Sprint(r.DriftedAccounts) != "[merchant:m]" {
		t.Fatalf("an unbalanced entry after the audit: %+v", r)
	}
}
