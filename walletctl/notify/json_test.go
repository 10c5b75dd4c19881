package notify_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// A notification's resource is JSON as WeChat Pay writes it: an attach with & and < comes out of
// the decrypted resource literally, not as \u0026 and \u003c (Go's json.Marshal).
func TestNotificationJSONNotHTMLEscaped(t *testing.T) {
	w := newWorld(t, false)
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	const attach = "table=7&seat=<2>"
	o, err := w.Engine.CreateOrder(w.Ctx, walletctl.OrderRequest{MchID: w.mch.ID, TradeType: "NATIVE", OutTradeNo: "amp-0000001",
		Description: "tea & cake", Attach: attach, Amount: 1_00, NotifyURL: srv.URL + "/notify?shop=1&kind=pay"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: w.user, Ref: o.CodeURL, Password: pw}); err != nil {
		t.Fatal(err)
	}
	w.deliver()
	if rcv.count() != 1 {
		t.Fatalf("%d notifications", rcv.count())
	}
	cred := must(w.Engine.MerchantCredentials(w.Ctx, w.mch.ID))
	var n wechatpay.Notification
	if err := json.Unmarshal(rcv.bodies[0], &n); err != nil {
		t.Fatal(err)
	}
	plain, err := wechatpay.DecryptAESGCM(cred.APIv3Key, n.Resource.AssociatedData, n.Resource.Nonce, n.Resource.Ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(plain, []byte(`"attach":"`+attach+`"`)) || bytes.Contains(plain, []byte(`\u00`)) {
		t.Errorf("the resource: %s; want attach %s literally", plain, attach)
	}
	if bytes.Contains(rcv.bodies[0], []byte(`\u00`)) {
		t.Errorf("the body is HTML-escaped: %s", rcv.bodies[0])
	}
}
