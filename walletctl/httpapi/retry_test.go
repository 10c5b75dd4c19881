package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// retryWorld is a wallet server on loopback whose tenant uses a real bank server on loopback, so
// that a test can slow the bank down (a delay fault) and read its journal.
type retryWorld struct {
	s      *Server
	url    string
	key    string
	bank   *bankmock.Engine
	payer  walletctl.PayRequest
	cardID string
}

func newRetryWorld(t *testing.T, opts Options) *retryWorld {
	t.Helper()
	bank := testworld.NewBank(t, testworld.Seed(1), testworld.Customers(3), testworld.Loopback("test-bank-admin"))
	s, hs := startServer(t, opts, tenant.Options{BankToken: "test-bank-admin"})
	ct := createTenant(t, s, walletctl.TenantSpec{Seed: 1, Customers: 3, BankURL: bank.URL})
	c := NewClient(hs.URL, ct.APIKey, ClientOptions{})
	payer := readyPayer(t, c, c.Bank(5*time.Second))
	return &retryWorld{s: s, url: hs.URL, key: ct.APIKey, bank: bank.Mock, payer: payer,
		cardID: strings.TrimPrefix(payer.Source, "card:")}
}

func (w *retryWorld) client(opts ClientOptions) *Client { return NewClient(w.url, w.key, opts) }

// slowDebits makes the bank take d over every debit from now on.
func (w *retryWorld) slowDebits(t *testing.T, d time.Duration) {
	t.Helper()
	if _, err := w.bank.AddFault(context.Background(), bankapi.Fault{Kind: bankapi.FaultDelay, Op: bankapi.OpDebit, Delay: d}); err != nil {
		t.Fatal(err)
	}
}

// idle waits until the server has no request of any tenant in flight.
func (w *retryWorld) idle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		w.s.queueMu.Lock()
		n := len(w.s.queued)
		w.s.queueMu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the server still has requests in flight after 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// queued is how many requests of the tenant of key are in flight (running or waiting).
func (s *Server) queuedFor(key string) int {
	k := queueKey(key)
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	return s.queued[k]
}

// topups returns the user's top-ups, read without a status query (which would settle them).
func (w *retryWorld) topups(t *testing.T) []walletctl.Txn {
	t.Helper()
	c := w.client(ClientOptions{})
	ts, err := walletctl.All(context.Background(), func(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Txn], error) {
		return c.Transactions(ctx, w.payer.UserID, p)
	}, func(x walletctl.Txn) string { return x.ID })
	if err != nil {
		t.Fatal(err)
	}
	var out []walletctl.Txn
	for _, x := range ts {
		if x.Kind == walletctl.KindTopUp {
			out = append(out, x)
		}
	}
	return out
}

// A client that times out after its request was sent gets OUTCOME_UNKNOWN, never "safe to
// retry": the server did run it. The error names the idempotency key, and a retry with it
// returns the first outcome: one top-up, charged once.
func TestClientTimeoutIsOutcomeUnknown(t *testing.T) {
	ctx := context.Background()
	w := newRetryWorld(t, Options{})
	w.slowDebits(t, 700*time.Millisecond)
	impatient := w.client(ClientOptions{Timeout: 150 * time.Millisecond})
	kctx := walletctl.WithIdempotencyKey(ctx, "cli-timeout-1")
	_, err := impatient.TopUp(kctx, w.payer.UserID, w.cardID, 1234, w.payer.Password)
	var we *walletctl.Error
	if !errors.As(err, &we) || we.Code != walletctl.CodeOutcomeUnknown {
		t.Fatalf("timed-out top-up: %v; want OUTCOME_UNKNOWN", err)
	}
	if we.Details["idempotency_key"] != "cli-timeout-1" || !strings.Contains(we.Hint, "cli-timeout-1") || strings.Contains(we.Hint, "safe to retry") {
		t.Errorf("error does not name the key to retry with: %+v", we)
	}
	w.idle(t) // the server finished what the client gave up on
	txn, err := w.client(ClientOptions{}).TopUp(kctx, w.payer.UserID, w.cardID, 1234, w.payer.Password)
	if err != nil || txn.Status != walletctl.TxnSucceeded {
		t.Fatalf("retry with the same key: %+v, %v", txn, err)
	}
	if ts := w.topups(t); len(ts) != 1 || ts[0].ID != txn.ID {
		t.Fatalf("top-ups after the retry: %+v; want exactly the one replayed (%s)", ts, txn.ID)
	}
	bal, err := w.client(ClientOptions{}).Balance(ctx, w.payer.UserID)
	if err != nil || bal.Available != 1234 {
		t.Fatalf("balance %+v, %v; want 1234 fen (charged once)", bal, err)
	}

	// Without a key the error still says the outcome is unknown, and that a retry may repeat it.
	_, err = impatient.TopUp(ctx, w.payer.UserID, w.cardID, 100, w.payer.Password)
	if !errors.As(err, &we) || we.Code != walletctl.CodeOutcomeUnknown || !strings.Contains(we.Hint, "without an Idempotency-Key") {
		t.Fatalf("timed-out top-up without a key: %v (%+v); want OUTCOME_UNKNOWN saying a retry may repeat it", err, we)
	}
	// A read that times out (here behind that slow top-up) changed nothing: NETWORK_ERROR, safe.
	_, err = impatient.Balance(ctx, w.payer.UserID)
	if !errors.As(err, &we) || we.Code != walletctl.CodeNetwork || !strings.Contains(we.Hint, "asking again is safe") {
		t.Fatalf("timed-out balance: %v (%+v); want NETWORK_ERROR saying asking again is safe", err, we)
	}
	w.idle(t)
}

// A request that never left (nothing listens) is NETWORK_ERROR, which is safe to retry.
func TestClientNotSentIsNetworkError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // connection refused from now on
	c := NewClient(url, "some-key", ClientOptions{Timeout: 2 * time.Second})
	_, err = c.TopUp(walletctl.WithIdempotencyKey(context.Background(), "k1"), "u1", "c1", 100, "135790")
	var we *walletctl.Error
	if !errors.As(err, &we) || we.Code != walletctl.CodeNetwork || !strings.Contains(we.Hint, "not sent") {
		t.Fatalf("top-up to a closed port: %v (%+v); want NETWORK_ERROR saying it was not sent", err, we)
	}
}

// The report: of 200 top-ups whose clients timed out, 100 were left pending without the
// bank ever being called. The client gives up at every point of the request's life (timeouts
// from 0.1 to 2 times its usual latency); afterwards no txn is pending without a bank journal
// entry (none is pending at all: a top-up whose bank was called is finished and recorded), and
// the balance is what the bank debited.
func TestGoneClientsLeaveNothingPending(t *testing.T) {
	if testing.Short() {
		t.Skip("200 requests")
	}
	ctx := context.Background()
	w := newRetryWorld(t, Options{})
	c := w.client(ClientOptions{})
	var lat []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := c.TopUp(ctx, w.payer.UserID, w.cardID, 1, w.payer.Password); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	typical := lat[2]
	const n = 200
	timedOut, notSent := 0, 0
	for i := range n {
		timeout := typical * time.Duration(i%20+1) / 10
		impatient := w.client(ClientOptions{Timeout: timeout, BusyRetries: -1})
		_, err := impatient.TopUp(ctx, w.payer.UserID, w.cardID, 1, w.payer.Password)
		switch walletctl.ErrorCode(err) {
		case "":
		case walletctl.CodeOutcomeUnknown:
			timedOut++
		case walletctl.CodeNetwork: // gave up before the request was written: never sent
			notSent++
		default:
			t.Fatalf("top-up %d (timeout %s): %v", i, timeout, err)
		}
	}
	w.idle(t)
	if timedOut < n/10 {
		t.Fatalf("only %d of %d requests timed out (typical latency %s); the test proves nothing", timedOut, n, typical)
	}
	journal, err := bankapi.AllJournal(ctx, w.bank)
	if err != nil {
		t.Fatal(err)
	}
	called := map[string]bool{}
	var debited int64
	for _, e := range journal {
		if e.Op == bankapi.OpDebit {
			called[e.IdempotencyKey] = true
			if e.Outcome == "ok" {
				debited += e.Amount
			}
		}
	}
	var pending, uncalled []string
	var sum int64
	for _, x := range w.topups(t) {
		switch x.Status {
		case walletctl.TxnPending:
			pending = append(pending, x.ID)
			if !called["wlt-"+x.ID] {
				uncalled = append(uncalled, x.ID)
			}
		case walletctl.TxnSucceeded:
			sum += x.Amount
		}
	}
	t.Logf("%d of %d requests timed out after being sent, %d before (typical latency %s); %d pending, %d of them never sent to the bank",
		timedOut, n, notSent, typical, len(pending), len(uncalled))
	if len(uncalled) > 0 {
		t.Errorf("%d txns left pending without the bank ever being called: %v", len(uncalled), uncalled)
	}
	if len(pending) > 0 {
		t.Errorf("%d txns left pending after their client left: %v", len(pending), pending)
	}
	bal, err := c.Balance(ctx, w.payer.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if bal.Available != sum || sum != debited {
		t.Errorf("balance %d, succeeded top-ups %d, bank debits %d fen: they must agree", bal.Available, sum, debited)
	}
}

// A tenant's queue is bounded: with one top-up running (a slow bank) and MaxQueue waiting, the
// next request is 503 SERVER_BUSY with Retry-After and is not run; another tenant is not
// affected; a client that retries on SERVER_BUSY gets through once the queue drains.
func TestTenantQueueIsBounded(t *testing.T) {
	ctx := context.Background()
	const maxQueue = 2
	w := newRetryWorld(t, Options{MaxQueue: maxQueue})
	w.slowDebits(t, 600*time.Millisecond)
	c := w.client(ClientOptions{BusyRetries: -1})
	before := len(w.topups(t))
	var wg sync.WaitGroup
	errs := make(chan error, maxQueue+1)
	for i := range maxQueue + 1 { // one running, maxQueue waiting
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.TopUp(ctx, w.payer.UserID, w.cardID, int64(100+i), w.payer.Password)
			errs <- err
		}()
		for w.s.queuedFor(w.key) < i+1 {
			time.Sleep(time.Millisecond)
		}
	}

	// Over plain HTTP: what any client sees.
	req, _ := http.NewRequest("GET", w.url+"/v1/users", nil)
	req.Header.Set("Authorization", "Bearer "+w.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("request over a full queue: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	_, err = c.TopUp(ctx, w.payer.UserID, w.cardID, 999, w.payer.Password)
	var we *walletctl.Error
	if !errors.As(err, &we) || we.Code != walletctl.CodeServerBusy || !strings.Contains(we.Hint, "nothing was done") {
		t.Errorf("top-up over a full queue: %v; want SERVER_BUSY saying nothing was done", err)
	}

	// Another tenant is served meanwhile.
	other := createTenant(t, w.s, walletctl.TenantSpec{Name: "other", Customers: 1})
	if _, err := walletctl.Items(NewClient(w.url, other.APIKey, ClientOptions{BusyRetries: -1}).Users(ctx, walletctl.MaxPage)); err != nil {
		t.Errorf("another tenant while the first is full: %v", err)
	}

	// A client that honours Retry-After gets through once there is room.
	patient := w.client(ClientOptions{})
	if _, err := patient.TopUp(ctx, w.payer.UserID, w.cardID, 998, w.payer.Password); err != nil {
		t.Errorf("top-up retried on SERVER_BUSY: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a queued top-up: %v", err)
		}
	}
	w.idle(t)
	var amounts []int64
	for _, x := range w.topups(t) {
		amounts = append(amounts, x.Amount)
		if x.Amount == 999 {
			t.Errorf("the top-up refused with SERVER_BUSY was run: %+v", x)
		}
	}
	if len(amounts) != before+4 {
		t.Errorf("top-ups %v; want the %d queued ones and the patient one", amounts, maxQueue+1)
	}
}

// Requests whose clients give up while they wait for their tenant are not run: nothing is
// recorded for them, not even a failed txn.
func TestQueuedRequestOfGoneClientIsNotRun(t *testing.T) {
	ctx := context.Background()
	w := newRetryWorld(t, Options{})
	w.slowDebits(t, 800*time.Millisecond)
	c := w.client(ClientOptions{})
	done := make(chan error, 1)
	go func() {
		_, err := c.TopUp(ctx, w.payer.UserID, w.cardID, 100, w.payer.Password)
		done <- err
	}()
	for w.s.queuedFor(w.key) < 1 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the first is at the bank now
	const gone = 5
	var wg sync.WaitGroup
	for i := range gone {
		wg.Add(1)
		go func() {
			defer wg.Done()
			impatient := w.client(ClientOptions{Timeout: 200 * time.Millisecond})
			_, err := impatient.TopUp(ctx, w.payer.UserID, w.cardID, int64(771+i), w.payer.Password)
			if walletctl.ErrorCode(err) != walletctl.CodeOutcomeUnknown {
				t.Errorf("top-up that timed out in the queue: %v; want OUTCOME_UNKNOWN", err)
			}
		}()
	}
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.idle(t)
	ts := w.topups(t)
	for _, x := range ts {
		if x.Amount != 100 {
			t.Errorf("a top-up whose client left while it waited was run: %+v", x)
		}
	}
	if len(ts) != 1 {
		t.Errorf("%d top-ups; want 1", len(ts))
	}
}
