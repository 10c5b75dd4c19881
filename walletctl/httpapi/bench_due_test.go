package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// BenchmarkServeBalanceWhileDeliveriesHang measures balance reads of a kept-open tenant of
// `walletctl serve` while 8 of its notification tries hang on receivers that never answer (8
// merchants, so 8 tries in flight at once), against the same reads with none hanging, in the same
// run: 200 reads each way per iteration, one client. Metrics: the p50 and p99 of both, and
// "p99-ratio" (hanging/quiet; wanted <= 1.5). The tries run on the tenant's worker with no lock
// held (DESIGN.md section 11); before they did, every read waited for the tenant's lock behind a
// try, up to the receiver's 5 s.
func BenchmarkServeBalanceWhileDeliveriesHang(b *testing.B) {
	ctx := context.Background()
	settings := walletctl.SandboxSettings()
	settings.VelocityMax, settings.DailyLimit = 0, 0 // one payer pays 8 orders a round
	s, _ := newServer(b, Options{}, tenant.Options{KeepOpen: true, Settings: &settings})
	hs := httptest.NewServer(s)
	// The receivers hang until the round's reads are done, then answer.
	var mu sync.Mutex
	release := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		rel := release
		mu.Unlock()
		select {
		case <-rel:
		case <-r.Context().Done():
		}
	}))
	free := func() {
		mu.Lock()
		close(release)
		release = make(chan struct{})
		mu.Unlock()
	}
	b.Cleanup(func() {
		free()
		rcv.Close()
		hs.Close()
		s.Close(ctx)
	})
	ct, err := s.Tenants().Create(ctx, walletctl.TenantSpec{Seed: 1, Customers: 5, Settings: map[string]string{"notify_timeout": "1m"}})
	if err != nil {
		b.Fatal(err)
	}
	c := NewClient(hs.URL, ct.APIKey, ClientOptions{})
	u, _ := testworld.Opener{T: b, Wallet: c, OTPs: c.Bank(5 * time.Second)}.OpenWallet(testworld.Card("ok"), 500_00).IDs()

	const batch = 200
	read := func(into *[]time.Duration) {
		for range batch {
			start := time.Now()
			if _, err := c.Balance(ctx, u); err != nil {
				b.Fatal(err)
			}
			*into = append(*into, time.Since(start))
		}
	}
	// 8 merchants, one order each, paid: 8 tries go out and hang.
	hang := func(round int) {
		for k := range 8 {
			m, err := c.CreateMerchant(ctx, walletctl.MerchantSpec{Name: fmt.Sprintf("hanging %d-%d", round, k)})
			if err != nil {
				b.Fatal(err)
			}
			o, err := c.CreateOrder(ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: fmt.Sprintf("hang-%04d-%d", round, k),
				Description: "tea", Amount: 1, NotifyURL: rcv.URL + "/notify"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.PayOrder(ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Password: testworld.Password}); err != nil {
				b.Fatal(err)
			}
		}
	}
	var quiet, hanging []time.Duration
	round := 0
	for b.Loop() {
		read(&quiet)
		hang(round)
		time.Sleep(20 * time.Millisecond) // the worker has sent them
		read(&hanging)
		free()
		if _, err := c.DeliverNotifications(ctx); err != nil { // all answered: quiet again
			b.Fatal(err)
		}
		round++
	}
	reportLatencies(b, "quiet", quiet, "hanging", hanging)
}

// reportLatencies reports the p50 and p99 of two sets of latencies measured in one run and the
// ratio of their p99s (loaded/base): "<name>-p50-ms", "<name>-p99-ms", "p99-ratio".
func reportLatencies(b *testing.B, baseName string, base []time.Duration, loadedName string, loaded []time.Duration) {
	pct := func(d []time.Duration, p int) time.Duration {
		slices.Sort(d)
		return d[(len(d)*p)/100]
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q, h := pct(base, 99), pct(loaded, 99)
	b.ReportMetric(ms(pct(base, 50)), baseName+"-p50-ms")
	b.ReportMetric(ms(pct(loaded, 50)), loadedName+"-p50-ms")
	b.ReportMetric(ms(q), baseName+"-p99-ms")
	b.ReportMetric(ms(h), loadedName+"-p99-ms")
	b.ReportMetric(float64(h)/float64(q), "p99-ratio")
}
