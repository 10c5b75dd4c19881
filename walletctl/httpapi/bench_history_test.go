package httpapi

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/bigtenant"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// Keys of the history benchmarks' tenants.
const (
	bigTenantKey = "bench-big-tenant-key-0001"
	newTenantKey = "bench-new-tenant-key-0001"
)

// historyTxns is the size of the big tenant's history: WALLETCTL_BENCH_HISTORY, else a million
// when a home of that size is in the cache or the test timeout leaves the time its first build
// takes (about 35 minutes on 2 cores today: 1,000 a second at first, slower as the history
// grows), else 50,000 (`make bench` runs under go test's default 10-minute timeout: run this
// benchmark once with -timeout 90m to fill the cache).
func historyTxns(b *testing.B, cache string, cached func(n int) bool) int {
	b.Helper()
	if v := os.Getenv("WALLETCTL_BENCH_HISTORY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			b.Fatalf("WALLETCTL_BENCH_HISTORY=%q: want a number of transactions", v)
		}
		return n
	}
	const million, fallback = 1_000_000, 50_000
	if cached(million) {
		return million
	}
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && (d == 0 || d >= 60*time.Minute) {
			return million
		}
	}
	b.Logf("history: %d transactions (a million needs a first build of ~35 min: run this benchmark once with -timeout 90m; it is then kept in %s)", fallback, cache)
	return fallback
}

// benchCache is the folder of built homes (bigtenant.Options.Cache): WALLETCTL_BENCH_CACHE, else
// walletctl-bench in the user's cache folder; "off" builds every time.
func benchCache(b *testing.B) string {
	if v := os.Getenv("WALLETCTL_BENCH_CACHE"); v != "" {
		if v == "off" {
			return ""
		}
		return v
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "walletctl-bench")
}

// benchTenants are the two tenants of a history benchmark, served kept open over loopback HTTP.
type benchTenants struct {
	big, fresh *Client
	wBig, wNew *bigtenant.World
	set        *tenant.Set
}

// historyTenants makes a data folder with two tenants of `walletctl serve` (throwaway: nothing
// fsynced, on both sides alike), the first with the history of bigtenant's world of users wallets
// and size(cached) transactions over 30 virtual days (cached says whether the cache holds such a
// home of n transactions), the second with the same wallets and no history, and serves both kept
// open (serve's default) over loopback HTTP.
func historyTenants(b *testing.B, users int, size func(cached func(n int) bool) int, cache string) benchTenants {
	b.Helper()
	ctx := context.Background()
	data := b.TempDir()
	settings := walletctl.SandboxSettings()
	ts, err := tenant.Open(ctx, tenant.Options{Data: data, Throwaway: true, Settings: &settings})
	if err != nil {
		b.Fatal(err)
	}
	var homes []string
	for _, key := range []string{bigTenantKey, newTenantKey} {
		ct, err := ts.Create(ctx, walletctl.TenantSpec{Seed: 1, Customers: 5, APIKey: key})
		if err != nil {
			b.Fatal(err)
		}
		homes = append(homes, filepath.Join(data, "tenants", ct.ID))
	}
	if err := ts.Close(ctx); err != nil {
		b.Fatal(err)
	}
	opts := bigtenant.Options{Home: homes[0], Users: users, Days: 30, Cache: cache}
	n := size(func(n int) bool {
		o := opts
		o.Txns = n
		return bigtenant.Cached(o)
	})
	if n > 0 {
		b.ReportMetric(float64(n), "history-txns")
	}
	opts.Txns = n
	start, logged := time.Now(), 0
	opts.Progress = func(done int) {
		if done/100000 > logged {
			logged = done / 100000
			b.Logf("history: %d transactions in %s (%.0f/s)", done, time.Since(start).Round(time.Second), float64(done)/time.Since(start).Seconds())
		}
	}
	wBig, err := bigtenant.Build(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	if n > 0 {
		b.Logf("history: the big tenant (%d transactions) ready in %s", wBig.Txns, time.Since(start).Round(time.Second))
	}
	wNew, err := bigtenant.Build(ctx, bigtenant.Options{Home: homes[1], Users: users, Cache: cache})
	if err != nil {
		b.Fatal(err)
	}
	s, set := newServer(b, Options{}, tenant.Options{Data: data, KeepOpen: true, Throwaway: true})
	hs := httptest.NewServer(s)
	b.Cleanup(func() {
		hs.Close()
		s.Close(ctx)
	})
	return benchTenants{big: NewClient(hs.URL, bigTenantKey, ClientOptions{}), fresh: NewClient(hs.URL, newTenantKey, ClientOptions{}),
		wBig: wBig, wNew: wNew, set: set}
}

// BenchmarkServeTenantHistory compares, in the same run, a tenant of `walletctl serve` (kept
// open) with a long history to a new one with the same 1,000 wallets and none (DESIGN.md
// sections 7 and 12: a tenant with a million operations answers like a new one). The history is
// bigtenant's: WALLETCTL_BENCH_HISTORY transactions (default a million once built, 50,000 under
// make bench's timeout until then: see historyTxns) over 30 virtual days, top-ups, orders,
// payments, transfers and withdrawals, built through the engine in process and kept in a cache
// folder (benchCache) for later runs. Both tenants then move to a new day and make the same 200
// operations, so that "today" holds the same on both. The first call of each kind on each tenant
// is not measured (the big tenant's first reconcile audits the whole ledger once).
//
// Measured over loopback HTTP, in alternating batches: the first user's balance and the first
// page of its transactions (the newest 20; the user has about 1/1,000 of the history), a query of
// the last order, a card top-up of 0.01 CNY by the second user, and the reconciliation of today.
// Metrics: "<op>-big-µs" and "<op>-new-µs" per call, "x_<op>" = new/big (wanted >= 0.9),
// "history-txns", and "txns-rows-big"/"txns-rows-new", what the transactions read returned.
func BenchmarkServeTenantHistory(b *testing.B) {
	ctx := context.Background()
	const users = 1000
	cache := benchCache(b)
	bt := historyTenants(b, users, func(cached func(int) bool) int { return historyTxns(b, cache, cached) }, cache)
	big, fresh, wBig, wNew := bt.big, bt.fresh, bt.wBig, bt.wNew

	// A new day on both, and the same 200 operations in it.
	for _, t := range []struct {
		c *Client
		w *bigtenant.World
	}{{big, wBig}, {fresh, wNew}} {
		if _, err := t.c.Advance(ctx, 24*time.Hour); err != nil {
			b.Fatal(err)
		}
		if err := t.w.Run(ctx, t.c, 200, 0, 1, nil); err != nil {
			b.Fatal(err)
		}
		// The first user's first page is full on both (20 rows): the new tenant's user would
		// otherwise have a page of two, and the comparison would be of the rows, not the history.
		u := t.w.Users[0]
		for range walletctl.DefaultPageLimit {
			if _, err := t.c.TopUp(ctx, u.ID, u.CardID, 1, bigtenant.Password); err != nil {
				b.Fatal(err)
			}
		}
	}
	// The first user's history is read; the second user's card tops up (so that the reads do not
	// also count the run's own top-ups).
	u, payer := wBig.Users[0], wBig.Users[1]
	type op struct {
		name  string
		batch int
		call  func(c *Client, w *bigtenant.World) error
	}
	rows := map[*Client]int{}
	ops := []op{
		{"balance", 50, func(c *Client, w *bigtenant.World) error {
			_, err := c.Balance(ctx, u.ID)
			return err
		}},
		{"txns", 5, func(c *Client, w *bigtenant.World) error {
			l, err := walletctl.Items(c.Transactions(ctx, u.ID, walletctl.Page{}))
			rows[c] = len(l)
			return err
		}},
		{"order", 50, func(c *Client, w *bigtenant.World) error {
			o, err := c.Order(ctx, walletctl.OrderQuery{MchID: w.MchID, OutTradeNo: w.LastOrder})
			if err == nil && o.TradeState != walletctl.StateSuccess {
				err = fmt.Errorf("order %s is %s", w.LastOrder, o.TradeState)
			}
			return err
		}},
		{"topup", 50, func(c *Client, w *bigtenant.World) error {
			t, err := c.TopUp(ctx, payer.ID, payer.CardID, 1, bigtenant.Password)
			if err == nil && t.Status != walletctl.TxnSucceeded {
				err = fmt.Errorf("top-up %s is %s", t.ID, t.Status)
			}
			return err
		}},
		{"reconcile", 2, func(c *Client, w *bigtenant.World) error {
			r, err := c.Reconcile(ctx, "")
			if err == nil && len(r.Mismatches) > 0 {
				err = fmt.Errorf("reconcile: %v", r.Mismatches)
			}
			return err
		}},
	}
	// Once each before measuring: the first call of a kind warms what any later one finds warm.
	for _, o := range ops {
		for _, c := range []*Client{big, fresh} {
			w := map[*Client]*bigtenant.World{big: wBig, fresh: wNew}[c]
			if err := o.call(c, w); err != nil {
				b.Fatalf("%s: %v", o.name, err)
			}
		}
	}
	const rounds = 6
	spent := map[string][2]time.Duration{}
	calls := map[string]int{}
	for r := range rounds {
		for _, o := range ops {
			// Alternate which tenant goes first, so that neither always follows the other's work.
			order := []int{0, 1}
			if r%2 == 1 {
				order = []int{1, 0}
			}
			s := spent[o.name]
			for _, i := range order {
				c, w := big, wBig
				if i == 1 {
					c, w = fresh, wNew
				}
				start := time.Now()
				for range o.batch {
					if err := o.call(c, w); err != nil {
						b.Fatalf("%s: %v", o.name, err)
					}
				}
				s[i] += time.Since(start)
			}
			spent[o.name] = s
			calls[o.name] += o.batch
		}
	}
	for _, o := range ops {
		s, k := spent[o.name], float64(calls[o.name])
		bigUS, newUS := float64(s[0].Microseconds())/k, float64(s[1].Microseconds())/k
		b.ReportMetric(bigUS, o.name+"-big-µs")
		b.ReportMetric(newUS, o.name+"-new-µs")
		b.ReportMetric(newUS/bigUS, "x_"+o.name)
	}
	b.ReportMetric(float64(rows[big]), "txns-rows-big")
	b.ReportMetric(float64(rows[fresh]), "txns-rows-new")
	if rows[big] != rows[fresh] {
		b.Fatalf("the first pages differ: %d rows on the big tenant, %d on the new one", rows[big], rows[fresh])
	}
}

// BenchmarkServeTenantMemory measures what a tenant kept open by `walletctl serve` holds in
// memory as its history grows (DESIGN.md section 12: nothing kept in memory grows with the
// number of operations): 1,000 wallets, then WALLETCTL_BENCH_MEMORY_OPS operations (default
// 200,000; bigtenant's mix), with the process's resident memory and Go heap read, after a full
// collection returned what it could to the OS, at a tenth of them and at the end. The operations
// go through the kept-open tenant itself (tenant.Set.Serve, what each request's handler gets:
// its sandbox, wallet engine and in-process bank), 500 per call with ten virtual minutes between
// calls; HTTP is left out, being stateless and twice the time. Metrics: "rss-<n>-MiB" and
// "heap-<n>-MiB" at both points, "rss-growth-MiB" (wanted <= 8) and "heap-growth-MiB".
func BenchmarkServeTenantMemory(b *testing.B) {
	ctx := context.Background()
	total := 200_000
	if v := os.Getenv("WALLETCTL_BENCH_MEMORY_OPS"); v != "" {
		var err error
		if total, err = strconv.Atoi(v); err != nil || total < 10 {
			b.Fatalf("WALLETCTL_BENCH_MEMORY_OPS=%q: want a number of operations (10 or more)", v)
		}
	}
	first := total / 10
	bt := historyTenants(b, 1000, func(func(int) bool) int { return 0 }, benchCache(b))
	w := bt.wNew
	start, done := time.Now(), 0
	run := func(n int) {
		for n > 0 {
			k := min(n, 500)
			var err error
			_, _, serr := bt.set.Serve(ctx, newTenantKey, func(svc walletctl.Service, _ http.Handler) {
				if err = w.Run(ctx, svc, k, 0, 1, nil); err == nil {
					_, err = svc.Advance(ctx, 10*time.Minute)
				}
			})
			if err = errors.Join(err, serr); err != nil {
				b.Fatal(err)
			}
			n, done = n-k, done+k
			if done%50000 == 0 {
				b.Logf("memory: %d operations in %s", done, time.Since(start).Round(time.Second))
			}
		}
	}
	measure := func(n int) (rss, heap float64) {
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss, heap = vmRSS()/(1<<20), float64(ms.HeapInuse)/(1<<20)
		b.ReportMetric(rss, fmt.Sprintf("rss-%d-MiB", n))
		b.ReportMetric(heap, fmt.Sprintf("heap-%d-MiB", n))
		b.Logf("memory: after %d operations (%s): resident %.1f MiB, heap in use %.1f MiB", n, time.Since(start).Round(time.Second), rss, heap)
		return rss, heap
	}
	run(first)
	rss1, heap1 := measure(first)
	run(total - first)
	rss2, heap2 := measure(total)
	b.ReportMetric(rss2-rss1, "rss-growth-MiB")
	b.ReportMetric(heap2-heap1, "heap-growth-MiB")
}

// vmRSS is the process's resident memory in bytes (Linux's /proc/self/status), 0 elsewhere.
func vmRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb * 1024
		}
	}
	return 0
}
