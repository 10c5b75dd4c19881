package walletctl

import (
	"context"
	"time"
)

// Store is the wallet's persistence, owned by the domain and implemented by walletctl/sqlite.
// Update runs fn in one serialised write transaction (all or nothing); View in a read-only
// snapshot. Lookups return (nil, nil) when nothing matches. The business rules stay in the engine:
// the store only reads and writes records.
type Store interface {
	Update(ctx context.Context, fn func(StoreTx) error) error
	View(ctx context.Context, fn func(StoreTx) error) error
}

// StoreTx is what one transaction of the store offers.
type StoreTx interface {
	// NextID returns the next value (1, 2, ...) of a named sequence ("user", "card", "txn", ...).
	NextID(seq string) (int64, error)

	CreateUser(u *UserRecord) error
	SaveUser(u *UserRecord) error
	GetUser(id string) (*UserRecord, error)
	UserByPhone(phone string) (*UserRecord, error)
	UserByIDHash(idHash string) (*UserRecord, error)
	ListUsers() ([]UserRecord, error)
	PageUsers(p Page) ([]UserRecord, bool, error)
	// LockedUsersDue lists users whose password lock expired at or before now.
	LockedUsersDue(now time.Time) ([]UserRecord, error)

	CreateBinding(b *BindingRecord) error
	GetBinding(id string) (*BindingRecord, error)
	DeleteBinding(id string) error

	CreateCard(c *CardRecord) error
	SaveCard(c *CardRecord) error
	GetCard(id string) (*CardRecord, error)
	ListCards(userID string) ([]CardRecord, error)
	PageCards(userID string, p Page) ([]CardRecord, bool, error)
	DeleteCard(id string) error

	// CreateTxn records a txn and adds it to its usage counters (TxnUsage); SaveTxn writes a
	// txn's status and settlement and moves its counters by the difference its status makes.
	CreateTxn(t *TxnRecord) error
	SaveTxn(t *TxnRecord) error
	GetTxn(id string) (*TxnRecord, error)
	TxnByIdemKey(key string) (*TxnRecord, error)
	TxnByBankKey(key string) (*TxnRecord, error)
	ListTxns(userID string) ([]TxnRecord, error) // the user's own and incoming transfers
	PageTxns(userID string, p Page) ([]TxnRecord, bool, error)
	PendingBankTxns() ([]TxnRecord, error) // pending txns with a bank key, oldest first
	BankTxnsSettledBetween(from, to time.Time) ([]TxnRecord, error)
	// CountTxns counts the user's txns of a short recent window (the velocity limit): it reads
	// the window's rows of an index, never the history before it.
	CountTxns(f TxnFilter) (int, error)
	// Usage sums the usage counters f selects (UsageCounter): what the limits read of the past,
	// kept by CreateTxn and SaveTxn in the transaction that writes the txn. It reads a few rows
	// of one key, whatever the history.
	Usage(f UsageFilter) (int64, error)
	// UsageCounters lists the user's counters by scope and period (checks compare them with
	// their txns).
	UsageCounters(userID string) ([]UsageCounter, error)
	// OpenAmounts is what a user's balance shows besides the available balance: top-ups and
	// withdrawals still pending at the bank, transfers sent and not yet accepted (in transit),
	// transfers arrived for the user to accept (incoming). It reads only what is still open
	// (partial indexes), never the user's history.
	OpenAmounts(userID string) (pending, inTransit, incoming int64, err error)

	// Post appends one balanced ledger entry to a txn and moves the accounts' balances.
	Post(txnID string, postings []Posting) error
	Postings(txnID string) ([]Posting, error)
	AccountBalance(account string) (int64, error)
	// LedgerCheck returns the sum of all postings, the txns whose postings do not sum to zero,
	// the accounts whose cached balance differs from their postings, and the user accounts below 0.
	// LedgerCheck audits the ledger from the last audit recorded clean (MarkLedgerAudited):
	// the postings made since, and every account's balance against what its postings sum to,
	// kept as of that audit. Its cost is the postings since plus the accounts, not the history.
	LedgerCheck() (*LedgerReport, error)
	// MarkLedgerAudited records a clean audit up to posting upto (LedgerReport.Upto).
	MarkLedgerAudited(upto int64) error

	CreateTransfer(t *Transfer) error
	SaveTransfer(t *Transfer) error
	GetTransfer(id string) (*Transfer, error)
	ListTransfers(userID string) ([]Transfer, error) // sent or received
	PageTransfers(userID string, p Page) ([]Transfer, bool, error)
	// TransfersDue lists scheduled transfers with ArrivesAt <= now and arrived ones with RefundAt <= now.
	TransfersDue(now time.Time) ([]Transfer, error)
	// AcceptedBetween reports whether a transfer between a and b (either way) was accepted before.
	AcceptedBetween(a, b string) (bool, error)
	// NextDue is the earliest instant at which due work (arrival, refund, lock expiry) falls due.
	NextDue() (*time.Time, error)

	AppendSecurity(ev *SecurityEvent) error
	SecurityLog(userID string) ([]SecurityEvent, error)
	PageSecurityLog(userID string, p Page) ([]SecurityEvent, bool, error)

	// Merchants, orders, refunds and payment codes (DESIGN.md section 8).
	CreateMerchant(m *Merchant) error
	GetMerchant(id string) (*Merchant, error)
	ListMerchants() ([]Merchant, error)
	CreateOrder(o *Order) error
	SaveOrder(o *Order) error
	FindOrder(k OrderKey) (*Order, error)
	ListOrders(mchid string) ([]Order, error)
	PageOrders(mchid string, p Page) ([]Order, bool, error)
	// OrdersDue lists the orders that can still expire (NOTPAY, or USERPAYING without a txn) whose
	// TimeExpire is at or before now.
	OrdersDue(now time.Time) ([]Order, error)
	CreateRefund(r *Refund) error
	SaveRefund(r *Refund) error
	FindRefund(k RefundKey) (*Refund, error)
	ListRefunds(mchid, transactionID string) ([]Refund, error) // transactionID "" = all the merchant's
	PageRefunds(mchid string, p Page) ([]Refund, bool, error)
	// EachOrderSucceeded calls fn with each of the merchant's orders whose SuccessTime falls on
	// day (YYYY-MM-DD in Shanghai), oldest first, as it reads them from an index of the day: a
	// day's bill costs that day's rows, whatever the merchant's history.
	EachOrderSucceeded(mchid, day string, fn func(*Order) error) error
	// EachRefundSucceeded calls fn with each of the merchant's SUCCESS refunds whose SuccessTime
	// falls on day, oldest first, with the merchant's order it refunds (nil if there is none),
	// found by its transaction id's index.
	EachRefundSucceeded(mchid, day string, fn func(*Refund, *Order) error) error
	// MerchantTotals is what the merchant's orders and refunds add up to (MerchantTotals), kept by
	// CreateOrder, SaveOrder, CreateRefund and SaveRefund in the transaction that writes them.
	MerchantTotals(mchid string) (MerchantTotals, error)
	CreatePayCode(pc *PayCode) error // replaces the user's earlier codes
	GetPayCode(code string) (*PayCode, error)
	DeletePayCode(code string) error

	// Notifications (DESIGN.md section 9).
	CreateNotification(n *Notification) error
	SaveNotification(n *Notification) error
	GetNotification(id string) (*Notification, error)
	ListNotifications() ([]Notification, error)
	PageNotifications(f NotificationFilter, p Page) ([]Notification, bool, error)
	// NextNotification is the pending, not held notification due earliest, at or before now,
	// whose merchant is not in busy and which no one holds a lease on at realNow.
	NextNotification(now, realNow time.Time, busy []string) (*Notification, error)
	// ClaimNotification leases a notification's next try to owner until the lease ends (real
	// time), unless someone holds a lease on it at realNow; it reports whether it did.
	ClaimNotification(id, owner string, until, realNow time.Time) (bool, error)
	// ReleaseNotification ends owner's lease on a notification (another's is left alone).
	ReleaseNotification(id, owner string) error
	// NextNotificationAt is when the earliest pending, not held notification that no one holds
	// a lease on at realNow is due.
	NextNotificationAt(realNow time.Time) (*time.Time, error)
	// NextLeaseEnd is the earliest end of a lease, after realNow, on a pending try due at or
	// before now.
	NextLeaseEnd(now, realNow time.Time) (*time.Time, error)
	HeldNotifications(mchid string) ([]Notification, error)
	CreateNotifyFault(f *NotifyFault) error
	SaveNotifyFault(f *NotifyFault) error
	ListNotifyFaults() ([]NotifyFault, error)
	ClearNotifyFaults() error
	// GetSetting and PutSetting keep small named values (the listener's forward address).
	GetSetting(key string) (string, error)
	PutSetting(key, value string) error
}

// OrderKey finds an order: by the first of ID, TransactionID, PrepayID, CodeURL, TxnID that is
// set, else by MchID and OutTradeNo. A MchID beside a TransactionID restricts it to that merchant.
type OrderKey struct {
	ID, MchID, OutTradeNo, TransactionID, PrepayID, CodeURL, TxnID string
}

// RefundKey finds a refund: by RefundID, or TxnID, or MchID and OutRefundNo.
type RefundKey struct {
	RefundID, TxnID, MchID, OutRefundNo string
}

// MerchantTotals are a merchant's orders (all of them), what it was paid (orders with a
// SuccessTime) and what it refunded (SUCCESS refunds), as `merchant show` gives them.
type MerchantTotals struct {
	Orders   int64
	Paid     int64
	Refunded int64
}

// UserRecord is a user with its private fields: the full name and what is kept of the ID number
// of the real-name check, and the password hash. Only the engine sees it; output uses User. The
// full ID number is never stored in the clear (DESIGN.md section 7): IDHash to compare,
// User.IDMasked to show, IDSealed for the bank's four-element check of a new card.
type UserRecord struct {
	User
	Name           string
	IDHash         string // SecretKey.IDHash; "" = not verified
	IDSealed       string // SecretKey.SealID
	Checks         []string
	VerifiedAt     *time.Time
	PasswordHash   string // PHC-format argon2id
	FailedAttempts int
	LockedUntil    *time.Time
}

// BindingRecord is a binding or a password reset waiting for the bank's OTP.
type BindingRecord struct {
	ID            string // "b1" for a binding, "r1" for a password reset
	UserID        string
	Purpose       string // "bind" or "reset"
	BankBindingID string
	CardHash      string // SecretKey.CardHash of the card number
	CardNoMasked  string // MaskCardNo: BIN and last 4
	Phone         string
	CardID        string // for a reset: the bound card it verifies
	ExpiresAt     time.Time
}

// CardRecord is a bound card with its private fields. The store derives Card.CardMasked and
// Card.Last4 from CardNoMasked.
type CardRecord struct {
	Card
	CardHash     string // SecretKey.CardHash of the card number
	CardNoMasked string // MaskCardNo: BIN and last 4
	Agreement    string
	Phone        string
}

// TxnRecord is a txn with its private fields.
type TxnRecord struct {
	Txn
	CardID   string
	BankKey  string // the idempotency key sent to the bank; "" for wallet-internal movements
	BankTime *time.Time
}

// Public is the txn as the wallet shows it, with the key the bank knows it by.
func (r *TxnRecord) Public() Txn {
	t := r.Txn
	t.BankIdempotencyKey = r.BankKey
	return t
}

// TxnFilter selects txns for CountTxns: the user's txns of the given kinds (none: every kind)
// created at or after Since, excluding failed ones.
type TxnFilter struct {
	UserID string
	Kinds  []string
	Since  time.Time
}

// LedgerReport is what LedgerCheck found.
type LedgerReport struct {
	Sum              int64    `json:"sum"`
	UnbalancedTxns   []string `json:"unbalanced_txns,omitempty"`
	DriftedAccounts  []string `json:"drifted_accounts,omitempty"`
	NegativeAccounts []string `json:"negative_accounts,omitempty"`
	// Upto is the last posting the report covers: a clean report is recorded with
	// MarkLedgerAudited(Upto), and the next audit reads only what was posted after it.
	Upto int64 `json:"-"`
}

// Clean reports whether the ledger holds: it sums to zero, every entry balances, no account
// drifted from its postings, none that must not be is negative.
func (r *LedgerReport) Clean() bool {
	return r.Sum == 0 && len(r.UnbalancedTxns)+len(r.DriftedAccounts)+len(r.NegativeAccounts) == 0
}

// CallGuard is implemented by stores that several processes share (walletctl/postgres). It is a
// lock per txn around its bank call: the process calling the bank holds it from the moment it
// re-checks the txn is still pending until the bank has answered; a status query takes it (or
// gives up, leaving the txn pending) before asking the bank. So one process never reads the
// bank's "not found yet" as "never happened" and fails a txn that another is about to have the
// bank charge. A lock ends with unlock or with its process (its database session).
type CallGuard interface {
	LockCall(ctx context.Context, txnID string) (unlock func(), err error)
	TryLockCall(ctx context.Context, txnID string) (unlock func(), ok bool, err error)
}
