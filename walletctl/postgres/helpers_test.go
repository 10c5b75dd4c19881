package postgres

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// dsn is the test server: WALLETCTL_TEST_POSTGRES (.ci/postgres.sh starts one and sets it).
// Without it the tests skip outside CI and fail in CI, where a server must be there.
func dsn(t testing.TB) string {
	t.Helper()
	d := os.Getenv("WALLETCTL_TEST_POSTGRES")
	if d == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but WALLETCTL_TEST_POSTGRES is not: .ci/run starts a server with .ci/postgres.sh")
		}
		t.Skip("no PostgreSQL server: set WALLETCTL_TEST_POSTGRES=postgres://... or run `make test-postgres` (starts one)")
	}
	return d
}

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
