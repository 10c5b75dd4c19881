package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/banktest"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/cnid"
)

func newEngine() *bankmock.Engine { return bankmock.New(bankmock.Config{Seed: 11, Customers: 5}) }

// serve starts h on loopback for the rest of the test or benchmark.
func serve(tb testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) err(t *testing.T) *bankapi.Error {
	t.Helper()
	return errorOf(t, r.status, r.body)
}

// do sends a request through the handler directly (no socket), from a chosen remote address.
func do(h http.Handler, method, path, remote string, body string, hdr map[string]string) resp {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = remote
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if s, ok := h.(*Server); ok && hdr == nil {
		// nil: the operator, with the admin token (loopback is not a credential); an empty map
		// sends no credentials at all.
		req.Header.Set("Authorization", "Bearer "+s.AdminToken())
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return resp{rec.Code, rec.Header(), rec.Body.Bytes()}
}

const local = "127.0.0.1:40000"

// TestLoopbackIsNotACredential: without credentials nobody, from loopback or afar, changes
// anything at /admin/* or reads anything bank-wide; a browser-style form POST (no Authorization
// header, a form body) to any admin route is 401. The protocol stays open to the default partner,
// and so does reading the default partner's own things from the helpers.
func TestLoopbackIsNotACredential(t *testing.T) {
	h := New(newEngine(), Options{})
	nobody := map[string]string{}
	for _, remote := range []string{"127.0.0.1:5000", "127.9.9.9:1", "[::1]:5000", "10.0.0.5:1234", "[2001:db8::1]:443"} {
		for _, rt := range routeTable {
			if !rt.Admin() {
				continue
			}
			req := httptest.NewRequest(rt.Method, routePath(rt.Path), strings.NewReader("advance=1h&phone=13800138000"))
			req.RemoteAddr = remote
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "http://evil.example")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch {
			case rt.Method == "GET":
				if rec.Code == http.StatusUnauthorized && rt.Access == Helper {
					t.Errorf("GET %s from %s without credentials: 401; want the default partner's own things", rt.Path, remote)
				}
				if (rt.Access == BankAdmin || rt.Access == Catalogue) && rec.Code != http.StatusUnauthorized {
					t.Errorf("GET %s from %s without credentials: %d, want 401", rt.Path, remote, rec.Code)
				}
			case rec.Code != http.StatusUnauthorized:
				t.Errorf("form %s %s from %s without credentials: %d, want 401: %s", rt.Method, rt.Path, remote, rec.Code, rec.Body)
			}
		}
		// A bearer the server does not know is refused as such, whatever the route.
		if r := do(h, "GET", "/admin/clock", remote, "", map[string]string{"Authorization": "Bearer x"}); r.status != http.StatusUnauthorized {
			t.Errorf("%s with an unknown bearer: %d", remote, r.status)
		}
		// The protocol is open to everyone.
		if r := do(h, "GET", "/v1/banks", remote, "", nobody); r.status != http.StatusOK {
			t.Errorf("protocol from %s: %d", remote, r.status)
		}
	}
	// The clock did not move and no fault was added by all of the above.
	if r := do(h, "GET", "/admin/faults", local, "", nil); r.status != 200 || strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("faults after the form posts: %d %s", r.status, r.body)
	}
}

func TestAdminTokenRule(t *testing.T) {
	h := New(newEngine(), Options{AdminToken: "tok-123"})
	cases := []struct {
		remote, auth string
		want         int
	}{
		{"10.0.0.5:1234", "Bearer tok-123", 200},
		{"127.0.0.1:1", "Bearer tok-123", 200},
		{"127.0.0.1:1", "", 401}, // loopback alone is not enough
		{"10.0.0.5:1234", "", 401},
		{"10.0.0.5:1234", "Bearer tok-12", 401},
		{"10.0.0.5:1234", "Basic dG9rLTEyMw==", 401},
		{"10.0.0.5:1234", "bearer tok-123x", 401},
	}
	for _, c := range cases {
		r := do(h, "GET", "/admin/customers", c.remote, "", map[string]string{"Authorization": c.auth})
		if r.status != c.want {
			t.Errorf("%s %q: status %d, want %d", c.remote, c.auth, r.status, c.want)
		}
		if c.want == 401 {
			if r.err(t).Code != bankapi.CodeUnauthenticated || r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without UNAUTHENTICATED body or WWW-Authenticate: %s %v", r.body, r.header)
			}
		}
	}
}

func TestRequestErrors(t *testing.T) {
	h := New(newEngine(), Options{MaxBodyBytes: 256})
	key := map[string]string{"Idempotency-Key": "k1"}
	cases := []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
		code                     string
	}{
		{"unknown route", "GET", "/v2/nothing", "", nil, 404, bankapi.CodeNotFound},
		{"unknown admin route", "GET", "/admin/nothing", "", nil, 404, bankapi.CodeNotFound},
		{"wrong method", "PUT", "/v1/banks", "", nil, 405, bankapi.CodeInvalidRequest},
		{"wrong method on a pattern", "GET", "/v1/debits", "", nil, 405, bankapi.CodeInvalidRequest},
		{"malformed JSON", "POST", "/v1/cards/verify", `{"card_no":`, nil, 400, bankapi.CodeInvalidRequest},
		{"not an object", "POST", "/v1/cards/verify", `[1,2]`, nil, 400, bankapi.CodeInvalidRequest},
		{"unknown field", "POST", "/v1/cards/verify", `{"card_no":"1","cvv":"123"}`, nil, 400, bankapi.CodeInvalidRequest},
		{"trailing data", "POST", "/v1/cards/verify", `{"card_no":"1"} {"x":1}`, nil, 400, bankapi.CodeInvalidRequest},
		{"empty body", "POST", "/v1/bindings", "", nil, 400, bankapi.CodeInvalidRequest},
		{"wrong content type", "POST", "/v1/cards/verify", `{"card_no":"1"}`, map[string]string{"Content-Type": "text/plain"}, 400, bankapi.CodeInvalidRequest},
		{"too large", "POST", "/v1/cards/verify", `{"card_no":"` + strings.Repeat("1", 300) + `"}`, nil, 413, bankapi.CodeInvalidRequest},
		{"no idempotency key", "POST", "/v1/debits", `{"agreement":"a","amount":1,"currency":"CNY"}`, nil, 400, bankapi.CodeInvalidRequest},
		{"long idempotency key", "POST", "/v1/credits", `{"agreement":"a","amount":1,"currency":"CNY"}`, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 400, bankapi.CodeInvalidRequest},
		{"amount as string", "POST", "/v1/debits", `{"agreement":"a","amount":"1","currency":"CNY"}`, key, 400, bankapi.CodeInvalidRequest},
		{"bad fault header", "GET", "/v1/banks", "", map[string]string{"X-Bankmock-Fault": "explode"}, 400, bankapi.CodeInvalidRequest},
		{"bad fault param", "GET", "/v1/banks", "", map[string]string{"X-Bankmock-Fault": "delay;delay=soon"}, 400, bankapi.CodeInvalidRequest},
		{"bad statement date", "GET", "/v1/statements/2026-13-01", "", nil, 400, bankapi.CodeInvalidRequest},
		{"unknown card", "POST", "/v1/cards/verify", `{"card_no":"1234567890123","name":"a","id_no":"b","phone":"c"}`, nil, 400, bankapi.CodeCardUnknown},
		{"bad clock advance", "POST", "/admin/clock", `{"advance":"-2h"}`, nil, 400, bankapi.CodeInvalidRequest},
		{"empty patch", "PATCH", "/admin/customers/6222020000000000018", `{}`, nil, 400, bankapi.CodeInvalidRequest},
		{"generate too many", "POST", "/admin/customers", `{"generate":1000001}`, nil, 400, bankapi.CodeInvalidRequest},
		{"otp without phone", "GET", "/admin/otp", "", nil, 400, bankapi.CodeInvalidRequest},
		{"bad fault rule", "POST", "/admin/faults", `{"spec":"drop_after;op=teleport"}`, nil, 400, bankapi.CodeInvalidRequest},
		{"unknown fault", "DELETE", "/admin/faults/f99", "", nil, 404, bankapi.CodeNotFound},
		{"empty snapshot", "PUT", "/admin/snapshot", "", nil, 400, bankapi.CodeInvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(h, c.method, c.path, local, c.body, c.hdr)
			if r.status != c.status {
				t.Fatalf("status %d, want %d (body %s)", r.status, c.status, r.body)
			}
			if e := r.err(t); e.Code != c.code || e.Message == "" {
				t.Fatalf("error %+v, want code %s with a message", e, c.code)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if c.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

// TestFaultFiredHeader: every response written while a fault fired names it.
func TestFaultFiredHeader(t *testing.T) {
	srv := serve(t, New(newEngine(), Options{}))
	get := func(spec string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/banks", nil)
		if spec != "" {
			req.Header.Set("X-Bankmock-Fault", spec)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r, b
	}
	r, _ := get("")
	if r.StatusCode != 200 || r.Header.Get(bankapi.HeaderFaultFired) != "" {
		t.Fatalf("no fault: %d, fired %q", r.StatusCode, r.Header.Get(bankapi.HeaderFaultFired))
	}
	r, b := get("http_error;status=502")
	if r.StatusCode != 502 || r.Header.Get(bankapi.HeaderFaultFired) != "header:h1" || !bytes.Contains(b, []byte(bankapi.CodeIssuerUnavailable)) {
		t.Fatalf("http_error: %d fired %q body %s", r.StatusCode, r.Header.Get(bankapi.HeaderFaultFired), b)
	}
	r, b = get("malformed")
	if r.StatusCode != 200 || r.Header.Get(bankapi.HeaderFaultFired) != "header:h2" || json.Valid(b) {
		t.Fatalf("malformed: %d fired %q valid JSON %v", r.StatusCode, r.Header.Get(bankapi.HeaderFaultFired), json.Valid(b))
	}
	r, b = get("delay;delay=10ms")
	if r.StatusCode != 200 || r.Header.Get(bankapi.HeaderFaultFired) != "header:h3" || !json.Valid(b) {
		t.Fatalf("delay: %d fired %q", r.StatusCode, r.Header.Get(bankapi.HeaderFaultFired))
	}
	// A fault that does not match the operation does not fire.
	r, _ = get("refuse;op=debit")
	if r.StatusCode != 200 || r.Header.Get(bankapi.HeaderFaultFired) != "" {
		t.Fatalf("non-matching fault: %d fired %q", r.StatusCode, r.Header.Get(bankapi.HeaderFaultFired))
	}
	// refuse: no response at all.
	req, _ := http.NewRequest("GET", srv.URL+"/v1/banks", nil)
	req.Header.Set("X-Bankmock-Fault", "refuse")
	if r, err := http.DefaultClient.Do(req); err == nil {
		r.Body.Close()
		t.Fatalf("refuse: got a response %d", r.StatusCode)
	}
}

// TestHangReleasedAtShutdown: a connection held by hang is let go by ReleaseHangs.
func TestHangReleasedAtShutdown(t *testing.T) {
	s := New(newEngine(), Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/banks", nil)
		req.Header.Set("X-Bankmock-Fault", "hang")
		r, err := http.DefaultClient.Do(req)
		if err == nil {
			r.Body.Close()
		}
		done <- err
	}()
	select {
	case <-done:
		t.Fatal("hang answered before release")
	case <-time.After(150 * time.Millisecond):
	}
	s.ReleaseHangs()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("hang gave a response; want the connection closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hang not released")
	}
}

// TestRealResponsesMatchDocument validates what the server actually sends against openapi.json.
func TestRealResponsesMatchDocument(t *testing.T) {
	c := loadDoc(t)
	eng := newEngine()
	h := New(eng, Options{})
	ok := bankmock.TestCards[0].Customer
	cardBody, _ := json.Marshal(banktest.CardRequest(ok))

	var bindingID, agreement string
	steps := []struct {
		method, pattern, path string
		body                  func() string
		hdr                   map[string]string
		status                int
		after                 func(body []byte)
	}{
		{"GET", "/healthz", "/healthz", nil, nil, 200, nil},
		{"GET", "/v1/banks", "/v1/banks", nil, nil, 200, nil},
		{"POST", "/v1/cards/verify", "/v1/cards/verify", func() string { return string(cardBody) }, nil, 200, nil},
		{"POST", "/v1/cards/verify", "/v1/cards/verify", func() string { return strings.Replace(string(cardBody), ok.Phone, "13900000000", 1) }, nil, 422, nil},
		{"POST", "/v1/bindings", "/v1/bindings", func() string { return string(cardBody) }, nil, 201, func(b []byte) {
			var v bankapi.Binding
			_ = json.Unmarshal(b, &v)
			bindingID = v.BindingID
		}},
		{"POST", "/v1/bindings/{id}/confirm", "", func() string { return `{"otp":"x"}` }, nil, 422, nil},
		{"POST", "/v1/bindings/{id}/confirm", "", func() string {
			otp, _ := eng.LastOTP(context.Background(), ok.Phone)
			return `{"otp":"` + otp + `"}`
		}, nil, 200, func(b []byte) {
			var v bankapi.Agreement
			_ = json.Unmarshal(b, &v)
			agreement = v.Agreement
		}},
		{"POST", "/v1/debits", "/v1/debits", func() string { return `{"agreement":"` + agreement + `","amount":1250,"currency":"CNY"}` }, map[string]string{"Idempotency-Key": "d1"}, 200, nil},
		{"POST", "/v1/debits", "/v1/debits", func() string { return `{"agreement":"` + agreement + `","amount":1,"currency":"CNY"}` }, map[string]string{"Idempotency-Key": "d1"}, 409, nil},
		{"POST", "/v1/debits", "/v1/debits", func() string { return `{"agreement":"` + agreement + `","amount":1,"currency":"CNY"}` }, map[string]string{"Idempotency-Key": "d2", "X-Bankmock-Fault": "http_error"}, 503, nil},
		{"POST", "/v1/credits", "/v1/credits", func() string { return `{"agreement":"` + agreement + `","amount":300,"currency":"CNY"}` }, map[string]string{"Idempotency-Key": "c1"}, 200, nil},
		{"GET", "/v1/transactions/{key}", "/v1/transactions/d1", nil, nil, 200, nil},
		{"GET", "/v1/transactions/{key}", "/v1/transactions/zz", nil, nil, 404, nil},
		{"GET", "/v1/statements/{date}", "/v1/statements/2026-01-05", nil, nil, 200, nil},
		{"GET", "/v1/statements/{date}", "/v1/statements/2020-01-01", nil, nil, 200, nil},
		{"GET", "/admin/customers", "/admin/customers", nil, nil, 200, nil},
		{"POST", "/admin/customers", "/admin/customers", func() string { return `{"generate":2}` }, nil, 201, nil},
		{"POST", "/admin/customers", "/admin/customers", func() string { return `{"bank":"CCB","balance":100}` }, nil, 201, nil},
		{"GET", "/admin/customers/{card_no}", "/admin/customers/" + ok.CardNo, nil, nil, 200, nil},
		{"PATCH", "/admin/customers/{card_no}", "/admin/customers/" + ok.CardNo, func() string { return `{"balance":5000,"status":"frozen"}` }, nil, 200, nil},
		{"GET", "/admin/customers/{card_no}", "/admin/customers/6222020000000000000", nil, nil, 404, nil},
		{"POST", "/admin/faults", "/admin/faults", func() string { return `{"spec":"delay;op=debit;delay=1s;p=0.5"}` }, nil, 201, nil},
		{"POST", "/admin/faults", "/admin/faults", func() string { return `{"kind":"refuse","bank":"ICBC","first":2}` }, nil, 201, nil},
		{"GET", "/admin/faults", "/admin/faults", nil, nil, 200, nil},
		{"DELETE", "/admin/faults/{id}", "/admin/faults/f1", nil, nil, 204, nil},
		{"DELETE", "/admin/faults", "/admin/faults", nil, nil, 204, nil},
		{"GET", "/admin/otp", "/admin/otp?phone=" + ok.Phone, nil, nil, 200, nil},
		{"GET", "/admin/journal", "/admin/journal", nil, nil, 200, nil},
		{"GET", "/admin/clock", "/admin/clock", nil, nil, 200, nil},
		{"POST", "/admin/clock", "/admin/clock", func() string { return `{"advance":"90m"}` }, nil, 200, nil},
		{"DELETE", "/v1/agreements/{agreement}", "", nil, nil, 204, nil},
		{"DELETE", "/v1/agreements/{agreement}", "", nil, nil, 404, nil},
		{"POST", "/admin/partners", "/admin/partners", func() string { return `{"name":"ci-wallet"}` }, nil, 201, nil},
		{"POST", "/admin/partners", "/admin/partners", func() string { return `{"name":"x","key":"mine"}` }, nil, 400, nil},
		{"GET", "/admin/partners", "/admin/partners", nil, nil, 200, nil},
		{"GET", "/v1/banks", "/v1/banks", nil, map[string]string{"Authorization": "Bearer nope"}, 401, nil},
		{"GET", "/admin/snapshot", "/admin/snapshot", nil, nil, 200, nil},
		{"POST", "/admin/reset", "/admin/reset", nil, nil, 204, nil},
		{"GET", "/openapi.json", "/openapi.json", nil, nil, 200, nil},
	}
	for i, st := range steps {
		path := st.path
		switch st.pattern {
		case "/v1/bindings/{id}/confirm":
			path = "/v1/bindings/" + bindingID + "/confirm"
		case "/v1/agreements/{agreement}":
			path = "/v1/agreements/" + agreement
		}
		body := ""
		if st.body != nil {
			body = st.body()
		}
		r := do(h, st.method, path, local, body, st.hdr)
		if r.status != st.status {
			t.Fatalf("step %d %s %s: status %d, want %d: %s", i, st.method, path, r.status, st.status, r.body)
		}
		if err := c.validateResponse(st.method, st.pattern, r.status, r.body); err != nil {
			t.Errorf("step %d: %v\nbody: %.400s", i, err, r.body)
		}
		if st.after != nil {
			st.after(r.body)
		}
	}
}

func TestLogsMaskCardNumbers(t *testing.T) {
	var buf bytes.Buffer
	h := New(newEngine(), Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	card := bankmock.TestCards[0].Customer.CardNo
	do(h, "GET", "/admin/customers/"+card, local, "", nil)
	do(h, "GET", "/nowhere/"+card, local, "", nil)
	out := buf.String()
	if strings.Contains(out, card) {
		t.Fatalf("log contains the full card number:\n%s", out)
	}
	if !strings.Contains(out, card[:6]) || !strings.Contains(out, "status=200") || !strings.Contains(out, "status=404") {
		t.Fatalf("log lacks the masked path or status:\n%s", out)
	}
	// The 404 body does not echo the card either.
	if r := do(h, "GET", "/nowhere/"+card, local, "", nil); bytes.Contains(r.body, []byte(card)) {
		t.Errorf("404 body echoes the card: %s", r.body)
	}
}

func TestMaskDigits(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/customers/6222020000000000018": "/admin/customers/622202*********0018",
		"/v1/transactions/pay-2026-01-05":      "/v1/transactions/pay-2026-01-05",
		"id 11010519850307123X ok":             "id 1101**********123X ok",
		"phone 13800138000":                    "phone 13800138000",
		"4392250000000108/4392250000000108":    "439225******0108/439225******0108",
	} {
		if got := cnid.MaskDigits(in); got != want {
			t.Errorf("cnid.MaskDigits(%q) = %q, want %q", in, got, want)
		}
	}
}
