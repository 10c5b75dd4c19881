package conformance

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Admission after authentication seen from outside (DESIGN.md section 10: a request is
// authenticated before it counts against any queue or takes any lock).
const (
	// CheckV3UnauthNoDelay: while admissionSlow connections trickle an unsigned request's declared
	// 100 kB body and admissionForged requests carry a forged signature, each of a few signed
	// queries of the kit's merchant is answered within admissionBound, and never 429.
	CheckV3UnauthNoDelay = "v3.unauth-no-delay"
)

const (
	admissionSlow   = 40
	admissionForged = 200
	admissionSigned = 5
	admissionBound  = 2 * time.Second
)

func (r *walletRun) v3UnauthNoDelay(ctx context.Context) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	// An order that does not exist: 404 ORDER_NOT_EXIST is a signed call that went through the
	// merchant's authentication and the wallet, whatever the earlier checks left.
	query := "/v3/pay/transactions/out-trade-no/" + pathEscape(r.cfg.RunID+"-admission") + "?mchid=" + url.QueryEscape(r.v3.mchid)
	signed := func() (time.Duration, string) {
		start := time.Now()
		a, err := r.v3.c.do(ctx, "GET", query, nil, v3Signed)
		took := time.Since(start)
		switch {
		case err != nil:
			return took, err.Error()
		case a.Status == http.StatusTooManyRequests:
			return took, a.String() + ": the merchant's call was refused as if its queue were full"
		case a.Status == http.StatusUnauthorized || a.Status >= 500:
			return took, a.String()
		}
		return took, ""
	}
	if took, bad := signed(); bad != "" {
		return fail("GET %s before the attack: %s", query, bad)
	} else if took > admissionBound {
		return na("GET %s took %v before any attack (more than %v): the check cannot tell an attack's delay from this", query, took.Round(time.Millisecond), admissionBound)
	}

	actx, stop := context.WithTimeout(ctx, 30*time.Second) // the attack's bound, whatever happens
	defer stop()
	target, err := url.Parse(r.v3.c.base + "/v3/pay/transactions/native")
	if err != nil {
		return fail("the v3 base URL %q: %v", r.v3.c.base, err)
	}
	var slow sync.WaitGroup
	var cuts atomic.Int64
	dialed := make(chan struct{}, admissionSlow)
	for range admissionSlow {
		slow.Add(1)
		go func() {
			defer slow.Done()
			r.trickle(actx, target, &cuts, dialed)
		}()
	}
	defer slow.Wait()
	defer stop()
	for range admissionSlow {
		<-dialed
	}
	time.Sleep(300 * time.Millisecond) // the slow requests reach the server's handlers

	// The forged requests from their own client: the kit's recorder is not for concurrent use.
	forger, err := newV3Client(r.v3.c.base, &http.Client{Transport: r.rec.next}, r.cfg.Timeout, r.v3.creds)
	if err != nil {
		return fail("%v", err)
	}
	var left, refused, other atomic.Int64
	left.Store(admissionForged)
	var flood sync.WaitGroup
	for range 8 {
		flood.Add(1)
		go func() {
			defer flood.Done()
			for left.Add(-1) >= 0 && actx.Err() == nil {
				a, err := forger.do(actx, "GET", query, nil, v3OtherKey)
				if err == nil && a.Status == http.StatusUnauthorized {
					refused.Add(1)
				} else {
					other.Add(1)
				}
			}
		}()
	}
	var worst time.Duration
	var problem string
	for i := range admissionSigned {
		took, bad := signed()
		worst = max(worst, took)
		if bad != "" {
			problem = fmt.Sprintf("signed query %d of %d during the attack: %s", i+1, admissionSigned, bad)
			break
		}
		if took > admissionBound {
			problem = fmt.Sprintf("signed query %d of %d took %v during the attack (at most %v)", i+1, admissionSigned, took.Round(time.Millisecond), admissionBound)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	flood.Wait()
	stop()
	attack := fmt.Sprintf("%d connections trickling an unsigned %s (cut by the server %d times), %d forged signatures (%d answered 401, %d otherwise)",
		admissionSlow, target.Path, cuts.Load(), admissionForged, refused.Load(), other.Load())
	if problem != "" {
		return fail("%s; the attack: %s. Check a request's signature before it counts in any queue or waits for a lock, and bound how long a body may take to arrive", problem, attack)
	}
	return pass("%d signed queries answered during the attack, the slowest in %v; the attack: %s", admissionSigned, worst.Round(time.Millisecond), attack)
}

// trickle keeps one connection sending an unsigned request that declares a 100 kB body, a byte
// every 200 ms, redialling when the server cuts it (counted in cuts), until ctx ends. It signals
// dialed once.
func (r *walletRun) trickle(ctx context.Context, target *url.URL, cuts *atomic.Int64, dialed chan<- struct{}) {
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
		target.RequestURI(), target.Host)
	signalled := false
	defer func() {
		if !signalled {
			dialed <- struct{}{}
		}
	}()
	for ctx.Err() == nil {
		c, err := r.dialServer(ctx, target)
		if err == nil {
			_, err = io.WriteString(c, head)
		}
		if !signalled {
			signalled = true
			dialed <- struct{}{}
		}
		for err == nil {
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-time.After(200 * time.Millisecond):
				_, err = c.Write([]byte(" "))
			}
		}
		if c != nil {
			c.Close()
		}
		if ctx.Err() == nil {
			cuts.Add(1)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// dialServer opens a connection to the server as the kit's HTTP client would (TLS for https, with
// the client's TLS settings when it has them).
func (r *walletRun) dialServer(ctx context.Context, u *url.URL) (net.Conn, error) {
	d := &net.Dialer{Timeout: r.cfg.Timeout}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[bool]string{true: "443", false: "80"}[u.Scheme == "https"])
	}
	if u.Scheme != "https" {
		return d.DialContext(ctx, "tcp", host)
	}
	cfg := &tls.Config{}
	if t, ok := r.rec.next.(*http.Transport); ok && t.TLSClientConfig != nil {
		cfg = t.TLSClientConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	cfg.NextProtos = []string{"http/1.1"}
	td := &tls.Dialer{NetDialer: d, Config: cfg}
	return td.DialContext(ctx, "tcp", host)
}
