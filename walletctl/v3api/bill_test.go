package v3api_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/engine"
	"github.com/walletctl/walletctl/walletctl/v3api"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// streamingOnly is the engine with its whole-content bill refused: the v3 layer must stream.
type streamingOnly struct {
	*engine.Engine
	t *testing.T
}

func (s streamingOnly) TradeBill(context.Context, string, string, string) (*walletctl.Bill, error) {
	s.t.Error("the v3 layer asked for a bill's whole content")
	return nil, walletctl.Errorf(walletctl.CodeInternal, "refused by the test")
}

// The trade bill through v3 over the real engine: /v3/bill/tradebill's hash and the download are
// the engine's bill byte for byte (a day of many rows, more than any buffer on the way), the
// download signed over what it streamed and sent with its length, and neither holds the bill
// whole (TradeBill is never asked).
func TestTradeBillStreamsThroughV3(t *testing.T) {
	ctx := context.Background()
	w := testworld.New(t)
	e := w.Engine
	u := w.OpenWallet(testworld.Card("ok"), 900_00).User.ID
	m, err := e.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "v3 bill shop"})
	if err != nil {
		t.Fatal(err)
	}
	day := vclock.Day(w.Clock.Now())
	for i := range 120 {
		if _, err := e.Advance(ctx, 31*time.Second); err != nil { // under the velocity limit, on one day
			t.Fatal(err)
		}
		o, err := e.CreateOrder(ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: fmt.Sprintf("v3-bill-%04d", i),
			Description: "一杯咖啡, with milk and a long description that makes the row longer than most", Amount: int64(100 + i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.PayOrder(ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Password: testworld.Password}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := e.Refund(ctx, walletctl.RefundRequest{MchID: m.ID, OutTradeNo: o.OutTradeNo, OutRefundNo: fmt.Sprintf("v3-r-%04d", i), Amount: 50}); err != nil {
				t.Fatal(err)
			}
		}
	}
	creds, err := e.MerchantCredentials(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	platform, err := e.Platform(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(v3api.Handler(v3api.Options{Service: streamingOnly{e, t}}))
	defer hs.Close()
	get := func(url string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		key, err := utils.LoadPrivateKey(creds.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		a := wechatpay.Auth{MchID: creds.MchID, NonceStr: "593BEC0C930BF1AFEB40B4A08C8FB242", Timestamp: time.Now().Unix(), SerialNo: creds.CertSerial}
		if a.Signature, err = wechatpay.Sign(key, a.Message("GET", req.URL.RequestURI(), nil)); err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", wechatpay.BuildAuthorization(a))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := utils.LoadPublicKey(platform.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if err := wechatpay.VerifyResponse(resp.Header, body, pub); err != nil {
			t.Errorf("GET %s: the answer's signature: %v", url, err)
		}
		return resp, body
	}
	for _, typ := range []string{"ALL", "SUCCESS", "REFUND"} {
		want, err := e.TradeBill(ctx, m.ID, day, typ)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := get(hs.URL + "/v3/bill/tradebill?bill_date=" + day + "&bill_type=" + typ)
		var br v3api.BillResponse
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &br) != nil {
			t.Fatalf("tradebill %s: %d %s", typ, resp.StatusCode, body)
		}
		if br.HashValue != want.HashValue || br.HashType != "SHA1" {
			t.Errorf("%s: hash_value %s, the bill's %s", typ, br.HashValue, want.HashValue)
		}
		resp, body = get(br.DownloadURL)
		sum := sha1.Sum(body)
		if resp.StatusCode != http.StatusOK || string(body) != want.Content || hex.EncodeToString(sum[:]) != br.HashValue {
			t.Fatalf("%s: download %d, %d bytes (want %d), sha1 %x:\n%.300s", typ, resp.StatusCode, len(body), len(want.Content), sum, body)
		}
		// The bytes as WeChat Pay's bills have them: the UTF-8 byte-order mark first (the SDKs cut
		// three bytes before the header), then the header, and a line break at the very end; the
		// SHA-1 above is of these bytes, the mark included.
		if !bytes.HasPrefix(body, []byte("\xEF\xBB\xBF交易时间,")) || !bytes.HasSuffix(body, []byte("\r\n")) {
			t.Errorf("%s: the bill starts %q and ends %q; want EF BB BF 交易时间, and a final line break", typ, body[:min(12, len(body))], body[max(0, len(body)-8):])
		}
		if resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) || resp.Header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("%s: Content-Length %q, Content-Type %q for %d bytes", typ, resp.Header.Get("Content-Length"), resp.Header.Get("Content-Type"), len(body))
		}
		if typ == "ALL" && len(body) < 32<<10 {
			t.Errorf("the bill is only %d bytes: no bigger than a buffer on its way", len(body))
		}
	}
	// An error of the bill (a day to come) is v3's error, signed, nothing of a bill sent.
	tomorrow := vclock.Day(w.Clock.Now().Add(24 * time.Hour))
	token := "?token=" + base64.RawURLEncoding.EncodeToString([]byte(creds.MchID+"|"+tomorrow+"|ALL"))
	if resp, body := get(hs.URL + "/v3/billdownload/file" + token); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bill of tomorrow: %d %s", resp.StatusCode, body)
	}
}
