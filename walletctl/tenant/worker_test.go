package tenant_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	"github.com/walletctl/walletctl/walletctl/sqlite"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/tenant/tenanttest"
)

// blocking is a merchant's receiver that holds every request until the test releases it.
type blocking struct {
	arrived chan struct{} // one value per request that came
	release chan struct{}
	got     atomic.Int64
	free    func() // releases every held request, and every later one
}

func newBlocking(t *testing.T) (*blocking, string) {
	b := &blocking{arrived: make(chan struct{}, 100), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.got.Add(1)
		b.arrived <- struct{}{}
		select {
		case <-b.release:
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	released := false
	t.Cleanup(func() {
		if !released {
			close(b.release)
		}
	})
	b.free = func() { released = true; close(b.release) }
	return b, srv.URL + "/notify"
}

// A receiver that blocks until the test releases it delays nothing of its tenant but its own
// merchant's next try: the payment that made the notification returns while the receiver still
// holds the try, and so do a balance read, another payment to the same merchant and a clock
// advance. (They used to wait for the receiver under the tenant's lock, 5 s each.) Every call
// below gets 10 s: one waiting for the receiver would never return before the release.
func TestBlockedReceiverDelaysNoRequest(t *testing.T) {
	ctx := context.Background()
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{KeepOpen: true})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 5, Customers: 2, Settings: map[string]string{"notify_timeout": "1m"}})
	rcv, url := newBlocking(t)
	s := openShop(t, srv.URL, ct, url)
	svc, user := s.svc, s.user
	pay := func(out string) { t.Helper(); s.pay(t, out, 10*time.Second) }
	pay("blocked-000001")
	select {
	case <-rcv.arrived: // the worker's try is now held by the receiver
	case <-time.After(10 * time.Second):
		t.Fatal("the notification was never sent")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := svc.Balance(cctx, user); err != nil {
		t.Fatalf("a balance read while the receiver holds a try: %v", err)
	}
	pay("blocked-000002")
	if _, err := svc.Advance(cctx, time.Hour); err != nil {
		t.Fatalf("a clock advance while the receiver holds a try: %v", err)
	}
	if n := rcv.got.Load(); n != 1 {
		t.Fatalf("the receiver got %d tries while holding the first: a merchant's tries go one at a time", n)
	}
	ns, err := oldestFirst(svc.Notifications(cctx, walletctl.NotificationFilter{}, walletctl.MaxPage))
	if err != nil || len(ns) != 2 || ns[0].Status != walletctl.NotifyPending || len(ns[0].Attempts) != 0 {
		t.Fatalf("before the release: %+v, %v", ns, err)
	}
	// Released: both are delivered, in order, and recorded at the time they were due.
	rcv.free()
	if _, err := svc.DeliverNotifications(cctx); err != nil {
		t.Fatal(err)
	}
	ns, err = oldestFirst(svc.Notifications(cctx, walletctl.NotificationFilter{}, walletctl.MaxPage))
	if err != nil || len(ns) != 2 {
		t.Fatalf("%+v, %v", ns, err)
	}
	for _, n := range ns {
		if n.Status != walletctl.NotifyDelivered || len(n.Attempts) != 1 || !n.Attempts[0].At.Equal(n.CreatedAt) {
			t.Errorf("%s: %s, attempts %+v (created %s)", n.ID, n.Status, n.Attempts, n.CreatedAt)
		}
	}
}

// A kept-open tenant with 2,000 notification tries due to receivers that never answer (20
// merchants, so 20 tries in flight at once) answers its other requests throughout.
func TestManyHangingTriesDelayNoRequest(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{Data: data, KeepOpen: true})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 6, Customers: 2, Settings: map[string]string{"notify_timeout": "1m"}})
	user := payer(t, srv.URL, ct.APIKey, testworld.Card("ok"), 100_00)[0].UserID
	rcv, url := newBlocking(t)
	writeDue(t, data, ct.ID, 2000, url, "n") // as 2,000 payments would
	svc := httpapi.NewClient(srv.URL, ct.APIKey, httpapi.ClientOptions{})
	if _, err := svc.Balance(ctx, user); err != nil { // a request: the worker looks for due work
		t.Fatal(err)
	}
	for range 20 {
		select {
		case <-rcv.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d tries in flight, want 20 (one per merchant)", rcv.got.Load())
		}
	}
	slowest := time.Duration(0)
	for i := range 100 {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		start := time.Now()
		_, err := svc.Balance(cctx, user)
		cancel()
		if err != nil {
			t.Fatalf("read %d with 2,000 tries due to hanging receivers: %v", i, err)
		}
		slowest = max(slowest, time.Since(start))
	}
	if n := rcv.got.Load(); n != 20 {
		t.Errorf("%d tries sent, want 20: one in flight per merchant", n)
	}
	t.Logf("100 balance reads while 20 tries hang: the slowest took %s", slowest)
}

// wall is a test's wall clock for real-clock tenants: it moves when the test says, and every
// timer the worker set fires then (the worker sets a new one after each pass).
type wall struct {
	mu    sync.Mutex
	t     time.Time
	tick  chan time.Time
	waits []time.Duration
}

func newWall(t time.Time) *wall { return &wall{t: t, tick: make(chan time.Time)} }

func (w *wall) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t
}

func (w *wall) after(d time.Duration) <-chan time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waits = append(w.waits, d)
	return w.tick
}

// lastWait is the wait the worker asked for last.
func (w *wall) lastWait() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.waits) == 0 {
		return 0
	}
	return w.waits[len(w.waits)-1]
}

// add moves the wall on by d and fires the timers.
func (w *wall) add(d time.Duration) {
	w.mu.Lock()
	w.t = w.t.Add(d)
	close(w.tick)
	w.tick = make(chan time.Time)
	w.mu.Unlock()
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// On a real clock what falls due happens by itself: a receiver that failed gets its second try
// 15 s later with no request made meanwhile, an order whose time_expire passes is CLOSED, and
// `clock advance 1h` puts the tenant's time an hour ahead of the wall. The wall is the test's:
// the worker's timer asks for the wait, the test moves the wall that far and fires it.
func TestRealClockRunsDueWorkByItself(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	w := newWall(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{Data: data, KeepOpen: true, Clock: sandbox.ClockReal, Now: w.now, After: w.after})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 7, Customers: 2})
	if ct.Clock != sandbox.ClockReal {
		t.Fatalf("tenant clock %q", ct.Clock)
	}
	var got atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if got.Add(1) == 1 {
			rw.WriteHeader(http.StatusInternalServerError)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	s := openShop(t, srv.URL, ct, rcv.URL+"/notify")
	svc, m := s.svc, s.mchid
	s.pay(t, "real-000001", 10*time.Second)
	eventually(t, "the first try", func() bool { return got.Load() == 1 })
	eventually(t, "a timer for the retry", func() bool { d := w.lastWait(); return d >= 13*time.Second && d <= 17*time.Second })
	w.add(w.lastWait()) // nothing is asked of the server from here on
	eventually(t, "the second try, with no request made", func() bool { return got.Load() == 2 })
	// The receiver has answered; the worker records the try once the answer is read.
	var ns []walletctl.Notification
	var err error
	eventually(t, "the second try recorded", func() bool {
		ns, err = walletctl.Items(svc.Notifications(ctx, walletctl.NotificationFilter{}, walletctl.MaxPage))
		return err != nil || len(ns) == 1 && len(ns[0].Attempts) == 2
	})
	if err != nil || len(ns) != 1 || len(ns[0].Attempts) != 2 {
		t.Fatalf("%+v, %v", ns, err)
	}
	if gap := ns[0].Attempts[1].At.Sub(ns[0].Attempts[0].At); gap < 13*time.Second || gap > 17*time.Second {
		t.Errorf("the retry came %s after the first try, want 15s ± 2s", gap)
	}

	// An order expiring 2 s from now is CLOSED 2 s later, by itself.
	now, err := svc.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateOrder(ctx, walletctl.OrderRequest{MchID: m, TradeType: "NATIVE", OutTradeNo: "real-000002", Description: "tea",
		Amount: 1_00, TimeExpire: now.Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a timer for the expiry", func() bool { d := w.lastWait(); return d >= time.Second && d <= 3*time.Second })
	w.add(w.lastWait())
	st, err := sqlite.Open(filepath.Join(data, "tenants", ct.ID, "wallet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eventually(t, "the order closed with no request made", func() bool {
		var state string
		st.View(ctx, func(tx walletctl.StoreTx) error {
			o, err := tx.FindOrder(walletctl.OrderKey{MchID: m, OutTradeNo: "real-000002"})
			if o != nil {
				state = o.TradeState
			}
			return err
		})
		return state == walletctl.StateClosed
	})
	if q, err := svc.Order(ctx, walletctl.OrderQuery{MchID: m, OutTradeNo: "real-000002"}); err != nil || q.TradeState != walletctl.StateClosed {
		t.Fatalf("query: %+v, %v", q, err)
	}

	// A test clock: an hour ahead of the wall, and it keeps running with it.
	if _, err := svc.Advance(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	now, err = svc.Now(ctx)
	if err != nil || now.Sub(w.now()) != time.Hour {
		t.Fatalf("after advance 1h: %s against the wall's %s, %v", now, w.now(), err)
	}
	w.add(time.Minute)
	if now2, _ := svc.Now(ctx); now2.Sub(now) != time.Minute {
		t.Fatalf("the clock did not run with the wall: %s then %s", now, now2)
	}
}

// A try whose lease a dead server holds is sent when the lease runs out, with no request made:
// the worker sets a timer on the end of the first lease on a due try (on the virtual clock too).
func TestLeaseOfADeadServerRunsOut(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	w := newWall(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{Data: data, KeepOpen: true, Now: w.now, After: w.after})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 8, Customers: 2})
	var got atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		got.Add(1)
		rw.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	st, err := sqlite.Open(filepath.Join(data, "tenants", ct.ID, "wallet.db"))
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.Update(ctx, func(tx walletctl.StoreTx) error {
		n := &walletctl.Notification{ID: "n1", EventID: "EV-1", MchID: "1900000001", EventType: walletctl.EventTransactionSuccess,
			URL: rcv.URL + "/notify", CreatedAt: due, Status: walletctl.NotifyPending, NextAt: &due, Attempts: []walletctl.NotifyAttempt{},
			Order: &walletctl.Order{ID: "o1"}}
		if err := tx.CreateNotification(n); err != nil {
			return err
		}
		_, err := tx.ClaimNotification("n1", "srv-dead", w.now().Add(3*time.Second), w.now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	svc := httpapi.NewClient(srv.URL, ct.APIKey, httpapi.ClientOptions{})
	if _, err := svc.Now(ctx); err != nil { // a request: the worker looks, finds the try leased
		t.Fatal(err)
	}
	eventually(t, "a timer for the lease's end", func() bool { d := w.lastWait(); return d >= 2*time.Second && d <= 3*time.Second })
	if got.Load() != 0 {
		t.Fatal("a leased try was sent before its lease ended")
	}
	w.add(w.lastWait())
	eventually(t, "the try sent once its lease ran out, with no request made", func() bool { return got.Load() == 1 })
}

// A server shutting down stops its workers: a request waiting for the tenant's queue (a try held
// by a receiver that never answers) is answered at once, SERVER_BUSY, instead of holding the
// shutdown until the try's timeout.
func TestStopWorkAnswersDrainAtOnce(t *testing.T) {
	ctx := context.Background()
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{KeepOpen: true})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 9, Customers: 2, Settings: map[string]string{"notify_timeout": "1m"}})
	rcv, url := newBlocking(t)
	openShop(t, srv.URL, ct, url).pay(t, "stop-000001", 10*time.Second)
	<-rcv.arrived
	drained := make(chan error, 1)
	go func() {
		_, err := srv.Tenants.Drain(ctx, ct.APIKey)
		drained <- err
	}()
	time.Sleep(50 * time.Millisecond) // the drain is waiting on the held try
	srv.Tenants.StopWork()
	select {
	case err := <-drained:
		var we *walletctl.Error
		if !errors.As(err, &we) || we.Code != walletctl.CodeServerBusy {
			t.Fatalf("drain at shutdown: %v, want SERVER_BUSY", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the drain held on after the work stopped")
	}
}

// oldestFirst is a page of notifications in the order they were made.
func oldestFirst(l *walletctl.List[walletctl.Notification], err error) ([]walletctl.Notification, error) {
	ns, err := walletctl.Items(l, err)
	slices.Reverse(ns)
	return ns, err
}
