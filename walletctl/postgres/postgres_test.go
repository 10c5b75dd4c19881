package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/storetest"
)

var ctx = context.Background()

// The store conformance suite that walletctl/sqlite runs too.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) walletctl.Store { return openTest(t, Options{}) })
}

// Migrations are recorded in schema_migrations and run once, even when several processes open a
// fresh schema at the same moment; a reopened store keeps its data.
func TestMigrationsConcurrentAndReopen(t *testing.T) {
	first := openTest(t, Options{})
	schema := first.Schema()
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			stores[i], errs[i] = OpenWith(ctx, dsn(t), Options{Schema: schema})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		defer stores[i].Close()
	}
	var n, max int
	if err := first.pool.QueryRow(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) || max != len(migrations) {
		t.Fatalf("schema_migrations has %d rows up to %d, want %d", n, max, len(migrations))
	}
	if err := first.Update(ctx, func(tx walletctl.StoreTx) error {
		return tx.CreateUser(&walletctl.UserRecord{User: walletctl.User{ID: "u1", Phone: "13900000001", Status: "normal"}})
	}); err != nil {
		t.Fatal(err)
	}
	var u *walletctl.UserRecord
	stores[3].View(ctx, func(tx walletctl.StoreTx) error { u, _ = tx.GetUser("u1"); return nil })
	if u == nil {
		t.Fatal("another pool on the same schema does not see the user")
	}
}

// Tenants: two schemas of one database do not see each other's data; the DSN's search_path
// selects the schema when Options.Schema is empty.
func TestSchemasIsolateTenants(t *testing.T) {
	a := openTest(t, Options{})
	b := openTest(t, Options{})
	for _, s := range []*Store{a, b} {
		if err := s.Update(ctx, func(tx walletctl.StoreTx) error {
			return tx.CreateUser(&walletctl.UserRecord{User: walletctl.User{ID: "u1", Phone: "1390000000" + s.Schema()[len(s.Schema())-1:], Status: "normal"}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*Store{a, b} {
		s.View(ctx, func(tx walletctl.StoreTx) error {
			list, _ := tx.ListUsers()
			if len(list) != 1 {
				t.Errorf("schema %s sees %d users", s.Schema(), len(list))
			}
			return nil
		})
	}
	viaDSN, err := Open(ctx, dsn(t)+"&search_path="+a.Schema())
	if err != nil {
		t.Fatal(err)
	}
	defer viaDSN.Close()
	if viaDSN.Schema() != a.Schema() {
		t.Fatalf("search_path in the DSN gave schema %q, want %q", viaDSN.Schema(), a.Schema())
	}
	if _, err := OpenWith(ctx, dsn(t), Options{Schema: "x; DROP TABLE users"}); err == nil {
		t.Fatal("a schema name that is not an identifier was accepted")
	}
}

// A transaction that fails to serialize is run again, whole, with the injected backoff; one
// that keeps failing gives up after MaxAttempts with the serialization error.
func TestUpdateRetriesSerializationFailures(t *testing.T) {
	var pauses []int
	s := openTest(t, Options{MaxAttempts: 4, Backoff: func(n int) time.Duration { pauses = append(pauses, n); return time.Microsecond }})
	serial := &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
	runs := 0
	err := s.Update(ctx, func(tx walletctl.StoreTx) error {
		runs++
		if err := tx.CreateUser(&walletctl.UserRecord{User: walletctl.User{ID: "u1", Phone: "13900000001", Status: "normal"}}); err != nil {
			return err
		}
		if runs < 3 {
			return serial // as if PostgreSQL had refused the commit
		}
		return nil
	})
	if err != nil || runs != 3 || len(pauses) != 2 || pauses[1] != 2 || s.Retries() != 2 {
		t.Fatalf("err %v, runs %d, pauses %v, retries %d", err, runs, pauses, s.Retries())
	}
	// The user of the failed attempts was rolled back each time: exactly one exists.
	s.View(ctx, func(tx walletctl.StoreTx) error {
		if list, _ := tx.ListUsers(); len(list) != 1 {
			t.Errorf("%d users", len(list))
		}
		return nil
	})
	runs = 0
	err = s.Update(ctx, func(tx walletctl.StoreTx) error { runs++; return serial })
	if !errors.Is(err, serial) || runs != 4 {
		t.Fatalf("err %v after %d runs, want the serialization error after 4", err, runs)
	}
	// Other errors are not retried.
	runs = 0
	if err := s.Update(ctx, func(tx walletctl.StoreTx) error { runs++; return errors.New("no") }); err == nil || runs != 1 {
		t.Fatalf("err %v after %d runs", err, runs)
	}
	// A real conflict: two transactions read and write the same row concurrently; PostgreSQL
	// refuses one, which the retry absorbs.
	before := s.Retries()
	var wg sync.WaitGroup
	var bothRead sync.WaitGroup
	bothRead.Add(2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			if err := s.Update(ctx, func(tx walletctl.StoreTx) error {
				u, err := tx.GetUser("u1")
				if first { // both have read before either writes (a retry goes straight on)
					first = false
					bothRead.Done()
					bothRead.Wait()
				}
				if err != nil {
					return err
				}
				u.FailedAttempts++
				return tx.SaveUser(u)
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var u *walletctl.UserRecord
	s.View(ctx, func(tx walletctl.StoreTx) error { u, _ = tx.GetUser("u1"); return nil })
	if u.FailedAttempts != 2 {
		t.Fatalf("counter %d after two concurrent increments", u.FailedAttempts)
	}
	if s.Retries() == before {
		t.Fatal("no retry recorded for a read-write conflict")
	}
}
