package notify_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	sdknotify "github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/notify"
)

// world is a real engine (testworld's: SQLite file, in-process bankmock, virtual clock) whose
// notifications go out through the real Sender over loopback HTTP, with a payer who has money
// and a merchant.
type world struct {
	*testworld.World
	user string
	card string
	mch  *walletctl.Merchant
}

const pw = testworld.Password

func newWorld(t *testing.T, publicKeyMode bool) *world {
	t.Helper()
	return newWorldWith(t, publicKeyMode, &notify.Sender{})
}

// newWorldWith is newWorld whose notifications go out through sender.
func newWorldWith(t *testing.T, publicKeyMode bool, sender *notify.Sender) *world {
	t.Helper()
	w := &world{World: testworld.New(t, func(c *testworld.Config) { c.Deliverer = sender })}
	w.user, w.card = w.OpenWallet(testworld.Card("ok"), 100_00).IDs()
	w.mch = must(w.Engine.CreateMerchant(w.Ctx, walletctl.MerchantSpec{Name: "notify shop", PublicKeyMode: publicKeyMode}))
	return w
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// pay makes and pays a Native order with notify_url url.
func (w *world) pay(out string, amount int64, url, source string) *walletctl.Order {
	w.T.Helper()
	o, err := w.Engine.CreateOrder(w.Ctx, walletctl.OrderRequest{MchID: w.mch.ID, TradeType: "NATIVE", OutTradeNo: out, Description: "tea",
		Amount: amount, NotifyURL: url})
	if err != nil {
		w.T.Fatal(err)
	}
	p, err := w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: w.user, Ref: o.CodeURL, Source: source, Password: pw})
	if err != nil {
		w.T.Fatal(err)
	}
	w.deliver()
	return p
}

// deliver sends what is due, as the CLI does after a command and a server's worker after a
// request (DESIGN.md section 11): the engine's operations only record it.
func (w *world) deliver() {
	w.T.Helper()
	if _, err := w.Engine.DeliverNotifications(w.Ctx); err != nil {
		w.T.Fatal(err)
	}
}

// advance moves the clock and sends what fell due.
func (w *world) advance(d time.Duration) {
	w.T.Helper()
	must(w.Engine.Advance(w.Ctx, d))
	w.deliver()
}

// resend starts a notification's schedule again, sends it, and reads it back.
func (w *world) resend(id string) *walletctl.Notification {
	w.T.Helper()
	must(w.Engine.ResendNotification(w.Ctx, id))
	w.deliver()
	return must(w.Engine.Notification(w.Ctx, id))
}

// receiver records what it gets and answers with the statuses given, then 200.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	got      []*http.Request
	bodies   [][]byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, req)
	r.bodies = append(r.bodies, body)
	status := 200
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":"%d"}`, status)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func TestRetriedOnTheVirtualClock(t *testing.T) {
	w := newWorld(t, false)
	rcv := &receiver{statuses: []int{500, 503}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	start := w.Clock.Now()
	w.pay("retry-000001", 12_00, srv.URL, "")
	if rcv.count() != 1 {
		t.Fatalf("%d deliveries at +0, want 1", rcv.count())
	}
	w.advance(14 * time.Second)
	if rcv.count() != 1 {
		t.Fatalf("%d deliveries before +15s", rcv.count())
	}
	w.advance(time.Second)
	w.advance(15 * time.Second)
	w.advance(24 * time.Hour)
	if rcv.count() != 3 {
		t.Fatalf("%d deliveries, want exactly 3", rcv.count())
	}
	ns := must(w.Engine.Notifications(w.Ctx, walletctl.NotificationFilter{}, walletctl.MaxPage)).Data
	if len(ns) != 1 || ns[0].Status != walletctl.NotifyDelivered || len(ns[0].Attempts) != 3 {
		t.Fatalf("notifications %+v", ns)
	}
	for i, want := range []time.Duration{0, 15 * time.Second, 30 * time.Second} {
		a := ns[0].Attempts[i]
		if got := a.At.Sub(start); got != want {
			t.Errorf("attempt %d at +%s, want +%s", i+1, got, want)
		}
		if wantOK := i == 2; a.OK != wantOK || a.Status != []int{500, 503, 200}[i] {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
	}
}

func TestNeverAnsweredGivesUpAfter16(t *testing.T) {
	w := newWorld(t, false)
	rcv := &receiver{statuses: make([]int, 100)}
	for i := range rcv.statuses {
		rcv.statuses[i] = 500
	}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	start := w.Clock.Now()
	w.pay("never-000001", 1_00, srv.URL, "")
	w.advance(48 * time.Hour)
	if rcv.count() != 16 {
		t.Fatalf("%d deliveries, want 16", rcv.count())
	}
	n := must(w.Engine.Notifications(w.Ctx, walletctl.NotificationFilter{}, walletctl.MaxPage)).Data[0]
	if n.Status != walletctl.NotifyFailed || n.NextAt != nil {
		t.Fatalf("status %s next %v", n.Status, n.NextAt)
	}
	if span := n.Attempts[15].At.Sub(start); span != 24*time.Hour+4*time.Minute {
		t.Fatalf("attempts span %s, want 24h4m", span)
	}
	// A resend starts the schedule again.
	rcv.mu.Lock()
	rcv.statuses = nil
	rcv.mu.Unlock()
	n2 := w.resend(n.ID)
	if n2.Status != walletctl.NotifyDelivered || rcv.count() != 17 {
		t.Fatalf("after resend: %s, %d deliveries", n2.Status, rcv.count())
	}
}

// TestSDKNotifyHandlerVerifiesEveryEvent receives every event kind with the official SDK's notify
// handler, configured with the platform certificate (or public key) and the merchant's APIv3 key.
func TestSDKNotifyHandlerVerifiesEveryEvent(t *testing.T) {
	for _, pubKey := range []bool{false, true} {
		t.Run(fmt.Sprintf("public-key-mode=%v", pubKey), func(t *testing.T) {
			w := newWorld(t, pubKey)
			cred := must(w.Engine.MerchantCredentials(w.Ctx, w.mch.ID))
			var handler *sdknotify.Handler
			if pubKey {
				pub := must(utils.LoadPublicKey(cred.PlatformPublicKey))
				handler = must(sdknotify.NewRSANotifyHandler(cred.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(cred.PublicKeyID, *pub)))
			} else {
				cert := must(utils.LoadCertificate(cred.PlatformCert))
				handler = must(sdknotify.NewRSANotifyHandler(cred.APIv3Key, verifiers.NewSHA256WithRSAVerifier(core.NewCertificateMapWithList([]*x509.Certificate{cert}))))
			}
			type got struct {
				event   string
				content map[string]any
			}
			var mu sync.Mutex
			var events []got
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				content := map[string]any{}
				req, err := handler.ParseNotifyRequest(context.Background(), r, &content)
				if err != nil {
					t.Errorf("the SDK refused a notification: %v", err)
					rw.WriteHeader(400)
					return
				}
				mu.Lock()
				events = append(events, got{req.EventType, content})
				mu.Unlock()
				rw.WriteHeader(204)
			}))
			defer srv.Close()
			// TRANSACTION.SUCCESS, then REFUND.SUCCESS (balance).
			paid := w.pay("sdk-0000001", 30_00, srv.URL, "")
			must(w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: w.mch.ID, OutTradeNo: paid.OutTradeNo, OutRefundNo: "sdk-refund-1", Amount: 5_00}))
			// REFUND.CLOSED: the bank refuses the credit of a card refund.
			byCard := w.pay("sdk-0000002", 20_00, srv.URL, "card:"+w.card)
			must(w.Mock.AddFault(w.Ctx, bankapi.Fault{Kind: bankapi.FaultRefuse, Op: bankapi.OpCredit, First: 1}))
			must(w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: w.mch.ID, OutTradeNo: byCard.OutTradeNo, OutRefundNo: "sdk-refund-2", Amount: 5_00}))
			// REFUND.ABNORMAL: the card is gone.
			if err := w.Engine.UnbindCard(w.Ctx, w.user, w.card); err != nil {
				t.Fatal(err)
			}
			must(w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: w.mch.ID, OutTradeNo: byCard.OutTradeNo, OutRefundNo: "sdk-refund-3", Amount: 5_00}))
			w.deliver()
			mu.Lock()
			defer mu.Unlock()
			want := []struct{ event, key, value string }{
				{walletctl.EventTransactionSuccess, "out_trade_no", "sdk-0000001"},
				{walletctl.EventRefundSuccess, "out_refund_no", "sdk-refund-1"},
				{walletctl.EventTransactionSuccess, "out_trade_no", "sdk-0000002"},
				{walletctl.EventRefundClosed, "refund_status", walletctl.RefundClosed},
				{walletctl.EventRefundAbnormal, "refund_status", walletctl.RefundAbnormal},
			}
			if len(events) != len(want) {
				t.Fatalf("%d events, want %d: %+v", len(events), len(want), events)
			}
			for i, wnt := range want {
				if events[i].event != wnt.event || events[i].content[wnt.key] != wnt.value {
					t.Errorf("event %d: %s %v, want %s %s=%s", i+1, events[i].event, events[i].content, wnt.event, wnt.key, wnt.value)
				}
			}
			if events[0].content["trade_state"] != walletctl.StateSuccess || events[0].content["mchid"] != w.mch.ID {
				t.Errorf("transaction resource %v", events[0].content)
			}
		})
	}
}
