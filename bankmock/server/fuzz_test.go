package server

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/banktest"
	"github.com/walletctl/walletctl/bankmock"
)

// knownCodes are the error codes the protocol documents. INTERNAL is deliberately absent: it means
// the engine returned an error that is not a *bankapi.Error, which is a bug.
var knownCodes = map[string]bool{
	bankapi.CodeInfoMismatch: true, bankapi.CodeBindingNotSupported: true, bankapi.CodeCNPNotEnabled: true,
	bankapi.CodeIssuerRestricted: true, bankapi.CodeCardExpired: true, bankapi.CodeInsufficientFunds: true,
	bankapi.CodeLimitExceeded: true, bankapi.CodeOTPInvalid: true, bankapi.CodeOTPExpired: true,
	bankapi.CodeOutcomeUnknown: true, bankapi.CodeIssuerUnavailable: true, bankapi.CodeDuplicate: true,
	bankapi.CodeIdempotencyMismatch: true, bankapi.CodeNotFound: true, bankapi.CodeInvalidRequest: true,
	bankapi.CodeCardUnknown: true, bankapi.CodeUnauthorized: true,
}

// fuzzMaxBody is small so that fuzzing reaches the size limit.
const fuzzMaxBody = 4096

// fuzzWorld is a fresh engine with one confirmed binding (an agreement to debit) and one binding
// waiting for its OTP, so that fuzzed bodies naming them ($AGR, $BIND, $OTP, $CARD) reach the
// engine's real paths instead of stopping at NOT_FOUND.
type fuzzWorld struct {
	h                    *Server
	agr, bind, otp, card string
}

func newFuzzWorld(t *testing.T) *fuzzWorld {
	ctx := context.Background()
	eng := bankmock.New(bankmock.Config{Seed: 11, Customers: 3, Sleep: bankmock.InstantSleep})
	c := bankmock.TestCards[0].Customer // the healthy "ok" card
	_, a := banktest.Bind(t, ctx, eng, c)
	b2, err := eng.CreateBinding(ctx, banktest.CardRequest(c))
	if err != nil {
		t.Fatal(err)
	}
	otp2, _ := eng.LastOTP(ctx, c.Phone)
	// HangTimeout: the recorder's request never ends, so a hang fault must let go at once.
	h := New(eng, Options{MaxBodyBytes: fuzzMaxBody, HangTimeout: time.Millisecond})
	return &fuzzWorld{h: h, agr: a.Agreement, bind: b2.BindingID, otp: otp2, card: c.CardNo}
}

func (w *fuzzWorld) expand(s string) string {
	return strings.NewReplacer("$AGR", w.agr, "$BIND", w.bind, "$OTP", w.otp, "$CARD", w.card).Replace(s)
}

type fuzzRoute struct {
	method, path string
	seeds        []string
}

// fuzzBody sends arbitrary bytes (plus a fuzzed Content-Type and fault header) through the real
// handler for one body-taking route and checks the protocol's promises:
//   - no panic, except net/http's ErrAbortHandler when a fault that closes the connection fired;
//   - no 5xx other than a fired fault, ISSUER_UNAVAILABLE (503) or OUTCOME_UNKNOWN (504);
//   - every non-2xx carries {"error":{"code",...}} with a documented code and a message;
//   - a body that is not JSON, sent as JSON within the size limit, is 400 INVALID_REQUEST.
func fuzzBody(f *testing.F, rt fuzzRoute) {
	for _, s := range rt.seeds {
		f.Add([]byte(s), "application/json", "")
	}
	f.Add([]byte(`{`), "", "")
	f.Add([]byte(`null`), "application/json", "")
	f.Add([]byte(`{} {}`), "application/json", "")
	f.Add([]byte(`{"x":1}`), "application/json; charset=utf-8", "")
	f.Add([]byte(`{}`), "text/plain", "")
	f.Add([]byte("\xff\xfe\x00"), "application/json", "")
	f.Add([]byte(`"`+strings.Repeat("a", fuzzMaxBody)+`"`), "application/json", "")
	if len(rt.seeds) > 0 {
		for _, fault := range []string{"drop_after", "refuse", "hang", "malformed", "http_error;status=502", "delay;delay=1s", "nonsense"} {
			f.Add([]byte(rt.seeds[0]), "application/json", fault)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, ctype, fault string) {
		w := newFuzzWorld(t)
		body = []byte(w.expand(string(body)))
		req := httptest.NewRequest(rt.method, w.expand(rt.path), strings.NewReader(string(body)))
		req.RemoteAddr = local
		if ctype != "" {
			req.Header["Content-Type"] = []string{ctype}
		}
		if fault != "" {
			req.Header["X-Bankmock-Fault"] = []string{fault}
		}
		req.Header.Set(bankapi.HeaderIdempotencyKey, "fuzz-key-1")
		if strings.HasPrefix(rt.path, "/admin/") {
			req.Header.Set("Authorization", "Bearer "+w.h.AdminToken()) // the operator: the body is what is fuzzed
		}
		rec := httptest.NewRecorder()
		aborted := serveRecover(t, w.h, rec, req)
		fired := rec.Header().Get(bankapi.HeaderFaultFired)
		if aborted {
			if fired == "" {
				t.Fatalf("connection dropped with no fault fired (body %q)", body)
			}
			return
		}
		status, rb := rec.Code, rec.Body.Bytes()

		if status >= 500 && fired == "" {
			e := errorOf(t, status, rb)
			if !(status == 503 && e.Code == bankapi.CodeIssuerUnavailable || status == 504 && e.Code == bankapi.CodeOutcomeUnknown) {
				t.Fatalf("undocumented %d %s for body %q: %s", status, e.Code, body, rb)
			}
		}
		if status >= 300 && !(fired != "" && status == 200) {
			e := errorOf(t, status, rb)
			if !knownCodes[e.Code] || e.Message == "" {
				t.Fatalf("%d with unknown code %q or no message for body %q: %s", status, e.Code, body, rb)
			}
		}
		asJSON := ctype == ""
		if mt, _, err := mime.ParseMediaType(ctype); err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			asJSON = true
		}
		if rt.path != "/admin/snapshot" && asJSON && !json.Valid(body) && len(body) <= fuzzMaxBody {
			if e := errorOf(t, status, rb); status != http.StatusBadRequest || e.Code != bankapi.CodeInvalidRequest {
				t.Fatalf("malformed JSON %q: %d %s, want 400 INVALID_REQUEST", body, status, rb)
			}
		}
	})
}

// serveRecover runs the handler; it reports true when the handler aborted the exchange the way
// hijack does under a recorder (panic(http.ErrAbortHandler)). Any other panic fails.
func serveRecover(t *testing.T, h http.Handler, w http.ResponseWriter, r *http.Request) (aborted bool) {
	defer func() {
		if p := recover(); p != nil {
			if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				aborted = true
				return
			}
			t.Fatalf("handler panicked: %v", p)
		}
	}()
	h.ServeHTTP(w, r)
	return false
}

func errorOf(t *testing.T, status int, body []byte) *bankapi.Error {
	t.Helper()
	var eb struct {
		Error *bankapi.Error `json:"error"`
	}
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error == nil || eb.Error.Code == "" {
		t.Fatalf("status %d without an error body: %q", status, body)
	}
	return eb.Error
}

var fourElements = []string{
	`{"card_no":"$CARD","name":"张伟","id_no":"110105198503071230","phone":"13800138000"}`,
	`{"card_no":"$CARD","name":"张伟","id_no":"110105198503071230","phone":"13900000000"}`,
	`{"card_no":"6222020000000000019","name":"","id_no":"","phone":""}`,
	`{"card_no":"6231900000000000063","name":"杨磊","id_no":"370202198009091572","phone":"13800138005"}`,
	`{"card_no":"6228480000000000034","name":"王芳","id_no":"440106199201011280","phone":"13800138002"}`,
	`{"card_no":123}`, `{"card_no":"$CARD","cvv":"123"}`, `{}`,
}

var moneyBodies = []string{
	`{"agreement":"$AGR","amount":100,"currency":"CNY"}`,
	`{"agreement":"$AGR","amount":-1,"currency":"CNY"}`,
	`{"agreement":"$AGR","amount":9223372036854775807,"currency":"CNY"}`,
	`{"agreement":"$AGR","amount":100,"currency":"USD"}`,
	`{"agreement":"$AGR","amount":1.5,"currency":"CNY"}`,
	`{"agreement":"nope","amount":100,"currency":"CNY"}`,
	`{"agreement":"$AGR","amount":"100"}`,
}

func FuzzVerifyBody(f *testing.F) {
	fuzzBody(f, fuzzRoute{"POST", "/v1/cards/verify", fourElements})
}

func FuzzBindingBody(f *testing.F) {
	fuzzBody(f, fuzzRoute{"POST", "/v1/bindings", fourElements})
}

func FuzzConfirmBody(f *testing.F) {
	fuzzBody(f, fuzzRoute{"POST", "/v1/bindings/$BIND/confirm", []string{
		`{"otp":"$OTP"}`, `{"otp":"000000"}`, `{"otp":""}`, `{"otp":123456}`, `{"otp":"$OTP","x":1}`,
	}})
}

func FuzzDebitBody(f *testing.F) {
	fuzzBody(f, fuzzRoute{"POST", "/v1/debits", moneyBodies})
}

func FuzzCreditBody(f *testing.F) {
	fuzzBody(f, fuzzRoute{"POST", "/v1/credits", moneyBodies})
}

func FuzzAdminCustomersBody(f *testing.F) {
	fuzzBody(f, fuzzRoute{"POST", "/admin/customers", []string{
		`{"generate":2}`, `{"generate":-1}`, `{"generate":2,"name":"x"}`, `{"bank":"ICBC"}`,
		`{"bank":"ICBC","name":"李四","balance":100}`, `{"card_no":"$CARD"}`, `{"bank":"NOPE"}`,
		`{"bank":"CCB","id_no":"11010519491231002X","phone":"13800000000","type":"credit","status":"frozen"}`,
	}})
}

func FuzzAdminCustomerPatchBody(f *testing.F) {
	fuzzBody(f, fuzzRoute{"PATCH", "/admin/customers/$CARD", []string{
		`{"balance":100}`, `{"status":"frozen"}`, `{"status":"melted"}`, `{"balance":-5}`, `{}`,
	}})
}

func FuzzAdminFaultsBody(f *testing.F) {
	fuzzBody(f, fuzzRoute{"POST", "/admin/faults", []string{
		`{"spec":"drop_after;op=debit;first=1"}`, `{"kind":"delay","delay":1000000000}`,
		`{"spec":"refuse","kind":"refuse"}`, `{"kind":"explode"}`, `{"spec":"http_error;status=99"}`,
		`{"kind":"refuse","op":"debit","probability":1.5}`,
	}})
}

func FuzzAdminClockBody(f *testing.F) {
	fuzzBody(f, fuzzRoute{"POST", "/admin/clock", []string{
		`{"advance":"2h"}`, `{"advance":"-1s"}`, `{"advance":""}`, `{"advance":"9999999999h"}`, `{"advance":2}`,
	}})
}

// FuzzAdminSnapshotBody: PUT /admin/snapshot takes a whole world; garbage must be refused cleanly.
func FuzzAdminSnapshotBody(f *testing.F) {
	snap, _ := bankmock.New(bankmock.Config{Seed: 2, Customers: 1}).Snapshot(context.Background())
	fuzzBody(f, fuzzRoute{"PUT", "/admin/snapshot", []string{
		string(snap), `{"version":99}`, `{"customers":[{"card_no":"1"}]}`, `{"journal":null,"bindings":{"x":null}}`,
	}})
}

// TestFuzzWorldReachesEngine: the fuzz fixture's placeholders name real state, so the seed
// corpora exercise successful paths, not only NOT_FOUND.
func TestFuzzWorldReachesEngine(t *testing.T) {
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/v1/debits", moneyBodies[0], 200},
		{"POST", "/v1/credits", moneyBodies[0], 200},
		{"POST", "/v1/bindings/$BIND/confirm", `{"otp":"$OTP"}`, 200},
		{"POST", "/v1/cards/verify", fourElements[0], 200},
		{"PATCH", "/admin/customers/$CARD", `{"balance":100}`, 200},
	} {
		w := newFuzzWorld(t)
		r := do(w.h, c.method, w.expand(c.path), local, w.expand(c.body), map[string]string{bankapi.HeaderIdempotencyKey: "k",
			"Authorization": "Bearer " + w.h.AdminToken()})
		if r.status != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, r.status, r.body, c.want)
		}
	}
}
