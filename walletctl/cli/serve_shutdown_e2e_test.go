package cli_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankmock"
	bankserver "github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
)

// exited waits at most limit for the process to end and returns its exit code.
func (p *servedProcess) exited(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(limit):
		t.Fatalf("walletctl serve still running %v after SIGTERM; stderr:\n%s", limit, p.stderr)
		return -1
	}
}

// TestServeShutdownSilentConnections: connections whose first request the server has not read
// when SIGTERM comes do not hold up the shutdown: one dialled and never used (an HTTP client's
// spare dial, a probe), one whose request comes after the shutdown began, one that had sent part
// of its request's header. net/http runs no request it finishes reading once the shutdown has
// begun, but before, its Shutdown waited 5 s for such connections: with --shutdown-timeout 1s the
// server gave up and exited 9 (NETWORK_ERROR "shutdown: context deadline exceeded", with a hint
// about the bank), with the default timeout it took 5 s. Now they are closed when the shutdown
// begins, and the server exits 0 at once with either timeout; an idle keep-alive connection is
// closed too (it was already).
func TestServeShutdownSilentConnections(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"timeout 1s", []string{"--shutdown-timeout", "1s"}},
		{"default timeout", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const key = "shutdown-silent-key-0123456789"
			p := startServe(t, nil, append([]string{"--data", t.TempDir(), "--tenant-key", key, "--customers", "3"}, tc.args...)...)
			addr := strings.TrimPrefix(p.url, "http://")
			// A client's connection, used once and idle in its pool: closed by the shutdown at once.
			hc := &http.Client{Transport: &http.Transport{}}
			if code, _ := get(t, hc, p.url+"/healthz"); code != 200 {
				t.Fatalf("healthz: %d", code)
			}
			dial := func() net.Conn {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			silent := dial()  // never sends anything
			late := dial()    // sends its request once the shutdown has begun
			partial := dial() // has sent part of its request's header, and ends it during the shutdown
			fmt.Fprintf(partial, "GET /healthz HTTP/1.1\r\nHost: %s\r\n", addr)
			// Accepted before the shutdown closes the listener (the kernel resets what is still in
			// the accept queue then).
			time.Sleep(200 * time.Millisecond)

			start := time.Now()
			p.cmd.Process.Signal(syscall.SIGTERM)
			if !waitFor(5*time.Second, func() bool { return strings.Contains(p.stderr.String(), "shutting down") }) {
				t.Fatalf("no shutdown after SIGTERM; stderr:\n%s", p.stderr)
			}
			fmt.Fprintf(late, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
			fmt.Fprintf(partial, "\r\n")
			code := p.exited(t, 10*time.Second)
			took := time.Since(start)
			if code != 0 || took > 900*time.Millisecond {
				t.Errorf("exit %d after %v with unused connections open; want 0 at once; stderr:\n%s", code, took, p.stderr)
			}
			// Closed, unanswered: a request read once the shutdown has begun is not run. (The log
			// line comes just before the shutdown begins: a request read in between is answered.)
			for name, c := range map[string]net.Conn{"silent": silent, "late": late, "partial": partial} {
				c.SetReadDeadline(time.Now().Add(time.Second))
				if b, err := io.ReadAll(c); isTimeout(err) || len(b) > 0 && (name == "silent" || !strings.HasPrefix(string(b), "HTTP/1.1 200 ")) {
					t.Errorf("the %s connection: read %q, %v; want it closed, unanswered", name, b, err)
				}
			}
			t.Logf("exit %d %v after SIGTERM", code, took.Round(time.Millisecond))
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func get(t *testing.T, hc *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String()
}

// TestServeShutdownAbandonsNotificationTry: SIGTERM while a notification try is in flight to a
// receiver that does not answer. The tenant's notify_timeout is 2 s, so that the try's lease is
// 5 s (2×2s + 1s). The server does not wait for the try: it abandons it (the receiver sees its
// sender go), records nothing, and exits 0 within --shutdown-timeout 1s, well before the try
// would have given up. The notification's row is durable and its lease runs out: after a restart
// on the same data the try is sent again, no sooner than the lease allows, and delivered; the
// abandoned try left no attempt behind.
func TestServeShutdownAbandonsNotificationTry(t *testing.T) {
	ctx := context.Background()
	const (
		admin = "shutdown-notify-admin-token"
		key   = "shutdown-notify-key-0123456789"
		lease = 2*2*time.Second + time.Second
	)
	env := []string{"WALLETCTL_ADMIN_TOKEN=" + admin, "WALLETCTL_SANDBOX_THROWAWAY=1"}
	data := t.TempDir()
	p := startServe(t, env, "--data", data, "--shutdown-timeout", "1s")
	if code, body := testworld.Call(t, "POST", p.url+"/admin/tenants", admin,
		fmt.Sprintf(`{"name":"shop","seed":5,"customers":3,"api_key":%q,"settings":{"notify_timeout":"2s"}}`, key)); code != http.StatusCreated {
		t.Fatalf("create the tenant: %d %s", code, body)
	}
	rcv := newTryReceiver(t)
	rcv.setHold(func(_ string, n int) time.Duration {
		if n == 0 {
			return -1 // the first try: held until its sender goes
		}
		return 0
	})
	c := httpapi.NewClient(p.url, key, httpapi.ClientOptions{})
	u := testworld.Opener{T: t, Wallet: c, OTPs: c.Bank(5 * time.Second)}.OpenWallet(testworld.Card("ok"), 10_00).User.ID
	m, err := c.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "tea shop"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.CreateOrder(ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: "shutdown-1",
		Description: "tea", Amount: 1_00, NotifyURL: rcv.URL + "/n"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PayOrder(ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Password: testworld.Password}); err != nil {
		t.Fatal(err)
	}
	if !waitFor(3*time.Second, func() bool { return rcv.holding("/n") == 1 }) {
		t.Fatalf("the try is not in flight: %+v", rcv.got("/n"))
	}

	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	code := p.exited(t, 10*time.Second)
	took := time.Since(start)
	if code != 0 || took > 1500*time.Millisecond {
		t.Errorf("exit %d after %v with a try in flight; want 0 within --shutdown-timeout 1s, before the try's 2 s; stderr:\n%s", code, took, p.stderr)
	}
	if !waitFor(time.Second, func() bool { return rcv.holding("/n") == 0 }) {
		t.Fatal("the try is still held after the server exited")
	}
	if tries := rcv.got("/n"); len(tries) != 1 || !tries[0].Abandoned {
		t.Fatalf("tries before the restart: %+v; want one, abandoned by its sender", tries)
	}

	p2 := startServe(t, env, "--data", data, "--shutdown-timeout", "1s")
	c2 := httpapi.NewClient(p2.url, key, httpapi.ClientOptions{})
	var n *walletctl.Notification
	if !waitFor(lease+5*time.Second, func() bool {
		if _, err := c2.DeliverNotifications(ctx); err != nil { // wakes the worker; the lease decides
			t.Fatal(err)
		}
		ns, err := walletctl.Items(c2.Notifications(ctx, walletctl.NotificationFilter{}, walletctl.MaxPage))
		if err != nil || len(ns) != 1 {
			t.Fatalf("notifications: %+v, %v", ns, err)
		}
		n = &ns[0]
		time.Sleep(100 * time.Millisecond)
		return n.Status == walletctl.NotifyDelivered
	}) {
		t.Fatalf("not delivered after the restart: %+v", n)
	}
	if len(n.Attempts) != 1 || !n.Attempts[0].OK || n.Tries != 1 {
		t.Errorf("attempts %+v (%d tries); want the one delivered try: the abandoned one records nothing", n.Attempts, n.Tries)
	}
	tries := rcv.got("/n")
	if len(tries) != 2 || tries[1].Abandoned || tries[0].Event != n.EventID || tries[1].Event != n.EventID {
		t.Fatalf("tries %+v; want the abandoned one and one answered, both of %s", tries, n.EventID)
	}
	if gap := tries[1].Start.Sub(tries[0].Start); gap < lease-time.Second {
		t.Errorf("sent again %v after the abandoned try; its lease (%v) had not run out", gap, lease)
	}
	if code := p2.stop(t); code != 0 {
		t.Errorf("restarted server exit %d; stderr:\n%s", code, p2.stderr)
	}
	t.Logf("exit 0 %v after SIGTERM; delivered %v after the abandoned try", took.Round(time.Millisecond),
		tries[1].Start.Sub(tries[0].Start).Round(time.Millisecond))
}

// TestServeShutdownCutsRunningRequest: a request still running when --shutdown-timeout runs out
// (a top-up whose bank never answers: the wallet's bank client gives up after
// WALLETCTL_BANK_TIMEOUT 1.5s) is cut off from its client, which gets no answer, so the server
// says so and exits 10 (OUTCOME_UNKNOWN), not 0; it does not exit before the request has run to
// its end, and what it did is recorded: after a restart the top-up is there.
func TestServeShutdownCutsRunningRequest(t *testing.T) {
	ctx := context.Background()
	const key = "shutdown-cut-key-0123456789"
	clock := vclock.NewManual(vclock.DefaultEpoch)
	bank := bankmock.New(bankmock.Config{Seed: 3, Customers: 4, Clock: clock, Sleep: bankmock.InstantSleep})
	var hang atomic.Bool
	entered := make(chan struct{}, 1)
	released := make(chan struct{})
	bh := bankserver.New(bank, bankserver.Options{})
	bs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang.Load() && r.Method == "POST" && r.URL.Path == "/v1/debits" {
			select {
			case entered <- struct{}{}:
			default:
			}
			select { // never answers: the wallet gives up
			case <-r.Context().Done():
			case <-released:
			}
			return
		}
		bh.ServeHTTP(w, r)
	}))
	// Cleanups run last first: the servers (started later) are stopped before the bank closes.
	t.Cleanup(bs.Close)
	t.Cleanup(func() { close(released) })
	partner, err := bank.CreatePartner(ctx, "cut tenant")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"WALLETCTL_BANK_TIMEOUT=1500ms", "WALLETCTL_SANDBOX_THROWAWAY=1"}
	data := t.TempDir()
	args := []string{"--data", data, "--tenant-key", key, "--tenant-bank", bs.URL, "--tenant-bank-key", partner.Key, "--shutdown-timeout", "500ms"}
	p := startServe(t, env, args...)
	c := httpapi.NewClient(p.url, key, httpapi.ClientOptions{BusyRetries: -1})
	u, card := testworld.Opener{T: t, Wallet: c, OTPs: bank}.OpenWallet(bankmock.TestCards[0].Customer).IDs()

	hang.Store(true)
	answered := make(chan error, 1)
	go func() {
		_, err := c.TopUp(ctx, u, card, 5_00, testworld.Password)
		answered <- err
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the top-up never reached the bank")
	}
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	code := p.exited(t, 15*time.Second)
	took := time.Since(start)
	if code != 10 || !strings.Contains(p.stderr.String(), "OUTCOME_UNKNOWN") || !strings.Contains(p.stderr.String(), "1 request(s) still running") {
		t.Errorf("exit %d; want 10 naming the request cut off; stderr:\n%s", code, p.stderr)
	}
	if took < 500*time.Millisecond {
		t.Errorf("exited %v after SIGTERM, before --shutdown-timeout 500ms", took)
	}
	select {
	case err := <-answered:
		if err == nil {
			t.Error("the cut-off top-up was answered")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the cut-off top-up's client is still waiting")
	}
	hang.Store(false)

	p2 := startServe(t, env, args...)
	txns, err := walletctl.Items(httpapi.NewClient(p2.url, key, httpapi.ClientOptions{}).Transactions(ctx, u, walletctl.MaxPage))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range txns {
		found = found || x.Kind == walletctl.KindTopUp && x.Amount == 5_00
	}
	if !found {
		t.Errorf("the cut-off top-up is not recorded: %+v", txns)
	}
	if code := p2.stop(t); code != 0 {
		t.Errorf("restarted server exit %d; stderr:\n%s", code, p2.stderr)
	}
	t.Logf("exit %d %v after SIGTERM", code, took.Round(time.Millisecond))
}
