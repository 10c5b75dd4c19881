package walletctl

import (
	"context"

	"github.com/walletctl/walletctl/bankapi"
)

// Bank is what the engine needs from a bank: the bank-adapter protocol itself (package bankapi),
// spoken in-process to a mock or over HTTP to any bank. The adapter (walletctl/bankadapter) wraps
// a transport so that every failure is a *bankapi.Error and an answer that never came is
// OUTCOME_UNKNOWN; the engine checks every answer about money against what it sent.
type Bank = bankapi.API

// IdentityRegistry is the sandbox's real-name registry: Check returns nil when the name and the
// resident ID belong together, a *Error with CodeKYCFailed when they do not.
type IdentityRegistry interface {
	Check(ctx context.Context, name, idNo string) error
}
