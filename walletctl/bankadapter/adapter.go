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
// the bank acted: OUTCOME_UNKNOWN, never a guessed failure. The one exception is the sandbox's
// in-process bank finding its own file damaged (SANDBOX_DAMAGED): it did nothing, it answered,
// and what the user must hear is the damaged file, not a bank that is down or an answer lost.
func convert(err error) error {
	if err == nil {
		return nil
	}
	if Damaged(err) != nil {
		return err
	}
	if _, ok := bankapi.AsError(err); ok {
		return err
	}
	return &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, Message: fmt.Sprintf("no answer from the bank: %v", err)}
}

// Damaged is the SANDBOX_DAMAGED in err, or nil: an in-process bank whose file is damaged, which
// did not act on the call.
func Damaged(err error) *walletctl.Error {
	var we *walletctl.Error
	if errors.As(err, &we) && we.Code == walletctl.CodeSandboxDamaged {
		return we
	}
	return nil
}

// Ready asks a bank that can tell (the sandbox's in-process bank, opened from its file) whether
// it can work at all, before the wallet records an operation that will call it; a bank over the
// network is not asked (nil): its failures come with its answers.
func (a *adapter) Ready(ctx context.Context) error {
	if r, ok := a.api.(interface{ Ready(context.Context) error }); ok {
		return r.Ready(ctx)
	}
	return nil
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

type registry struct{ reg bankapi.IdentityRegistry }

// NewRegistry is the sandbox's real-name registry: an identity is valid when the bank world has a
// customer with exactly that name and resident ID (the bank's customers are the sandbox's people).
// It asks the bank's registry (bankapi.IdentityRegistry, POST /v1/identities/verify), which any
// partner may: the wallet never needs the bank's admin rights, nor sees anyone's identity, to
// check one. bankmock's engine and the protocol client implement it.
func NewRegistry(bank bankapi.Admin) walletctl.IdentityRegistry {
	reg, _ := bank.(bankapi.IdentityRegistry)
	return &registry{reg: reg}
}

func (r *registry) Check(ctx context.Context, name, idNo string) error {
	if r.reg == nil {
		return &walletctl.Error{Code: walletctl.CodeBankUnavailable, Message: "this bank keeps no identity registry",
			Hint: "real-name verification asks the bank's identity registry (POST /v1/identities/verify); use a bank that has one, such as bankmock"}
	}
	res, err := r.reg.CheckIdentity(ctx, bankapi.IdentityCheck{Name: name, IDNo: idNo})
	if err != nil {
		if d := Damaged(err); d != nil {
			return d
		}
		var be *bankapi.Error
		if errors.As(err, &be) && be.Code == bankapi.CodeIssuerUnavailable {
			return &walletctl.Error{Code: walletctl.CodeBankUnavailable, Message: "the identity registry is unavailable", Hint: walletctl.Hint(walletctl.CodeBankUnavailable), Err: err}
		}
		return &walletctl.Error{Code: walletctl.CodeNetwork, Message: "cannot reach the identity registry", Hint: walletctl.Hint(walletctl.CodeNetwork), Err: err}
	}
	if res.Match {
		return nil
	}
	e := walletctl.Errorf(walletctl.CodeKYCFailed, "the name and ID number do not match the identity registry")
	if res.IDKnown {
		e.Details = map[string]any{"fields": []string{"name"}}
	}
	return e
}

// AdminError maps a bank's error from an admin call (bank otp, bank fault, the clock, ...) to the
// wallet's error type, for the CLI and for walletctl serve's /v1 alike: a bank that refuses a
// credential is BANK_AUTH_FAILED with what to set, never "a bug in walletctl".
func AdminError(err error) (*walletctl.Error, bool) {
	be, ok := bankapi.AsError(err)
	if !ok {
		return nil, false
	}
	code := walletctl.CodeInternal
	hint := ""
	switch be.Code {
	case bankapi.CodeNotFound:
		code = walletctl.CodeNotFound
		hint = "list what exists first: walletctl bank customers, walletctl bank fault list"
	case bankapi.CodeInvalidRequest, bankapi.CodeCardUnknown:
		code = walletctl.CodeInvalidArgument
	case bankapi.CodeUnauthorized: // a partner key on bank-wide administration: known, not allowed (403)
		code = walletctl.CodeUnauthorized
		hint = "this is the bank's own administration: only the bank's admin token may do it (WALLETCTL_BANK_TOKEN); a partner reaches its own things and reads the customers"
	case bankapi.CodeUnauthenticated: // a credential we lack, not a bug
		code = walletctl.CodeBankAuth
		hint = "this needs the bank's admin token: set WALLETCTL_BANK_TOKEN (a partner key moves only its own things)"
	case bankapi.CodeOutcomeUnknown:
		code = walletctl.CodeNetwork
	case bankapi.CodeIssuerUnavailable:
		code = walletctl.CodeBankUnavailable
		if errors.Is(err, bankapi.ErrNotSent) { // nothing listening at --bank: nothing was sent
			code = walletctl.CodeNetwork
		}
	}
	if hint == "" {
		hint = walletctl.Hint(code)
	}
	d := map[string]any{"bank_code": be.Code}
	if be.RespCode != "" {
		d["resp_code"] = be.RespCode
	}
	return &walletctl.Error{Code: code, Message: "bank: " + be.Message, Hint: hint, Details: d, Err: err}, true
}
