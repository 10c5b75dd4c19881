package sqlite_test

import (
	"database/sql"
	"strings"
	"sync"
	"testing"

	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// tracedStore opens the wallet at path recording every statement the store prepares after its
// migrations; prepared returns them (the plan tests run EXPLAIN QUERY PLAN on each).
func tracedStore(t *testing.T, path string) (st *sqlite.Store, prepared func() []string) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]bool{}
	st, err := sqlite.OpenTraced(path, func(q string) {
		mu.Lock()
		seen[q] = true
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mu.Lock()
	clear(seen) // the migrations' statements: run once, at open
	mu.Unlock()
	return st, func() []string {
		mu.Lock()
		defer mu.Unlock()
		qs := make([]string, 0, len(seen))
		for q := range seen {
			qs = append(qs, q)
		}
		return qs
	}
}

// queryPlan is SQLite's plan of q (its details, one per line of EXPLAIN QUERY PLAN), with NULL
// for each parameter.
func queryPlan(db *sql.DB, q string) ([]string, error) {
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}
