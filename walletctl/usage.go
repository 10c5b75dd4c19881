package walletctl

import (
	"time"

	"github.com/walletctl/walletctl/vclock"
)

// Usage counters (DESIGN.md section 12): what the limits read of a user's past movements is kept
// by the store where each txn is written (StoreTx.CreateTxn, StoreTx.SaveTxn), never summed over
// the history, so that a payment costs the same after a million of them. A counter is the sum of
// the amounts of one user's txns that count in one scope and were created in one period; a txn
// counts while it is not failed (a transfer refunded or cancelled, a withdrawal the bank refused
// counts no more), so a status change moves its counters by its amount.
const (
	// UsageBalanceLife is payments and transfers from the balance, for ever (period 0): the class
	// I limit, which runs from the opening of the account.
	UsageBalanceLife = "balance_life"
	// UsageBalanceYear is the same per Shanghai calendar year (period UsageYear): the limit of
	// classes II and III.
	UsageBalanceYear = "balance_year"
	// UsagePaidDay is payments and transfers from any source per Shanghai day (period UsageDay):
	// the daily limit.
	UsagePaidDay = "paid_day"
	// UsageWithdrawn is withdrawals, for ever (period 0): the withdrawal fee's free quota, per ID
	// number (read with UsageFilter.IDHash).
	UsageWithdrawn = "withdrawn"
)

// UsageCounter is one counter: the sum of the amounts of the user's txns of Scope created in
// Period.
type UsageCounter struct {
	UserID string
	Scope  string
	Period int64 // 0 for the lifetime scopes; UsageYear or UsageDay of the txns' creation
	Amount int64
}

// UsageFilter selects counters for StoreTx.Usage: the user's (or those of every user with the ID
// number's hash IDHash) of Scope whose period is Since or later. Periods grow with time, so
// "Since or later" is "created at the period's start or after", as a sum over the txns had it.
type UsageFilter struct {
	UserID string
	IDHash string // instead of UserID
	Scope  string
	Since  int64
}

// UsageYear is the period of t's Shanghai calendar year (2026).
func UsageYear(t time.Time) int64 { return int64(t.In(vclock.Shanghai).Year()) }

// UsageDay is the period of t's Shanghai calendar day (20260105).
func UsageDay(t time.Time) int64 {
	s := t.In(vclock.Shanghai)
	return int64(s.Year())*10000 + int64(s.Month())*100 + int64(s.Day())
}

// TxnUsage is what a txn adds to the counters as it stands: the one place that says which txns
// count towards which limit.
func TxnUsage(t *Txn) []UsageCounter {
	if t.Status == TxnFailed {
		return nil
	}
	switch t.Kind {
	case KindPay, KindTransfer:
		out := []UsageCounter{{UserID: t.UserID, Scope: UsagePaidDay, Period: UsageDay(t.CreatedAt), Amount: t.Amount}}
		if t.Source == "balance" {
			out = append(out,
				UsageCounter{UserID: t.UserID, Scope: UsageBalanceLife, Amount: t.Amount},
				UsageCounter{UserID: t.UserID, Scope: UsageBalanceYear, Period: UsageYear(t.CreatedAt), Amount: t.Amount})
		}
		return out
	case KindWithdraw:
		return []UsageCounter{{UserID: t.UserID, Scope: UsageWithdrawn, Amount: t.Amount}}
	}
	return nil
}
