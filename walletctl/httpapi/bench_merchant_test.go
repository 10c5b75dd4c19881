package httpapi

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

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
