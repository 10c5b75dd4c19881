package walletctl

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is the wallet's one error type: a stable code, a message, a hint taken from the seed's
// advice, and details (fields that mismatched, attempts remaining, lock expiry, ...).
type Error struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Hint    string         `json:"hint,omitempty"`
	Details map[string]any `json:"details,omitempty"`
	Err     error          `json:"-"` // the cause, for errors.Is/As; never shown raw
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with the code's default hint.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Hint: codeHints[code]}
}

// ErrorCode returns the code of err, INTERNAL for errors that are not *Error, "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// DiskFull is err as DISK_FULL when a file system ran out of space under it (ENOSPC, or SQLite's
// "database or disk is full"), or as SANDBOX_READ_ONLY when it is read-only (EROFS, SQLite's
// "readonly database"), else nil: the user's information, not a bug.
func DiskFull(err error) *Error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); IsReadOnlyFS(err) || strings.Contains(msg, "readonly database") || strings.Contains(msg, "read-only file system") {
		return &Error{Code: CodeSandboxReadOnly, Message: "cannot write: " + msg, Hint: codeHints[CodeSandboxReadOnly], Err: err}
	}
	msg := err.Error()
	// SQLite says "database or disk is full" (SQLITE_FULL, 13), or fails to grow its shared-memory
	// file: SQLITE_IOERR_SHMSIZE (4874), which on a local disk means no space for it.
	if isNoSpace(err) || strings.Contains(msg, "database or disk is full") || strings.Contains(msg, "no space left on device") ||
		strings.Contains(msg, "disk I/O error (4874)") {
		return &Error{Code: CodeDiskFull, Message: "out of disk space: " + msg, Hint: codeHints[CodeDiskFull], Err: err}
	}
	return nil
}

// Error codes. Each has a default hint in codeHints.
const (
	CodeInvalidArgument = "INVALID_ARGUMENT"
	CodeInvalidAmount   = "INVALID_AMOUNT"
	CodeInvalidPhone    = "INVALID_PHONE"
	CodeInvalidIDNumber = "INVALID_ID_NUMBER"
	CodeInvalidCardNo   = "INVALID_CARD_NUMBER"
	CodeNotFound        = "NOT_FOUND"
	CodeAlreadyExists   = "ALREADY_EXISTS"
	CodeConflict        = "CONFLICT"
	CodeNoSandbox       = "NO_SANDBOX"

	CodeAccountRestricted = "ACCOUNT_RESTRICTED"
	CodeAccountFrozen     = "ACCOUNT_FROZEN"
	CodeKYCRequired       = "KYC_REQUIRED"
	CodeKYCFailed         = "KYC_FAILED"
	CodeKYCDone           = "KYC_ALREADY_DONE"

	CodeCardInfoMismatch  = "CARD_INFO_MISMATCH"
	CodeBankBindingDenied = "BANK_BINDING_RESTRICTED"
	CodeCardRestricted    = "CARD_RESTRICTED"
	CodeCardNotSupported  = "CARD_NOT_SUPPORTED"
	CodeOTPInvalid        = "OTP_INVALID"
	CodeOTPExpired        = "OTP_EXPIRED"

	CodePasswordNotSet  = "PASSWORD_NOT_SET"
	CodePasswordFormat  = "PASSWORD_FORMAT"
	CodePasswordWeak    = "PASSWORD_WEAK"
	CodePasswordWrong   = "PASSWORD_WRONG"
	CodePasswordLocked  = "PASSWORD_LOCKED"
	CodeIdentityFailed  = "IDENTITY_MISMATCH"
	CodePasswordMissing = "PASSWORD_REQUIRED"

	CodeInsufficientBalance = "INSUFFICIENT_BALANCE"
	CodeInsufficientFunds   = "INSUFFICIENT_FUNDS"
	CodeClassLimit          = "CLASS_LIMIT_EXCEEDED"
	CodeBankLimit           = "BANK_LIMIT_EXCEEDED"
	CodeDailyLimit          = "DAILY_LIMIT_EXCEEDED"
	CodeVelocityLimit       = "VELOCITY_LIMIT_EXCEEDED"
	CodePayeeConfirm        = "PAYEE_CONFIRMATION_REQUIRED"
	CodePayeeMismatch       = "PAYEE_NAME_MISMATCH"
	CodeTransferState       = "TRANSFER_STATE"

	// Merchant orders and refunds (DESIGN.md section 8).
	CodeOrderState     = "ORDER_STATE"     // the order cannot do that in its state (paid, closed, expired, ...)
	CodePayCodeInvalid = "PAYCODE_INVALID" // no such payment code, or used, or expired
	CodeRefundLimit    = "REFUND_LIMIT"    // more than the order has left to refund
	CodeMerchantFunds  = "MERCHANT_FUNDS"  // the merchant's account cannot cover a refund

	CodeNetwork         = "NETWORK_ERROR"
	CodeBankUnavailable = "BANK_UNAVAILABLE"
	CodePending         = "PENDING"
	// CodeOutcomeUnknown: a request reached the wallet server but its answer never came back (the
	// client timed out, the connection dropped): it may have run. Only a retry with the same
	// idempotency key is safe. Clients make it; a server never sends it.
	CodeOutcomeUnknown = "OUTCOME_UNKNOWN"
	// CodeServerBusy: the wallet server's queue for this tenant is full; the request was not run.
	CodeServerBusy = "SERVER_BUSY"
	// CodeTimedOut: a wait the caller bounded (listen --timeout) ran out before what it waited for
	// came; nothing was changed, and waiting again is safe.
	CodeTimedOut = "TIMED_OUT"
	// CodeBankAnswerMismatch: the bank's answer about money does not match what the wallet sent
	// (another caller's record, another card); the txn stays pending, never settled from it.
	CodeBankAnswerMismatch = "BANK_ANSWER_MISMATCH"
	// CodeBankAuth: the bank does not accept this sandbox's partner credentials.
	CodeBankAuth = "BANK_AUTH_FAILED"
	// CodeSandboxBank: the sandbox was made with another bank than the one given.
	CodeSandboxBank = "SANDBOX_BANK_MISMATCH"
	// CodeSandboxDamaged: a file of the sandbox is empty, truncated, foreign or missing; nothing
	// was rewritten. Details name the file.
	CodeSandboxDamaged = "SANDBOX_DAMAGED"
	// CodeDiskFull: a file system ran out of space while saving; what was not saved did not
	// happen (an operation already sent to the bank stays pending for reconcile).
	CodeDiskFull = "DISK_FULL"
	// CodeSandboxReadOnly: the command must write, and the home (or its file system) is
	// read-only; read-only commands work there.
	CodeSandboxReadOnly = "SANDBOX_READ_ONLY"
	CodeInternal        = "INTERNAL"

	// CodeUnauthenticated: the wallet server (walletctl serve) got no valid credential: a missing
	// or wrong API key, or a wrong admin token (HTTP 401). The bank protocol's own
	// UNAUTHENTICATED/UNAUTHORIZED, about the sandbox's partner credentials at the bank, surface as
	// BANK_AUTH_FAILED: they are the sandbox's to fix, not the caller's.
	CodeUnauthenticated = "UNAUTHENTICATED"
	// CodeUnauthorized: the caller is known but may not do this (HTTP 403). Kept for clients of
	// older servers: since loopback stopped being a credential, walletctl serve answers a missing
	// admin token with UNAUTHENTICATED.
	CodeUnauthorized = "UNAUTHORIZED"
	// CodeScenarioFailed: `scenario run` finished and some scenarios failed (a transcript differs
	// from its golden, a scenario errored, a golden is stale).
	CodeScenarioFailed = "SCENARIO_FAILED"
	// CodeConformanceFailed: `conformance bank|wallet` ran and some checks failed (or none could run).
	CodeConformanceFailed = "CONFORMANCE_FAILED"
)

// codeHints gives each code its default hint, taken from the seed's advice where it has some.
// Every code is a key here, so this is also the list of codes (Codes). Transports map codes to
// their own signals: package cli to exit codes, package httpapi to HTTP statuses.
var codeHints = map[string]string{
	CodeInvalidArgument:     "check the command's flags: walletctl help",
	CodeInvalidAmount:       "amounts are yuan with at most two decimals, e.g. 12.50",
	CodeInvalidPhone:        "a mainland mobile number: 11 digits starting 13-19",
	CodeInvalidIDNumber:     "check the 18-digit resident ID: area, birth date and check digit",
	CodeInvalidCardNo:       "check the card number: digits only, as printed on the card",
	CodeNotFound:            "list what exists first (user list, card list, tx list)",
	CodeAlreadyExists:       "",
	CodeConflict:            "another operation changed this first; look at the state and retry",
	CodeNoSandbox:           "create one first: walletctl sandbox init",
	CodeAccountRestricted:   "the account is restricted; contact customer service to lift it",
	CodeAccountFrozen:       "the account is frozen; contact customer service",
	CodeKYCRequired:         "finish real-name verification first: walletctl kyc submit",
	CodeKYCFailed:           "check that the name and ID number are exactly as on the ID card",
	CodeKYCDone:             "real-name verification is already done for this account",
	CodeCardInfoMismatch:    "check the fields named: they must be as the bank holds them for this card (name, ID number, reserved phone)",
	CodeBankBindingDenied:   "this bank restricts online binding; contact the bank's customer service, or try another card",
	CodeCardRestricted:      "the bank restricts this card; contact the bank, or try another card",
	CodeCardNotSupported:    "this card cannot be used online; try another card",
	CodeOTPInvalid:          "check the SMS code sent to the phone reserved at the bank",
	CodeOTPExpired:          "the SMS code expired or was tried too often; start again to get a new one",
	CodePasswordNotSet:      "set a payment password first: walletctl password set",
	CodePasswordFormat:      "the payment password is exactly 6 digits",
	CodePasswordWeak:        "avoid repeated digits, runs like 123456, and your birth date",
	CodePasswordWrong:       "the password locks after too many wrong tries; if forgotten: walletctl password reset",
	CodePasswordLocked:      "wait for the lock to expire, or recover it: walletctl password reset",
	CodeIdentityFailed:      "give the real name, ID number and a bound card exactly as verified",
	CodePasswordMissing:     "give the payment password at the prompt or with --password-stdin",
	CodeInsufficientBalance: "top up first, or pay with a card: --source card:ID",
	CodeInsufficientFunds:   "the card has too little money; top it up at the bank or use another card",
	CodeClassLimit:          "your account class limits balance payments; bind a bank card to upgrade it",
	CodeBankLimit:           "the bank's single or daily limit for this card is reached; use a smaller amount or another card",
	CodeDailyLimit:          "the daily limit is reached; try again tomorrow",
	CodeVelocityLimit:       "too many payments in a short time; wait a while",
	CodePayeeConfirm:        "confirm who you are paying: call them another way, then pass --confirm-payee with their full real name",
	CodePayeeMismatch:       "the name does not match the payee: stop and check who you are paying",
	CodeTransferState:       "look at the transfer: walletctl tx show ID",
	CodeOrderState:          "look at the order's state: walletctl merchant order show (a closed or expired order is paid with a new order)",
	CodePayCodeInvalid:      "payment codes are valid for one minute and once: show a new one with walletctl paycode",
	CodeRefundLimit:         "an order's refunds add up to at most what was paid: list them with walletctl merchant refund list --mchid M",
	CodeMerchantFunds:       "the merchant's account holds less than the refund; refunds come out of what the merchant was paid",
	CodeNetwork:             "network trouble reaching the bank; retry on a good network, it is safe to retry",
	CodeUnauthenticated:     "pass the tenant's API key with --api-key or WALLETCTL_API_KEY (admin routes: the admin token)",
	CodeUnauthorized:        "this credential may not do that: the servers' admin APIs need their admin token (loopback is not a credential)",
	CodeScenarioFailed:      "read the diffs above; if the new behaviour is right, rewrite the goldens: walletctl scenario run --update",
	CodeConformanceFailed:   "the detail column says what was sent and what came back; docs/partners.md explains each check",
	CodeBankUnavailable:     "the bank is unavailable; it is safe to retry later",
	CodeBankAnswerMismatch:  "the bank answered about another transaction or card; the money stays pending: walletctl reconcile",
	CodeBankAuth:            "the bank no longer accepts this sandbox: start a new one with walletctl sandbox init --force (and --bank URL)",
	CodeSandboxReadOnly:     "the sandbox home is read-only: reading commands work; copy it somewhere writable to act",
	CodeDiskFull:            "free some disk space and retry; walletctl reconcile settles anything left pending",
	CodeSandboxDamaged:      "restore the file named from a backup, or start over with walletctl sandbox init --force",
	CodeSandboxBank:         "pass the --bank this sandbox was made with, or make a new sandbox in another --home",
	CodePending:             "the bank's answer was lost; the operation is pending and nothing will be charged twice: walletctl reconcile",
	CodeOutcomeUnknown:      "the operation may have run: look at tx list, or retry with the same idempotency key",
	CodeServerBusy:          "nothing was done: the server is busy with this tenant's earlier requests; retry in a moment",
	CodeTimedOut:            "nothing came in the time given: check that something made the event (walletctl notify list), or wait longer",
	CodeInternal:            "this is a bug in walletctl; please report it",
}

// Hint is the default hint for a code.
func Hint(code string) string { return codeHints[code] }

// Codes lists every error code, sorted.
func Codes() []string {
	out := make([]string, 0, len(codeHints))
	for c := range codeHints {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
