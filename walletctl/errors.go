package walletctl

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
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
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Hint: codeTable[code].hint}
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

// Error codes. Each row of codeTable gives its exit code, HTTP status and default hint.
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

	CodeNetwork         = "NETWORK_ERROR"
	CodeBankUnavailable = "BANK_UNAVAILABLE"
	CodePending         = "PENDING"
	CodeInternal        = "INTERNAL"
)

type codeInfo struct {
	exit   int
	status int
	hint   string
}

// codeTable is the one table from code to exit code, HTTP status and default hint.
// Exit codes: 1 internal, 2 bad input, 3 not found, 4 conflict, 5 precondition, 6 declined by a
// wallet rule, 7 authentication, 8 declined by the bank, 9 network (safe to retry), 10 pending.
var codeTable = map[string]codeInfo{
	CodeInvalidArgument: {2, http.StatusBadRequest, "check the command's flags: walletctl help"},
	CodeInvalidAmount:   {2, http.StatusBadRequest, "amounts are yuan with at most two decimals, e.g. 12.50"},
	CodeInvalidPhone:    {2, http.StatusBadRequest, "a mainland mobile number: 11 digits starting 13-19"},
	CodeInvalidIDNumber: {2, http.StatusBadRequest, "check the 18-digit resident ID: area, birth date and check digit"},
	CodeInvalidCardNo:   {2, http.StatusBadRequest, "check the card number: digits only, as printed on the card"},
	CodeNotFound:        {3, http.StatusNotFound, "list what exists first (user list, card list, tx list)"},
	CodeAlreadyExists:   {4, http.StatusConflict, ""},
	CodeConflict:        {4, http.StatusConflict, "another operation changed this first; look at the state and retry"},
	CodeNoSandbox:       {5, http.StatusPreconditionFailed, "create one first: walletctl sandbox init"},

	CodeAccountRestricted: {6, http.StatusForbidden, "the account is restricted; contact customer service to lift it"},
	CodeAccountFrozen:     {6, http.StatusForbidden, "the account is frozen; contact customer service"},
	CodeKYCRequired:       {5, http.StatusPreconditionFailed, "finish real-name verification first: walletctl kyc submit"},
	CodeKYCFailed:         {8, http.StatusUnprocessableEntity, "check that the name and ID number are exactly as on the ID card"},
	CodeKYCDone:           {4, http.StatusConflict, "real-name verification is already done for this account"},

	CodeCardInfoMismatch:  {8, http.StatusUnprocessableEntity, "check the fields named: the card number, name, ID number and the phone reserved at the bank must match the bank's records"},
	CodeBankBindingDenied: {8, http.StatusUnprocessableEntity, "this bank restricts online binding; contact the bank's customer service, or try another card"},
	CodeCardRestricted:    {8, http.StatusUnprocessableEntity, "the bank restricts this card; contact the bank, or try another card"},
	CodeCardNotSupported:  {8, http.StatusUnprocessableEntity, "this card cannot be used online; try another card"},
	CodeOTPInvalid:        {7, http.StatusUnauthorized, "check the SMS code sent to the phone reserved at the bank"},
	CodeOTPExpired:        {7, http.StatusUnauthorized, "the SMS code expired or was tried too often; start again to get a new one"},

	CodePasswordNotSet:  {5, http.StatusPreconditionFailed, "set a payment password first: walletctl password set"},
	CodePasswordFormat:  {2, http.StatusBadRequest, "the payment password is exactly 6 digits"},
	CodePasswordWeak:    {2, http.StatusBadRequest, "avoid repeated digits, runs like 123456, and your birth date"},
	CodePasswordWrong:   {7, http.StatusUnauthorized, "the password locks after too many wrong tries; if forgotten: walletctl password reset"},
	CodePasswordLocked:  {7, http.StatusLocked, "wait for the lock to expire, or recover it: walletctl password reset"},
	CodeIdentityFailed:  {7, http.StatusUnauthorized, "give the real name, ID number and a bound card exactly as verified"},
	CodePasswordMissing: {2, http.StatusBadRequest, "give the payment password at the prompt or with --password-stdin"},

	CodeInsufficientBalance: {6, http.StatusUnprocessableEntity, "top up first, or pay with a card: --source card:ID"},
	CodeInsufficientFunds:   {8, http.StatusUnprocessableEntity, "the card has too little money; top it up at the bank or use another card"},
	CodeClassLimit:          {6, http.StatusUnprocessableEntity, "your account class limits balance payments; bind a bank card to upgrade it"},
	CodeBankLimit:           {8, http.StatusUnprocessableEntity, "the bank's single or daily limit for this card is reached; use a smaller amount or another card"},
	CodeDailyLimit:          {6, http.StatusUnprocessableEntity, "the daily limit is reached; try again tomorrow"},
	CodeVelocityLimit:       {6, http.StatusTooManyRequests, "too many payments in a short time; wait a while"},
	CodePayeeConfirm:        {6, http.StatusUnprocessableEntity, "confirm who you are paying: call them another way, then pass --confirm-payee with their full real name"},
	CodePayeeMismatch:       {6, http.StatusUnprocessableEntity, "the name does not match the payee: stop and check who you are paying"},
	CodeTransferState:       {4, http.StatusConflict, "look at the transfer: walletctl tx show ID"},

	CodeNetwork:         {9, http.StatusBadGateway, "network trouble reaching the bank; retry on a good network, it is safe to retry"},
	CodeBankUnavailable: {9, http.StatusServiceUnavailable, "the bank is unavailable; it is safe to retry later"},
	CodePending:         {10, http.StatusAccepted, "the bank's answer was lost; the operation is pending and nothing will be charged twice: walletctl reconcile"},
	CodeInternal:        {1, http.StatusInternalServerError, "this is a bug in walletctl; please report it"},
}

// ExitCode maps an error code to the CLI's exit code.
func ExitCode(code string) int {
	if code == "" {
		return 0
	}
	if c, ok := codeTable[code]; ok {
		return c.exit
	}
	return 1
}

// HTTPStatus maps an error code to the wallet API's HTTP status.
func HTTPStatus(code string) int {
	if c, ok := codeTable[code]; ok {
		return c.status
	}
	return http.StatusInternalServerError
}

// Hint is the default hint for a code.
func Hint(code string) string { return codeTable[code].hint }

// CodeRow is one row of the code table, for the README and `walletctl help codes`.
type CodeRow struct {
	Code   string `json:"code"`
	Exit   int    `json:"exit"`
	Status int    `json:"http_status"`
	Hint   string `json:"hint"`
}

// Codes returns the code table sorted by exit code, then code.
func Codes() []CodeRow {
	rows := make([]CodeRow, 0, len(codeTable))
	for code, c := range codeTable {
		rows = append(rows, CodeRow{code, c.exit, c.status, c.hint})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Exit != rows[j].Exit {
			return rows[i].Exit < rows[j].Exit
		}
		return rows[i].Code < rows[j].Code
	})
	return rows
}
