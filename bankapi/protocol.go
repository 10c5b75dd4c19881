// Package bankapi is the bank-adapter protocol: what a wallet says to a bank and what partners
// implement. It holds the protocol's types, error codes with their network response codes, the
// API (protocol) and Admin (test helpers and bank-wide administration) interfaces, the fault
// syntax, header names and the OpenAPI document; package bankapi/client speaks it over HTTP.
//
// bankmock is one implementation (in-process and behind bankmock/server); a partner's bank is
// another. The wallet depends on this package only, never on the mock.
package bankapi

import (
	"context"
	"time"
)

// Currency is the only currency of the protocol.
const Currency = "CNY"

// MaxAmount is the largest amount of one debit or credit, in fen (10^13 fen, 100 billion CNY):
// a bank refuses more with INVALID_REQUEST, and it keeps every sum of amounts far from int64
// overflow, so a wallet checks it before it records anything.
const MaxAmount int64 = 10_000_000_000_000

// Header names of the protocol.
const (
	// HeaderIdempotencyKey is required on debits and credits: a retry with the same key (from the
	// same partner) gets the first outcome.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderFault stages a fault on one request ("drop_after;op=debit"), in ParseFault's syntax.
	HeaderFault = "X-Bankmock-Fault"
	// HeaderFaultFired names the fault that fired on a request ("<source>:<id>").
	HeaderFaultFired = "X-Bankmock-Fault-Fired"
)

// Operation names, used by fault matching, the journal and the X-Bankmock-Fault header.
const (
	OpBanks       = "banks"
	OpVerify      = "verify"
	OpBind        = "bind"
	OpConfirm     = "confirm"
	OpUnbind      = "unbind"
	OpDebit       = "debit"
	OpCredit      = "credit"
	OpTransaction = "transaction"
	OpStatement   = "statement"
)

// CardStatus is the state of a card at its bank.
type CardStatus string

const (
	CardActive  CardStatus = "active"
	CardFrozen  CardStatus = "frozen"
	CardLost    CardStatus = "lost"
	CardExpired CardStatus = "expired"
)

// CardType is debit or credit.
type CardType string

const (
	CardDebit  CardType = "debit"
	CardCredit CardType = "credit"
)

// BankInfo is one entry of the catalogue, as GET /v1/banks returns it.
type BankInfo struct {
	Code          string   `json:"code"`           // e.g. "ICBC"
	Name          string   `json:"name"`           // e.g. "中国工商银行"
	NameEN        string   `json:"name_en"`        // e.g. "Industrial and Commercial Bank of China"
	Kind          string   `json:"kind"`           // "state", "joint_stock", "postal", "rural"
	BINs          []string `json:"bins"`           // card number prefixes
	CardLengths   []int    `json:"card_lengths"`   // allowed card number lengths
	OnlineBinding bool     `json:"online_binding"` // false: refuses online binding (small banks)
	SingleLimit   int64    `json:"single_limit"`   // fen, per debit
	DailyLimit    int64    `json:"daily_limit"`    // fen, debits per card per bank day
}

// NoteCNPDisabled in a customer's Note marks a card on which card-not-present (online) payments are
// not enabled: binding it fails with CNP_NOT_ENABLED (72). Credit cards bind normally; their
// Balance is the available credit, and a debit over it fails with INSUFFICIENT_FUNDS resp 64.
const NoteCNPDisabled = "cnp_disabled"

// Customer is one card holder at one bank. Fixture listings show full numbers; everything else
// masks them.
type Customer struct {
	CardNo  string     `json:"card_no"`
	Bank    string     `json:"bank"` // BankInfo.Code
	Type    CardType   `json:"type"`
	Status  CardStatus `json:"status"`
	Name    string     `json:"name"`
	IDNo    string     `json:"id_no"`
	Phone   string     `json:"phone"`   // the phone reserved at the bank
	Balance int64      `json:"balance"` // fen; for a credit card, the available credit
	Note    string     `json:"note,omitempty"`
}

// CardRequest is the four elements: POST /v1/cards/verify and POST /v1/bindings.
type CardRequest struct {
	CardNo string `json:"card_no"`
	Name   string `json:"name"`
	IDNo   string `json:"id_no"`
	Phone  string `json:"phone"`
}

// VerifyResult is the answer to a four-element verification that matched.
type VerifyResult struct {
	Match     bool     `json:"match"`
	Bank      string   `json:"bank"`
	CardType  CardType `json:"card_type"`
	CardLast4 string   `json:"card_last4"`
}

// IdentityCheck asks the identity registry whether a name and a resident ID number belong together
// (real-name verification, 实名认证). In a sandbox the bank's customers are the population.
type IdentityCheck struct {
	Name string `json:"name"`
	IDNo string `json:"id_no"`
}

// IdentityResult answers an IdentityCheck: Match when someone has exactly that name and ID;
// IDKnown when the ID belongs to someone (so a mismatch is the name's). Nothing else is told.
type IdentityResult struct {
	Match   bool `json:"match"`
	IDKnown bool `json:"id_known"`
}

// IdentityRegistry is the real-name registry a partner may ask (POST /v1/identities/verify). It
// is apart from API so that a partner's own bank need not implement it; it tells only whether a
// name and an ID match, never who anyone is, so no admin right is needed (DESIGN section 10).
type IdentityRegistry interface {
	CheckIdentity(ctx context.Context, req IdentityCheck) (*IdentityResult, error)
}

// Binding is a pending binding waiting for its OTP.
type Binding struct {
	BindingID   string    `json:"binding_id"`
	Status      string    `json:"status"` // "otp_sent"
	PhoneMasked string    `json:"phone_masked"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Agreement is a confirmed binding: debits and credits quote the agreement token.
type Agreement struct {
	Agreement string   `json:"agreement"`
	Bank      string   `json:"bank"`
	CardLast4 string   `json:"card_last4"`
	CardType  CardType `json:"card_type"`
}

// MoneyRequest is the body of POST /v1/debits and POST /v1/credits.
type MoneyRequest struct {
	Agreement string `json:"agreement"`
	Amount    int64  `json:"amount"`   // fen, > 0
	Currency  string `json:"currency"` // "CNY"
}

// Transaction statuses.
const (
	TxnSucceeded = "succeeded"
	TxnFailed    = "failed"
)

// Transaction is the outcome of a debit or credit, stored under its idempotency key.
type Transaction struct {
	TxnID          string    `json:"txn_id"`
	IdempotencyKey string    `json:"idempotency_key"`
	Kind           string    `json:"kind"` // "debit" or "credit"
	Status         string    `json:"status"`
	Amount         int64     `json:"amount"`
	Currency       string    `json:"currency"`
	Agreement      string    `json:"agreement"`
	Bank           string    `json:"bank"`
	CardLast4      string    `json:"card_last4"`
	Time           time.Time `json:"time"`
	Error          *Error    `json:"error,omitempty"` // why it failed, when Status is failed
}

// Statement is the day's settled transactions, for reconciliation.
type Statement struct {
	Date         string        `json:"date"` // yyyy-mm-dd, in the bank's time zone (Asia/vclock.Shanghai)
	Transactions []Transaction `json:"transactions"`
	DebitCount   int           `json:"debit_count"`
	DebitTotal   int64         `json:"debit_total"`
	CreditCount  int           `json:"credit_count"`
	CreditTotal  int64         `json:"credit_total"`
}

// API is the bank-adapter protocol v1. The Engine implements it in-process and the HTTP client
// implements it over the wire, with identical results (including faults).
type API interface {
	Banks(ctx context.Context) ([]BankInfo, error)
	Verify(ctx context.Context, req CardRequest) (*VerifyResult, error)
	CreateBinding(ctx context.Context, req CardRequest) (*Binding, error)
	ConfirmBinding(ctx context.Context, bindingID, otp string) (*Agreement, error)
	Unbind(ctx context.Context, agreement string) error
	Debit(ctx context.Context, idempotencyKey string, req MoneyRequest) (*Transaction, error)
	Credit(ctx context.Context, idempotencyKey string, req MoneyRequest) (*Transaction, error)
	Transaction(ctx context.Context, idempotencyKey string) (*Transaction, error)
	Statement(ctx context.Context, date string) (*Statement, error)
}

// JournalEntry records one request and what was done with it. Card and ID numbers are masked.
type JournalEntry struct {
	Seq            int64     `json:"seq"`
	Time           time.Time `json:"time"`
	Partner        string    `json:"partner,omitempty"` // who called (a partner id; DefaultPartner without credentials)
	Op             string    `json:"op"`
	Bank           string    `json:"bank,omitempty"`
	Card           string    `json:"card,omitempty"` // masked
	Amount         int64     `json:"amount,omitempty"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	Outcome        string    `json:"outcome"`              // "ok", an error code, or "replay"
	RespCode       string    `json:"resp_code,omitempty"`  // network response code, "00" on success
	Processed      bool      `json:"processed"`            // whether state changed (true for drop_after)
	Fault          string    `json:"fault,omitempty"`      // "<source>:<id>" of the fault that fired
	FaultKind      string    `json:"fault_kind,omitempty"` // refuse, drop_after, ...
	Detail         string    `json:"detail,omitempty"`     // human note, never a secret
}

// Admin is the admin API: staging customers, faults, OTPs, the journal, the clock, state and
// partners. The mock's engine implements it in-process; the HTTP client over /admin/*.
//
// Two levels of rights: the partner-level test helpers (LastOTP of the caller's own bindings, the
// caller's Journal, fault rules matching only the caller's traffic, reading the clock) answer a
// partner for its own things; everything else is bank-wide and needs the admin token (or, when
// the bank has none, a loopback caller without a partner key).
type Admin interface {
	// Customers is a page of the customers with full card and ID numbers (a fixture listing), in
	// the catalogue's order: the test cards, then the generated and added customers as they came.
	// Customers are fixtures, not events, so this list is not newest first; its cursor is the
	// card number.
	Customers(ctx context.Context, p Page) (*List[Customer], error)
	Customer(ctx context.Context, cardNo string) (*Customer, error)
	AddCustomer(ctx context.Context, c Customer) (*Customer, error) // fills blanks (card no on the bank's BIN, ID, phone) deterministically
	GenerateCustomers(ctx context.Context, n int) ([]Customer, error)
	SetBalance(ctx context.Context, cardNo string, balance int64) error
	SetCardStatus(ctx context.Context, cardNo string, status CardStatus) error

	Faults(ctx context.Context) ([]Fault, error)
	AddFault(ctx context.Context, f Fault) (*Fault, error) // assigns the ID
	DeleteFault(ctx context.Context, id string) error
	ClearFaults(ctx context.Context) error

	LastOTP(ctx context.Context, phone string) (string, error)
	// Journal is a page of the journal, newest first; its cursor is an entry's seq in decimal. A
	// partner reads only its own entries.
	Journal(ctx context.Context, p Page) (*List[JournalEntry], error)

	Now(ctx context.Context) (time.Time, error)
	Advance(ctx context.Context, d time.Duration) (time.Time, error)
	Reset(ctx context.Context) error // back to the world generated from the seed; partners stay
	Snapshot(ctx context.Context) ([]byte, error)
	Restore(ctx context.Context, snapshot []byte) error

	// CreatePartner registers a partner and returns its id and key (shown this once).
	CreatePartner(ctx context.Context, name string) (*PartnerCredentials, error)
	// Partners lists the partners (never their keys). Not paged: a bank has a handful (one per
	// wallet sandbox, tenant or partner suite that shares it), unlike its customers and journal.
	Partners(ctx context.Context) ([]Partner, error)
}

// DefaultPartner is who a protocol request without credentials acts as, so that curl examples
// stay short. Everything a partner creates (idempotency keys, bindings, agreements, transactions,
// statements, journal entries, OTP reads, fault rules) is its own; see DESIGN.md section 6.
const DefaultPartner = "default"

// Partner is one caller of the bank: a wallet sandbox, a walletctl serve tenant, a CI job, a
// partner's test suite. It authenticates with "Authorization: Bearer <key>".
type Partner struct {
	ID        string    `json:"partner_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// PartnerCredentials is the answer to creating a partner: the only time its key is shown (the
// bank keeps only a hash of it).
type PartnerCredentials struct {
	Partner
	Key string `json:"key"`
}
