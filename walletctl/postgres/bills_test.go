package postgres

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/walletctl/walletctl/internal/migrate"
	"github.com/walletctl/walletctl/walletctl/storetest"
)

// A schema migrated before orders and refunds had their day of success, and merchants their
// totals, gets them when opened: the migration fills them from the records' JSON.
func TestMigrationBackfillsBillDays(t *testing.T) {
	ctx := context.Background()
	d := dsn(t)
	schema := fmt.Sprintf("t_bills_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	conn, err := pgx.Connect(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	t.Cleanup(func() { conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	step := slices.IndexFunc(migrations, func(m migrate.Step[migrateEnv]) bool { return strings.Contains(m.SQL, "success_day") })
	// The schema before the days (its conversions have no rows to convert; the key the secrets
	// step makes is written here), then a history.
	qs := []string{`CREATE SCHEMA ` + schema, `SET search_path = ` + schema,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`}
	for i, m := range migrations[:step] {
		qs = append(qs, m.SQL, m.Post, fmt.Sprintf(`INSERT INTO schema_migrations(version) VALUES (%d)`, i+1))
	}
	qs = append(qs, `INSERT INTO wallet_secret(id, key) VALUES (1, decode('`+strings.Repeat("5a", 32)+`', 'hex'))`)
	h := storetest.NewOldBills(7, 300)
	for _, q := range append(qs, h.SQL()...) {
		if strings.TrimSpace(q) == "" {
			continue
		}
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	h.Check(t, openTest(t, Options{Schema: schema}))
}
