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

// A wallet written before orders and refunds had their day of success, and merchants their
// totals, gets them when opened: the migration fills them from the records' JSON.
func TestMigrationBackfillsBillDays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wallet.db")
	step := slices.IndexFunc(migrations, func(m migrate.Step[*migrateEnv]) bool { return strings.Contains(m.SQL, "success_day") })
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := storetest.NewOldBills(7, 300)
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
