package walletctl

import (
	"context"
	"errors"
	"time"
)

// Bank is what the engine needs from a bank, in the wallet's own types. The bank adapter
// (walletctl/bankadapter) implements it over the bankmock engine in-process or the bank-adapter
// protocol over HTTP. Every failure is a *BankError; a failure whose outcome the adapter cannot
// know (transport dropped, timeout) is a *BankError with code BankOutcomeUnknown.
type Bank interface {
	Banks(ctx context.Context) ([]BankInfo, error)
	CreateBinding(ctx context.Context, req BankCardRequest) (*BankBinding, error)
	ConfirmBinding(ctx context.Context, bindingID, otp string) (*BankAgreement, error)
	Unbind(ctx context.Context, agreement string) error
	Debit(ctx context.Context, idempotencyKey, agreement string, amount int64) (*BankTxn, error)
	Credit(ctx context.Context, idempotencyKey, agreement string, amount int64) (*BankTxn, error)
	Transaction(ctx context.Context, idempotencyKey string) (*BankTxn, error)
	Statement(ctx context.Context, date string) (*BankStatement, error)
}

// IdentityRegistry is the sandbox's real-name registry: Check returns nil when the name and the
// resident ID belong together, a *Error with CodeKYCFailed when they do not.
type IdentityRegistry interface {
	Check(ctx context.Context, name, idNo string) error
}

// BankInfo is one bank of the catalogue.
type BankInfo struct {
	Code string   `json:"code"`
	Name string   `json:"name"`
	BINs []string `json:"bins"`
}

// BankCardRequest is the four elements sent to the bank.
type BankCardRequest struct {
	CardNo string
	Name   string
	IDNo   string
	Phone  string
}

// BankBinding is a binding the bank opened; its OTP went to the reserved phone.
type BankBinding struct {
	BindingID   string
	PhoneMasked string
	ExpiresAt   time.Time
}

// BankAgreement is a confirmed binding; debits and credits quote the agreement token.
type BankAgreement struct {
	Agreement string
	Bank      string
	CardLast4 string
	CardType  string
}

// BankTxn is the bank's record of a debit or credit.
type BankTxn struct {
	TxnID          string
	IdempotencyKey string
	Kind           string // "debit" or "credit"
	Status         string // TxnSucceeded or TxnFailed
	Amount         int64
	Time           time.Time
	Failure        *BankError // why it failed, when Status is failed
}

// BankStatement is one bank day's settled transactions.
type BankStatement struct {
	Date  string
	Lines []BankTxn
}

// Bank error codes (the bank-adapter protocol's symbolic codes, plus none of our own).
const (
	BankInfoMismatch        = "INFO_MISMATCH"
	BankBindingNotSupported = "BINDING_NOT_SUPPORTED"
	BankCNPNotEnabled       = "CNP_NOT_ENABLED"
	BankIssuerRestricted    = "ISSUER_RESTRICTED"
	BankCardExpired         = "CARD_EXPIRED"
	BankInsufficientFunds   = "INSUFFICIENT_FUNDS"
	BankLimitExceeded       = "LIMIT_EXCEEDED"
	BankOTPInvalid          = "OTP_INVALID"
	BankOTPExpired          = "OTP_EXPIRED"
	BankOutcomeUnknown      = "OUTCOME_UNKNOWN"
	BankIssuerUnavailable   = "ISSUER_UNAVAILABLE"
	BankDuplicate           = "DUPLICATE"
	BankIdempotencyMismatch = "IDEMPOTENCY_MISMATCH"
	BankNotFound            = "NOT_FOUND"
	BankInvalidRequest      = "INVALID_REQUEST"
	BankCardUnknown         = "CARD_UNKNOWN"
)

// BankError is a failure reported by the bank (or, for BankOutcomeUnknown, by the transport).
type BankError struct {
	Code      string
	RespCode  string
	Message   string
	Fields    []string
	Remaining *int
	Fault     string // the bankmock fault that fired, if any
	Err       error
}

func (e *BankError) Error() string {
	s := "bank: " + e.Code
	if e.RespCode != "" {
		s += " (" + e.RespCode + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *BankError) Unwrap() error { return e.Err }

// AsBankError returns the *BankError inside err, if any.
func AsBankError(err error) (*BankError, bool) {
	var be *BankError
	ok := errors.As(err, &be)
	return be, ok
}
