package conformance

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// The notification fence seen from outside (DESIGN.md section 10): what a partner's wallet server
// can be checked for without access to its network.
const (
	// CheckV3NotifyNoRedirect: an order whose notify_url answers 302 to a second kit receiver is
	// paid; the wallet delivers to the first and never requests the second.
	CheckV3NotifyNoRedirect = "v3.notify-no-redirect"
	// CheckV3NotifyLinkLocal: an order whose notify_url is the cloud metadata address is refused
	// with 400 PARAM_ERROR, or created (the refusal the issue requires is at connection time,
	// which the kit cannot see from outside; docs/partners.md says so).
	CheckV3NotifyLinkLocal = "v3.notify-link-local"
)

const fenceOrderAmount = 1_00

// kitReceiver is a receiver the kit runs for the wallet to deliver to.
type kitReceiver struct {
	srv  *http.Server
	url  string
	hits atomic.Int64
}

func (k *kitReceiver) close() { k.srv.Close() }

// startKitReceiver listens on host (an address the wallet server can reach) and answers with
// answer after counting the request.
func startKitReceiver(host string, answer http.HandlerFunc) (*kitReceiver, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, err
	}
	k := &kitReceiver{url: "http://" + ln.Addr().String() + "/conformance-notify"}
	k.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.hits.Add(1)
		answer(w, r)
	})}
	go k.srv.Serve(ln)
	return k, nil
}

// receiverHost is the local address this host uses to reach the server under test (so that a
// server on another machine of the network can reach the kit's receivers), loopback if unknown.
func (r *walletRun) receiverHost(ctx context.Context) string {
	u, err := url.Parse(r.cfg.URL)
	if err != nil || u.Hostname() == "" {
		return "127.0.0.1"
	}
	port := u.Port()
	if port == "" {
		port = map[bool]string{true: "443", false: "80"}[u.Scheme == "https"]
	}
	d := net.Dialer{Timeout: r.cfg.Timeout}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return "127.0.0.1"
}

// waitFor polls cond until it holds or d has passed.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func (r *walletRun) v3NotifyNoRedirect(ctx context.Context) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	host := r.receiverHost(ctx)
	target, err := startKitReceiver(host, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if err != nil {
		return na("the kit cannot listen on %s for its receivers: %v", host, err)
	}
	defer target.close()
	redirector, err := startKitReceiver(host, func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, target.url, http.StatusFound)
	})
	if err != nil {
		return na("the kit cannot listen on %s for its receivers: %v", host, err)
	}
	defer redirector.close()

	no := r.cfg.RunID + "-v3-redirect"
	body := r.nativeBody(no, fenceOrderAmount)
	body["notify_url"] = redirector.url
	a, err := r.v3.c.do(ctx, "POST", "/v3/pay/transactions/native", body, v3Signed)
	if err != nil {
		return fail("POST /v3/pay/transactions/native: %v", err)
	}
	var nr struct {
		CodeURL string `json:"code_url"`
	}
	if a.Status != http.StatusOK || json.Unmarshal(a.Body, &nr) != nil || nr.CodeURL == "" {
		return fail("a Native order with notify_url %s: %s; want 200 with a code_url", redirector.url, a)
	}
	o, err := r.w.PayOrder(ctx, walletctl.PayOrderRequest{UserID: r.user.ID, Ref: nr.CodeURL, Source: "balance", Password: r.password})
	if err != nil || o.TradeState != walletctl.StateSuccess {
		return fail("paying the order: %v", err)
	}
	r.balance -= fenceOrderAmount
	// A wallet may deliver after answering: give it the time a receiver has to answer, twice.
	if !waitFor(ctx, 2*walletctl.NotifyTimeout, func() bool { return redirector.hits.Load() > 0 }) {
		return na("the wallet sent no notification to the kit's receiver at %s within %s of the payment (is the kit's host reachable from the server?)",
			redirector.url, 2*walletctl.NotifyTimeout)
	}
	// A sender that follows redirects does so at once; wait a little for it.
	waitFor(ctx, 500*time.Millisecond, func() bool { return target.hits.Load() > 0 })
	if n := target.hits.Load(); n > 0 {
		return fail("the receiver answered 302 to %s and the wallet requested it %d time(s): a sender must never follow a redirect (a 3xx is the attempt's answer)",
			target.url, n)
	}
	return pass("the receiver answered 302 Found to a second kit receiver; the wallet never requested it (%d delivery attempt(s) to the first)",
		redirector.hits.Load())
}

// linkLocalNotifyURL is AWS's, GCP's and Azure's metadata service.
const linkLocalNotifyURL = "http://169.254.169.254/latest/meta-data/conformance-notify"

func (r *walletRun) v3NotifyLinkLocal(ctx context.Context) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	no := r.cfg.RunID + "-v3-linklocal"
	body := r.nativeBody(no, fenceOrderAmount)
	body["notify_url"] = linkLocalNotifyURL
	a, err := r.v3.c.do(ctx, "POST", "/v3/pay/transactions/native", body, v3Signed)
	if err != nil {
		return fail("POST /v3/pay/transactions/native: %v", err)
	}
	switch {
	case a.Status == http.StatusBadRequest && a.Env.Code == "PARAM_ERROR":
		return pass("notify_url %s refused at creation: 400 PARAM_ERROR", linkLocalNotifyURL)
	case a.Status == http.StatusOK:
		// Not left payable: closing it is what a merchant would do; its answer is not the check.
		r.v3.c.do(ctx, "POST", "/v3/pay/transactions/out-trade-no/"+pathEscape(no)+"/close", map[string]any{"mchid": r.v3.mchid}, v3Signed)
		return pass("notify_url %s accepted at creation (allowed): the wallet must refuse the address when it connects to deliver, which the kit cannot see from outside",
			linkLocalNotifyURL)
	}
	return fail("a Native order with notify_url %s: %s; want 400 PARAM_ERROR, or 200 (then refused when delivering)", linkLocalNotifyURL, a)
}
