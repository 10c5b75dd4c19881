package tenant_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/sqlite"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/tenant/tenanttest"
)

// shop is a tenant with a payer and a merchant whose receiver answers SUCCESS at once.
type shop struct {
	svc    *httpapi.Client
	key    string
	user   string
	mchid  string
	notify string // the receiver's URL
	got    *atomic.Int64
}

func newShop(t *testing.T, url string, ct *walletctl.CreatedTenant) *shop {
	t.Helper()
	var got atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.Write([]byte(`{"code":"SUCCESS"}`))
	}))
	t.Cleanup(rcv.Close)
	s := openShop(t, url, ct, rcv.URL+"/notify")
	s.got = &got
	return s
}

// openShop is a tenant's payer (the "ok" test card, 100.00 topped up) and a merchant whose
// orders notify the receiver at notify.
func openShop(t *testing.T, url string, ct *walletctl.CreatedTenant, notify string) *shop {
	t.Helper()
	svc := httpapi.NewClient(url, ct.APIKey, httpapi.ClientOptions{})
	m, err := svc.CreateMerchant(context.Background(), walletctl.MerchantSpec{Name: "test shop"})
	if err != nil {
		t.Fatal(err)
	}
	user := payer(t, url, ct.APIKey, testworld.Card("ok"), 100_00)[0].UserID
	return &shop{svc: svc, key: ct.APIKey, user: user, mchid: m.ID, notify: notify}
}

// writeDue writes n notification tries of 20 merchants, due long ago, to url, straight into
// the tenant's wallet.db (as n payments would), with ids prefix1, prefix2, ...
func writeDue(t *testing.T, data, tenantID string, n int, url, prefix string) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(data, "tenants", tenantID, "wallet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	due := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.Update(context.Background(), func(tx walletctl.StoreTx) error {
		for i := 1; i <= n; i++ {
			n := &walletctl.Notification{ID: fmt.Sprintf("%s%d", prefix, i), EventID: fmt.Sprintf("EV-%s%d", prefix, i), MchID: fmt.Sprintf("19000%05d", i%20),
				EventType: walletctl.EventTransactionSuccess, URL: url, CreatedAt: due, Status: walletctl.NotifyPending,
				NextAt: &due, Attempts: []walletctl.NotifyAttempt{}, Order: &walletctl.Order{ID: fmt.Sprintf("o%d", i)}}
			if err := tx.CreateNotification(n); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// pay pays a new order of 1.00 and returns its out_trade_no; it fails the test if that takes
// more than limit.
func (s *shop) pay(t *testing.T, out string, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	o, err := s.svc.CreateOrder(ctx, walletctl.OrderRequest{MchID: s.mchid, TradeType: "NATIVE", OutTradeNo: out, Description: "tea",
		Amount: 1_00, NotifyURL: s.notify})
	if err != nil {
		t.Fatalf("order %s: %v", out, err)
	}
	if _, err := s.svc.PayOrder(ctx, walletctl.PayOrderRequest{UserID: s.user, Ref: o.CodeURL, Password: testworld.Password}); err != nil {
		t.Fatalf("pay %s: %v", out, err)
	}
}

// frame is one server-sent event as it came over the wire.
type frame struct {
	id, event, data string
	comment         bool
}

// rawStream opens GET /v1/events with key (and Last-Event-ID when not "") and sends every frame
// (comments too) it reads; it closes frames at the end of the stream.
func rawStream(t *testing.T, ctx context.Context, url, key, lastID string) (*http.Response, <-chan frame) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+httpapi.EventsPath, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan frame, 1000)
	go func() {
		defer close(frames)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var f frame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if f != (frame{}) {
					frames <- f
				}
				f = frame{}
			case strings.HasPrefix(line, ":"):
				frames <- frame{comment: true, data: line}
			case strings.HasPrefix(line, "id: "):
				f.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				f.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				f.data = line[6:]
			}
		}
	}()
	return resp, frames
}

// id is the frame's id as a number.
func id(t *testing.T, f frame) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(f.id, 10, 64)
	if err != nil {
		t.Fatalf("event id %q: %v", f.id, err)
	}
	return n
}

// nextEvent is the next frame that is an event (not a comment), within 10 s.
func nextEvent(t *testing.T, frames <-chan frame) frame {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatal("the stream ended")
			}
			if !f.comment && f.event != "" {
				return f
			}
		case <-timeout:
			t.Fatal("no event in 10 s")
		}
	}
}

// An SSE client receives, as they happen, a payment and the attempt of its notification, framed
// as server-sent events (id:, event:, data: one line of JSON), with what listen prints; then a
// refund and its notification's attempt.
func TestEventsPushPaymentAndAttempt(t *testing.T) {
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{KeepOpen: true})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 5, Customers: 2})
	s := newShop(t, srv.URL, ct)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, frames := rawStream(t, ctx, srv.URL, ct.APIKey, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /v1/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s.pay(t, "event-000001", 10*time.Second)

	f := nextEvent(t, frames)
	var p walletctl.PaymentEvent
	if f.event != walletctl.StreamPayment || json.Unmarshal([]byte(f.data), &p) != nil || p.Notification != "n1" || p.MchID != s.mchid ||
		p.Order == nil || p.Order.OutTradeNo != "event-000001" || p.Order.TradeState != walletctl.StateSuccess {
		t.Fatalf("first event: %+v", f)
	}
	first := id(t, f)
	f = nextEvent(t, frames)
	var a walletctl.AttemptEvent
	if f.event != walletctl.StreamAttempt || json.Unmarshal([]byte(f.data), &a) != nil {
		t.Fatalf("second event: %+v", f)
	}
	if f.id != strconv.FormatUint(first+1, 10) {
		t.Errorf("ids %d then %s: want consecutive", first, f.id)
	}
	if a.Notification != "n1" || a.EventType != walletctl.EventTransactionSuccess || a.MchID != s.mchid || a.EventID == "" ||
		a.Attempt.N != 1 || a.Attempt.Status != 200 || !a.Attempt.OK || a.Attempt.URL != s.notify || a.Attempt.Answer != `{"code":"SUCCESS"}` ||
		a.Status != walletctl.NotifyDelivered || a.Attempt.At.IsZero() {
		t.Fatalf("attempt event: %s", f.data)
	}
	// The same attempt as the notification list has it.
	n, err := s.svc.Notification(ctx, "n1")
	if err != nil || len(n.Attempts) != 1 || !n.Attempts[0].At.Equal(a.Attempt.At) || n.EventID != a.EventID {
		t.Fatalf("n1: %+v, %v", n, err)
	}

	// A refund (to the balance: it succeeds at once), then its notification's attempt.
	if _, err := s.svc.Refund(ctx, walletctl.RefundRequest{MchID: s.mchid, OutTradeNo: "event-000001", OutRefundNo: "event-r-000001",
		Amount: 40}); err != nil {
		t.Fatal(err)
	}
	f = nextEvent(t, frames)
	var r walletctl.RefundEvent
	if f.event != walletctl.StreamRefundSucceeded || json.Unmarshal([]byte(f.data), &r) != nil || r.Notification != "n2" ||
		r.EventType != walletctl.EventRefundSuccess || r.Refund == nil || r.Refund.OutRefundNo != "event-r-000001" || r.Refund.Amount != 40 ||
		id(t, f) <= first+1 {
		t.Fatalf("refund event: %+v", f)
	}
	if f = nextEvent(t, frames); f.event != walletctl.StreamAttempt || !strings.Contains(f.data, `"notification":"n2"`) ||
		!strings.Contains(f.data, `"event_type":"REFUND.SUCCESS"`) {
		t.Fatalf("the refund's attempt: %+v", f)
	}
}

// Resuming with Last-Event-ID gets exactly the events after it, from the server's buffer (made
// while no client was connected), then what comes next; an id older than the buffer gets a gap
// event first, then everything kept.
func TestEventsResumeWithLastEventID(t *testing.T) {
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{KeepOpen: true})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 5, Customers: 2})
	s := newShop(t, srv.URL, ct)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sctx, scancel := context.WithCancel(ctx)
	_, frames := rawStream(t, sctx, srv.URL, ct.APIKey, "")
	s.pay(t, "resume-000001", 10*time.Second)
	var seen []frame
	for len(seen) < 2 {
		seen = append(seen, nextEvent(t, frames))
	}
	scancel() // the client goes away

	// Meanwhile: a second payment and its attempt.
	s.pay(t, "resume-000002", 10*time.Second)
	eventually(t, "the second notification delivered", func() bool { return s.got.Load() == 2 })

	_, frames = rawStream(t, ctx, srv.URL, ct.APIKey, seen[1].id)
	f := nextEvent(t, frames)
	if f.event != walletctl.StreamPayment || !strings.Contains(f.data, "resume-000002") || id(t, f) <= id(t, seen[1]) {
		t.Fatalf("first event after Last-Event-ID %s: %+v (want the second payment)", seen[1].id, f)
	}
	if f = nextEvent(t, frames); f.event != walletctl.StreamAttempt || !strings.Contains(f.data, `"notification":"n2"`) {
		t.Fatalf("then: %+v", f)
	}
	s.pay(t, "resume-000003", 10*time.Second)
	if f = nextEvent(t, frames); f.event != walletctl.StreamPayment || !strings.Contains(f.data, "resume-000003") {
		t.Fatalf("then, live: %+v", f)
	}

	// An id from before the buffer (or from before a restart): a gap, then all that is kept.
	_, frames = rawStream(t, ctx, srv.URL, ct.APIKey, "1")
	f = nextEvent(t, frames)
	var gap walletctl.GapEvent
	if f.event != walletctl.StreamGap || f.id != "" || json.Unmarshal([]byte(f.data), &gap) != nil || gap.After != 1 ||
		strconv.FormatUint(gap.Next, 10) != seen[0].id {
		t.Fatalf("resume from 1: %+v (first kept %s)", f, seen[0].id)
	}
	if f = nextEvent(t, frames); f.id != seen[0].id {
		t.Fatalf("after the gap: %+v, want event %s", f, seen[0].id)
	}
}

// A subscriber that never reads delays nothing: 300 tries (600 events: a payment and an attempt
// each) run to the end while one stream over HTTP and one subscriber of the hub never read, a
// payment made meanwhile answers at once, and the hub's subscriber is dropped once its buffer is
// full (its channel closed: it would resume with Last-Event-ID).
func TestEventsSlowSubscriberDelaysNothing(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{Data: data, KeepOpen: true})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 6, Customers: 2})
	s := newShop(t, srv.URL, ct)

	// A stream over HTTP whose client sends its request and never reads a byte.
	addr := strings.TrimPrefix(srv.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", httpapi.EventsPath, addr, ct.APIKey)
	// And a subscriber of the hub itself that never reads.
	_, live, stop, err := srv.Tenants.Events(ct.APIKey, "")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	// 300 tries due, written straight into the tenant's wallet (as 300 payments would).
	writeDue(t, data, ct.ID, 300, s.notify, "x")
	start := time.Now()
	s.pay(t, "slow-000001", 5*time.Second) // a request: the worker looks for due work
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := s.svc.DeliverNotifications(dctx); err != nil {
		// Let a publisher that waits for them go, so that the test ends rather than hangs.
		conn.Close()
		go func() {
			for range live {
			}
		}()
		t.Fatalf("the worker's deliveries with subscribers that never read: %v", err)
	}
	if n := s.got.Load(); n != 301 {
		t.Fatalf("the receiver got %d tries, want 301", n)
	}
	s.pay(t, "slow-000002", 5*time.Second)
	t.Logf("301 tries and 2 payments with two subscribers that never read: %s", time.Since(start))

	// The hub's subscriber got what fitted in its buffer, then was dropped.
	got := 0
	for range live {
		got++
	}
	if got != 256 {
		t.Errorf("the subscriber that never read got %d events before it was dropped, want its buffer's 256", got)
	}
}

// GET /v1/events needs the tenant's API key: none, or a wrong one, is 401 with
// WWW-Authenticate, before anything is streamed.
func TestEventsNeedAKey(t *testing.T) {
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{})
	srv.Create(t, walletctl.TenantSpec{Seed: 5, Customers: 2})
	for _, key := range []string{"", "wk_not-a-key-of-any-tenant"} {
		req, _ := http.NewRequest("GET", srv.URL+httpapi.EventsPath, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Error struct{ Code string } `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || env.Error.Code != httpapi.CodeUnauthenticated ||
			resp.Header.Get("Content-Type") == "text/event-stream" {
			t.Errorf("key %q: %d %s %+v", key, resp.StatusCode, resp.Header.Get("Content-Type"), env)
		}
	}
}

// A stream outlives the server's read and write timeouts (walletctl serve sets 30 s and 60 s),
// sends a heartbeat comment when idle, and ends when the server shuts down: Shutdown does not
// wait for it, and Close after it does not hang. Server.Close alone ends streams too.
func TestEventsHeartbeatTimeoutsAndShutdown(t *testing.T) {
	ctx := context.Background()
	ts, err := tenant.Open(ctx, tenant.Options{Data: t.TempDir(), Throwaway: true, KeepOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.NewServer(ctx, httpapi.Options{Tenants: ts, EventHeartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}
	go hs.Serve(ln)
	url := "http://" + ln.Addr().String()
	ct, err := ts.Create(ctx, walletctl.TenantSpec{Seed: 5, Customers: 2})
	if err != nil {
		t.Fatal(err)
	}
	s := newShop(t, url, ct)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, frames := rawStream(t, sctx, url, ct.APIKey, "")
	time.Sleep(time.Second) // past both timeouts
	s.pay(t, "beat-000001", 10*time.Second)
	beats := 0
	for attempt := false; !attempt; {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatal("the stream ended before the attempt")
			}
			if f.comment && strings.Contains(f.data, "heartbeat") {
				beats++
			}
			attempt = f.event == walletctl.StreamAttempt
		case <-time.After(10 * time.Second):
			t.Fatal("no attempt in 10 s after the server's timeouts passed")
		}
	}
	if beats < 5 {
		t.Errorf("%d heartbeats in more than a second at 50 ms", beats)
	}

	// Shutdown ends the stream instead of waiting for it.
	start := time.Now()
	shctx, shcancel := context.WithTimeout(ctx, 10*time.Second)
	defer shcancel()
	if err := hs.Shutdown(shctx); err != nil {
		t.Fatalf("shutdown with a stream open: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown with a stream open took %s", d)
	}
	for range frames { // ends
	}
	done := make(chan error, 1)
	go func() { done <- h.Close(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close after shutdown hangs")
	}

	// On a server that is not shut down, Close ends the open streams.
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{})
	ct2 := srv.Create(t, walletctl.TenantSpec{Seed: 5, Customers: 2})
	_, frames = rawStream(t, sctx, srv.URL, ct2.APIKey, "")
	go func() { done <- srv.Handler.Close(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close with a stream open hangs")
	}
	ended := make(chan struct{})
	go func() {
		for range frames {
		}
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream outlived Close")
	}
}
