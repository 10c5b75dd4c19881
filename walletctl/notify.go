package walletctl

import (
	"context"
	"time"
)

// Notifications (DESIGN.md section 9): a paid order or a finished refund sends v3's notification
// to the order's (or refund's) notify_url, until the merchant answers 2xx within 5 s, retrying on
// NotifySchedule on the virtual clock. Every attempt is kept.

// Event types (v3's event_type).
const (
	EventTransactionSuccess = "TRANSACTION.SUCCESS"
	EventRefundSuccess      = "REFUND.SUCCESS"
	EventRefundAbnormal     = "REFUND.ABNORMAL"
	EventRefundClosed       = "REFUND.CLOSED"
)

// Notification states.
const (
	NotifyPending   = "pending"   // due (again) at NextAt
	NotifyDelivered = "delivered" // a 2xx within the timeout
	NotifyFailed    = "failed"    // every attempt of the schedule failed
)

// NotifySchedule is v3's: after a failed attempt, the next one comes this much later; after the
// last, the notification has failed (16 attempts over 24 h 4 min).
var NotifySchedule = []time.Duration{15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute, 3 * time.Hour, 3 * time.Hour,
	3 * time.Hour, 6 * time.Hour, 6 * time.Hour}

// NotifyTimeout is how long a merchant has to answer an attempt by default (v3's 5 s); the
// sandbox's notify_timeout setting changes it, up to MaxNotifyTimeout.
const NotifyTimeout = 5 * time.Second

// MaxNotifyTimeout bounds notify_timeout.
const MaxNotifyTimeout = time.Minute

// Notification is one event for a merchant and every attempt to deliver it.
type Notification struct {
	ID        string `json:"id"`       // "n1", ...: the wallet's own id (notify show, resend)
	EventID   string `json:"event_id"` // v3's id of the event, the same in every attempt
	MchID     string `json:"mchid"`
	EventType string `json:"event_type"`
	Summary   string `json:"summary"`
	URL       string `json:"url"`
	// The resource as it was when the event happened; one of the two.
	Order     *Order    `json:"order,omitempty"`
	Refund    *Refund   `json:"refund,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"status"`
	// NextAt is when the next attempt is due (pending only).
	NextAt   *time.Time      `json:"next_at,omitempty"`
	Attempts []NotifyAttempt `json:"attempts"`
	// Held: an out-of-order fault keeps it back until the merchant's next notification is sent.
	Held bool `json:"held,omitempty"`
	// Tries counts the attempts of the current schedule (a resend starts it again).
	Tries int `json:"tries"`
	// Resends counts `notify resend`s.
	Resends int `json:"resends,omitempty"`
	// DelayedTry is the try a delay fault already postponed (so that it delays each try once).
	DelayedTry int `json:"delayed_try,omitempty"`
}

// NotifyAttempt is one delivery attempt.
type NotifyAttempt struct {
	N         int       `json:"n"`  // 1, 2, ...
	At        time.Time `json:"at"` // on the virtual clock
	URL       string    `json:"url"`
	Status    int       `json:"status"` // the HTTP status, 0 when there was no answer
	LatencyMS int64     `json:"latency_ms"`
	Answer    string    `json:"answer,omitempty"` // the first bytes of the answer's body
	Error     string    `json:"error,omitempty"`  // no answer: why
	OK        bool      `json:"ok"`               // counted as delivered
	Fault     string    `json:"fault,omitempty"`  // the notification fault that applied
	Probe     bool      `json:"probe,omitempty"`  // a signature probe, not the notification
}

// NotifyFault is a rule that applies a fault to the notifications it matches.
type NotifyFault struct {
	ID        string        `json:"id"` // "nf1", ...
	Kind      string        `json:"kind"`
	EventType string        `json:"event_type,omitempty"` // "" = every event
	MchID     string        `json:"mchid,omitempty"`      // "" = every merchant
	First     int           `json:"first,omitempty"`      // fire on the first N matches only; 0 = every time
	Delay     time.Duration `json:"delay,omitempty"`      // delay: how long
	Fired     int           `json:"fired"`
}

// Delivery is what a Deliverer sends: the notification, the merchant's APIv3 key to encrypt its
// resource, the platform's identity to sign it.
type Delivery struct {
	Notification *Notification
	URL          string // where to (the notification's URL, or a listener's forward address)
	APIv3Key     string
	Platform     *Platform
	PublicKeyID  bool // sign with the platform's PUB_KEY_ID serial (a merchant in public-key mode)
	Probe        bool // send a signature probe (WECHATPAY/SIGNTEST/...) instead of a valid signature
	// Timeout is how long the receiver has to answer (the notify_timeout setting; 0: NotifyTimeout).
	Timeout time.Duration
}

// Deliverer sends one attempt of a notification (an HTTP POST, in walletctl/notify) and reports
// it. At is filled by the caller.
type Deliverer interface {
	Deliver(ctx context.Context, d Delivery) NotifyAttempt
}

// NotificationFilter narrows a list of notifications; "" matches any.
type NotificationFilter struct {
	MchID  string `json:"mchid,omitempty"`
	Status string `json:"status,omitempty"` // pending, delivered, failed
	Event  string `json:"event,omitempty"`  // an event type, e.g. TRANSACTION.SUCCESS (any case)
}

// NotifyService is the notifications side of a backend. It is part of Service.
type NotifyService interface {
	Notifications(ctx context.Context, f NotificationFilter, p Page) (*List[Notification], error)
	Notification(ctx context.Context, id string) (*Notification, error)
	// ResendNotification starts a notification's schedule again, now.
	ResendNotification(ctx context.Context, id string) (*Notification, error)
	// DeliverNotifications sends what is due now and returns the notifications it attempted.
	DeliverNotifications(ctx context.Context) ([]Notification, error)
	// ForwardNotifications sends every delivery to url instead of the notifications' own URLs
	// for the next ttl of real time (`walletctl listen` renews it while it runs); url "" stops.
	ForwardNotifications(ctx context.Context, url string, ttl time.Duration) error
	AddNotifyFault(ctx context.Context, f NotifyFault) (*NotifyFault, error)
	NotifyFaults(ctx context.Context) ([]NotifyFault, error)
	ClearNotifyFaults(ctx context.Context) error
}

// Claim is one due try of a notification that a worker took (DueWork.ClaimDelivery): ready to
// send, with what the sender needs, and leased to Owner until the lease ends, so that no other
// process or server sends the same try meanwhile. A worker that dies leaves the lease to run
// out; the try is then due again.
type Claim struct {
	Delivery Delivery
	// Fault is the notification fault that applies to this try, if any.
	Fault *NotifyFault
	// At is when the try was due, on the wallet's clock: its attempts are recorded at it.
	At    time.Time
	Owner string
}

// DueWork is the wallet's work that falls due (DESIGN.md section 11), in steps that each take
// the store briefly, so that whoever drives it (the CLI after a command, a server's worker) holds
// no lock while a merchant's receiver answers: RunDue and ClaimDelivery/RecordClaim take the
// store; SendClaim is only the HTTP call.
type DueWork interface {
	// RunDue does what fell due and needs no one outside: delayed transfers arriving, unaccepted
	// ones going back, orders expiring, password locks ending.
	RunDue(ctx context.Context) error
	// ClaimDelivery takes the try due first whose merchant is not in busy, for owner; nil when
	// nothing is due.
	ClaimDelivery(ctx context.Context, owner string, busy []string) (*Claim, error)
	// SendClaim sends the claimed try (and what its fault adds); it touches no store.
	SendClaim(ctx context.Context, c *Claim) []NotifyAttempt
	// RecordClaim records the attempts, schedules the next try or ends the schedule, and ends
	// the lease.
	RecordClaim(ctx context.Context, c *Claim, atts []NotifyAttempt) (*Notification, error)
	// NextDueAt is when the next work falls due on the wallet's clock (a notification's try,
	// an arrival, a refund, an expiry, a lock's end); nil when nothing is scheduled.
	NextDueAt(ctx context.Context) (*time.Time, error)
	// NextLeaseEnd is when the first lease on a due try ends (wall time): a try that a process
	// which died had claimed is due again then. nil when no due try is leased.
	NextLeaseEnd(ctx context.Context) (*time.Time, error)
}
