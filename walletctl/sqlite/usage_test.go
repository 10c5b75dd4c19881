package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/internal/migrate"
	"github.com/walletctl/walletctl/walletctl/storetest"
)

// A wallet written before the usage counters gets them when opened: the migration that makes
// their table fills them from its txns, as the txn writes keep them since.
func TestMigrationBackfillsUsage(t *testing.T) {
	backfills(t, "usage_counters", storetest.NewOldHistory(5, 400))
}

// A wallet written before orders and refunds had their day of success, and merchants their
// totals, gets them when opened: the migration fills them from the records' JSON.
func TestMigrationBackfillsBillDays(t *testing.T) {
	backfills(t, "success_day", storetest.NewOldBills(7, 300))
}

// backfills writes a wallet migrated up to the step whose SQL holds marker (the steps before it
// have no rows to convert), inserts h's rows, opens it (the step runs) and checks h.
func backfills(t *testing.T, marker string, h storetest.OldWorld) {
	path := filepath.Join(t.TempDir(), "wallet.db")
	step := slices.IndexFunc(migrations, func(m migrate.Step[*migrateEnv]) bool { return strings.Contains(m.SQL, marker) })
	if step < 0 {
		t.Fatalf("no migration step holds %q", marker)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var qs []string
	for _, m := range migrations[:step] {
		qs = append(qs, m.SQL, m.Post)
	}
	qs = append(qs, fmt.Sprintf(`PRAGMA user_version = %d`, step))
	for _, q := range append(qs, h.SQL()...) {
		if strings.TrimSpace(q) == "" {
			continue
		}
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	h.Check(t, open(t, path))
}
