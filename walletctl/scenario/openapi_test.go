package scenario_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/internal/openapivalidate"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/scenario"
)

// The golden suite's real HTTP traffic is validated against the documents the servers serve:
// the bank's (bankapi.OpenAPI, served at /openapi.json) in the http transport and the wallet's
// (httpapi.OpenAPI, served by walletctl serve) in the serve transport. A validating reverse proxy
// built on kin-openapi's openapi3filter (internal/openapivalidate) sits between the CLI and each
// server: every request and every response is checked (status, headers, body), and an exchange
// the server ends by closing the connection (refuse, drop_after, hang) is passed on as a closed
// connection, so the transcripts do not change.
var liveDocs = sync.OnceValues(func() (*liveValidators, error) {
	b, err := openapivalidate.New("bank", bankapi.OpenAPI())
	if err != nil {
		return nil, err
	}
	b.StrictStatus = true
	b.Headers = []string{bankapi.HeaderFaultFired, "WWW-Authenticate"}
	w, err := openapivalidate.New("wallet", httpapi.OpenAPI())
	if err != nil {
		return nil, err
	}
	w.Headers = []string{bankapi.HeaderFaultFired, "Retry-After", "WWW-Authenticate"}
	return &liveValidators{bank: b, wallet: w}, nil
})

type liveValidators struct{ bank, wallet *openapivalidate.Validator }

// validatingProxy serves target through v.
func validatingProxy(v *openapivalidate.Validator, target string) (string, func(), error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", nil, err
	}
	// A fresh connection per request: net/http retries a request with an Idempotency-Key on a
	// reused connection that the server closed without an answer, which would turn a drop_after
	// into a replay that the client never sent.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	tr.Proxy = nil
	p := &httputil.ReverseProxy{
		Transport: tr,
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u); r.Out.Host = r.In.Host },
		// The server closed the connection without an answer (or the client gave up): do the
		// same to the client, as the transports without the proxy see it.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if conn, _, herr := http.NewResponseController(w).Hijack(); herr == nil {
				conn.Close()
				return
			}
			panic(http.ErrAbortHandler)
		},
	}
	srv, addr, err := serveLoopback(v.Wrap(p))
	if err != nil {
		return "", nil, err
	}
	// Close, not Shutdown: the scenario is over, and Shutdown polls for active connections
	// (up to 500 ms a poll), which added seconds to the suite.
	return "http://" + addr, func() { srv.Close() }, nil
}

// validatingWorld is world() with both servers behind validating proxies.
func validatingWorld(t testing.TB) scenario.World {
	lv, err := liveDocs()
	if err != nil {
		t.Fatal(err)
	}
	w := world()
	w.StartBank = func(ctx context.Context, seed int64, customers int) (string, string, func(), error) {
		u, token, stop, err := scenario.StartHTTPBank(ctx, seed, customers)
		if err != nil {
			return "", "", nil, err
		}
		pu, pstop, err := validatingProxy(lv.bank, u)
		if err != nil {
			stop()
			return "", "", nil, err
		}
		return pu, token, func() { pstop(); stop() }, nil
	}
	w.StartWallet = func(ctx context.Context, spec scenario.WalletSpec) (string, string, func(), error) {
		u, key, stop, err := scenario.StartHTTPWallet(ctx, spec)
		if err != nil {
			return "", "", nil, err
		}
		pu, pstop, err := validatingProxy(lv.wallet, u)
		if err != nil {
			stop()
			return "", "", nil, err
		}
		return pu, key, func() { pstop(); stop() }, nil
	}
	return w
}

// checkLiveOpenAPI fails t on every mismatch the validators found and logs what the traffic
// covered. Operations the suite does not exercise are listed in the log (the servers' own
// tests, bankmock/server TestLiveTrafficMatchesOpenAPI and httpapi TestOpenAPIProxiedBankPaths,
// drive every bank route and the proxied paths through the same validator).
func checkLiveOpenAPI(t *testing.T) {
	lv, err := liveDocs()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []*openapivalidate.Validator{lv.bank, lv.wallet} {
		errs := v.Errors()
		for _, e := range errs {
			t.Error(e)
		}
		t.Log(v.Report())
		if m := v.Missing(); len(m) > 0 {
			t.Logf("%s: not exercised by the suite: %s", v.Name, strings.Join(m, ", "))
		}
	}
	// The wallet's own routes are the suite's to exercise (the proxied bank, the admin API and
	// GET /v1/users/{id}/transfers and GET /v1/tenant, which no scenario command calls, are httpapi's
	// TestOpenAPIProxiedBankPaths').
	for _, op := range lv.wallet.Missing("GET /v1/users/{id}/transfers", "GET /v1/tenant") {
		path := strings.SplitN(op, " ", 2)[1]
		if strings.HasPrefix(path, "/v1/") && !strings.HasPrefix(path, "/v1/bank/") {
			t.Errorf("wallet: %s: no scenario exercises it in the serve transport", op)
		}
	}
	if lv.bank.Requests() == 0 || lv.wallet.Requests() == 0 {
		t.Errorf("no traffic validated (bank %d, wallet %d requests)", lv.bank.Requests(), lv.wallet.Requests())
	}
}

func serveLoopback(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, ln.Addr().String(), nil
}
