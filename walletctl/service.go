// Package walletctl is the wallet domain: its types, the Service every backend implements, the
// small interfaces it depends on (bank, store, clock, identity registry), and its one error type.
// It knows nothing of HTTP, SQL or terminals.
package walletctl

import (
	"context"
	"time"
)

// UserStatus is the account state. Restricted accounts cannot pay; frozen ones can do nothing
// that moves money.
type UserStatus string

const (
	StatusNormal     UserStatus = "normal"
	StatusRestricted UserStatus = "restricted"
	StatusFrozen     UserStatus = "frozen"
)

// AccountClass follows the PBOC 2015 rules for payment accounts: the stronger the identity
// verification, the higher the class and its limits. 0 = not verified.
type AccountClass int

// User is one wallet account.
type User struct {
	ID          string       `json:"id"` // "u1", "u2", ...
	Phone       string       `json:"phone"`
	Status      UserStatus   `json:"status"`
	Class       AccountClass `json:"class"`
	Verified    bool         `json:"verified"`              // real-name done
	NameMasked  string       `json:"name_masked,omitempty"` // e.g. "*明" once verified
	IDMasked    string       `json:"id_masked,omitempty"`   // e.g. "1101**********1234"
	PasswordSet bool         `json:"password_set"`
	CreatedAt   time.Time    `json:"created_at"`
}

// KYC is the real-name verification state of a user.
type KYC struct {
	UserID      string       `json:"user_id"`
	Verified    bool         `json:"verified"`
	NameMasked  string       `json:"name_masked,omitempty"`
	IDMasked    string       `json:"id_masked,omitempty"`
	Class       AccountClass `json:"class"`
	Checks      []string     `json:"checks"` // the external checks passed: "id", "phone", "bank_card", ...
	VerifiedAt  *time.Time   `json:"verified_at,omitempty"`
	LimitFen    int64        `json:"limit"`        // the class's balance-payment limit
	UsedFen     int64        `json:"used"`         // counted against it so far (this period)
	LimitPeriod string       `json:"limit_period"` // "lifetime" or "year"
}

// CardBinding is a binding waiting for the bank's SMS code.
type CardBinding struct {
	BindingID   string    `json:"binding_id"`
	UserID      string    `json:"user_id"`
	Bank        string    `json:"bank"`
	CardMasked  string    `json:"card_masked"`
	PhoneMasked string    `json:"phone_masked"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Card is a bound bank card.
type Card struct {
	ID         string    `json:"id"` // "c1", ...
	UserID     string    `json:"user_id"`
	Bank       string    `json:"bank"`
	BankName   string    `json:"bank_name"`
	CardType   string    `json:"card_type"`
	CardMasked string    `json:"card_masked"` // "6222 **** **** 1234"
	Last4      string    `json:"last4"`
	BoundAt    time.Time `json:"bound_at"`
}

// Balance of one user.
type Balance struct {
	UserID    string `json:"user_id"`
	Available int64  `json:"available"`  // fen
	Pending   int64  `json:"pending"`    // fen in flight (pending top-ups are not counted in Available)
	InTransit int64  `json:"in_transit"` // fen sent by this user not yet accepted by payees
	Incoming  int64  `json:"incoming"`   // fen waiting for this user to accept
	Currency  string `json:"currency"`
}

// Txn kinds and statuses.
const (
	KindTopUp    = "topup"
	KindWithdraw = "withdraw"
	KindPay      = "pay"
	KindTransfer = "transfer"
	KindRefund   = "refund"

	TxnPending   = "pending"
	TxnSucceeded = "succeeded"
	TxnFailed    = "failed"
)

// Posting is one line of a balanced ledger entry.
type Posting struct {
	Account string `json:"account"` // e.g. "user:u1", "bank:clearing", "merchant:m1", "fees"
	Amount  int64  `json:"amount"`  // fen; debits positive, credits negative; a txn's postings sum to 0
}

// Txn is one money movement as the user sees it.
type Txn struct {
	ID           string `json:"id"` // "t1", ...
	Kind         string `json:"kind"`
	Status       string `json:"status"`
	UserID       string `json:"user_id"`
	Amount       int64  `json:"amount"`        // fen
	Fee          int64  `json:"fee,omitempty"` // fen
	Counterparty string `json:"counterparty,omitempty"`
	Source       string `json:"source,omitempty"` // "balance" or "card:c1"
	CardMasked   string `json:"card_masked,omitempty"`
	// IdempotencyKey is the wallet's key of the movement: "USER:KEY" for a client's
	// --idempotency-key (Idempotency-Key header), else "auto:" and the txn id.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// BankIdempotencyKey is the key the wallet sent to the bank ("wlt-" and the txn id), the KEY
	// of the bank's journal and statement; "" for movements inside the wallet.
	BankIdempotencyKey string     `json:"bank_idempotency_key,omitempty"`
	BankTxnID          string     `json:"bank_txn_id,omitempty"`
	FailureCode        string     `json:"failure_code,omitempty"`
	Note               string     `json:"note,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	SettledAt          *time.Time `json:"settled_at,omitempty"`
	Postings           []Posting  `json:"postings,omitempty"` // filled by tx show
	// Direction is the money's way for the user who lists it (tx list): "in" (top-ups, refunds,
	// transfers received: Counterparty is then the payer) or "out".
	Direction string `json:"direction,omitempty"`
	// TransferStatus is a transfer's own state (scheduled, arrived = awaiting acceptance,
	// accepted, cancelled, refunded), filled by tx list; Status is its ledger state.
	TransferStatus string `json:"transfer_status,omitempty"`
}

// Directions of a txn for the user who lists it.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// Transfer states.
const (
	TransferScheduled = "scheduled" // delayed, can be cancelled until ArrivesAt
	TransferArrived   = "arrived"   // waiting for the payee to accept until RefundAt
	TransferAccepted  = "accepted"
	TransferCancelled = "cancelled"
	TransferRefunded  = "refunded" // not accepted within 24 h
)

// Transfer from one user to another.
type Transfer struct {
	ID              string     `json:"id"` // same as its Txn ID
	From            string     `json:"from"`
	To              string     `json:"to"`
	PayeeNameMasked string     `json:"payee_name_masked"`
	Amount          int64      `json:"amount"`
	Status          string     `json:"status"`
	Delay           string     `json:"delay"` // "none", "2h", "24h"
	CreatedAt       time.Time  `json:"created_at"`
	ArrivesAt       time.Time  `json:"arrives_at"`
	RefundAt        time.Time  `json:"refund_at"`
	DoneAt          *time.Time `json:"done_at,omitempty"`
}

// TransferPreview is what the payer sees before sending: who the payee is and whether the
// transfer needs explicit confirmation.
type TransferPreview struct {
	To                 string `json:"to"`
	PayeeNameMasked    string `json:"payee_name_masked"`
	Stranger           bool   `json:"stranger"` // no earlier transfer between the two
	NeedsConfirmation  bool   `json:"needs_confirmation"`
	ConfirmationReason string `json:"confirmation_reason,omitempty"`
	Amount             int64  `json:"amount"`
}

// SecurityEvent is one line of a user's security log.
type SecurityEvent struct {
	Seq    int64     `json:"seq"`
	UserID string    `json:"user_id"`
	Time   time.Time `json:"time"`
	Event  string    `json:"event"` // "password_set", "password_wrong", "password_locked", "password_reset", "card_bound", "status_changed", ...
	Detail string    `json:"detail,omitempty"`
}

// Merchant is a payee: one of the sandbox catalogue's (tickets, insurance, phone top-up, ...), or
// a merchant made with `merchant create`, whose ID is its mchid and which has v3 credentials.
type Merchant struct {
	ID         string     `json:"id"` // "m-cinema", ..., or a mchid ("1900000001")
	Name       string     `json:"name"`
	Category   string     `json:"category"`
	AppID      string     `json:"appid,omitempty"`       // v3 merchants
	CertSerial string     `json:"cert_serial,omitempty"` // v3 merchants: their certificate's serial
	CreatedAt  *time.Time `json:"created_at,omitempty"`  // v3 merchants
	// PublicKeyMode: notifications are signed under the platform's PUB_KEY_ID (v3 merchants).
	PublicKeyMode bool `json:"public_key_mode,omitempty"`
}

// PayRequest pays a merchant from the balance or a bound card.
type PayRequest struct {
	UserID   string `json:"user_id"`
	Merchant string `json:"merchant"`
	Amount   int64  `json:"amount"`
	Source   string `json:"source"` // "balance" (default) or "card:<card id>"
	Password string `json:"password"`
}

// TransferRequest sends money to another user.
type TransferRequest struct {
	UserID       string `json:"user_id"`
	To           string `json:"to"` // user id or phone
	Amount       int64  `json:"amount"`
	Delay        string `json:"delay"` // "", "none", "2h", "24h"
	ConfirmPayee string `json:"confirm_payee,omitempty"`
	Password     string `json:"password"`
}

// PasswordReset is a started password recovery: identity checked, SMS code sent by the card's bank.
type PasswordReset struct {
	ResetID     string    `json:"reset_id"`
	UserID      string    `json:"user_id"`
	PhoneMasked string    `json:"phone_masked"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// ReconcileReport is the outcome of settling pending operations and matching bank statements.
type ReconcileReport struct {
	Date         string   `json:"date"`
	Checked      int      `json:"checked"` // pending operations queried
	Settled      int      `json:"settled"` // pending -> succeeded
	Failed       int      `json:"failed"`  // pending -> failed
	StillPending int      `json:"still_pending"`
	Matched      int      `json:"matched"`    // statement lines matched to wallet postings
	Mismatches   []string `json:"mismatches"` // human descriptions, empty when wallet and bank agree
	LedgerSum    int64    `json:"ledger_sum"` // must be 0
}

// Service is everything a wallet backend offers. The embedded engine and the HTTP client of
// `walletctl serve` both implement it. userID arguments are user IDs (resolve phones with User).
type Service interface {
	Register(ctx context.Context, phone string) (*User, error)
	User(ctx context.Context, ref string) (*User, error) // by id or phone
	Users(ctx context.Context, p Page) (*List[User], error)
	SetUserStatus(ctx context.Context, userID string, status UserStatus) (*User, error)

	SubmitKYC(ctx context.Context, userID, name, idNo string) (*KYC, error)
	KYCStatus(ctx context.Context, userID string) (*KYC, error)

	BindCard(ctx context.Context, userID, cardNo, phone string) (*CardBinding, error)
	ConfirmCard(ctx context.Context, userID, bindingID, otp string) (*Card, error)
	Cards(ctx context.Context, userID string, p Page) (*List[Card], error)
	UnbindCard(ctx context.Context, userID, cardID string) error

	SetPassword(ctx context.Context, userID, password string) error
	StartPasswordReset(ctx context.Context, userID, name, idNo, cardNo string) (*PasswordReset, error)
	CompletePasswordReset(ctx context.Context, userID, resetID, otp, newPassword string) error

	TopUp(ctx context.Context, userID, cardID string, amount int64, password string) (*Txn, error)
	Withdraw(ctx context.Context, userID, cardID string, amount int64, password string) (*Txn, error)
	Pay(ctx context.Context, req PayRequest) (*Txn, error)
	PreviewTransfer(ctx context.Context, userID, to string, amount int64) (*TransferPreview, error)
	Transfer(ctx context.Context, req TransferRequest) (*Transfer, error)
	AcceptTransfer(ctx context.Context, userID, transferID string) (*Transfer, error)
	CancelTransfer(ctx context.Context, userID, transferID string) (*Transfer, error)

	Balance(ctx context.Context, userID string) (*Balance, error)
	Transactions(ctx context.Context, userID string, p Page) (*List[Txn], error)
	Transaction(ctx context.Context, userID, txnID string) (*Txn, error)
	Transfers(ctx context.Context, userID string, p Page) (*List[Transfer], error)
	SecurityLog(ctx context.Context, userID string, p Page) (*List[SecurityEvent], error)
	Merchants(ctx context.Context, p Page) (*List[Merchant], error)

	MerchantService
	NotifyService

	Reconcile(ctx context.Context, date string) (*ReconcileReport, error) // date "" = today on the virtual clock
	Now(ctx context.Context) (time.Time, error)
	Advance(ctx context.Context, d time.Duration) (time.Time, error) // moves the clock and runs what fell due
}

// Clock is the wallet's only source of time.
type Clock interface {
	Now() time.Time
}
