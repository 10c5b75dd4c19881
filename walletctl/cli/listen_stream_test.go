package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// watchedServer is a wallet server (httpapi over real tenants) that counts the requests a
// polling listen makes and can cut the event streams it serves.
type watchedServer struct {
	h     http.Handler
	polls atomic.Int64 // GET /v1/notifications[/...], POST /v1/notifications/deliver

	mu      sync.Mutex
	lastIDs []string // the Last-Event-ID of each GET /v1/events
	cuts    []context.CancelFunc
}

func (s *watchedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if r.Method == "GET" && strings.HasPrefix(p, "/v1/notifications") || p == "/v1/notifications/deliver" {
		s.polls.Add(1)
	}
	if p == httpapi.EventsPath {
		ctx, cancel := context.WithCancel(r.Context())
		s.mu.Lock()
		s.lastIDs = append(s.lastIDs, r.Header.Get("Last-Event-ID"))
		s.cuts = append(s.cuts, cancel)
		s.mu.Unlock()
		r = r.WithContext(ctx)
	}
	s.h.ServeHTTP(w, r)
}

// cut ends every event stream served so far, as a server restarting would.
func (s *watchedServer) cut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cuts {
		c()
	}
}

func (s *watchedServer) streams() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lastIDs...)
}

// TestListenBackendFollowsEventStream: `listen --backend` prints each attempt the server pushes
// on GET /v1/events (the -o json line listen prints today, field for field the notification's
// attempt) and never polls (no GET /v1/notifications, no deliver) while it listens; when its
// stream breaks it reconnects with Last-Event-ID and still shows the attempt made while it was
// away; it stops at --max-events and drops the forward; with --timeout and nothing to show it
// ends TIMED_OUT (exit 9).
func TestListenBackendFollowsEventStream(t *testing.T) {
	t.Parallel() // mostly waiting for listen
	ctx := context.Background()
	ts, err := tenant.Open(ctx, tenant.Options{Data: t.TempDir(), Throwaway: true, KeepOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.NewServer(ctx, httpapi.Options{Tenants: ts})
	if err != nil {
		t.Fatal(err)
	}
	ws := &watchedServer{h: h}
	hs := httptest.NewServer(ws)
	t.Cleanup(func() {
		ws.cut()
		closed := make(chan struct{})
		go func() { hs.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(15 * time.Second):
			t.Error("a request of the test server still runs 15 s after the test")
		}
		h.Close(ctx)
	})
	ct, err := ts.Create(ctx, walletctl.TenantSpec{Seed: 11, Customers: 2})
	if err != nil {
		t.Fatal(err)
	}
	svc := httpapi.NewClient(hs.URL, ct.APIKey, httpapi.ClientOptions{})
	m, err := svc.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "stream shop"})
	if err != nil {
		t.Fatal(err)
	}
	user := testworld.Opener{T: t, Wallet: svc, OTPs: svc.Bank(5 * time.Second)}.OpenWallet(testworld.Card("ok"), 100_00).User.ID
	pay := func(out string) {
		t.Helper()
		o, err := svc.CreateOrder(ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: out, Description: "tea",
			Amount: 1_00, NotifyURL: "http://127.0.0.1:9/nowhere"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.PayOrder(ctx, walletctl.PayOrderRequest{UserID: user, Ref: o.CodeURL, Password: testworld.Password}); err != nil {
			t.Fatal(err)
		}
	}
	rcv := newReceiver(t)
	fwd := rcv.URL + "/hook"
	env := []string{"WALLETCTL_BACKEND=" + hs.URL, "WALLETCTL_API_KEY=" + ct.APIKey}
	polls := ws.polls.Load()

	p := startListen(t, env, "-o", "json", "listen", "--forward-to", fwd, "--max-events", "2", "--timeout", "60s")
	if got := ws.streams(); len(got) != 1 || got[0] != "" {
		t.Fatalf("listen opened %q event streams before Ready", got)
	}
	pay("stream-000001")
	p.waitFor(t, func() bool { return strings.Contains(p.out.String(), `"notification":"n1"`) }, "the first attempt")
	ws.cut()             // the stream breaks: listen reconnects a second later
	pay("stream-000002") // meanwhile
	if code := p.exit(t); code != 0 {
		t.Fatalf("listen --max-events 2: exit %d\n%s\n%s", code, p.out, p.errOut)
	}
	if n := ws.polls.Load() - polls; n != 0 {
		t.Errorf("listen --backend made %d notification list or deliver requests; it follows the event stream", n)
	}
	streams := ws.streams()
	if len(streams) != 2 || streams[1] == "" {
		t.Errorf("event streams opened with Last-Event-ID %q: want a first one, then one resuming", streams)
	}
	lines := strings.Split(strings.TrimSpace(p.out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("listen printed:\n%s\n%s", p.out, p.errOut)
	}
	for i, l := range lines {
		var got struct {
			Notification string `json:"notification"`
			EventID      string `json:"event_id"`
			EventType    string `json:"event_type"`
			MchID        string `json:"mchid"`
			walletctl.NotifyAttempt
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		n, err := svc.Notification(ctx, []string{"n1", "n2"}[i])
		if err != nil {
			t.Fatal(err)
		}
		want := n.Attempts[0]
		if len(n.Attempts) != 1 || got.Notification != n.ID || got.EventID != n.EventID || got.EventType != walletctl.EventTransactionSuccess ||
			got.MchID != m.ID || got.N != 1 || !got.At.Equal(want.At) || got.URL != fwd || got.URL != want.URL || got.Status != 200 ||
			got.LatencyMS != want.LatencyMS || got.Answer != want.Answer || !got.OK {
			t.Errorf("line %d: %s\nthe notification: %+v", i+1, l, n)
		}
	}
	if got := rcv.got(); len(got) != 2 {
		t.Fatalf("the receiver got %v", got)
	}

	// The forward was dropped on exit: the next notification goes to its own (dead) address.
	pay("stream-000003")
	if _, err := svc.DeliverNotifications(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rcv.got(); len(got) != 2 {
		t.Fatalf("the forward outlived listen: the receiver got %v", got)
	}

	// Nothing to show before --timeout: TIMED_OUT, still without polling.
	polls = ws.polls.Load()
	if r := exeEnv(t, env, "", "listen", "--forward-to", fwd, "--max-events", "1", "--timeout", "500ms"); r.code != 9 || !strings.Contains(r.errOut, "TIMED_OUT") {
		t.Fatalf("listen --timeout: %s", r)
	}
	if n := ws.polls.Load() - polls; n != 0 {
		t.Errorf("listen --backend --timeout made %d polling requests", n)
	}
}
