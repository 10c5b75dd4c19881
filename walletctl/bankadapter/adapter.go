// Package bankadapter connects the wallet engine to a bank that speaks the bank-adapter protocol
// (package bankapi): a mock in-process, or bankapi/client (a running bankmock, or a partner's
// bank) over HTTP. It normalises failures; their business meaning is the engine's.
package bankadapter

import (
	"context"
	"errors"
	"fmt"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
)

// adapter passes every call through and normalises its failure.
type adapter struct{ api bankapi.API }

// New wraps a bank-adapter protocol implementation as the wallet's Bank: the same calls, with
// every failure a *bankapi.Error.
func New(api bankapi.API) walletctl.Bank { return &adapter{api: api} }

// convert makes any failure a *bankapi.Error. An error that is not the bank's own (a transport
// failure the client did not classify, a context deadline) means the wallet cannot know whether
// the bank acted: OUTCOME_UNKNOWN, never a guessed failure.
func convert(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := bankapi.AsError(err); ok {
		return err
	}
	return &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, Message: fmt.Sprintf("no answer from the bank: %v", err)}
}

func pass[T any](v T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, convert(err)
	}
	return v, nil
}

func (a *adapter) Banks(ctx context.Context) ([]bankapi.BankInfo, error) {
	return pass(a.api.Banks(ctx))
}

func (a *adapter) Verify(ctx context.Context, r bankapi.CardRequest) (*bankapi.VerifyResult, error) {
	return pass(a.api.Verify(ctx, r))
}

func (a *adapter) CreateBinding(ctx context.Context, r bankapi.CardRequest) (*bankapi.Binding, error) {
	return pass(a.api.CreateBinding(ctx, r))
}

func (a *adapter) ConfirmBinding(ctx context.Context, bindingID, otp string) (*bankapi.Agreement, error) {
	return pass(a.api.ConfirmBinding(ctx, bindingID, otp))
}

func (a *adapter) Unbind(ctx context.Context, agreement string) error {
	return convert(a.api.Unbind(ctx, agreement))
}

func (a *adapter) Debit(ctx context.Context, key string, r bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return pass(a.api.Debit(ctx, key, r))
}

func (a *adapter) Credit(ctx context.Context, key string, r bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return pass(a.api.Credit(ctx, key, r))
}

func (a *adapter) Transaction(ctx context.Context, key string) (*bankapi.Transaction, error) {
	return pass(a.api.Transaction(ctx, key))
}

func (a *adapter) Statement(ctx context.Context, date string) (*bankapi.Statement, error) {
	return pass(a.api.Statement(ctx, date))
}

type registry struct{ admin bankapi.Admin }

// NewRegistry is the sandbox's real-name registry: an identity is valid when the bank world has a
// customer with exactly that name and resident ID (the bank's customers are the sandbox's people).
func NewRegistry(admin bankapi.Admin) walletctl.IdentityRegistry { return &registry{admin: admin} }

func (r *registry) Check(ctx context.Context, name, idNo string) error {
	cs, err := r.admin.Customers(ctx)
	if err != nil {
		var be *bankapi.Error
		if errors.As(err, &be) && be.Code == bankapi.CodeIssuerUnavailable {
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
