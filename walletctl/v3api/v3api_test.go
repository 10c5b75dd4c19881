package v3api_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl/v3api"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// v3Server serves the v3 layer over a fake wallet, mounted under /tenants/t1 like walletctl
// serve, with its clock at now.
func v3Server(t *testing.T, now time.Time) (*fakeWallet, string) {
	f := newFakeWallet(t)
	mux := http.NewServeMux()
	mux.Handle("/tenants/t1/", http.StripPrefix("/tenants/t1", v3api.Handler(v3api.Options{Service: f, Now: func() time.Time { return now }})))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return f, hs.URL + "/tenants/t1"
}

type raw struct {
	status int
	header http.Header
	body   []byte
	env    struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Detail  map[string]any `json:"detail"`
	}
}

// do sends a request signed by key as the fake merchant (auth edited by edit, then the body
// sent replaced by send if not nil), signing over signURL (the path+query, default the one sent).
func do(t *testing.T, base, method, path string, body []byte, now time.Time, edit func(a *wechatpay.Auth, key **rsa.PrivateKey, signURL *string), send []byte) raw {
	t.Helper()
	key, err := utils.LoadPrivateKey(fakeCreds.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	full := base + path
	req, err := http.NewRequest(method, full, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := wechatpay.Auth{MchID: fakeCreds.MchID, NonceStr: "593BEC0C930BF1AFEB40B4A08C8FB242", Timestamp: now.Unix(), SerialNo: fakeCreds.CertSerial}
	signURL := req.URL.RequestURI()
	if edit != nil {
		edit(&a, &key, &signURL)
	}
	if a.Signature == "" {
		a.Signature, err = wechatpay.Sign(key, a.Message(method, signURL, body))
		if err != nil {
			t.Fatal(err)
		}
	}
	if send == nil {
		send = body
	}
	req.Body = io.NopCloser(bytes.NewReader(send))
	req.ContentLength = int64(len(send))
	req.Header.Set("Content-Type", "application/json")
	if a.MchID != "-" {
		req.Header.Set("Authorization", wechatpay.BuildAuthorization(a))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := raw{status: resp.StatusCode, header: resp.Header}
	r.body, _ = io.ReadAll(resp.Body)
	if len(r.body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		json.Unmarshal(r.body, &r.env)
	}
	// Every answer is signed with the platform key.
	pub, err := utils.LoadPublicKey(fakePlatform.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := wechatpay.VerifyResponse(resp.Header, r.body, pub); err != nil {
		t.Errorf("%s %s: the answer's signature: %v", method, path, err)
	}
	if resp.Header.Get("Request-ID") == "" {
		t.Errorf("%s %s: no Request-ID", method, path)
	}
	return r
}

func TestSignatureErrors(t *testing.T) {
	now := time.Now()
	_, base := v3Server(t, now)
	other := wechatpay.DeriveKey([]byte("someone else"))
	body := []byte(`{"mchid":"1900000109","appid":"wxd678efh567hg6787","description":"d","out_trade_no":"S1","notify_url":"https://x/n","amount":{"total":1}}` + "\n")
	cases := []struct {
		name  string
		edit  func(a *wechatpay.Auth, key **rsa.PrivateKey, signURL *string)
		send  []byte
		issue string // in detail.issue
	}{
		{"missing", func(a *wechatpay.Auth, _ **rsa.PrivateKey, _ *string) { a.MchID = "-" }, nil, "Authorization"},
		{"wrong key", func(_ *wechatpay.Auth, k **rsa.PrivateKey, _ *string) { *k = other }, nil, "does not verify"},
		{"garbage signature", func(a *wechatpay.Auth, _ **rsa.PrivateKey, _ *string) { a.Signature = "bm90IGEgc2lnbmF0dXJl" }, nil, "does not verify"},
		{"wrong serial", func(a *wechatpay.Auth, _ **rsa.PrivateKey, _ *string) {
			a.SerialNo = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
		}, nil, "serial_no"},
		{"stale timestamp", func(a *wechatpay.Auth, _ **rsa.PrivateKey, _ *string) { a.Timestamp = now.Add(-6 * time.Minute).Unix() }, nil, "timestamp"},
		{"future timestamp", func(a *wechatpay.Auth, _ **rsa.PrivateKey, _ *string) { a.Timestamp = now.Add(6 * time.Minute).Unix() }, nil, "timestamp"},
		{"tampered body", nil, bytes.Replace(body, []byte(`"total":1`), []byte(`"total":9`), 1), "does not verify"},
		{"wrong URL", func(_ *wechatpay.Auth, _ **rsa.PrivateKey, u *string) { *u = "/v3/pay/transactions/jsapi" }, nil, "does not verify"},
		{"unknown mchid", func(a *wechatpay.Auth, _ **rsa.PrivateKey, _ *string) { a.MchID = "1230000109" }, nil, "not a merchant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, base, "POST", "/v3/pay/transactions/native", body, now, tc.edit, tc.send)
			if r.status != http.StatusUnauthorized || r.env.Code != "SIGN_ERROR" || r.env.Message == "" {
				t.Fatalf("answered %d %s", r.status, r.body)
			}
			if issue, _ := r.env.Detail["issue"].(string); !strings.Contains(issue, tc.issue) {
				t.Fatalf("detail %v does not say %q", r.env.Detail, tc.issue)
			}
		})
	}
	t.Run("with or without the prefix", func(t *testing.T) {
		for i, u := range []string{"/tenants/t1/v3/pay/transactions/native", "/v3/pay/transactions/native"} {
			b := bytes.Replace(body, []byte(`"S1"`), []byte(`"S2`+string(rune('a'+i))+`"`), 1)
			r := do(t, base, "POST", "/v3/pay/transactions/native", b, now, func(_ *wechatpay.Auth, _ **rsa.PrivateKey, s *string) { *s = u }, nil)
			if r.status != http.StatusOK || !strings.Contains(string(r.body), "code_url") {
				t.Fatalf("signed over %s: %d %s", u, r.status, r.body)
			}
		}
	})
	t.Run("within the skew", func(t *testing.T) {
		r := do(t, base, "GET", "/v3/pay/transactions/out-trade-no/S2a?mchid=1900000109", nil, now,
			func(a *wechatpay.Auth, _ **rsa.PrivateKey, _ *string) { a.Timestamp = now.Add(-4 * time.Minute).Unix() }, nil)
		if r.status != http.StatusOK {
			t.Fatalf("answered %d %s", r.status, r.body)
		}
	})
}

func TestErrorStatuses(t *testing.T) {
	now := time.Now()
	f, base := v3Server(t, now)
	prepay := func(no string, amount string) []byte {
		return []byte(`{"mchid":"1900000109","appid":"wxd678efh567hg6787","description":"d","out_trade_no":"` + no + `","notify_url":"https://x/n","amount":{"total":` + amount + `}}`)
	}
	if r := do(t, base, "POST", "/v3/pay/transactions/native", prepay("P1", "100"), now, nil, nil); r.status != 200 {
		t.Fatalf("prepay: %d %s", r.status, r.body)
	}
	f.pay("P1")
	if r := do(t, base, "POST", "/v3/pay/transactions/native", prepay("P2", "100"), now, nil, nil); r.status != 200 {
		t.Fatalf("prepay: %d %s", r.status, r.body)
	}
	if r := do(t, base, "POST", "/v3/pay/transactions/out-trade-no/P2/close", []byte(`{"mchid":"1900000109"}`), now, nil, nil); r.status != 204 || len(r.body) != 0 {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"no such order", "GET", "/v3/pay/transactions/out-trade-no/NOPE?mchid=1900000109", "", 404, "ORDER_NOT_EXIST"},
		{"no such transaction", "GET", "/v3/pay/transactions/id/4200000000999?mchid=1900000109", "", 404, "ORDER_NOT_EXIST"},
		{"no mchid", "GET", "/v3/pay/transactions/out-trade-no/P1", "", 400, "PARAM_ERROR"},
		{"another mchid in the query", "GET", "/v3/pay/transactions/out-trade-no/P1?mchid=1230000109", "", 400, "PARAM_ERROR"},
		{"another mchid in the body", "POST", "/v3/pay/transactions/native", strings.Replace(string(prepay("P3", "1")), "1900000109", "1230000109", 1), 400, "PARAM_ERROR"},
		{"another appid", "POST", "/v3/pay/transactions/native", strings.Replace(string(prepay("P3", "1")), "wxd678efh567hg6787", "wx0000000000000000", 1), 400, "APPID_MCHID_NOT_MATCH"},
		{"bad JSON", "POST", "/v3/pay/transactions/native", `{"mchid":`, 400, "PARAM_ERROR"},
		{"no amount", "POST", "/v3/pay/transactions/native", `{"mchid":"1900000109","appid":"wxd678efh567hg6787","description":"d","out_trade_no":"P4"}`, 400, "PARAM_ERROR"},
		{"bad amount", "POST", "/v3/pay/transactions/native", string(prepay("P5", "0")), 400, "PARAM_ERROR"},
		{"jsapi without openid", "POST", "/v3/pay/transactions/jsapi", string(prepay("P6", "1")), 400, "PARAM_ERROR"},
		{"close a paid order", "POST", "/v3/pay/transactions/out-trade-no/P1/close", `{"mchid":"1900000109"}`, 400, "ORDERPAID"},
		{"close a closed order", "POST", "/v3/pay/transactions/out-trade-no/P2/close", `{"mchid":"1900000109"}`, 400, "ORDER_CLOSED"},
		{"refund too much", "POST", "/v3/refund/domestic/refunds", `{"out_trade_no":"P1","out_refund_no":"R1","amount":{"refund":101,"total":100,"currency":"CNY"}}`, 400, "INVALID_REQUEST"},
		{"refund without order", "POST", "/v3/refund/domestic/refunds", `{"out_refund_no":"R1","amount":{"refund":1,"total":100,"currency":"CNY"}}`, 400, "PARAM_ERROR"},
		{"no such refund", "GET", "/v3/refund/domestic/refunds/NOPE", "", 404, "RESOURCE_NOT_EXISTS"},
		{"bad bill date", "GET", "/v3/bill/tradebill?bill_date=20261128", "", 400, "PARAM_ERROR"},
		{"bad bill type", "GET", "/v3/bill/tradebill?bill_date=2026-11-28&bill_type=X", "", 400, "PARAM_ERROR"},
		{"bad bill token", "GET", "/v3/billdownload/file?token=x", "", 400, "PARAM_ERROR"},
		{"no such route", "GET", "/v3/pay/nothing", "", 404, "RESOURCE_NOT_EXISTS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			if tc.body != "" {
				b = []byte(tc.body)
			}
			r := do(t, base, tc.method, tc.path, b, now, nil, nil)
			if r.status != tc.status || r.env.Code != tc.code || r.env.Message == "" {
				t.Fatalf("answered %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
}

func TestPublicKeySerial(t *testing.T) {
	now := time.Now()
	_, base := v3Server(t, now)
	key, _ := utils.LoadPrivateKey(fakeCreds.PrivateKey)
	for _, tc := range []struct{ ask, want string }{
		{"", fakePlatform.Serial},
		{fakePlatform.Serial, fakePlatform.Serial},
		{fakePlatform.PublicKeyID, fakePlatform.PublicKeyID},
	} {
		req, _ := http.NewRequest("GET", base+"/v3/certificates", nil)
		a := wechatpay.Auth{MchID: fakeCreds.MchID, NonceStr: "n1", Timestamp: now.Unix(), SerialNo: fakeCreds.CertSerial}
		a.Signature, _ = wechatpay.Sign(key, a.Message("GET", req.URL.RequestURI(), nil))
		req.Header.Set("Authorization", wechatpay.BuildAuthorization(a))
		if tc.ask != "" {
			req.Header.Set("Wechatpay-Serial", tc.ask)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Wechatpay-Serial") != tc.want {
			t.Fatalf("asked %q: %d serial %q, want %q: %s", tc.ask, resp.StatusCode, resp.Header.Get("Wechatpay-Serial"), tc.want, body)
		}
		var cr v3api.CertificatesResponse
		if err := json.Unmarshal(body, &cr); err != nil || len(cr.Data) != 1 {
			t.Fatalf("%s: %v", body, err)
		}
		ec := cr.Data[0].EncryptCertificate
		pem, err := wechatpay.DecryptAESGCM(fakeCreds.APIv3Key, ec.AssociatedData, ec.Nonce, ec.Ciphertext)
		if err != nil || string(pem) != fakePlatform.Cert {
			t.Fatalf("certificate: %v", err)
		}
	}
}
