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
	path := filepath.Join(t.TempDir(), "wallet.db")
	step := slices.IndexFunc(migrations, func(m migrate.Step[*migrateEnv]) bool { return strings.Contains(m.SQL, "usage_counters") })
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The schema before the counters (its conversions have no rows to convert), then a history.
	h := storetest.NewOldHistory(5, 400)
	var qs []string
	for _, m := range migrations[:step] {
		qs = append(qs, m.SQL, m.Post)
	}
	qs = append(qs, fmt.Sprintf(`PRAGMA user_version = %d`, step))
	for _, q := range append(qs, h.SQL()...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	h.Check(t, open(t, path))
}
