package tenant

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// A tenant's event hub (DESIGN.md section 11: `walletctl serve` streams a tenant's events): the
// worker publishes every notification attempt it records, and a payment or a refund when it takes
// the first try of its notification; GET /v1/events (httpapi) streams them. It lives in memory,
// per server: a tenant served by several servers (PostgreSQL) has on each the events of the tries
// that server made.
//
// Publishing never waits. Each subscriber has a buffered channel; one that falls subscriberBuffer
// events behind is dropped (its channel closed, so its stream ends) rather than slowing the
// worker, and comes back with Last-Event-ID: the hub keeps the last eventBuffer events to resume
// from. Asked for what it no longer has, it says so with a gap event first.

const (
	eventBuffer      = 1000 // events kept for resuming
	subscriberBuffer = 256  // events a subscriber may fall behind before it is dropped
	maxSubscribers   = 64   // streams a tenant may have open at once
)

type hub struct {
	mu     sync.Mutex
	next   uint64                  // the next event's id
	kept   []walletctl.StreamEvent // the most recent events, oldest first
	subs   map[chan walletctl.StreamEvent]bool
	closed bool
}

// newHub starts the ids at the wall's microseconds, so that an id a client kept from before a
// restart is below every id of this server: resuming with it is told as a gap, never mistaken for
// a position in this server's stream.
func newHub(now time.Time) *hub {
	return &hub{next: uint64(now.UnixMicro()) + 1, subs: map[chan walletctl.StreamEvent]bool{}}
}

// hub is the tenant's event hub, made on first use.
func (t *tenant) hub() *hub {
	t.hubOnce.Do(func() { t.events = newHub(time.Now()) })
	return t.events
}

// publish adds an event of type typ with payload data, and hands it to every subscriber that has
// room for it; the others are dropped.
func (h *hub) publish(typ string, data any) {
	// As walletctl serve writes every JSON answer (httpapi's encodeJSON): &, < and > as they are.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil {
		return // the payloads are plain structs: never
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n")) // one line: the frame's data
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	ev := walletctl.StreamEvent{ID: h.next, Type: typ, Data: b}
	h.next++
	h.kept = append(h.kept, ev)
	if len(h.kept) > eventBuffer {
		h.kept[0] = walletctl.StreamEvent{}
		h.kept = h.kept[1:] // append reallocates as it needs: amortised O(1), about 2×eventBuffer at most
	}
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// subscribe adds a subscriber. With lastEventID "" it gets what happens from now on; else missed
// holds the kept events after that id first, behind a gap event when some are gone (or the id is
// not one of this hub's).
func (h *hub) subscribe(lastEventID string) (missed []walletctl.StreamEvent, live <-chan walletctl.StreamEvent, stop func(), err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, nil, &walletctl.Error{Code: walletctl.CodeServerBusy, Message: "this tenant's event stream is closed (the server is stopping or the tenant was deleted)",
			Hint: "reconnect in a moment, with Last-Event-ID"}
	}
	if len(h.subs) >= maxSubscribers {
		return nil, nil, nil, &walletctl.Error{Code: walletctl.CodeServerBusy,
			Message: "this tenant already has " + strconv.Itoa(maxSubscribers) + " event streams open", Hint: "close one, or retry later",
			Details: map[string]any{"max_streams": maxSubscribers}}
	}
	if lastEventID != "" {
		after, _ := strconv.ParseUint(lastEventID, 10, 64) // not a number: not one of ours
		oldest := h.next
		if len(h.kept) > 0 {
			oldest = h.kept[0].ID
		}
		if after+1 < oldest || after >= h.next {
			gap, _ := json.Marshal(walletctl.GapEvent{After: after, Next: oldest})
			missed = append(missed, walletctl.StreamEvent{Type: walletctl.StreamGap, Data: gap})
			after = oldest - 1
		}
		for _, ev := range h.kept {
			if ev.ID > after {
				missed = append(missed, ev)
			}
		}
	}
	ch := make(chan walletctl.StreamEvent, subscriberBuffer)
	h.subs[ch] = true
	return missed, ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.subs[ch] {
			delete(h.subs, ch)
			close(ch)
		}
	}, nil
}

// close ends every stream and refuses new ones (the server stops, or the tenant was deleted).
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

// Events subscribes to the events of the tenant of apiKey (httpapi.EventSource, GET /v1/events):
// see hub.subscribe. live is closed when the subscriber falls too far behind (it resumes with its
// last id), the tenant is deleted or the set closed; stop ends the subscription. An unknown key is
// the caller's to refuse first (TenantOf). It takes no tenant lock.
func (ts *Set) Events(apiKey, lastEventID string) (missed []walletctl.StreamEvent, live <-chan walletctl.StreamEvent, stop func(), err error) {
	t := ts.lookup(apiKey)
	if t == nil {
		return nil, nil, nil, walletctl.Errorf(walletctl.CodeNotFound, "no tenant has this API key")
	}
	return t.hub().subscribe(lastEventID)
}

// publishClaimed publishes the payment or refund whose notification's first try the worker just
// claimed (a resend or a retry is not a new event). The worker claims it right after the request
// that made it pokes it, unless the merchant has a try in flight or a fault holds it back.
func (t *tenant) publishClaimed(n *walletctl.Notification) {
	if n == nil || len(n.Attempts) > 0 || n.Resends > 0 {
		return
	}
	switch {
	case n.Order != nil && n.EventType == walletctl.EventTransactionSuccess:
		t.hub().publish(walletctl.StreamPayment, walletctl.PaymentEvent{Notification: n.ID, EventID: n.EventID, MchID: n.MchID, Order: n.Order})
	case n.Refund != nil:
		typ, ok := map[string]string{walletctl.EventRefundSuccess: walletctl.StreamRefundSucceeded,
			walletctl.EventRefundAbnormal: walletctl.StreamRefundAbnormal, walletctl.EventRefundClosed: walletctl.StreamRefundClosed}[n.EventType]
		if ok {
			t.hub().publish(typ, walletctl.RefundEvent{Notification: n.ID, EventID: n.EventID, EventType: n.EventType, MchID: n.MchID, Refund: n.Refund})
		}
	}
}

// publishAttempts publishes the attempts a recorded try added to n (the last added of them: a
// duplicate or a signature-probe fault sends two).
func (t *tenant) publishAttempts(n *walletctl.Notification, added int) {
	if n == nil {
		return
	}
	for _, a := range n.Attempts[max(len(n.Attempts)-added, 0):] {
		t.hub().publish(walletctl.StreamAttempt, walletctl.AttemptEvent{Notification: n.ID, EventID: n.EventID, EventType: n.EventType,
			MchID: n.MchID, Attempt: a, Status: n.Status, NextAt: n.NextAt})
	}
}
