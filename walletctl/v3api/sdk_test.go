package v3api_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testbin"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/tenant/tenanttest"
	"github.com/walletctl/walletctl/walletctl/v3api"
)

// rewrite sends the SDK's requests for https://api.mch.weixin.qq.com to base (a walletctl
// serve tenant's v3 base URL, http://127.0.0.1:PORT/tenants/ID): what docs/merchants.md shows.
type rewrite struct {
	base *url.URL
	next http.RoundTripper
}

func (rt rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "api.mch.weixin.qq.com" {
		return rt.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host, r.Host = rt.base.Scheme, rt.base.Host, rt.base.Host
	r.URL.Path = strings.TrimSuffix(rt.base.Path, "/") + req.URL.Path
	if req.URL.RawPath != "" {
		r.URL.RawPath = strings.TrimSuffix(rt.base.Path, "/") + req.URL.RawPath
	}
	return rt.next.RoundTrip(r)
}

// shop is a tenant of walletctl serve on loopback (kept open, serve's default) with one merchant.
type shop struct {
	url    string // the server's
	apiKey string // the tenant's
	v3     string // the tenant's v3 base URL
	svc    *httpapi.Client
	m      *walletctl.Merchant
	creds  *walletctl.MerchantCredentials
}

func newShop(t *testing.T, name string) *shop {
	t.Helper()
	ctx := context.Background()
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{KeepOpen: true})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 3, Customers: 4})
	s := &shop{url: srv.URL, apiKey: ct.APIKey, v3: srv.URL + "/tenants/" + ct.ID, svc: httpapi.NewClient(srv.URL, ct.APIKey, httpapi.ClientOptions{})}
	var err error
	if s.m, err = s.svc.CreateMerchant(ctx, walletctl.MerchantSpec{Name: name}); err != nil {
		t.Fatal(err)
	}
	if s.creds, err = s.svc.MerchantCredentials(ctx, s.m.ID); err != nil {
		t.Fatal(err)
	}
	return s
}

// sdkClient is the official SDK's client for creds, pointed at base, in mode "cert" (platform
// certificates downloaded from /v3/certificates, as WithWechatPayAutoAuthCipher does) or
// "pubkey" (WithWechatPayPublicKeyAuthCipher).
func sdkClient(t testing.TB, mode, base string, creds *walletctl.MerchantCredentials) *core.Client {
	t.Helper()
	ctx := context.Background()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: rewrite{base: u, next: http.DefaultTransport}}
	key, err := utils.LoadPrivateKey(creds.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	var opts []core.ClientOption
	switch mode {
	case "cert":
		dl, err := core.NewClient(ctx, option.WithMerchantCredential(creds.MchID, creds.CertSerial, key), option.WithoutValidator(), option.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		mgr := downloader.NewCertificateDownloaderMgr(ctx)
		t.Cleanup(mgr.Stop)
		if err := mgr.RegisterDownloaderWithClient(ctx, dl, creds.MchID, creds.APIv3Key); err != nil {
			t.Fatalf("downloading the platform certificates: %v", err)
		}
		if got := mgr.GetNewestCertificateSerial(ctx, creds.MchID); got != creds.PlatformSerial {
			t.Fatalf("downloaded platform certificate %q, want %q", got, creds.PlatformSerial)
		}
		opts = append(opts, option.WithWechatPayAutoAuthCipherUsingDownloaderMgr(creds.MchID, creds.CertSerial, key, mgr))
	case "pubkey":
		pub, err := utils.LoadPublicKey(creds.PlatformPublicKey)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, option.WithWechatPayPublicKeyAuthCipher(creds.MchID, creds.CertSerial, key, creds.PublicKeyID, pub))
	default:
		t.Fatalf("mode %q", mode)
	}
	c, err := core.NewClient(ctx, append(opts, option.WithHTTPClient(hc))...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sdkFlow drives the official SDK through a merchant's day: Native prepay, the payer pays
// (pay), query, partial refund, refund query, close of a second order, trade bill download with
// its hash checked. prefix makes the out_trade_no's unique.
func sdkFlow(t *testing.T, c *core.Client, creds *walletctl.MerchantCredentials, prefix string, pay func(codeURL string)) {
	t.Helper()
	ctx := context.Background()
	nat := native.NativeApiService{Client: c}
	out := prefix + "-A"
	resp, _, err := nat.Prepay(ctx, native.PrepayRequest{Appid: core.String(creds.AppID), Mchid: core.String(creds.MchID),
		Description: core.String("Image形象店-深圳腾大-QQ公仔"), OutTradeNo: core.String(out), Attach: core.String("自定义数据"),
		NotifyUrl: core.String("https://www.weixin.qq.com/wxpay/pay.php"), Amount: &native.Amount{Total: core.Int64(1000), Currency: core.String("CNY")}})
	if err != nil {
		t.Fatalf("native prepay: %v", err)
	}
	if resp.CodeUrl == nil || *resp.CodeUrl == "" {
		t.Fatalf("native prepay: no code_url in %v", resp)
	}
	pay(*resp.CodeUrl)

	tx, _, err := nat.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(out), Mchid: core.String(creds.MchID)})
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if *tx.TradeState != "SUCCESS" || *tx.Amount.Total != 1000 || *tx.Amount.PayerTotal != 1000 || *tx.OutTradeNo != out ||
		tx.TransactionId == nil || *tx.TransactionId == "" || tx.Payer == nil || *tx.Payer.Openid == "" || *tx.Attach != "自定义数据" ||
		*tx.TradeType != "NATIVE" || tx.SuccessTime == nil || !strings.HasSuffix(*tx.SuccessTime, "+08:00") {
		t.Fatalf("query answered %s", tx)
	}

	byID, _, err := nat.QueryOrderById(ctx, native.QueryOrderByIdRequest{TransactionId: tx.TransactionId, Mchid: core.String(creds.MchID)})
	if err != nil || *byID.OutTradeNo != out {
		t.Fatalf("query by id: %v %v", byID, err)
	}

	refunds := refunddomestic.RefundsApiService{Client: c}
	rf, _, err := refunds.Create(ctx, refunddomestic.CreateRequest{OutTradeNo: core.String(out), OutRefundNo: core.String(prefix + "-R1"),
		Reason: core.String("商品已售完"), Amount: &refunddomestic.AmountReq{Refund: core.Int64(300), Total: core.Int64(1000), Currency: core.String("CNY")}})
	if err != nil {
		t.Fatalf("refund: %v", err)
	}
	if *rf.Amount.Refund != 300 || *rf.Amount.Total != 1000 || *rf.OutRefundNo != prefix+"-R1" || *rf.TransactionId != *tx.TransactionId ||
		(*rf.Status != refunddomestic.STATUS_SUCCESS && *rf.Status != refunddomestic.STATUS_PROCESSING) {
		t.Fatalf("refund answered %s", rf)
	}
	rq, _, err := refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(prefix + "-R1")})
	if err != nil {
		t.Fatalf("refund query: %v", err)
	}
	if *rq.RefundId != *rf.RefundId || *rq.Amount.Refund != 300 {
		t.Fatalf("refund query answered %s", rq)
	}

	out2 := prefix + "-B"
	if _, _, err := nat.Prepay(ctx, native.PrepayRequest{Appid: core.String(creds.AppID), Mchid: core.String(creds.MchID),
		Description: core.String("second"), OutTradeNo: core.String(out2), NotifyUrl: core.String("https://example.com/n"),
		Amount: &native.Amount{Total: core.Int64(500)}}); err != nil {
		t.Fatalf("second prepay: %v", err)
	}
	if res, err := nat.CloseOrder(ctx, native.CloseOrderRequest{OutTradeNo: core.String(out2), Mchid: core.String(creds.MchID)}); err != nil {
		t.Fatalf("close: %v", err)
	} else if res.Response.StatusCode != http.StatusNoContent {
		t.Fatalf("close answered %d", res.Response.StatusCode)
	}
	tx2, _, err := nat.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(out2), Mchid: core.String(creds.MchID)})
	if err != nil || *tx2.TradeState != "CLOSED" {
		t.Fatalf("query of the closed order: %v %v", tx2, err)
	}
	// Closing a paid order: v3's ORDERPAID, as the SDK reports it.
	_, err = nat.CloseOrder(ctx, native.CloseOrderRequest{OutTradeNo: core.String(out), Mchid: core.String(creds.MchID)})
	var apiErr *core.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "ORDERPAID" {
		t.Fatalf("closing a paid order: %v", err)
	}

	date := (*tx.SuccessTime)[:10]
	res, err := c.Get(ctx, "https://api.mch.weixin.qq.com/v3/bill/tradebill?bill_date="+date)
	if err != nil {
		t.Fatalf("tradebill: %v", err)
	}
	var bill v3api.BillResponse
	if err := json.NewDecoder(res.Response.Body).Decode(&bill); err != nil {
		t.Fatal(err)
	}
	if bill.HashType != "SHA1" || bill.DownloadURL == "" {
		t.Fatalf("tradebill answered %+v", bill)
	}
	res, err = c.Get(ctx, bill.DownloadURL)
	if err != nil {
		t.Fatalf("bill download: %v", err)
	}
	content, err := io.ReadAll(res.Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(content)
	if hex.EncodeToString(sum[:]) != strings.ToLower(bill.HashValue) {
		t.Fatalf("bill's SHA1 %x, hash_value %s", sum, bill.HashValue)
	}
	if !strings.Contains(string(content), creds.MchID) {
		t.Fatalf("the bill does not mention the merchant:\n%s", content)
	}
}

// TestSDKFake runs the SDK flow against the v3 layer over a fake wallet, mounted under a prefix
// as walletctl serve mounts it, in both verification modes.
func TestSDKFake(t *testing.T) {
	for _, mode := range []string{"cert", "pubkey"} {
		t.Run(mode, func(t *testing.T) {
			f := newFakeWallet(t)
			mux := http.NewServeMux()
			mux.Handle("/tenants/t1/", http.StripPrefix("/tenants/t1", v3api.Handler(v3api.Options{Service: f})))
			hs := httptest.NewServer(mux)
			defer hs.Close()
			creds, _ := f.MerchantCredentials(context.Background(), f.creds.MchID)
			c := sdkClient(t, mode, hs.URL+"/tenants/t1", creds)
			sdkFlow(t, c, creds, mode, func(codeURL string) {
				for no, o := range f.orders {
					if o.CodeURL == codeURL {
						f.pay(no)
						return
					}
				}
				t.Fatalf("no order has code_url %s", codeURL)
			})
		})
	}
}

// TestSDKServe is the "done means": the official SDK (v0.2.21, unpatched), configured
// with a sandbox merchant's credentials and an http.Client whose transport sends
// https://api.mch.weixin.qq.com to a tenant of walletctl serve on loopback, runs Native prepay,
// the user pays (through the wallet API), query (the SDK verifies the answer's signature),
// partial refund, refund query, close of a second order and the trade bill download with its
// hash, in the platform-certificate mode and in the public-key mode. In the certificate mode the
// user pays as a person would, with the built CLI (walletctl --backend URL --as U scan CODE_URL
// --password-stdin); in the public-key mode through the wallet API (ScanOrder, PayOrder).
func TestSDKServe(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, "腾大QQ公仔店")
	svc, creds := s.svc, s.creds

	// A payer with money: registered, verified, a card bound (the bank's OTP), a password, a top-up.
	u := testworld.Opener{T: t, Wallet: svc, OTPs: svc.Bank(5 * time.Second)}.OpenWallet(testworld.Card("ok"), 10000).User

	for _, mode := range []string{"cert", "pubkey"} {
		t.Run(mode, func(t *testing.T) {
			client := sdkClient(t, mode, s.v3, creds)
			sdkFlow(t, client, creds, mode, func(codeURL string) {
				if mode == "cert" {
					bin := testbin.Build(t, "github.com/walletctl/walletctl/cmd/walletctl")
					cmd := exec.Command(bin, "--home", t.TempDir(), "--backend", s.url, "--api-key", s.apiKey, "--as", u.ID,
						"scan", codeURL, "--password-stdin")
					cmd.Stdin = strings.NewReader(testworld.Password + "\n")
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("walletctl scan: %v\n%s", err, out)
					}
					return
				}
				seen, err := svc.ScanOrder(ctx, u.ID, codeURL)
				if err != nil {
					t.Fatalf("scan: %v", err)
				}
				if seen.Amount != 1000 || seen.MchID != creds.MchID {
					t.Fatalf("the payer sees %+v", seen)
				}
				o, err := svc.PayOrder(ctx, walletctl.PayOrderRequest{UserID: u.ID, Ref: codeURL, Password: testworld.Password})
				if err != nil || o.TradeState != walletctl.StateSuccess {
					t.Fatalf("pay: %+v %v", o, err)
				}
			})
		})
	}
}

// TestMain removes what testbin built for the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}
