package sandbox

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/vclock"
)

// lazyBank is the in-process bank, restored from bank.json on the first call and marked touched so
// that Close writes it back. Commands that never reach the bank never read the file.
type lazyBank struct {
	path  string
	meta  Meta
	clock *vclock.Manual

	eng     *bankmock.Engine
	err     error
	touched bool
}

var (
	_ bankapi.API   = (*lazyBank)(nil)
	_ bankapi.Admin = (*lazyBank)(nil)
)

func (b *lazyBank) get(ctx context.Context) (*bankmock.Engine, error) {
	if b.eng != nil || b.err != nil {
		if b.eng != nil {
			b.touched = true
		}
		return b.eng, b.err
	}
	snap, err := os.ReadFile(b.path)
	if err != nil {
		b.err = fmt.Errorf("read the bank's state: %w", err)
		return nil, b.err
	}
	eng := bankmock.New(bankConfig(b.meta, b.clock))
	now := b.clock.Now()
	if err := eng.Restore(ctx, snap); err != nil {
		b.err = fmt.Errorf("restore the bank's state from %s: %w", b.path, err)
		return nil, b.err
	}
	// sandbox.json owns the clock: bank.json is only rewritten when the bank is touched, so its
	// recorded time may be older than the clock's.
	b.clock.Set(now)
	b.eng, b.touched = eng, true
	return eng, nil
}

func (b *lazyBank) Banks(ctx context.Context) ([]bankapi.BankInfo, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Banks(ctx)
}

func (b *lazyBank) Verify(ctx context.Context, req bankapi.CardRequest) (*bankapi.VerifyResult, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Verify(ctx, req)
}

func (b *lazyBank) CreateBinding(ctx context.Context, req bankapi.CardRequest) (*bankapi.Binding, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.CreateBinding(ctx, req)
}

func (b *lazyBank) ConfirmBinding(ctx context.Context, bindingID, otp string) (*bankapi.Agreement, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.ConfirmBinding(ctx, bindingID, otp)
}

func (b *lazyBank) Unbind(ctx context.Context, agreement string) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return e.Unbind(ctx, agreement)
}

func (b *lazyBank) Debit(ctx context.Context, key string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Debit(ctx, key, req)
}

func (b *lazyBank) Credit(ctx context.Context, key string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Credit(ctx, key, req)
}

func (b *lazyBank) Transaction(ctx context.Context, key string) (*bankapi.Transaction, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Transaction(ctx, key)
}

func (b *lazyBank) Statement(ctx context.Context, date string) (*bankapi.Statement, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Statement(ctx, date)
}

func (b *lazyBank) Customers(ctx context.Context) ([]bankapi.Customer, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Customers(ctx)
}

func (b *lazyBank) Customer(ctx context.Context, cardNo string) (*bankapi.Customer, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Customer(ctx, cardNo)
}

func (b *lazyBank) AddCustomer(ctx context.Context, c bankapi.Customer) (*bankapi.Customer, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.AddCustomer(ctx, c)
}

func (b *lazyBank) GenerateCustomers(ctx context.Context, n int) ([]bankapi.Customer, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.GenerateCustomers(ctx, n)
}

func (b *lazyBank) SetBalance(ctx context.Context, cardNo string, balance int64) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return e.SetBalance(ctx, cardNo, balance)
}

func (b *lazyBank) SetCardStatus(ctx context.Context, cardNo string, status bankapi.CardStatus) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return e.SetCardStatus(ctx, cardNo, status)
}

func (b *lazyBank) Faults(ctx context.Context) ([]bankapi.Fault, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Faults(ctx)
}

func (b *lazyBank) AddFault(ctx context.Context, f bankapi.Fault) (*bankapi.Fault, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.AddFault(ctx, f)
}

func (b *lazyBank) DeleteFault(ctx context.Context, id string) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return e.DeleteFault(ctx, id)
}

func (b *lazyBank) ClearFaults(ctx context.Context) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return e.ClearFaults(ctx)
}

func (b *lazyBank) LastOTP(ctx context.Context, phone string) (string, error) {
	e, err := b.get(ctx)
	if err != nil {
		return "", err
	}
	return e.LastOTP(ctx, phone)
}

func (b *lazyBank) Journal(ctx context.Context) ([]bankapi.JournalEntry, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Journal(ctx)
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
	return e.Reset(ctx)
}

func (b *lazyBank) Snapshot(ctx context.Context) ([]byte, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Snapshot(ctx)
}

func (b *lazyBank) Restore(ctx context.Context, snap []byte) error {
	e, err := b.get(ctx)
	if err != nil {
		return err
	}
	return e.Restore(ctx, snap)
}

func (b *lazyBank) CreatePartner(ctx context.Context, name string) (*bankapi.PartnerCredentials, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.CreatePartner(ctx, name)
}

func (b *lazyBank) Partners(ctx context.Context) ([]bankapi.Partner, error) {
	e, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	return e.Partners(ctx)
}
