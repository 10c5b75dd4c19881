// Package pgtest finds the PostgreSQL server of the tests, for every package whose tests need one.
package pgtest

import (
	"os"
	"testing"
)

// DSN is the test server: WALLETCTL_TEST_POSTGRES (.ci/postgres.sh starts one and sets it).
// Without it the test skips outside CI and fails in CI, where a server must be there.
func DSN(t testing.TB) string {
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
