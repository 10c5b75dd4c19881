package bankapi

import (
	"errors"
	"fmt"
	"strings"
)

// Error is every failure the bank reports: a symbolic code, the card network's numeric response
// code, a message and, for a mismatch, the fields that did not match. Over HTTP it travels as
// {"error":{"code":"INFO_MISMATCH","resp_code":"66","message":"…","fields":["phone"]}}.
type Error struct {
	Code     string   `json:"code"`
	RespCode string   `json:"resp_code"`
	Message  string   `json:"message"`
	Fields   []string `json:"fields,omitempty"`
	// Remaining is the number of OTP attempts left, for OTP_INVALID.
	Remaining *int `json:"remaining,omitempty"`
	// Fault is "<source>:<id>" of the injected fault that produced this error, if any.
	Fault string `json:"fault,omitempty"`
	// Processed is true when the bank did the work although the caller never heard the answer
	// (drop_after, malformed, a delay past the caller's timeout). Only the engine knows it; over
	// HTTP the client cannot tell, so it is never sent on the wire.
	Processed bool `json:"-"`
}

func (e *Error) Error() string {
	s := e.Code
	if e.RespCode != "" {
		s += " (" + e.RespCode + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if len(e.Fields) > 0 {
		s += " [" + strings.Join(e.Fields, ",") + "]"
	}
	return s
}

// Is makes errors.Is(err, ErrOutcomeUnknown) and friends work by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.RespCode == "" && t.Message == ""
}

// Error codes, with the card network response code each carries.
const (
	CodeInfoMismatch        = "INFO_MISMATCH"         // 66: four elements do not match; Fields names them
	CodeBindingNotSupported = "BINDING_NOT_SUPPORTED" // 68: the bank refuses online binding (small banks)
	CodeCNPNotEnabled       = "CNP_NOT_ENABLED"       // 72: card-not-present payments not enabled on the card
	CodeIssuerRestricted    = "ISSUER_RESTRICTED"     // 77: issuer restricts the card (frozen, lost)
	CodeCardExpired         = "CARD_EXPIRED"          // 78: card expired
	CodeInsufficientFunds   = "INSUFFICIENT_FUNDS"    // 51 (debit card) / 64 (credit line)
	CodeLimitExceeded       = "LIMIT_EXCEEDED"        // 61 (single) / 81 (daily)
	CodeOTPInvalid          = "OTP_INVALID"           // 71: wrong OTP; Remaining says how many tries are left
	CodeOTPExpired          = "OTP_EXPIRED"           // 71: OTP expired or attempts used up; bind again
	CodeOutcomeUnknown      = "OUTCOME_UNKNOWN"       // 03/04/05: query later by idempotency key
	CodeIssuerUnavailable   = "ISSUER_UNAVAILABLE"    // 91/96: not processed, safe to retry
	CodeDuplicate           = "DUPLICATE"             // 94: same idempotency key in flight (concurrent)
	CodeIdempotencyMismatch = "IDEMPOTENCY_MISMATCH"  // 12: same idempotency key, different parameters
	CodeNotFound            = "NOT_FOUND"             // 25: no such binding, agreement, card or transaction
	CodeInvalidRequest      = "INVALID_REQUEST"       // 30: malformed request (bad JSON, bad amount, ...)
	CodeCardUnknown         = "CARD_UNKNOWN"          // 14: card number invalid or BIN not in the catalogue
	CodeUnauthorized        = "UNAUTHORIZED"          // a bank-wide admin route without the admin token (or loopback when there is none)
	CodeUnauthenticated     = "UNAUTHENTICATED"       // a partner key or admin token the bank does not know
)

// Sentinels for errors.Is.
var (
	ErrOutcomeUnknown    = &Error{Code: CodeOutcomeUnknown}
	ErrIssuerUnavailable = &Error{Code: CodeIssuerUnavailable}
	ErrNotFound          = &Error{Code: CodeNotFound}
)

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// HTTPStatus is the one table from error code to HTTP status.
func HTTPStatus(code string) int {
	switch code {
	case CodeInvalidRequest, CodeCardUnknown:
		return 400
	case CodeUnauthorized:
		return 403
	case CodeUnauthenticated:
		return 401
	case CodeNotFound:
		return 404
	case CodeDuplicate, CodeIdempotencyMismatch:
		return 409
	case CodeIssuerUnavailable:
		return 503
	case CodeOutcomeUnknown:
		return 504
	default: // business declines: the request was understood and refused
		return 422
	}
}

// Errorf builds an *Error.
func Errorf(code, respCode, format string, args ...any) *Error {
	return &Error{Code: code, RespCode: respCode, Message: fmt.Sprintf(format, args...)}
}
