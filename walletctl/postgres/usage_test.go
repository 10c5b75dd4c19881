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

// A schema migrated before the usage counters gets them when opened: the migration that makes
// their table fills them from its txns, as the txn writes keep them since.
func TestMigrationBackfillsUsage(t *testing.T) {
	backfills(t, "usage_counters", storetest.NewOldHistory(5, 400))
}

// A schema migrated before orders and refunds had their day of success, and merchants their
// totals, gets them when opened: the migration fills them from the records' JSON.
func TestMigrationBackfillsBillDays(t *testing.T) {
	backfills(t, "success_day", storetest.NewOldBills(7, 300))
}

// backfills makes a schema migrated up to the step whose SQL holds marker (the steps before it
// have no rows to convert; the key the secrets step makes is written here), inserts h's rows,
// opens it (the step runs) and checks h.
func backfills(t *testing.T, marker string, h storetest.OldWorld) {
	ctx := context.Background()
	d := dsn(t)
	schema := fmt.Sprintf("t_%s_%d_%d", strings.ReplaceAll(marker, "_", ""), os.Getpid(), time.Now().UnixNano()%1e9)
	conn, err := pgx.Connect(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	t.Cleanup(func() { conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	step := slices.IndexFunc(migrations, func(m migrate.Step[migrateEnv]) bool { return strings.Contains(m.SQL, marker) })
	if step < 0 {
		t.Fatalf("no migration step holds %q", marker)
	}
	qs := []string{`CREATE SCHEMA ` + schema, `SET search_path = ` + schema,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`}
	for i, m := range migrations[:step] {
		qs = append(qs, m.SQL, m.Post, fmt.Sprintf(`INSERT INTO schema_migrations(version) VALUES (%d)`, i+1))
	}
	qs = append(qs, `INSERT INTO wallet_secret(id, key) VALUES (1, decode('`+strings.Repeat("5a", 32)+`', 'hex'))`)
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
