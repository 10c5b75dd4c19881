// Package bankadapter connects the wallet engine to a bank that speaks the bank-adapter protocol:
// the bankmock engine in-process, or bankmock/client (a running bankmock, or a partner's bank)
// over HTTP. It translates types and errors; the business meaning of errors is the engine's.
package bankadapter

import (
	"context"
	"errors"
	"fmt"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/walletctl"
)

type adapter struct{ api bankmock.API }

// New wraps a bank-adapter protocol implementation as the wallet's Bank.
func New(api bankmock.API) walletctl.Bank { return &adapter{api: api} }

// convert maps any error from the bank into a *walletctl.BankError. An error that is not the
// bank's own (a transport failure the client did not classify, a context deadline) means the
// wallet cannot know whether the bank acted: OUTCOME_UNKNOWN, never a guessed failure.
func convert(err error) error {
	if err == nil {
		return nil
	}
	if be, ok := bankmock.AsError(err); ok {
		return &walletctl.BankError{Code: be.Code, RespCode: be.RespCode, Message: be.Message,
			Fields: append([]string(nil), be.Fields...), Remaining: be.Remaining, Fault: be.Fault, Err: err}
	}
	return &walletctl.BankError{Code: walletctl.BankOutcomeUnknown, Message: fmt.Sprintf("no answer from the bank: %v", err), Err: err}
}

func (a *adapter) Banks(ctx context.Context) ([]walletctl.BankInfo, error) {
	bs, err := a.api.Banks(ctx)
	if err != nil {
		return nil, convert(err)
	}
	out := make([]walletctl.BankInfo, len(bs))
	for i, b := range bs {
		out[i] = walletctl.BankInfo{Code: b.Code, Name: b.Name, BINs: b.BINs}
	}
	return out, nil
}

func (a *adapter) CreateBinding(ctx context.Context, r walletctl.BankCardRequest) (*walletctl.BankBinding, error) {
	b, err := a.api.CreateBinding(ctx, bankmock.CardRequest{CardNo: r.CardNo, Name: r.Name, IDNo: r.IDNo, Phone: r.Phone})
	if err != nil {
		return nil, convert(err)
	}
	return &walletctl.BankBinding{BindingID: b.BindingID, PhoneMasked: b.PhoneMasked, ExpiresAt: b.ExpiresAt}, nil
}

func (a *adapter) ConfirmBinding(ctx context.Context, bindingID, otp string) (*walletctl.BankAgreement, error) {
	ag, err := a.api.ConfirmBinding(ctx, bindingID, otp)
	if err != nil {
		return nil, convert(err)
	}
	return &walletctl.BankAgreement{Agreement: ag.Agreement, Bank: ag.Bank, CardLast4: ag.CardLast4, CardType: string(ag.CardType)}, nil
}

func (a *adapter) Unbind(ctx context.Context, agreement string) error {
	return convert(a.api.Unbind(ctx, agreement))
}

func txn(t *bankmock.Transaction) *walletctl.BankTxn {
	out := &walletctl.BankTxn{TxnID: t.TxnID, IdempotencyKey: t.IdempotencyKey, Kind: t.Kind, Status: t.Status, Amount: t.Amount, Time: t.Time}
	if t.Error != nil {
		out.Failure = convert(t.Error).(*walletctl.BankError)
	}
	return out
}

func (a *adapter) money(ctx context.Context, op func(context.Context, string, bankmock.MoneyRequest) (*bankmock.Transaction, error),
	key, agreement string, amount int64) (*walletctl.BankTxn, error) {
	t, err := op(ctx, key, bankmock.MoneyRequest{Agreement: agreement, Amount: amount, Currency: bankmock.Currency})
	if err != nil {
		return nil, convert(err)
	}
	return txn(t), nil
}

func (a *adapter) Debit(ctx context.Context, key, agreement string, amount int64) (*walletctl.BankTxn, error) {
	return a.money(ctx, a.api.Debit, key, agreement, amount)
}

func (a *adapter) Credit(ctx context.Context, key, agreement string, amount int64) (*walletctl.BankTxn, error) {
	return a.money(ctx, a.api.Credit, key, agreement, amount)
}

func (a *adapter) Transaction(ctx context.Context, key string) (*walletctl.BankTxn, error) {
	t, err := a.api.Transaction(ctx, key)
	if err != nil {
		return nil, convert(err)
	}
	return txn(t), nil
}

func (a *adapter) Statement(ctx context.Context, date string) (*walletctl.BankStatement, error) {
	st, err := a.api.Statement(ctx, date)
	if err != nil {
		return nil, convert(err)
	}
	out := &walletctl.BankStatement{Date: st.Date}
	for i := range st.Transactions {
		out.Lines = append(out.Lines, *txn(&st.Transactions[i]))
	}
	return out, nil
}

type registry struct{ admin bankmock.Admin }

// NewRegistry is the sandbox's real-name registry: an identity is valid when the bank world has a
// customer with exactly that name and resident ID (the bank's customers are the sandbox's people).
func NewRegistry(admin bankmock.Admin) walletctl.IdentityRegistry { return &registry{admin: admin} }

func (r *registry) Check(ctx context.Context, name, idNo string) error {
	cs, err := r.admin.Customers(ctx)
	if err != nil {
		var be *bankmock.Error
		if errors.As(err, &be) && be.Code == bankmock.CodeIssuerUnavailable {
			return &walletctl.Error{Code: walletctl.CodeBankUnavailable, Message: "the identity registry is unavailable", Hint: walletctl.Hint(walletctl.CodeBankUnavailable), Err: err}
		}
		return &walletctl.Error{Code: walletctl.CodeNetwork, Message: "cannot reach the identity registry", Hint: walletctl.Hint(walletctl.CodeNetwork), Err: err}
	}
	idKnown := false
	for _, c := range cs {
		if equalID(c.IDNo, idNo) {
			if c.Name == name {
				return nil
			}
			idKnown = true
		}
	}
	e := walletctl.Errorf(walletctl.CodeKYCFailed, "the name and ID number do not match the identity registry")
	if idKnown {
		e.Details = map[string]any{"fields": []string{"name"}}
	}
	return e
}

func equalID(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == 'x' {
			x = 'X'
		}
		if y == 'x' {
			y = 'X'
		}
		if x != y {
			return false
		}
	}
	return true
}
