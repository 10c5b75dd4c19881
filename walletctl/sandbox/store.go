package sandbox

import (
	"context"
	"path/filepath"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/postgres"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// Store is a wallet database a caller opened and keeps open across sandbox sessions (Options.Store).
type Store interface {
	walletctl.Store
	Close() error
}

// StoreSpec says where a home's wallet records live: wallet.db in the home, or a PostgreSQL schema.
type StoreSpec struct {
	Home      string
	DSN       string // postgres://…?search_path=SCHEMA; "" keeps them in Home's wallet.db
	Schema    string // with DSN, a schema that wins over the DSN's search_path
	Throwaway bool   // wallet.db without fsync (tests and scenario worlds)
}

// OpenStore opens the wallet database a spec names: the one place storage is composed, for the
// CLI's --store and for the server's tenants.
func OpenStore(ctx context.Context, spec StoreSpec) (Store, error) {
	if spec.DSN != "" {
		return postgres.OpenWith(ctx, spec.DSN, postgres.Options{Schema: spec.Schema})
	}
	mode := sqlite.SyncFull
	if spec.Throwaway {
		mode = sqlite.SyncOff
	}
	// The home's key converts a wallet.db written by an older walletctl (card and ID numbers).
	key, err := HomeSecretKey(spec.Home)
	if err != nil {
		return nil, err
	}
	return sqlite.OpenWith(filepath.Join(spec.Home, WalletFile), sqlite.Options{Sync: mode, SecretKey: key})
}
