package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/internal/atomicfile"
	"github.com/walletctl/walletctl/vclock"
)

// lazyBank is the in-process bank, opened from bank.db on the first call, so that commands that
// never reach the bank never open the file. The bank commits each operation to bank.db before it
// answers (bankmock.Open): nothing is left to save when the command ends.
type lazyBank struct {
	path   string // bank.db
	legacy string // bank.json, a home of format 2: converted on first use
	meta   Meta
	clock  vclock.Settable
	// readOnly: a read-only home; the bank answers reads only, and a format-2 bank.json is
	// read into memory instead of being converted.
	readOnly bool

	// quiet: the bank is only looked at (sandbox check): a statement is read from its records
	// without the journal entry and the faults of a request.
	quiet bool

	eng *bankmock.Engine
	err error
}

// pass is an answer of the bank with a damaged bank.db as SANDBOX_DAMAGED naming it: damage the
// bank found inside its file while it worked (it did nothing of the operation), which a wallet
// must not take for a bank that is down or an answer that was lost.
func pass[T any](v T, err error) (T, error) { return v, asDamaged(err) }

// Ready opens the bank if it is not open yet: SANDBOX_DAMAGED when bank.db is damaged. The wallet
// asks before it records an operation that will call the bank (engine), so that a damaged file
// is found before anything is recorded.
func (b *lazyBank) Ready(ctx context.Context) error {
	_, err := b.get(ctx)
	return err
}

var (
	_ bankapi.API              = (*lazyBank)(nil)
	_ bankapi.Admin            = (*lazyBank)(nil)
	_ bankapi.IdentityRegistry = (*lazyBank)(nil)
)

func (b *lazyBank) config() bankmock.Config {
	cfg := bankConfig(b.meta, b.clock)
	cfg.Path, cfg.NoSync, cfg.ReadOnly = b.path, b.meta.throwaway(), b.readOnly
	return cfg
}

func (b *lazyBank) get(ctx context.Context) (*bankmock.Engine, error) {
	if b.eng != nil || b.err != nil {
		return b.eng, b.err
	}
	now := b.clock.Now()
	if err := b.convertLegacy(ctx); err != nil {
		b.err = err
		return nil, err
	}
	eng, err := bankmock.Open(b.config())
	if err != nil {
		b.err = asDamaged(fmt.Errorf("open the bank's state: %w", err))
		return nil, b.err
	}
	// sandbox.json owns the clock: the bank's file records the time of its last change only.
	b.clock.Set(now)
	b.eng = eng
	return eng, nil
}

// convertLegacy turns the bank.json of a format-2 home into bank.db: the new file is written
// whole under a temporary name and renamed, then bank.json is removed, so a crash at any point
// leaves one of the two to start from.
func (b *lazyBank) convertLegacy(ctx context.Context) error {
	if b.readOnly {
		return nil // nothing can be converted in a read-only home; bank.db is opened (or missing)
	}
	snap, err := os.ReadFile(b.legacy)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return damaged(b.legacy, "cannot read it: "+err.Error(), err)
	}
	if _, err := os.Stat(b.path); err == nil {
		// Converted before, killed before bank.json was removed: bank.db is the newer state.
		return os.Remove(b.legacy)
	}
	tmp := b.path + ".converting"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(p)
	}
	cfg := b.config()
	cfg.Path, cfg.Create = tmp, true
	eng, err := bankmock.Open(cfg)
	if err != nil {
		return fmt.Errorf("convert %s: %w", b.legacy, err)
	}
	now := b.clock.Now()
	if err := eng.Restore(ctx, snap); err != nil {
		eng.Close()
		os.Remove(tmp)
		return damaged(b.legacy, err.Error(), err)
	}
	b.clock.Set(now)
	if err := eng.Close(); err != nil {
		return fmt.Errorf("convert %s: %w", b.legacy, err)
	}
	if err := os.Rename(tmp, b.path); err != nil {
		return fmt.Errorf("convert %s: %w", b.legacy, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(b.path), !b.meta.throwaway()); err != nil {
		return err
	}
	return os.Remove(b.legacy)
}

// close closes the bank's file (every operation is already committed).
func (b *lazyBank) close() error {
	if b == nil || b.eng == nil {
		return nil
	}
	err := b.eng.Close()
	b.eng, b.err = nil, errors.New("sandbox closed")
	return err
}

func (b *lazyBank) Banks(ctx context.Context) ([]bankapi.BankInfo, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.Banks(ctx))
}

func (b *lazyBank) Verify(ctx context.Context, req bankapi.CardRequest) (*bankapi.VerifyResult, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.Verify(ctx, req))
}

func (b *lazyBank) CreateBinding(ctx context.Context, req bankapi.CardRequest) (*bankapi.Binding, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.CreateBinding(ctx, req))
}

func (b *lazyBank) ConfirmBinding(ctx context.Context, bindingID, otp string) (*bankapi.Agreement, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.ConfirmBinding(ctx, bindingID, otp))
}

func (b *lazyBank) Unbind(ctx context.Context, agreement string) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return asDamaged(e.Unbind(ctx, agreement))
}

func (b *lazyBank) Debit(ctx context.Context, key string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.Debit(ctx, key, req))
}

func (b *lazyBank) Credit(ctx context.Context, key string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.Credit(ctx, key, req))
}

func (b *lazyBank) Transaction(ctx context.Context, key string) (*bankapi.Transaction, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.Transaction(ctx, key))
}

func (b *lazyBank) Statement(ctx context.Context, date string) (*bankapi.Statement, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	if b.quiet {
		return pass(e.StatementRecords(ctx, date))
	}
	return pass(e.Statement(ctx, date))
}

func (b *lazyBank) CheckIdentity(ctx context.Context, req bankapi.IdentityCheck) (*bankapi.IdentityResult, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.CheckIdentity(ctx, req))
}

func (b *lazyBank) Customers(ctx context.Context, p bankapi.Page) (*bankapi.List[bankapi.Customer], error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.Customers(ctx, p))
}

func (b *lazyBank) Customer(ctx context.Context, cardNo string) (*bankapi.Customer, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.Customer(ctx, cardNo))
}

func (b *lazyBank) AddCustomer(ctx context.Context, c bankapi.Customer) (*bankapi.Customer, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.AddCustomer(ctx, c))
}

func (b *lazyBank) GenerateCustomers(ctx context.Context, n int) ([]bankapi.Customer, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.GenerateCustomers(ctx, n))
}

func (b *lazyBank) SetBalance(ctx context.Context, cardNo string, balance int64) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return asDamaged(e.SetBalance(ctx, cardNo, balance))
}

func (b *lazyBank) SetCardStatus(ctx context.Context, cardNo string, status bankapi.CardStatus) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return asDamaged(e.SetCardStatus(ctx, cardNo, status))
}

func (b *lazyBank) Faults(ctx context.Context) ([]bankapi.Fault, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.Faults(ctx))
}

func (b *lazyBank) AddFault(ctx context.Context, f bankapi.Fault) (*bankapi.Fault, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.AddFault(ctx, f))
}

func (b *lazyBank) DeleteFault(ctx context.Context, id string) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return asDamaged(e.DeleteFault(ctx, id))
}

func (b *lazyBank) ClearFaults(ctx context.Context) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return asDamaged(e.ClearFaults(ctx))
}

func (b *lazyBank) LastOTP(ctx context.Context, phone string) (string, error) {
	e, err := b.get(ctx)
	if err != nil {
		return "", err
	}
	return pass(e.LastOTP(ctx, phone))
}

func (b *lazyBank) Journal(ctx context.Context, p bankapi.Page) (*bankapi.List[bankapi.JournalEntry], error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.Journal(ctx, p))
}

// Now, Advance: the in-process bank runs on the sandbox's clock, so neither needs the engine.
func (b *lazyBank) Now(ctx context.Context) (time.Time, error) { return b.clock.Now(), nil }

func (b *lazyBank) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	return b.clock.Advance(d), nil
}

func (b *lazyBank) Reset(ctx context.Context) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return asDamaged(e.Reset(ctx))
}

func (b *lazyBank) Snapshot(ctx context.Context) ([]byte, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.Snapshot(ctx))
}

func (b *lazyBank) Restore(ctx context.Context, snap []byte) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return asDamaged(e.Restore(ctx, snap))
}

func (b *lazyBank) CreatePartner(ctx context.Context, name string) (*bankapi.PartnerCredentials, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.CreatePartner(ctx, name))
}

func (b *lazyBank) Partners(ctx context.Context) ([]bankapi.Partner, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return pass(e.Partners(ctx))
}
