package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/storetest"
)

// The store conformance suite that walletctl/postgres runs too.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) walletctl.Store {
		s, err := OpenWith(filepath.Join(t.TempDir(), "w.db"), Options{Sync: SyncOff})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
