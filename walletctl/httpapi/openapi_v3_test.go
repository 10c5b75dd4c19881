package httpapi

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/openapivalidate"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// TestOpenAPIV3Paths: every operation of a tenant's v3 API, through a real wallet server behind
// a validator of the document: requests and answers (with their Wechatpay-* headers) match it.
func TestOpenAPIV3Paths(t *testing.T) {
	ctx := context.Background()
	v, err := openapivalidate.New("wallet", OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	v.Headers = v3SignedHeaders
	s, _ := startServer(t, Options{}, tenant.Options{})
	hs := httptest.NewServer(v.Wrap(s))
	defer hs.Close()
	ct := createTenant(t, s, walletctl.TenantSpec{Customers: 2})
	svc := NewClient(hs.URL, ct.APIKey, ClientOptions{})
	pr := readyPayer(t, svc, svc.Bank(5*time.Second))
	m, err := svc.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "v3 shop"})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := svc.MerchantCredentials(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	key, err := parseRSAKey(creds.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	var last map[string]any
	send := func(method, path, body string, want ...int) int {
		t.Helper()
		u, _ := url.Parse(path)
		a := wechatpay.Auth{MchID: creds.MchID, NonceStr: "N" + time.Now().Format("150405.000000"), Timestamp: time.Now().Unix(), SerialNo: creds.CertSerial}
		a.Signature, err = wechatpay.Sign(key, a.Message(method, u.RequestURI(), []byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(method, hs.URL+"/tenants/"+ct.ID+path, bytes.NewReader([]byte(body)))
		if body == "" {
			req.Body, req.ContentLength = nil, 0
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", wechatpay.BuildAuthorization(a))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = nil
		json.Unmarshal(b, &last)
		if len(want) > 0 && !containsInt(want, resp.StatusCode) {
			t.Errorf("%s %s: %d %s, want %v", method, path, resp.StatusCode, b, want)
		}
		return resp.StatusCode
	}
	str := func(k string) string { s, _ := last[k].(string); return s }
	order := func(kind, no, extra string) string {
		return `{"appid":"` + creds.AppID + `","mchid":"` + creds.MchID + `","description":"d","out_trade_no":"` + no +
			`","notify_url":"https://example.com/n","amount":{"total":1000,"currency":"CNY"}` + extra + `}`
	}
	send("GET", "/v3/certificates", "", 200)
	send("POST", "/v3/pay/transactions/native", order("native", "ORDER-N1", ""), 200)
	codeURL := str("code_url")
	send("POST", "/v3/pay/transactions/jsapi", order("jsapi", "ORDER-J1", `,"payer":{"openid":"`+walletctl.OpenID(creds.AppID, pr.UserID)+`"}`), 200)
	send("POST", "/v3/pay/transactions/app", order("app", "ORDER-A1", ""), 200)
	send("POST", "/v3/pay/transactions/h5", order("h5", "ORDER-H1", `,"scene_info":{"payer_client_ip":"127.0.0.1","h5_info":{"type":"Wap"}}`), 200)
	if o, err := svc.PayOrder(ctx, walletctl.PayOrderRequest{UserID: pr.UserID, Ref: codeURL, Source: pr.Source, Password: pr.Password}); err != nil {
		t.Fatalf("pay: %+v %v", o, err)
	}
	send("GET", "/v3/pay/transactions/out-trade-no/ORDER-N1?mchid="+creds.MchID, "", 200)
	txid, date := str("transaction_id"), str("success_time")
	if len(date) >= 10 {
		date = date[:10]
	}
	send("GET", "/v3/pay/transactions/id/"+txid+"?mchid="+creds.MchID, "", 200)
	send("POST", "/v3/refund/domestic/refunds", `{"out_trade_no":"ORDER-N1","out_refund_no":"REFUND-1","reason":"r","amount":{"refund":300,"total":1000,"currency":"CNY"}}`, 200)
	send("GET", "/v3/refund/domestic/refunds/REFUND-1", "", 200)
	send("GET", "/v3/refund/domestic/refunds/NOPE", "", 404)
	send("POST", "/v3/pay/transactions/out-trade-no/ORDER-A1/close", `{"mchid":"`+creds.MchID+`"}`, 204)
	send("POST", "/v3/pay/transactions/codepay", `{"appid":"`+creds.AppID+`","mchid":"`+creds.MchID+`","description":"d","out_trade_no":"ORDER-C0","amount":{"total":100},"payer":{"auth_code":"130000000000000000"}}`, 400)
	pc, err := svc.NewPayCode(ctx, pr.UserID, pr.Source)
	if err != nil {
		t.Fatal(err)
	}
	send("POST", "/v3/pay/transactions/codepay", `{"appid":"`+creds.AppID+`","mchid":"`+creds.MchID+`","description":"d","out_trade_no":"ORDER-C1","amount":{"total":100},"payer":{"auth_code":"`+pc.Code+`"}}`, 200, 202)
	send("POST", "/v3/pay/transactions/out-trade-no/ORDER-C1/reverse", `{"mchid":"`+creds.MchID+`","appid":"`+creds.AppID+`"}`, 200)
	send("GET", "/v3/bill/tradebill?bill_date="+date, "", 200)
	dl, _ := url.Parse(str("download_url"))
	if dl == nil || !strings.HasPrefix(dl.Path, "/tenants/"+ct.ID+"/v3/billdownload/file") {
		t.Fatalf("download_url %v", last)
	}
	send("GET", strings.TrimPrefix(dl.Path, "/tenants/"+ct.ID)+"?"+dl.RawQuery, "", 200)
	for _, op := range v.Missing() {
		if strings.Contains(op, "/v3/") {
			t.Errorf("%s: not exercised", op)
		}
	}
	for _, e := range v.Errors() {
		t.Error(e)
	}
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func parseRSAKey(p string) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("no PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	return k.(*rsa.PrivateKey), nil
}
