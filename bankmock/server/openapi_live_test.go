package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/internal/openapivalidate"
	"github.com/walletctl/walletctl/internal/testworld"
)

// liveBank is a real bank server behind kin-openapi's request/response validator.
func liveBank(t *testing.T, opts server.Options) (*openapivalidate.Validator, *httptest.Server, *bankmock.Engine) {
	t.Helper()
	v, err := openapivalidate.New("bank", bankapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	v.StrictStatus = true
	v.Headers = []string{bankapi.HeaderFaultFired, "WWW-Authenticate", "Retry-After"}
	b := testworld.NewBank(t, testworld.Seed(5), testworld.Customers(5), testworld.WrapHandler(v.Wrap),
		func(c *testworld.Config) { c.Loopback, c.Server = true, opts })
	return v, b.HTTP, b.Mock
}

type rawResp struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, base, method, path, body string, hdr ...string) rawResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return rawResp{status: -1, body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResp{resp.StatusCode, resp.Header, string(b)}
}

// TestLiveTrafficMatchesOpenAPI drives every route of the bank, its successes and the errors
// the document declares (faults with their statuses, a bad fault header, a malformed statement
// path, unknown fields, a null body, the 401 and 403 of the admin API), through a validating
// middleware built on openapi3filter: every request and response must match bankapi/openapi.json.
func TestLiveTrafficMatchesOpenAPI(t *testing.T) {
	v, srv, _ := liveBank(t, server.Options{AdminToken: "live-admin"})
	ctx := context.Background()
	c := client.New(srv.URL, client.Options{Timeout: 3 * time.Second, Backoff: time.Millisecond, AdminToken: "live-admin"})
	adm := []string{"Authorization", "Bearer live-admin"}
	u := srv.URL
	ok := bankmock.TestCards[0].Customer
	card := `{"card_no":"` + ok.CardNo + `","name":"` + ok.Name + `","id_no":"` + ok.IDNo + `","phone":"` + ok.Phone + `"}`

	// Meta and the protocol, happy path.
	send(t, u, "GET", "/healthz", "")
	send(t, u, "GET", "/openapi.json", "")
	send(t, u, "GET", "/v1/banks", "")
	send(t, u, "POST", "/v1/cards/verify", card)
	// The identity registry: any caller may ask whether a name and an ID belong together, and
	// learns nothing more (no admin right needed, so a tenant checks identities as a partner).
	for _, c := range []struct{ body, want string }{
		{`{"name":"` + ok.Name + `","id_no":"` + ok.IDNo + `"}`, `{"match":true,"id_known":true}`},
		{`{"name":"王小明","id_no":"` + ok.IDNo + `"}`, `{"match":false,"id_known":true}`},
		{`{"name":"` + ok.Name + `","id_no":"110101199003071234"}`, `{"match":false,"id_known":false}`},
	} {
		if r := send(t, u, "POST", "/v1/identities/verify", c.body); r.status != 200 || strings.TrimSpace(r.body) != c.want {
			t.Errorf("identity %s: %d %s, want %s", c.body, r.status, r.body, c.want)
		}
	}
	send(t, u, "POST", "/v1/identities/verify", `{"name":1}`) // 400
	b := send(t, u, "POST", "/v1/bindings", card)
	if b.status != 201 {
		t.Fatalf("bind: %d %s", b.status, b.body)
	}
	id := between(b.body, `"binding_id":"`, `"`)
	otp, err := c.LastOTP(ctx, ok.Phone)
	if err != nil {
		t.Fatal(err)
	}
	send(t, u, "POST", "/v1/bindings/"+id+"/confirm", `{"otp":"000000"}`) // 422 OTP_INVALID
	a := send(t, u, "POST", "/v1/bindings/"+id+"/confirm", `{"otp":"`+otp+`"}`)
	agr := between(a.body, `"agreement":"`, `"`)
	money := `{"agreement":"` + agr + `","amount":1250,"currency":"CNY"}`
	send(t, u, "POST", "/v1/debits", money, "Idempotency-Key", "k1")
	send(t, u, "POST", "/v1/debits", money, "Idempotency-Key", "k1")                                                  // replay
	send(t, u, "POST", "/v1/debits", strings.Replace(money, "1250", "1251", 1), "Idempotency-Key", "k1")              // 409
	send(t, u, "POST", "/v1/credits", money, "Idempotency-Key", "c1")                                                 // credit
	send(t, u, "POST", "/v1/debits", money)                                                                           // 400: no key
	send(t, u, "POST", "/v1/debits", `{"agreement":"x","amount":1,"currency":"CNY","id":1}`, "Idempotency-Key", "k9") // unknown field
	send(t, u, "GET", "/v1/transactions/k1", "")
	send(t, u, "GET", "/v1/transactions/nope", "")
	send(t, u, "GET", "/v1/statements/2026-01-05", "")
	send(t, u, "GET", "/v1/statements/yesterday", "") // 400
	if r := send(t, u, "GET", "/v1/statements/2026/01/05", ""); r.status != 404 {
		t.Errorf("malformed statement path: %d, want 404", r.status)
	}

	// Faults: every http_error status, a delay (fired header on a success), malformed, a bad header.
	for _, st := range []string{"400", "418", "502", "503", "599"} {
		r := send(t, u, "POST", "/v1/credits", money, "Idempotency-Key", "h"+st, "X-Bankmock-Fault", "http_error;status="+st)
		if r.status != atoi(st) || r.header.Get("X-Bankmock-Fault-Fired") == "" {
			t.Errorf("http_error %s: %d fired=%q", st, r.status, r.header.Get("X-Bankmock-Fault-Fired"))
		}
	}
	send(t, u, "GET", "/v1/banks", "", "X-Bankmock-Fault", "http_error")
	send(t, u, "GET", "/v1/transactions/k1", "", "X-Bankmock-Fault", "delay;delay=1ms")
	send(t, u, "POST", "/v1/credits", money, "Idempotency-Key", "d2", "X-Bankmock-Fault", "delay;delay=1ms")
	send(t, u, "POST", "/v1/debits", money, "Idempotency-Key", "m1", "X-Bankmock-Fault", "malformed")
	send(t, u, "POST", "/v1/debits", money, "Idempotency-Key", "r1", "X-Bankmock-Fault", "refuse")
	if r := send(t, u, "GET", "/v1/banks", "", "X-Bankmock-Fault", "explode"); r.status != 400 {
		t.Errorf("bad fault header: %d, want 400", r.status)
	}
	send(t, u, "POST", "/v1/debits", `{"agreement":"`+agr+`","amount":50002,"currency":"CNY"}`, "Idempotency-Key", "magic502")
	send(t, u, "DELETE", "/v1/agreements/"+agr, "")
	send(t, u, "DELETE", "/v1/agreements/"+agr, "") // 404

	// Admin.
	send(t, u, "GET", "/admin/customers", "", adm...)
	send(t, u, "POST", "/admin/customers", `{"generate":2}`, adm...)
	send(t, u, "POST", "/admin/customers", `{"bank":"CMB","balance":100}`, adm...)
	if r := send(t, u, "POST", "/admin/customers", `null`, adm...); r.status != 400 {
		t.Errorf("null customer body: %d %s, want 400", r.status, r.body)
	}
	send(t, u, "GET", "/admin/customers/"+ok.CardNo, "", adm...)
	send(t, u, "GET", "/admin/customers/6222020000000000000", "", adm...) // 404
	send(t, u, "PATCH", "/admin/customers/"+ok.CardNo, `{"balance":100000000}`, adm...)
	send(t, u, "PATCH", "/admin/customers/"+ok.CardNo, `{}`, adm...) // 400
	send(t, u, "GET", "/admin/faults", "", adm...)
	send(t, u, "POST", "/admin/faults", `{"spec":"drop_after;op=debit;first=1"}`, adm...)
	if r := send(t, u, "POST", "/admin/faults", `{"kind":"refuse","id":"f9","matched":0,"fired":0}`, adm...); r.status != 400 {
		t.Errorf("fault with id/matched/fired: %d %s, want 400 (FaultCreate has no such fields)", r.status, r.body)
	}
	// The client sends only FaultCreate's fields, even given a whole Fault.
	added, err := c.AddFault(ctx, bankapi.Fault{ID: "f77", Kind: bankapi.FaultDelay, Op: bankapi.OpCredit, Matched: 3, Fired: 2, Source: "rule", Delay: time.Millisecond})
	if err != nil || added.ID == "f77" || added.Matched != 0 {
		t.Errorf("client AddFault: %+v %v", added, err)
	}
	send(t, u, "DELETE", "/admin/faults/"+added.ID, "", adm...)
	send(t, u, "DELETE", "/admin/faults/f404", "", adm...) // 404
	send(t, u, "DELETE", "/admin/faults", "", adm...)
	send(t, u, "GET", "/admin/otp?phone="+ok.Phone, "", adm...)
	send(t, u, "GET", "/admin/otp", "", adm...) // 400
	send(t, u, "GET", "/admin/journal", "", adm...)
	// The lists' pages: each cursor, and every query the document or the bank refuses (400).
	send(t, u, "GET", "/admin/journal?limit=2&starting_after=3", "", adm...)
	send(t, u, "GET", "/admin/journal?limit=2&ending_before=1", "", adm...)
	send(t, u, "GET", "/admin/customers?limit=3&starting_after="+ok.CardNo, "", adm...)
	send(t, u, "GET", "/admin/customers?ending_before="+ok.CardNo, "", adm...)
	for _, q := range []string{"limit=0", "limit=101", "limit=abc", "starting_after=99999", "starting_after=1&ending_before=2"} {
		for _, list := range []string{"/admin/journal?", "/admin/customers?"} {
			if r := send(t, u, "GET", list+q, "", adm...); r.status != 400 {
				t.Errorf("%s%s: %d %s, want 400", list, q, r.status, r.body)
			}
		}
	}
	send(t, u, "GET", "/admin/clock", "", adm...)
	send(t, u, "POST", "/admin/clock", `{"advance":"1h"}`, adm...)
	send(t, u, "POST", "/admin/clock", `{"advance":"soon"}`, adm...) // 400
	snap := send(t, u, "GET", "/admin/snapshot", "", adm...)
	send(t, u, "POST", "/admin/reset", "", adm...)
	send(t, u, "PUT", "/admin/snapshot", snap.body, adm...)
	send(t, u, "GET", "/admin/partners", "", adm...)
	p := send(t, u, "POST", "/admin/partners", `{"name":"ci"}`, adm...)
	key := between(p.body, `"key":"`, `"`)
	send(t, u, "GET", "/admin/customers", "", "Authorization", "Bearer "+key) // 403: partner on bank-wide
	send(t, u, "GET", "/admin/journal", "", "Authorization", "Bearer "+key)   // partner helper
	send(t, u, "GET", "/v1/banks", "", "Authorization", "Bearer wrong")       // 401
	send(t, u, "PUT", "/v1/debits", money)                                    // 405: not in the document
	send(t, u, "GET", "/v1/nothing", "")                                      // 404: not in the document

	// Without credentials, from loopback too, bank-wide admin and every change at /admin/* is 401
	// (a browser's form POST included); reading the default partner's own things is not.
	v2, srv2, _ := liveBank(t, server.Options{AdminToken: "tok"})
	for _, r := range []rawResp{send(t, srv2.URL, "GET", "/admin/partners", ""), send(t, srv2.URL, "POST", "/admin/reset", ""),
		send(t, srv2.URL, "POST", "/admin/clock", `{"advance":"1h"}`), send(t, srv2.URL, "POST", "/admin/faults", `{"spec":"refuse"}`)} {
		if r.status != 401 {
			t.Errorf("no credentials: %d %s, want 401", r.status, r.body)
		}
	}
	if r := send(t, srv2.URL, "GET", "/admin/journal", ""); r.status != 200 {
		t.Errorf("no credentials reading the default partner's journal: %d", r.status)
	}
	send(t, srv2.URL, "GET", "/admin/partners", "", "Authorization", "Bearer tok")

	for _, val := range []*openapivalidate.Validator{v, v2} {
		for _, e := range val.Errors() {
			t.Error(e)
		}
	}
	if m := v.Missing(); len(m) > 0 {
		t.Errorf("operations never exercised: %v", m)
	}
	t.Log(v.Report())
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	out, _, _ := strings.Cut(rest, to)
	return out
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
