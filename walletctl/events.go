package walletctl

import (
	"encoding/json"
	"time"
)

// A tenant's event stream (DESIGN.md section 11): `walletctl serve` pushes what happens in a
// tenant to its listeners (`walletctl listen --backend`, the dashboard) as server-sent events on
// GET /v1/events, instead of their polling the notification list. These are the events on the
// wire; walletctl/tenant keeps them, walletctl/httpapi streams them.

// Stream event types (StreamEvent.Type).
const (
	// StreamAttempt is one delivery attempt of a notification (AttemptEvent): what
	// `walletctl listen` prints.
	StreamAttempt = "notification.attempt"
	// StreamPayment is an order paid (PaymentEvent), StreamRefund* a refund that ended
	// (RefundEvent). Their signal is the merchant notification the wallet records with them, so
	// an order without a notify_url makes none.
	StreamPayment         = "payment.succeeded"
	StreamRefundSucceeded = "refund.succeeded"
	StreamRefundAbnormal  = "refund.abnormal"
	StreamRefundClosed    = "refund.closed"
	// StreamGap says that events after a client's Last-Event-ID are gone (GapEvent): the server
	// restarted, or the client was away longer than the buffer lasts. It has no id.
	StreamGap = "gap"
)

// StreamEvent is one event of a tenant's stream. ID increases with every event of the tenant
// (0 for a gap); Data is the JSON of the payload that Type names.
type StreamEvent struct {
	ID   uint64          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// AttemptEvent is StreamAttempt's payload: the notification and one attempt, as the notification
// stood after it (Status, NextAt).
type AttemptEvent struct {
	Notification string        `json:"notification"` // "n1"
	EventID      string        `json:"event_id"`
	EventType    string        `json:"event_type"` // v3's: TRANSACTION.SUCCESS, REFUND.SUCCESS, ...
	MchID        string        `json:"mchid"`
	Attempt      NotifyAttempt `json:"attempt"`
	Status       string        `json:"status"`            // pending, delivered, failed
	NextAt       *time.Time    `json:"next_at,omitempty"` // pending: when the next try is due
}

// PaymentEvent is StreamPayment's payload: the order as it was paid.
type PaymentEvent struct {
	Notification string `json:"notification"`
	EventID      string `json:"event_id"`
	MchID        string `json:"mchid"`
	Order        *Order `json:"order"`
}

// RefundEvent is the payload of the StreamRefund* events: the refund as it ended.
type RefundEvent struct {
	Notification string  `json:"notification"`
	EventID      string  `json:"event_id"`
	EventType    string  `json:"event_type"` // REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED
	MchID        string  `json:"mchid"`
	Refund       *Refund `json:"refund"`
}

// GapEvent is StreamGap's payload: the events after After and before Next are no longer kept.
type GapEvent struct {
	After uint64 `json:"after"` // the client's Last-Event-ID
	Next  uint64 `json:"next"`  // the first id the stream still has
}
