package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/storetest"
)

var ctx = context.Background()

func open(t *testing.T, path string) *Store { t.Helper(); return openWith(t, path, Options{}) }

func openWith(t *testing.T, path string, o Options) *Store {
	t.Helper()
	s, err := OpenWith(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The store conformance suite that walletctl/postgres runs too.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) walletctl.Store {
		return openWith(t, filepath.Join(t.TempDir(), "w.db"), Options{Sync: SyncOff})
	})
}

func TestMigrateAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	s := open(t, path)
	now := time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)
	if err := s.Update(ctx, func(tx walletctl.StoreTx) error {
		return tx.CreateUser(&walletctl.UserRecord{User: walletctl.User{ID: "u1", Phone: "13900000001", Status: walletctl.StatusNormal, CreatedAt: now}})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := open(t, path) // migrations already applied: nothing re-runs, data kept
	var mode string
	var version int
	s2.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	s2.db.QueryRow(`PRAGMA user_version`).Scan(&version)
	if mode != "wal" || version != len(migrations) {
		t.Fatalf("journal_mode %s, user_version %d", mode, version)
	}
	var u *walletctl.UserRecord
	s2.View(ctx, func(tx walletctl.StoreTx) error { u, _ = tx.GetUser("u1"); return nil })
	if u == nil || !u.CreatedAt.Equal(now) || u.Phone != "13900000001" {
		t.Fatalf("user %+v", u)
	}
}

func TestPostRefusesUnbalanced(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "w.db"))
	err := s.Update(ctx, func(tx walletctl.StoreTx) error {
		if err := tx.CreateUser(&walletctl.UserRecord{User: walletctl.User{ID: "u1", Phone: "13900000001", Status: "normal"}}); err != nil {
			return err
		}
		if err := tx.CreateTxn(&walletctl.TxnRecord{Txn: walletctl.Txn{ID: "t1", Kind: "pay", Status: "succeeded", UserID: "u1", Amount: 5, IdempotencyKey: "k"}}); err != nil {
			return err
		}
		return tx.Post("t1", []walletctl.Posting{{Account: "user:u1", Amount: -5}, {Account: "merchant:m", Amount: 4}})
	})
	if err == nil {
		t.Fatal("unbalanced entry stored")
	}
	// The failed transaction rolled back as a whole.
	var u *walletctl.UserRecord
	s.View(ctx, func(tx walletctl.StoreTx) error { u, _ = tx.GetUser("u1"); return nil })
	if u != nil {
		t.Fatal("rollback incomplete")
	}
}

// Two handles on one file (as two processes would be) increment one sequence concurrently:
// BEGIN IMMEDIATE and busy_timeout make every increment land exactly once.
func TestConcurrentWritersTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	a, b := open(t, path), open(t, path)
	var wg sync.WaitGroup
	got := make(chan int64, 200)
	for i := 0; i < 100; i++ {
		for _, s := range []*Store{a, b} {
			wg.Add(1)
			go func(s *Store) {
				defer wg.Done()
				if err := s.Update(ctx, func(tx walletctl.StoreTx) error {
					n, err := tx.NextID("txn")
					got <- n
					return err
				}); err != nil {
					t.Error(err)
				}
			}(s)
		}
	}
	wg.Wait()
	close(got)
	seen := map[int64]bool{}
	for n := range got {
		if seen[n] {
			t.Fatalf("id %d twice", n)
		}
		seen[n] = true
	}
	for i := int64(1); i <= 200; i++ {
		if !seen[i] {
			t.Fatalf("missing %d (%s)", i, fmt.Sprint(len(seen)))
		}
	}
}

// Concurrent Updates share commits (group commit) and keep one transaction's rules each: a
// failing fn leaves no trace even when it ran inside a batch with others, and every successful
// one is there after its Update returns.
func TestGroupCommit(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "w.db"))
	const n = 24
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			errs[i] = s.Update(ctx, func(tx walletctl.StoreTx) error {
				id := fmt.Sprintf("u%d", i)
				if err := tx.CreateUser(&walletctl.UserRecord{User: walletctl.User{ID: id, Phone: fmt.Sprintf("139%08d", i), Status: "normal"}}); err != nil {
					return err
				}
				time.Sleep(time.Millisecond) // hold the writer so that the others queue behind it
				if i%3 == 0 {
					return fmt.Errorf("refused %s", id)
				}
				return nil
			})
		}(i)
	}
	before := s.commits.Load()
	close(start)
	wg.Wait()
	for i := 0; i < n; i++ {
		var u *walletctl.UserRecord
		if err := s.View(ctx, func(tx walletctl.StoreTx) error {
			var err error
			u, err = tx.GetUser(fmt.Sprintf("u%d", i))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if fail := i%3 == 0; fail != (errs[i] != nil) || fail != (u == nil) {
			t.Errorf("u%d: err %v, stored %v", i, errs[i], u != nil)
		}
	}
	if c := s.commits.Load() - before; c >= n*2/3 {
		t.Errorf("%d commits for %d successful updates: no group commit", c, n*2/3)
	}
}

// Post writes all lines of an entry in order, moves an account named twice twice, and numbers
// each entry of a txn after the previous one (LedgerCheck balances per entry).
func TestPostLinesAndEntries(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "w.db"))
	var ps []walletctl.Posting
	var rep *walletctl.LedgerReport
	var bal int64
	err := s.Update(ctx, func(tx walletctl.StoreTx) error {
		if err := tx.CreateUser(&walletctl.UserRecord{User: walletctl.User{ID: "u1", Phone: "13900000001", Status: "normal"}}); err != nil {
			return err
		}
		if err := tx.CreateTxn(&walletctl.TxnRecord{Txn: walletctl.Txn{ID: "t1", Kind: "pay", Status: "succeeded", UserID: "u1", Amount: 5, IdempotencyKey: "k"}}); err != nil {
			return err
		}
		if err := tx.Post("t1", []walletctl.Posting{{Account: "a", Amount: -5}, {Account: "b", Amount: 3}, {Account: "b", Amount: 2}}); err != nil {
			return err
		}
		if err := tx.Post("t1", []walletctl.Posting{{Account: "b", Amount: -1}, {Account: "a", Amount: 1}}); err != nil {
			return err
		}
		var err error
		if ps, err = tx.Postings("t1"); err != nil {
			return err
		}
		if bal, err = tx.AccountBalance("b"); err != nil {
			return err
		}
		rep, err = tx.LedgerCheck()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []walletctl.Posting{{Account: "a", Amount: -5}, {Account: "b", Amount: 3}, {Account: "b", Amount: 2}, {Account: "b", Amount: -1}, {Account: "a", Amount: 1}}
	if fmt.Sprint(ps) != fmt.Sprint(want) {
		t.Errorf("postings %v, want %v", ps, want)
	}
	if bal != 4 {
		t.Errorf("balance of b %d, want 4", bal)
	}
	if rep.Sum != 0 || len(rep.UnbalancedTxns) > 0 || len(rep.DriftedAccounts) > 0 {
		t.Errorf("ledger %+v", rep)
	}
}

// A panicking update rolls back and leaves the store usable.
func TestUpdatePanicReleasesStore(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "w.db"))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		s.Update(ctx, func(tx walletctl.StoreTx) error {
			tx.NextID("x")
			panic("bug")
		})
	}()
	var n int64
	if err := s.Update(ctx, func(tx walletctl.StoreTx) error {
		var err error
		n, err = tx.NextID("x")
		return err
	}); err != nil || n != 1 {
		t.Fatalf("after panic: %d %v", n, err)
	}
}
