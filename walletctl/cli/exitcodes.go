package cli

import "github.com/walletctl/walletctl/walletctl"

// exitCodes maps each wallet error code to the process's exit code, by class: 1 internal, 2 bad
// input, 3 not found, 4 conflict, 5 precondition, 6 declined by a wallet rule, 7 authentication,
// 8 declined by the bank, 9 network or busy (safe to retry), 10 pending or outcome unknown, 11
// checks failed (scenario goldens, conformance checks): the tool ran and found faults.
var exitCodes = map[string]int{
	walletctl.CodeInvalidArgument:     2,
	walletctl.CodeInvalidAmount:       2,
	walletctl.CodeInvalidPhone:        2,
	walletctl.CodeInvalidIDNumber:     2,
	walletctl.CodeInvalidCardNo:       2,
	walletctl.CodeNotFound:            3,
	walletctl.CodeAlreadyExists:       4,
	walletctl.CodeConflict:            4,
	walletctl.CodeNoSandbox:           5,
	walletctl.CodeAccountRestricted:   6,
	walletctl.CodeAccountFrozen:       6,
	walletctl.CodeKYCRequired:         5,
	walletctl.CodeKYCFailed:           8,
	walletctl.CodeKYCDone:             4,
	walletctl.CodeCardInfoMismatch:    8,
	walletctl.CodeBankBindingDenied:   8,
	walletctl.CodeCardRestricted:      8,
	walletctl.CodeCardNotSupported:    8,
	walletctl.CodeOTPInvalid:          7,
	walletctl.CodeOTPExpired:          7,
	walletctl.CodePasswordNotSet:      5,
	walletctl.CodePasswordFormat:      2,
	walletctl.CodePasswordWeak:        2,
	walletctl.CodePasswordWrong:       7,
	walletctl.CodePasswordLocked:      7,
	walletctl.CodeIdentityFailed:      7,
	walletctl.CodePasswordMissing:     2,
	walletctl.CodeInsufficientBalance: 6,
	walletctl.CodeInsufficientFunds:   8,
	walletctl.CodeClassLimit:          6,
	walletctl.CodeBankLimit:           8,
	walletctl.CodeDailyLimit:          6,
	walletctl.CodeVelocityLimit:       6,
	walletctl.CodePayeeConfirm:        6,
	walletctl.CodePayeeMismatch:       6,
	walletctl.CodeTransferState:       4,
	walletctl.CodeOrderState:          4,
	walletctl.CodePayCodeInvalid:      7,
	walletctl.CodeRefundLimit:         6,
	walletctl.CodeMerchantFunds:       6,
	walletctl.CodeNetwork:             9,
	walletctl.CodeBankUnavailable:     9,
	walletctl.CodeBankAnswerMismatch:  10,
	walletctl.CodeBankAuth:            7,
	walletctl.CodeSandboxBank:         5,
	walletctl.CodeSandboxDamaged:      5,
	walletctl.CodeDiskFull:            5,
	walletctl.CodeSandboxReadOnly:     5,
	walletctl.CodePending:             10,
	walletctl.CodeOutcomeUnknown:      10,
	walletctl.CodeServerBusy:          9,
	walletctl.CodeTimedOut:            9,
	walletctl.CodeUnauthenticated:     7,
	walletctl.CodeUnauthorized:        7,
	walletctl.CodeScenarioFailed:      11,
	walletctl.CodeConformanceFailed:   11,
	walletctl.CodeInternal:            1,
}

// ExitCode maps an error code to the CLI's exit code: 0 for none, 1 for a code it does not know.
func ExitCode(code string) int {
	if code == "" {
		return 0
	}
	if c, ok := exitCodes[code]; ok {
		return c
	}
	return 1
}
