package v3api_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/v3api"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// v3Call sends a request signed by the merchant of creds (with the headers in extra, a
// Wechatpay-Serial among them or not) and returns the answer with its body read.
func v3Call(t *testing.T, base string, creds *walletctl.MerchantCredentials, method, path string, body []byte, extra map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	key, err := utils.LoadPrivateKey(creds.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	a := wechatpay.Auth{MchID: creds.MchID, NonceStr: wechatpay.Nonce(32), Timestamp: time.Now().Unix(), SerialNo: creds.CertSerial}
	if a.Signature, err = wechatpay.Sign(key, a.Message(method, req.URL.RequestURI(), body)); err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", wechatpay.BuildAuthorization(a))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, b
}

// A merchant created in public-key mode gets every answer signed under the platform public key's
// PUB_KEY_ID_…, as WeChat Pay signs them, whether its request names that id in Wechatpay-Serial
// (the Go SDK does), names the certificate serial, or names nothing (the other SDKs, curl):
// successes, v3 errors and refusals of its signature alike; each verifies as the SDK's public-key
// verifier checks it (that serial, that key). A merchant in certificate mode keeps the
// certificate's serial unless it asks for the id.
func TestPublicKeyModeSignsEveryAnswer(t *testing.T) {
	ctx := context.Background()
	w := testworld.New(t)
	e := w.Engine
	pf, err := e.Platform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(v3api.Handler(v3api.Options{Service: e}))
	defer hs.Close()
	pub, err := utils.LoadPublicKey(pf.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := utils.LoadCertificate(pf.Cert)
	if err != nil {
		t.Fatal(err)
	}
	byPubKey := validators.NewWechatPayResponseValidator(verifiers.NewSHA256WithRSAPubkeyVerifier(pf.PublicKeyID, *pub))
	byCert := validators.NewWechatPayResponseValidator(verifiers.NewSHA256WithRSAVerifier(core.NewCertificateMapWithList([]*x509.Certificate{cert})))

	for _, mode := range []struct {
		name       string
		publicKey  bool
		wantSerial string // without Wechatpay-Serial, or with the certificate's
	}{{"public-key mode", true, pf.PublicKeyID}, {"certificate mode", false, pf.Serial}} {
		t.Run(mode.name, func(t *testing.T) {
			m, err := e.CreateMerchant(ctx, walletctl.MerchantSpec{Name: mode.name + " shop", PublicKeyMode: mode.publicKey})
			if err != nil {
				t.Fatal(err)
			}
			creds, err := e.MerchantCredentials(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			prepay := []byte(`{"appid":"` + creds.AppID + `","mchid":"` + m.ID + `","description":"tea","out_trade_no":"pk-` + m.ID + `","notify_url":"https://merchant.example/notify","amount":{"total":100}}`)
			badSig := *creds
			badSig.PrivateKey = string(wechatpay.PrivateKeyPEM(wechatpay.DeriveKey([]byte("not the merchant's key"))))
			for _, c := range []struct {
				name         string
				creds        *walletctl.MerchantCredentials
				method, path string
				body         []byte
				status       int
			}{
				{"a prepay", creds, "POST", "/v3/pay/transactions/native", prepay, 200},
				{"a query", creds, "GET", "/v3/pay/transactions/out-trade-no/pk-" + m.ID + "?mchid=" + m.ID, nil, 200},
				{"a v3 error", creds, "GET", "/v3/pay/transactions/out-trade-no/nope?mchid=" + m.ID, nil, 404},
				{"a refused signature", &badSig, "GET", "/v3/pay/transactions/out-trade-no/nope?mchid=" + m.ID, nil, 401},
			} {
				for _, ask := range []string{"", pf.Serial, pf.PublicKeyID} {
					extra := map[string]string{}
					if ask != "" {
						extra[wechatpay.HeaderSerial] = ask
					}
					resp, body := v3Call(t, hs.URL, c.creds, c.method, c.path, c.body, extra)
					if resp.StatusCode != c.status {
						t.Fatalf("%s (Wechatpay-Serial %q): %d %s", c.name, ask, resp.StatusCode, body)
					}
					want, validator := mode.wantSerial, byCert
					if mode.publicKey || ask == pf.PublicKeyID {
						want, validator = pf.PublicKeyID, byPubKey
					}
					if got := resp.Header.Get(wechatpay.HeaderSerial); got != want {
						t.Errorf("%s (Wechatpay-Serial %q): answered under %q, want %q", c.name, ask, got, want)
						continue
					}
					if err := validator.Validate(ctx, resp); err != nil {
						t.Errorf("%s (Wechatpay-Serial %q): the SDK's verifier refuses the answer: %v", c.name, ask, err)
					}
				}
			}
		})
	}
}

// JSON answers carry &, < and > as they are, as WeChat Pay's do (Go's json.Marshal writes
// \u0026, \u003c, \u003e): an attach and a notify_url with a query string come back literally,
// and the answer's signature verifies over the bytes as sent.
func TestV3JSONNotHTMLEscaped(t *testing.T) {
	ctx := context.Background()
	w := testworld.New(t)
	e := w.Engine
	pf, err := e.Platform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := utils.LoadPublicKey(pf.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(v3api.Handler(v3api.Options{Service: e}))
	defer hs.Close()
	m, err := e.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "A&B <shop>"})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := e.MerchantCredentials(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	const attach = "table=7&seat=<2>"
	prepay := []byte(`{"appid":"` + creds.AppID + `","mchid":"` + m.ID + `","description":"tea & cake","attach":"` + attach +
		`","out_trade_no":"amp-0001","notify_url":"https://merchant.example/notify?shop=1&kind=pay","amount":{"total":100}}`)
	if resp, body := v3Call(t, hs.URL, creds, "POST", "/v3/pay/transactions/native", prepay, nil); resp.StatusCode != 200 {
		t.Fatalf("prepay: %d %s", resp.StatusCode, body)
	}
	for _, c := range []struct {
		name, method, path, want string
		status                   int
	}{
		{"the order", "GET", "/v3/pay/transactions/out-trade-no/amp-0001?mchid=" + m.ID, `"attach":"` + attach + `"`, 200},
		{"a v3 error naming the value", "GET", "/v3/bill/tradebill?bill_date=2026-01-05&bill_type=A%26B", `"value":"A&B"`, 400},
	} {
		resp, body := v3Call(t, hs.URL, creds, c.method, c.path, nil, nil)
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s; want %s literally", c.name, resp.StatusCode, body, c.want)
		}
		if bytes.Contains(body, []byte(`\u00`)) {
			t.Errorf("%s: HTML-escaped: %s", c.name, body)
		}
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("%s: not JSON: %v", c.name, err)
		}
		if err := wechatpay.VerifyResponse(resp.Header, body, pub); err != nil {
			t.Errorf("%s: the signature over the bytes as sent: %v", c.name, err)
		}
	}
}
