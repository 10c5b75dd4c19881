package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// readyPayer opens a wallet for the "ok" test card through svc and returns a payment of 1 fen from
// its card.
func readyPayer(b testing.TB, svc walletctl.Service, bank bankAdmin) walletctl.PayRequest {
	u, card := testworld.Opener{T: b, Wallet: svc, OTPs: bank}.OpenWallet(testworld.Card("ok")).IDs()
	return walletctl.PayRequest{UserID: u, Merchant: "m-cafe", Amount: 1, Source: "card:" + card, Password: testworld.Password}
}

// payConcurrently runs n payments from 32 concurrent callers and returns the time they took.
func payConcurrently(b *testing.B, n int, pay func() error) time.Duration {
	return runConcurrently(b, 32, n, pay)
}

// BenchmarkServeCardPayment measures card payments per second through `walletctl serve` over
// loopback HTTP with 32 concurrent clients on one SQLite tenant (durable: every commit and every
// saved file fsynced), beside the in-process engine on an identical sandbox in the same run, with
// the same per-tenant serialisation the server applies (the sandbox's lock). "x_inproc" is
// http/inproc. "reopen" is the default server (each request opens the tenant's sandbox around its
// open SQLite store and saves it, as a CLI command does: the in-process bank's state is restored
// and written back, fsynced, per payment); "keep-open" keeps it open (--keep-open), which leaves
// JSON, HTTP and the API-key check as the difference.
// "postgres" is a server with --store postgres://... (the tenant's wallet in a PostgreSQL schema, the
// bank a real bankmock server on loopback, as such tenants require; each request also reads the
// bank's clock); "postgres-2-servers" splits the 32 clients over two such servers on one database
// and one bank, serving the same tenant. Both skip without a PostgreSQL server, like the other
// PostgreSQL benchmarks (WALLETCTL_TEST_POSTGRES; `make test-postgres` starts one).
// Velocity and daily limits are off so that one payer can pay b.N times.
func BenchmarkServeCardPayment(b *testing.B) {
	settings := walletctl.SandboxSettings()
	settings.VelocityMax, settings.DailyLimit = 0, 0
	ctx := context.Background()

	svc, inReq := inprocBaseline(b, &settings)
	inproc := func() error {
		_, err := svc.Pay(ctx, inReq)
		return err
	}

	for _, mode := range []struct {
		name     string
		keepOpen bool
	}{{"reopen", false}, {"keep-open", true}} {
		b.Run(mode.name, func(b *testing.B) {
			benchServe(b, mode.keepOpen, &settings, inproc)
		})
	}
	for _, n := range []int{1, 2} {
		name := "postgres"
		if n > 1 {
			name = fmt.Sprintf("postgres-%d-servers", n)
		}
		b.Run(name, func(b *testing.B) {
			w := startBank(b, 5)
			const key = "bench-tenant-key-0001"
			_, hss := pgServers(b, n, w, key, &settings)
			var cs []*Client
			for _, hs := range hss {
				cs = append(cs, NewClient(hs.URL, key, ClientOptions{}))
			}
			req := readyPayer(b, cs[0], w.bank)
			var next atomic.Int64
			measureServe(b, inproc, func() error {
				_, err := cs[int(next.Add(1))%len(cs)].Pay(ctx, req)
				return err
			})
		})
	}
}

func benchServe(b *testing.B, keepOpen bool, settings *walletctl.Settings, inproc func() error) {
	ctx := context.Background()
	c, httpReq := serveTenant(b, keepOpen, settings)
	measureServe(b, inproc, func() error {
		_, err := c.Pay(ctx, httpReq)
		return err
	})
}

// measureServe alternates batches of in-process and HTTP payments and reports both rates.
func measureServe(b *testing.B, inproc, overHTTP func() error) {

	const batch = 64 // payments each way per iteration, so that 32 clients stay busy
	var inTime, httpTime time.Duration
	n := 0
	for b.Loop() {
		inTime += payConcurrently(b, batch, inproc)
		httpTime += payConcurrently(b, batch, overHTTP)
		n += batch
	}
	inRate, httpRate := float64(n)/inTime.Seconds(), float64(n)/httpTime.Seconds()
	b.ReportMetric(inRate, "inproc-payments/s")
	b.ReportMetric(httpRate, "http-payments/s")
	b.ReportMetric(httpRate/inRate, "x_inproc")
}

// BenchmarkServeTopupHistory measures card top-ups per second through `walletctl serve` in its
// default mode (the tenant's sandbox kept open; durable: every wallet commit and every bank
// operation fsynced before the answer) at 8 clients, after 0, 2,000 and 20,000 prior operations
// on the same tenant, beside the in-process engine on an identical durable sandbox in the same
// run (serialised per tenant as the server does). Batches alternate between the two, so that the
// in-process rate is a baseline measured at the same moments. Metrics: "serve-h0/s",
// "serve-h2000/s", "serve-h20000/s", "inproc/s"; "x_h20000_vs_h0" (the cost of history, wanted
// >= 0.9) and "x_serve_vs_inproc" (at no history, wanted >= 0.7). The whole run happens once.
func BenchmarkServeTopupHistory(b *testing.B) {
	settings := walletctl.SandboxSettings()
	settings.VelocityMax, settings.DailyLimit = 0, 0
	ctx := context.Background()
	svc, in := inprocBaseline(b, &settings)
	inproc := func() error {
		_, err := svc.TopUp(ctx, in.UserID, strings.TrimPrefix(in.Source, "card:"), 1, in.Password)
		return err
	}
	c, req := serveTenant(b, true, &settings)
	serve := func() error {
		_, err := c.TopUp(ctx, req.UserID, strings.TrimPrefix(req.Source, "card:"), 1, req.Password)
		return err
	}
	const clients, batch, rounds = 8, 100, 6
	measure := func() (serveRate, inRate float64) {
		var st, it time.Duration
		for range rounds {
			it += runConcurrently(b, clients, batch, inproc)
			st += runConcurrently(b, clients, batch, serve)
		}
		n := float64(batch * rounds)
		return n / st.Seconds(), n / it.Seconds()
	}
	done := 0
	var s0, i0 float64
	for _, h := range []int{0, 2000, 20000} {
		if h > done {
			runConcurrently(b, clients, h-done, serve) // the history
		}
		sr, ir := measure()
		done = h + batch*rounds
		b.ReportMetric(sr, fmt.Sprintf("serve-h%d/s", h))
		if h == 0 {
			s0, i0 = sr, ir
			b.ReportMetric(ir, "inproc/s")
			b.ReportMetric(sr/ir, "x_serve_vs_inproc")
		}
		if h == 20000 {
			b.ReportMetric(sr/s0, "x_h20000_vs_h0")
			b.ReportMetric((sr/ir)/(s0/i0), "x_h20000_vs_h0_per_inproc")
		}
	}
}

// runConcurrently runs n calls of fn from the given number of concurrent callers and returns the
// time they took.
func runConcurrently(b *testing.B, clients, n int, fn func() error) time.Duration {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// inprocBaseline is the in-process engine the serve benchmarks compare with: a durable sandbox
// with a ready payer, its calls serialised as the server serialises a tenant's requests.
func inprocBaseline(b *testing.B, settings *walletctl.Settings) (walletctl.Service, walletctl.PayRequest) {
	ctx := context.Background()
	sb, err := sandbox.Init(ctx, sandbox.Options{Home: b.TempDir()}, sandbox.InitOptions{Seed: 1, Customers: 5, Settings: settings})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sb.Close(ctx) })
	req := readyPayer(b, sb.Service(), sb.Bank())
	return serialised{Service: sb.Service(), mu: &sync.Mutex{}}, req
}

// serialised runs one payment or top-up at a time, like the server's per-tenant queue.
type serialised struct {
	walletctl.Service
	mu *sync.Mutex
}

func (s serialised) Pay(ctx context.Context, req walletctl.PayRequest) (*walletctl.Txn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Service.Pay(ctx, req)
}

func (s serialised) TopUp(ctx context.Context, userID, cardID string, amount int64, password string) (*walletctl.Txn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Service.TopUp(ctx, userID, cardID, amount, password)
}

// serveTenant is a wallet server over loopback HTTP with one tenant and a ready payer, closed when
// the benchmark ends.
func serveTenant(b *testing.B, keepOpen bool, settings *walletctl.Settings) (*Client, walletctl.PayRequest) {
	ctx := context.Background()
	s, _ := newServer(b, Options{}, tenant.Options{Settings: settings, KeepOpen: keepOpen})
	hs := httptest.NewServer(s)
	b.Cleanup(func() {
		hs.Close()
		s.Close(ctx)
	})
	ct, err := s.Tenants().Create(ctx, walletctl.TenantSpec{Seed: 1, Customers: 5})
	if err != nil {
		b.Fatal(err)
	}
	c := NewClient(hs.URL, ct.APIKey, ClientOptions{})
	return c, readyPayer(b, c, c.Bank(5*time.Second))
}

// BenchmarkServeNativeScanQuery measures merchant flows per second through `walletctl serve`
// (default mode: the tenant kept open, every commit durable) at 8 clients: a Native order, the
// payer scanning and paying it from the balance, the merchant's query, each over loopback HTTP;
// beside the same three calls on the in-process engine of an identical durable sandbox
// (serialised per call as the server serialises a tenant's requests), in alternating batches of
// the same run. Metrics: "serve-flows/s", "inproc-flows/s", "x_serve_vs_inproc".
func BenchmarkServeNativeScanQuery(b *testing.B) {
	settings := walletctl.SandboxSettings()
	settings.VelocityMax, settings.DailyLimit, settings.ClassIILimit = 0, 0, walletctl.MaxAmount
	ctx := context.Background()

	in, inReq := inprocBaseline(b, &settings)
	inMch := merchantReady(b, in, inReq)
	var inMu sync.Mutex
	serial := func(fn func() error) error {
		inMu.Lock()
		defer inMu.Unlock()
		return fn()
	}
	c, req := serveTenant(b, true, &settings)
	mch := merchantReady(b, c, req)

	var seq atomic.Int64
	flow := func(svc walletctl.Service, mchid string, req walletctl.PayRequest, call func(func() error) error) func() error {
		return func() error {
			out := fmt.Sprintf("bench-%010d", seq.Add(1))
			var o *walletctl.Order
			if err := call(func() (err error) {
				o, err = svc.CreateOrder(ctx, walletctl.OrderRequest{MchID: mchid, TradeType: walletctl.TradeNative, OutTradeNo: out, Description: "bench", Amount: 1})
				return err
			}); err != nil {
				return err
			}
			if err := call(func() error {
				_, err := svc.PayOrder(ctx, walletctl.PayOrderRequest{UserID: req.UserID, Ref: o.CodeURL, Password: req.Password})
				return err
			}); err != nil {
				return err
			}
			return call(func() error {
				q, err := svc.Order(ctx, walletctl.OrderQuery{MchID: mchid, OutTradeNo: out})
				if err == nil && q.TradeState != walletctl.StateSuccess {
					err = fmt.Errorf("order %s is %s", out, q.TradeState)
				}
				return err
			})
		}
	}
	direct := func(fn func() error) error { return fn() }
	inproc := flow(in, inMch, inReq, serial)
	serve := flow(c, mch, req, direct)

	const clients, batch = 8, 50
	var it, st time.Duration
	n := 0
	for b.Loop() {
		it += runConcurrently(b, clients, batch, inproc)
		st += runConcurrently(b, clients, batch, serve)
		n += batch
	}
	inRate, serveRate := float64(n)/it.Seconds(), float64(n)/st.Seconds()
	b.ReportMetric(inRate, "inproc-flows/s")
	b.ReportMetric(serveRate, "serve-flows/s")
	b.ReportMetric(serveRate/inRate, "x_serve_vs_inproc")
}

// merchantReady makes a merchant and tops the payer's balance up for many small payments.
func merchantReady(b *testing.B, svc walletctl.Service, req walletctl.PayRequest) string {
	ctx := context.Background()
	m, err := svc.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.TopUp(ctx, req.UserID, strings.TrimPrefix(req.Source, "card:"), 50_000_00, req.Password); err != nil {
		b.Fatal(err)
	}
	return m.ID
}
