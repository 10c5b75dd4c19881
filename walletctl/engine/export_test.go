package engine

// What the external tests (package engine_test, which builds its worlds with internal/testworld,
// an importer of this package) check of the engine's insides.

var (
	CheckPasswordRules = checkPasswordRules
	VerifyPassword     = verifyPassword
	BillRow            = billRow
)

const (
	BillHeader     = billHeader
	AcctFees       = acctFees
	BalanceAccount = balanceAccount
)

func (e *Engine) HashPassword(pw string) (string, error) { return e.hashPassword(pw) }

func (e *Engine) WithdrawFee(usedQuota, amount int64) int64 { return e.withdrawFee(usedQuota, amount) }
