// Package crashtest proves DESIGN section 7 from the outside: walletctl commands and `walletctl
// serve` are killed at every write, rename and fsync they make (strace's fault injection), or run
// on a small full file system, and after a restart and `reconcile` every money invariant of the
// chaos harness holds: the ledger balances, wallet and bank agree key by key, no money was created
// or destroyed, and no card moved but by the wallet's own recorded operations (so no other
// customer's card was touched). Audit is the after-restart check; the tests are in this package.
package crashtest

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl/bankadapter"
	"github.com/walletctl/walletctl/walletctl/chaos"
	"github.com/walletctl/walletctl/walletctl/engine"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// Audit opens the sandbox in home as the next command would (so a damaged home fails here),
// reconciles until nothing is pending, then checks the chaos invariants on the wallet's file and
// the bank's file, against the bank's balances at the seed's genesis.
func Audit(ctx context.Context, home string) ([]chaos.Violation, *chaos.Totals, error) {
	sb, _, err := sandbox.Open(ctx, sandbox.Options{Home: home}, false)
	if err != nil {
		return nil, nil, fmt.Errorf("reopen after the crash: %w", err)
	}
	meta := sb.Meta()
	for i := 0; ; i++ {
		rep, err := sb.Service().Reconcile(ctx, "")
		if err != nil {
			sb.Close(ctx)
			return nil, nil, fmt.Errorf("reconcile: %w", err)
		}
		if rep.StillPending == 0 {
			break
		}
		if i == 3 {
			sb.Close(ctx)
			return nil, nil, fmt.Errorf("reconcile: %d operations still pending after %d rounds", rep.StillPending, i+1)
		}
	}
	if err := sb.Close(ctx); err != nil {
		return nil, nil, err
	}
	key, err := sandbox.HomeSecretKey(home)
	if err != nil {
		return nil, nil, err
	}
	st, err := sqlite.OpenWith(filepath.Join(home, sandbox.WalletFile), sqlite.Options{SecretKey: key})
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	clock := vclock.NewManual(meta.Clock)
	bank, err := bankmock.Open(bankmock.Config{Path: filepath.Join(home, sandbox.BankFile), Clock: clock, Sleep: bankmock.InstantSleep})
	if err != nil {
		return nil, nil, err
	}
	defer bank.Close()
	clock.Set(meta.Clock) // the home's clock, not the bank file's last write
	eng, err := engine.New(engine.Config{Store: st, Bank: bankadapter.New(bank), Identity: bankadapter.NewRegistry(bank),
		Clock: clock, Settings: meta.Settings, SecretKey: key})
	if err != nil {
		return nil, nil, err
	}
	initial, err := chaos.Balances(ctx, bankmock.New(bankmock.Config{Seed: meta.Seed, Customers: meta.Customers}))
	if err != nil {
		return nil, nil, err
	}
	w := &chaos.World{Store: st, Engine: eng, Bank: bank, Admin: bank, Clock: clock, Start: vclock.DefaultEpoch, Initial: initial}
	return chaos.Check(ctx, w)
}
