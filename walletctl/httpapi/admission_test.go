package httpapi

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// v3Target is a tenant's v3 API with one merchant that has an order to query.
type v3Target struct {
	hs     *httptest.Server
	tenant string
	apiKey string
	creds  *walletctl.MerchantCredentials
	key    *rsa.PrivateKey
	query  string // a signed merchant's call: its order, by out_trade_no
	hc     *http.Client
}

func newV3Target(t testing.TB, opts Options) *v3Target {
	t.Helper()
	ctx := context.Background()
	s, _ := newServer(t, opts, tenant.Options{KeepOpen: true, Throwaway: true}) // walletctl serve's default
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		s.Close(ctx)
	})
	ct := createTenant(t, s, walletctl.TenantSpec{Customers: 2})
	svc := NewClient(hs.URL, ct.APIKey, ClientOptions{})
	m, err := svc.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "admission"})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := svc.MerchantCredentials(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateOrder(ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: walletctl.TradeNative, OutTradeNo: "ADMIT-1",
		Description: "d", Amount: 1}); err != nil {
		t.Fatal(err)
	}
	key, err := parseRSAKey(creds.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return &v3Target{hs: hs, tenant: ct.ID, apiKey: ct.APIKey, creds: creds, key: key,
		query: "/v3/pay/transactions/out-trade-no/ADMIT-1?mchid=" + creds.MchID,
		hc:    &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 30 * time.Second}}
}

// get sends a GET of the v3 API signed by the merchant (forged: a signature that does not
// verify) and returns the status.
func (v *v3Target) get(hc *http.Client, path string, forged bool) (int, error) {
	a := wechatpay.Auth{MchID: v.creds.MchID, NonceStr: wechatpay.Nonce(16), Timestamp: time.Now().Unix(), SerialNo: v.creds.CertSerial}
	if forged {
		sig := make([]byte, 256)
		rand.Read(sig)
		a.Signature = base64.StdEncoding.EncodeToString(sig)
	} else {
		var err error
		if a.Signature, err = wechatpay.Sign(v.key, a.Message("GET", path, nil)); err != nil {
			return 0, err
		}
	}
	req, err := http.NewRequest("GET", v.hs.URL+"/tenants/"+v.tenant+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", wechatpay.BuildAuthorization(a))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// slowBodies keeps n connections each sending an unsigned v3 request that declares a 100 kB body
// and trickles it a byte per 100 ms, redialling a connection the server cuts, until ctx is done.
// ready is closed once all n have sent their headers.
func (v *v3Target) slowBodies(ctx context.Context, n int, ready chan<- struct{}) *sync.WaitGroup {
	addr := v.hs.Listener.Addr().String()
	head := "POST /tenants/" + v.tenant + "/v3/pay/transactions/native HTTP/1.1\r\nHost: " + addr +
		"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for ctx.Err() == nil {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err == nil {
					_, err = io.WriteString(c, head)
				}
				if first {
					first = false
					started.Done()
				}
				for err == nil {
					select {
					case <-ctx.Done():
						err = ctx.Err()
					case <-time.After(100 * time.Millisecond):
						_, err = c.Write([]byte(" "))
					}
				}
				if c != nil {
					c.Close()
				}
				if ctx.Err() == nil {
					time.Sleep(50 * time.Millisecond) // cut by the server: come back
				}
			}
		}()
	}
	go func() {
		started.Wait()
		close(ready)
	}()
	return &wg
}

// forgedFlood sends total forged-signature requests from workers clients and returns how many
// were not answered 401.
func (v *v3Target) forgedFlood(t testing.TB, total, workers int) int64 {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	var left, wrong atomic.Int64
	left.Store(int64(total))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if st, err := v.get(hc, v.query, true); err != nil || st != http.StatusUnauthorized {
					if wrong.Add(1) == 1 {
						t.Logf("a forged request: %d %v", st, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	return wrong.Load()
}

// TestV3AdmissionAfterAuthentication is issue 18's attack 4: while 100 unauthenticated
// connections trickle a declared 100 kB body and 2,000 requests carry a forged signature, the
// tenant's merchant's signed calls are answered (200, never 429 FREQUENCY_LIMITED) promptly. On the
// main of the issue every signed call was 429: the slow bodies filled the tenant's v3 queue
// before anything of them was checked.
func TestV3AdmissionAfterAuthentication(t *testing.T) {
	// A short body deadline: the slow bodies are cut and come back during the attack, and
	// nothing waits out a real timeout.
	v := newV3Target(t, Options{BodyReadTimeout: time.Second})
	if st, err := v.get(v.hc, v.query, false); err != nil || st != http.StatusOK {
		t.Fatalf("a signed query before the attack: %d %v", st, err)
	}

	ctx, stop := context.WithTimeout(context.Background(), 60*time.Second) // the attack's bound
	defer stop()
	ready := make(chan struct{})
	slow := v.slowBodies(ctx, 100, ready)
	defer slow.Wait()
	defer stop()
	<-ready
	time.Sleep(300 * time.Millisecond) // the slow requests reach their handlers

	var flooded sync.WaitGroup
	var wrongForged int64
	flooded.Add(1)
	go func() {
		defer flooded.Done()
		wrongForged = v.forgedFlood(t, 2000, 16)
	}()
	// The merchant's own calls, during the flood and the slow bodies.
	const calls = 30
	var statuses []int
	var worst time.Duration
	for range calls {
		start := time.Now()
		st, err := v.get(v.hc, v.query, false)
		if err != nil {
			t.Fatalf("a signed query during the attack: %v", err)
		}
		statuses = append(statuses, st)
		worst = max(worst, time.Since(start))
		time.Sleep(20 * time.Millisecond)
	}
	flooded.Wait()
	if ctx.Err() != nil {
		t.Fatal("the attack outlived its bound: the signed calls were not answered while it ran")
	}
	stop()
	t.Logf("signed calls during the attack: %v, the slowest in %v", statuses, worst)
	if i := slices.IndexFunc(statuses, func(st int) bool { return st != http.StatusOK }); i >= 0 {
		t.Errorf("signed call %d of %d answered %d during the attack, want 200 (429 = unauthenticated requests counted in the merchant's queue)", i+1, calls, statuses[i])
	}
	if wrongForged > 0 {
		t.Errorf("%d forged requests were not answered 401", wrongForged)
	}
	// Generous (a loaded machine): a signed call waits behind no unauthenticated one, so it takes
	// milliseconds, not the attack's seconds.
	if worst > 5*time.Second {
		t.Errorf("the slowest signed call took %v during the attack", worst)
	}
}

// TestV3BodyReadDeadline: a request whose body does not arrive within BodyReadTimeout is cut,
// answered v3's way, signed.
func TestV3BodyReadDeadline(t *testing.T) {
	v := newV3Target(t, Options{BodyReadTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", v.hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /tenants/%s/v3/pay/transactions/native HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{", v.tenant)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	t.Logf("answered after %v: %d %s", time.Since(start), resp.StatusCode, b)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "PARAM_ERROR") || resp.Header.Get("Wechatpay-Signature") == "" {
		t.Fatalf("a body that never came: %d %v %s", resp.StatusCode, resp.Header, b)
	}
}

// TestV1RefusesBadKeyFirst: a /v1 request without a tenant's key is refused before its body is
// read (it never counts in a tenant's queue nor waits for one).
func TestV1RefusesBadKeyFirst(t *testing.T) {
	v := newV3Target(t, Options{})
	for _, key := range []string{"", "wk_not-a-key-of-anyone"} {
		c, err := net.Dial("tcp", v.hs.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", key)
		c.SetReadDeadline(time.Now().Add(5 * time.Second)) // the body never comes: only an answer before it ends this
		b := make([]byte, 12)
		_, err = io.ReadFull(c, b)
		c.Close()
		if err != nil || string(b) != "HTTP/1.1 401" {
			t.Errorf("key %q with a body still to come: %q %v", key, b, err)
		}
	}
}

// BenchmarkV3UnderAttack: a merchant's signed query through walletctl serve (the tenant kept open)
// without an attack and during one (100 connections trickling a declared 100 kB unsigned body,
// and forged signatures at 200 a second, the rate issue 18 measured: 2,000 in 10 s), in
// alternating batches of the same run. Metrics: the p50 and p99 of each and "p99-ratio" (attacked
// / quiet; the issue asks for at most 2). The attackers run in this process: what they cost in CPU
// is part of what the signed calls see.
func BenchmarkV3UnderAttack(b *testing.B) {
	v := newV3Target(b, Options{})
	const batch = 200
	var quiet, attacked []time.Duration
	measure := func(into *[]time.Duration) {
		for range batch {
			start := time.Now()
			st, err := v.get(v.hc, v.query, false)
			if err != nil || st != http.StatusOK {
				b.Fatalf("signed query: %d %v", st, err)
			}
			*into = append(*into, time.Since(start))
		}
	}
	var forged atomic.Int64
	for b.Loop() {
		measure(&quiet)

		ctx, stop := context.WithCancel(context.Background())
		ready := make(chan struct{})
		slow := v.slowBodies(ctx, 100, ready)
		b.Cleanup(func() { stop(); slow.Wait() }) // after a failed batch too, before the server closes
		<-ready
		var flood sync.WaitGroup
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 30 * time.Second}
		flood.Add(1)
		go func() {
			defer flood.Done()
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			sem := make(chan struct{}, 8) // at most 8 in flight: a request the server is slow with delays the next
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				flood.Add(1)
				go func() {
					defer flood.Done()
					defer func() { <-sem }()
					if st, _ := v.get(hc, v.query, true); st == http.StatusUnauthorized {
						forged.Add(1)
					}
				}()
			}
		}()
		time.Sleep(100 * time.Millisecond)
		measure(&attacked)
		stop()
		flood.Wait()
		slow.Wait()
		hc.CloseIdleConnections()
		time.Sleep(100 * time.Millisecond) // the server's side of the attack ends before the quiet batch
	}
	reportLatencies(b, "quiet", quiet, "attacked", attacked)
	b.ReportMetric(float64(forged.Load())/float64(b.N), "forged/op")
}
