// Package migrate is the one schema-migration runner of the three stores (the wallet's SQLite
// and PostgreSQL stores, and the mock bank's state file).
//
// Written here rather than taken from pressly/goose or golang-migrate: existing homes record their
// schema version where those tools do not look (SQLite's user_version, the wallet's own
// schema_migrations rows), the PostgreSQL store runs on pgx rather than database/sql, and one
// step converts secrets in Go inside the store's own transaction with the wallet's key. What the
// stores share is the loop below; each keeps its own way of recording the version.
package migrate

import "fmt"

// Step is one step of a schema: SQL, then Fn (a conversion SQL cannot do), then Post.
type Step[E any] struct {
	SQL  string
	Fn   func(env E) error
	Post string
}

// Apply runs steps[done:] in order, all inside the caller's transaction: exec runs SQL in it, env
// is what a step's Fn works with, and mark records that version n (1-based) is applied.
func Apply[E any](steps []Step[E], done int, env E, exec func(sql string) error, mark func(n int) error) error {
	for i := done; i < len(steps); i++ {
		m := steps[i]
		if err := exec(m.SQL); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if m.Fn != nil {
			if err := m.Fn(env); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if m.Post != "" {
			if err := exec(m.Post); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if err := mark(i + 1); err != nil {
			return fmt.Errorf("migration %d: record the version: %w", i+1, err)
		}
	}
	return nil
}
