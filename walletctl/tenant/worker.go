package tenant

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// A tenant's due work (DESIGN.md section 11) is done by a worker, off every request's path: a
// request only records what it made due (a notification, in its own transaction) and pokes the
// worker. The worker claims each try under the tenant's lock for a moment, sends it with no lock
// held, and records it under the lock again, so that a receiver that never answers delays no
// request of the tenant and no other merchant's notifications: a merchant has at most one try
// in flight (its tries stay in order), the server at most maxInFlight.

// maxInFlight bounds the tries a server has in flight at once, over all its tenants.
const maxInFlight = 32

// worker drives one tenant's due work.
type worker struct {
	ts *Set
	t  *tenant

	poked chan struct{} // a pass is wanted (buffered: pokes while one runs fold into one)

	mu       sync.Mutex
	busy     map[string]bool // merchants with a try in flight
	inFlight map[string]bool // notifications with a try in flight
	passes   uint64          // passes started
	ended    uint64          // tries ended (a pass that saw one end meanwhile settles no waiter)
	waiters  []*waiter       // Drain callers
}

// waiter is a Drain call: it ends after a pass that started after it found nothing to claim, with
// nothing in flight.
type waiter struct {
	after uint64 // the passes started when it came
	// ignore are tries in flight when it came that it does not wait for (clock advance: what it
	// made due, not a hanging receiver's earlier try).
	ignore map[string]bool
	seen   []walletctl.Notification
	done   chan struct{}
}

func newOwner() string {
	var b [8]byte
	rand.Read(b[:])
	return "srv-" + hex.EncodeToString(b[:])
}

// worker is the tenant's worker, started on first use.
func (ts *Set) worker(t *tenant) *worker {
	t.workerOnce.Do(func() {
		t.w = &worker{ts: ts, t: t, poked: make(chan struct{}, 1), busy: map[string]bool{}, inFlight: map[string]bool{}}
		ts.wg.Add(1)
		go func() {
			defer ts.wg.Done()
			t.w.loop()
		}()
	})
	return t.w
}

// poke asks for a pass (after a request, or a try that ended).
func (w *worker) poke() {
	select {
	case w.poked <- struct{}{}:
	default:
	}
}

func (w *worker) loop() {
	var timer <-chan time.Time // a real-clock tenant's next due work
	for {
		select {
		case <-timer:
		case <-w.ts.ctx.Done():
			w.mu.Lock()
			for _, wt := range w.waiters {
				close(wt.done)
			}
			w.waiters = nil
			w.mu.Unlock()
			return
		case <-w.poked:
		}
		timer = w.pass()
	}
}

// minWait keeps a real-clock worker from spinning on work that is due but not claimable yet (a
// merchant's next try while its last is in flight: that one's end pokes the worker anyway).
const minWait = 50 * time.Millisecond

// realClock reports whether the tenant's time is the wall's (plus an offset).
func (w *worker) realClock() bool { return w.t.rec.Clock == sandbox.ClockReal }

// runDue does, on a real clock, what fell due by itself (arrivals, refunds of unaccepted
// transfers, expiries, lock ends), under the tenant's lock: it needs no one outside.
func (w *worker) runDue(ctx context.Context) {
	w.ts.use(ctx, w.t, func(sb *sandbox.Sandbox) {
		if dw, ok := sb.Service().(walletctl.DueWork); ok {
			dw.RunDue(ctx)
		}
	})
}

// nextWake is when the worker looks again by itself: on a real clock, when the next work falls
// due (a timer on the earliest due time, not a scan of every row); on either clock, when the
// lease of a due try that another server (or one killed) holds runs out, so that its try is sent
// even if no request comes. nil: only a request or a try's end wakes it.
func (w *worker) nextWake(ctx context.Context) <-chan time.Time {
	var due, leaseEnd *time.Time
	var now time.Time
	w.ts.use(ctx, w.t, func(sb *sandbox.Sandbox) {
		svc := sb.Service()
		if dw, ok := svc.(walletctl.DueWork); ok {
			if w.realClock() {
				due, _ = dw.NextDueAt(ctx)
				now, _ = svc.Now(ctx)
			}
			leaseEnd, _ = dw.NextLeaseEnd(ctx)
		}
	})
	wait := time.Duration(-1)
	if due != nil {
		wait = max(due.Sub(now), minWait)
	}
	if leaseEnd != nil {
		if d := max(leaseEnd.Sub(w.ts.now()), minWait); wait < 0 || d < wait {
			wait = d
		}
	}
	if wait < 0 {
		return nil
	}
	return w.ts.after(wait)
}

// pass claims and starts every try that is due (of merchants with none in flight), then wakes the
// Drain callers it satisfies.
func (w *worker) pass() <-chan time.Time {
	ctx := w.ts.ctx
	if w.realClock() {
		w.runDue(ctx)
	}
	w.mu.Lock()
	w.passes++
	pass, ended := w.passes, w.ended
	w.mu.Unlock()
	// Most requests make nothing due: a tenant reopened per request (not kept open) is then not
	// opened again for the pass, and the pass ends here.
	quiet := !w.realClock() && w.ts.nothingPending(ctx, w.t)
	for !quiet && ctx.Err() == nil {
		w.mu.Lock()
		busy := make([]string, 0, len(w.busy))
		for m := range w.busy {
			busy = append(busy, m)
		}
		w.mu.Unlock()
		var c *walletctl.Claim
		var dw walletctl.DueWork
		var err error
		ok, uerr := w.ts.use(ctx, w.t, func(sb *sandbox.Sandbox) {
			var isDue bool
			if dw, isDue = sb.Service().(walletctl.DueWork); isDue {
				c, err = dw.ClaimDelivery(ctx, w.ts.owner, busy)
			}
		})
		if !ok || uerr != nil || err != nil || c == nil {
			break // nothing due now (or the tenant is gone, or its store failed: the next poke retries)
		}
		w.t.publishClaimed(c.Delivery.Notification) // a payment's or a refund's first try: its event
		select {
		case w.ts.slots <- struct{}{}:
		case <-ctx.Done():
			return nil // the lease runs out; the try is due again for the next server
		}
		mch, id := c.Delivery.Notification.MchID, c.Delivery.Notification.ID
		w.mu.Lock()
		w.busy[mch] = true
		w.inFlight[id] = true
		w.mu.Unlock()
		w.ts.wg.Add(1)
		go func() {
			defer w.ts.wg.Done()
			n := w.send(ctx, dw, c)
			<-w.ts.slots
			w.mu.Lock()
			delete(w.busy, mch)
			delete(w.inFlight, id)
			w.ended++
			if n != nil {
				for _, wt := range w.waiters {
					wt.saw(*n)
				}
			}
			w.mu.Unlock()
			w.poke()
		}()
	}
	w.mu.Lock()
	keep := w.waiters[:0]
	for _, wt := range w.waiters {
		// A try that ended during this pass may have made its merchant's next one claimable
		// after the pass looked: the pass its poke starts decides.
		if wt.after < pass && w.ended == ended && wt.settled(w.inFlight) {
			close(wt.done)
		} else {
			keep = append(keep, wt)
		}
	}
	w.waiters = keep
	w.mu.Unlock()
	if quiet || ctx.Err() != nil {
		return nil
	}
	return w.nextWake(ctx)
}

// farFuture is past every lease: NextNotificationAt(farFuture) sees every pending try.
var farFuture = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC) // within int64 nanoseconds

// nothingPending reports, without opening the tenant's sandbox, that no notification of a tenant
// reopened per request is pending (due or not, leased or not): its worker has nothing to claim
// and no lease to wait for. A kept-open tenant costs nothing to look at, so it is not asked.
func (ts *Set) nothingPending(ctx context.Context, t *tenant) bool {
	t.mu.Lock()
	st := t.store
	if t.sb != nil || t.deleted {
		st = nil
	}
	t.mu.Unlock()
	if st == nil {
		return false
	}
	var due *time.Time
	// A store closed meanwhile (the tenant deleted) errs: then the pass looks the long way.
	err := st.View(ctx, func(tx walletctl.StoreTx) error {
		var err error
		due, err = tx.NextNotificationAt(farFuture)
		return err
	})
	return err == nil && due == nil
}

// send sends a claimed try with no lock held and records it under the tenant's lock. A server
// shutting down mid-try records nothing: the lease runs out and the try is due again.
func (w *worker) send(ctx context.Context, dw walletctl.DueWork, c *walletctl.Claim) *walletctl.Notification {
	atts := dw.SendClaim(ctx, c)
	if ctx.Err() != nil {
		return nil
	}
	var n *walletctl.Notification
	w.ts.use(context.WithoutCancel(ctx), w.t, func(sb *sandbox.Sandbox) {
		if dw, ok := sb.Service().(walletctl.DueWork); ok {
			n, _ = dw.RecordClaim(ctx, c, atts)
		}
	})
	w.t.publishAttempts(n, len(atts)) // after the commit, with no lock held: publishing never waits
	return n
}

// settled: nothing it waits for is in flight.
func (wt *waiter) settled(inFlight map[string]bool) bool {
	for id := range inFlight {
		if !wt.ignore[id] {
			return false
		}
	}
	return true
}

// saw keeps the latest state of each notification a waiter saw tried.
func (wt *waiter) saw(n walletctl.Notification) {
	for i := range wt.seen {
		if wt.seen[i].ID == n.ID {
			wt.seen[i] = n
			return
		}
	}
	wt.seen = append(wt.seen, n)
}

// drain waits until the tenant has nothing due (at its clock's now) and no try in flight, and
// returns the notifications tried meanwhile.
func (w *worker) drain(ctx context.Context, ignoreInFlight bool) ([]walletctl.Notification, error) {
	wt := &waiter{done: make(chan struct{}), seen: []walletctl.Notification{}, ignore: map[string]bool{}}
	w.mu.Lock()
	wt.after = w.passes
	if ignoreInFlight {
		for id := range w.inFlight {
			wt.ignore[id] = true
		}
	}
	w.waiters = append(w.waiters, wt)
	w.mu.Unlock()
	w.poke()
	select {
	case <-wt.done:
		if w.ts.ctx.Err() != nil {
			return nil, shuttingDown()
		}
	case <-w.ts.ctx.Done():
		return nil, shuttingDown()
	case <-ctx.Done():
		w.mu.Lock()
		for i, x := range w.waiters {
			if x == wt {
				w.waiters = append(w.waiters[:i], w.waiters[i+1:]...)
				break
			}
		}
		w.mu.Unlock()
		return nil, ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return wt.seen, nil
}

func shuttingDown() error {
	return &walletctl.Error{Code: walletctl.CodeServerBusy, Message: "the server is shutting down: notifications are no longer sent",
		Hint: "what was due stays due (it is durable) and is sent when a server serves the tenant again"}
}

// StopWork stops every tenant's background work (the server is shutting down): tries in flight
// are abandoned, their leases run out and they are due again for the next server; Drain answers
// at once. Close calls it too.
func (ts *Set) StopWork() { ts.stop() }

// Drain waits, with no lock held, until the tenant of apiKey has delivered every notification
// try that is due at its clock's now and has none in flight, and returns the notifications tried
// meanwhile (POST /v1/notifications/deliver, and `clock advance`, which returns when what fell
// due is done). An unknown key is the caller's to refuse first (TenantOf).
func (ts *Set) Drain(ctx context.Context, apiKey string) ([]walletctl.Notification, error) {
	t := ts.lookup(apiKey)
	if t == nil {
		return nil, walletctl.Errorf(walletctl.CodeNotFound, "no tenant has this API key")
	}
	return ts.worker(t).drain(ctx, false)
}

// DrainNew is Drain that does not wait for the tries already in flight when it is called: a
// clock advance returns once what it made due is done, not after a hanging receiver's earlier
// try gives up.
func (ts *Set) DrainNew(ctx context.Context, apiKey string) ([]walletctl.Notification, error) {
	t := ts.lookup(apiKey)
	if t == nil {
		return nil, walletctl.Errorf(walletctl.CodeNotFound, "no tenant has this API key")
	}
	return ts.worker(t).drain(ctx, true)
}
