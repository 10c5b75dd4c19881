package httpapi

import (
	"net/http"

	"github.com/walletctl/walletctl/walletctl"
)

// statuses maps each wallet error code to the wallet API's HTTP status.
var statuses = map[string]int{
	walletctl.CodeInvalidArgument:     http.StatusBadRequest,
	walletctl.CodeInvalidAmount:       http.StatusBadRequest,
	walletctl.CodeInvalidPhone:        http.StatusBadRequest,
	walletctl.CodeInvalidIDNumber:     http.StatusBadRequest,
	walletctl.CodeInvalidCardNo:       http.StatusBadRequest,
	walletctl.CodeNotFound:            http.StatusNotFound,
	walletctl.CodeAlreadyExists:       http.StatusConflict,
	walletctl.CodeConflict:            http.StatusConflict,
	walletctl.CodeNoSandbox:           http.StatusPreconditionFailed,
	walletctl.CodeAccountRestricted:   http.StatusForbidden,
	walletctl.CodeAccountFrozen:       http.StatusForbidden,
	walletctl.CodeKYCRequired:         http.StatusPreconditionFailed,
	walletctl.CodeKYCFailed:           http.StatusUnprocessableEntity,
	walletctl.CodeKYCDone:             http.StatusConflict,
	walletctl.CodeCardInfoMismatch:    http.StatusUnprocessableEntity,
	walletctl.CodeBankBindingDenied:   http.StatusUnprocessableEntity,
	walletctl.CodeCardRestricted:      http.StatusUnprocessableEntity,
	walletctl.CodeCardNotSupported:    http.StatusUnprocessableEntity,
	walletctl.CodeOTPInvalid:          http.StatusUnauthorized,
	walletctl.CodeOTPExpired:          http.StatusUnauthorized,
	walletctl.CodePasswordNotSet:      http.StatusPreconditionFailed,
	walletctl.CodePasswordFormat:      http.StatusBadRequest,
	walletctl.CodePasswordWeak:        http.StatusBadRequest,
	walletctl.CodePasswordWrong:       http.StatusUnauthorized,
	walletctl.CodePasswordLocked:      http.StatusLocked,
	walletctl.CodeIdentityFailed:      http.StatusUnauthorized,
	walletctl.CodePasswordMissing:     http.StatusBadRequest,
	walletctl.CodeInsufficientBalance: http.StatusUnprocessableEntity,
	walletctl.CodeInsufficientFunds:   http.StatusUnprocessableEntity,
	walletctl.CodeClassLimit:          http.StatusUnprocessableEntity,
	walletctl.CodeBankLimit:           http.StatusUnprocessableEntity,
	walletctl.CodeDailyLimit:          http.StatusUnprocessableEntity,
	walletctl.CodeVelocityLimit:       http.StatusTooManyRequests,
	walletctl.CodePayeeConfirm:        http.StatusUnprocessableEntity,
	walletctl.CodePayeeMismatch:       http.StatusUnprocessableEntity,
	walletctl.CodeTransferState:       http.StatusConflict,
	walletctl.CodeOrderState:          http.StatusConflict,
	walletctl.CodePayCodeInvalid:      http.StatusUnauthorized,
	walletctl.CodeRefundLimit:         http.StatusUnprocessableEntity,
	walletctl.CodeMerchantFunds:       http.StatusUnprocessableEntity,
	walletctl.CodeNetwork:             http.StatusBadGateway,
	walletctl.CodeBankUnavailable:     http.StatusServiceUnavailable,
	walletctl.CodeBankAnswerMismatch:  http.StatusBadGateway,
	walletctl.CodeBankAuth:            http.StatusBadGateway,
	walletctl.CodeSandboxBank:         http.StatusPreconditionFailed,
	walletctl.CodeDiskFull:            http.StatusInsufficientStorage,
	walletctl.CodeSandboxReadOnly:     http.StatusServiceUnavailable,
	walletctl.CodeSandboxDamaged:      http.StatusServiceUnavailable, // the server's files, not the request: unusable until repaired
	walletctl.CodePending:             http.StatusAccepted,
	walletctl.CodeOutcomeUnknown:      http.StatusGatewayTimeout, // made by clients; listed for completeness
	walletctl.CodeServerBusy:          http.StatusServiceUnavailable,
	walletctl.CodeTimedOut:            http.StatusGatewayTimeout,
	walletctl.CodeUnauthenticated:     http.StatusUnauthorized,
	walletctl.CodeUnauthorized:        http.StatusForbidden,
	// Never sent by the server (they end a local run), but every code has a status: the run was
	// understood and its result is a failure.
	walletctl.CodeScenarioFailed:    http.StatusUnprocessableEntity,
	walletctl.CodeConformanceFailed: http.StatusUnprocessableEntity,
	walletctl.CodeInternal:          http.StatusInternalServerError,
}

// Status maps an error code to the wallet API's HTTP status (500 for a code it does not know).
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
