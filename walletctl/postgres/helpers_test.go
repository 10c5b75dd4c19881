package postgres

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl/postgres/pgtest"
)

// dsn is the test server (pgtest.DSN: skipped outside CI without one, failed in CI).
func dsn(t testing.TB) string { t.Helper(); return pgtest.DSN(t) }

var schemas atomic.Int64

// openTest opens a store in a fresh schema of the test database, dropped after the test, so that
// tests (and packages) run side by side on one database.
func openTest(t testing.TB, o Options) *Store {
	t.Helper()
	d := dsn(t)
	if o.Schema == "" {
		o.Schema = fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, schemas.Add(1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := OpenWith(ctx, d, o)
	if err != nil {
		t.Fatalf("postgres server %s not reachable or unusable: %v", d, err)
	}
	t.Cleanup(func() {
		// Bounded: a session left inside a transaction (a bug) would block DROP SCHEMA forever.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := s.DropSchema(ctx); err != nil {
			t.Errorf("drop test schema %s: %v", s.Schema(), err)
		}
		s.Close()
	})
	return s
}
