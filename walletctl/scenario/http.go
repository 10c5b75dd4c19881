package scenario

import (
	"context"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// StartHTTPBank starts a real bankmock server on 127.0.0.1:0 for one scenario: the same seed and
// customers as the scenario's sandbox, its clock at the sandbox's epoch, so that the world is the
// one the in-process bank would have built.
func StartHTTPBank(ctx context.Context, seed int64, customers int) (string, string, func(), error) {
	eng := bankmock.New(bankmock.Config{
		Seed:      seed,
		Customers: customers,
		Clock:     vclock.NewManual(vclock.DefaultEpoch),
		// Sleep stays real: over HTTP a delay or a hang must really outlast the client's timeout
		// for the client to see what the in-process bank simulates.
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	h := server.New(eng, server.Options{})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop := func() {
		h.ReleaseHangs()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}
	return "http://" + ln.Addr().String(), h.AdminToken(), stop, nil
}

// StartHTTPWallet starts a real wallet server (the handler of `walletctl serve`) on 127.0.0.1:0
// for one scenario, with one throwaway tenant on the scenario's seed and customers and with its
// settings, and returns its URL and the tenant's API key.
func StartHTTPWallet(ctx context.Context, spec WalletSpec) (string, string, func(), error) {
	data, err := os.MkdirTemp(tempParent(""), "walletctl-serve-")
	if err != nil {
		return "", "", nil, err
	}
	tenants, err := tenant.Open(ctx, tenant.Options{Data: data, Throwaway: true})
	if err != nil {
		os.RemoveAll(data)
		return "", "", nil, err
	}
	s, err := httpapi.NewServer(ctx, httpapi.Options{Tenants: tenants})
	if err != nil {
		tenants.Close(ctx)
		os.RemoveAll(data)
		return "", "", nil, err
	}
	// The tenant's bank is its own, in the server: scenarios stage customers, faults and the clock
	// through /v1/bank/, which a tenant may do only on a private bank (on a shared one it acts as
	// one partner, DESIGN.md section 6). spec.BankURL is kept for callers that share one (unused
	// here).
	ct, err := tenants.Create(ctx, walletctl.TenantSpec{Name: "scenario", Seed: spec.Seed, Customers: spec.Customers, Settings: spec.Settings})
	if err != nil {
		s.Close(ctx)
		os.RemoveAll(data)
		return "", "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close(ctx)
		os.RemoveAll(data)
		return "", "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		s.Close(context.Background())
		os.RemoveAll(data)
	}
	return "http://" + ln.Addr().String(), ct.APIKey, stop, nil
}
