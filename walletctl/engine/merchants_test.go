package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/engine"
)

func (w *world) merchant() *walletctl.Merchant {
	w.T.Helper()
	return must[*walletctl.Merchant](w.T)(w.Engine.CreateMerchant(w.Ctx, walletctl.MerchantSpec{Name: "Test shop"}))
}

func (w *world) native(mchid, out string, amount int64) *walletctl.Order {
	w.T.Helper()
	return must[*walletctl.Order](w.T)(w.Engine.CreateOrder(w.Ctx, walletctl.OrderRequest{MchID: mchid, TradeType: "NATIVE", OutTradeNo: out,
		Description: "coffee", Amount: amount}))
}

func (w *world) merchantBalance(mchid string) int64 {
	w.T.Helper()
	return must[*walletctl.MerchantInfo](w.T)(w.Engine.Merchant(w.Ctx, mchid)).Balance
}

func TestNativeOrderPaidQueriedRefunded(t *testing.T) {
	w := newWorld(t)
	u := w.OpenWallet(card("ok"), 100_00).User.ID
	m := w.merchant()
	if m.ID != "1900000001" || len(m.CertSerial) != 40 || !strings.HasPrefix(m.AppID, "wx") {
		t.Fatalf("merchant %+v", m)
	}
	o := w.native(m.ID, "order-0001", 30_00)
	if o.TradeState != walletctl.StateNotPay || !strings.HasPrefix(o.CodeURL, "weixin://wxpay/bizpayurl?pr=") {
		t.Fatalf("order %+v", o)
	}
	// The same request again answers the same order; a different amount is a conflict.
	if again := w.native(m.ID, "order-0001", 30_00); again.ID != o.ID {
		t.Fatalf("repeat made %s, want %s", again.ID, o.ID)
	}
	_, err := w.Engine.CreateOrder(w.Ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: "order-0001", Description: "coffee", Amount: 31_00})
	code(t, err, walletctl.CodeConflict)

	seen := must[*walletctl.Order](t)(w.Engine.ScanOrder(w.Ctx, u, o.CodeURL))
	if seen.Amount != 30_00 || seen.MerchantName != "Test shop" {
		t.Fatalf("scan %+v", seen)
	}
	_, err = w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Password: "000000"})
	code(t, err, walletctl.CodePasswordWrong)
	paid := must[*walletctl.Order](t)(w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Password: pw}))
	if paid.TradeState != walletctl.StateSuccess || len(paid.TransactionID) != 28 || paid.BankType != "OTHERS" {
		t.Fatalf("paid %+v", paid)
	}
	// Paying again is the same answer, never a second charge.
	must[*walletctl.Order](t)(w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Password: pw}))
	if got := w.Balance(u); got != 70_00 {
		t.Fatalf("balance %d, want 7000", got)
	}
	if got := w.merchantBalance(m.ID); got != 30_00 {
		t.Fatalf("merchant balance %d", got)
	}
	q := must[*walletctl.Order](t)(w.Engine.Order(w.Ctx, walletctl.OrderQuery{MchID: m.ID, TransactionID: paid.TransactionID}))
	if q.OutTradeNo != "order-0001" || q.PayerOpenID != walletctl.OpenID(m.AppID, u) {
		t.Fatalf("query %+v", q)
	}
	// Another merchant cannot see it.
	m2 := w.merchant()
	_, err = w.Engine.Order(w.Ctx, walletctl.OrderQuery{MchID: m2.ID, TransactionID: paid.TransactionID})
	code(t, err, walletctl.CodeNotFound)

	r1 := must[*walletctl.Refund](t)(w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: m.ID, OutTradeNo: "order-0001", OutRefundNo: "refund-001", Amount: 10_00, Total: 30_00}))
	if r1.Status != walletctl.RefundSuccess || r1.UserReceivedAccount != engine.BalanceAccount {
		t.Fatalf("refund %+v", r1)
	}
	must[*walletctl.Refund](t)(w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: m.ID, TransactionID: paid.TransactionID, OutRefundNo: "refund-002", Amount: 15_00}))
	_, err = w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: m.ID, OutTradeNo: "order-0001", OutRefundNo: "refund-003", Amount: 5_01})
	code(t, err, walletctl.CodeRefundLimit)
	// The same out_refund_no again answers the first refund; with another amount, a conflict.
	if again := must[*walletctl.Refund](t)(w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: m.ID, OutTradeNo: "order-0001", OutRefundNo: "refund-001", Amount: 10_00})); again.RefundID != r1.RefundID {
		t.Fatalf("replay gave %s", again.RefundID)
	}
	_, err = w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: m.ID, OutTradeNo: "order-0001", OutRefundNo: "refund-001", Amount: 9_00})
	code(t, err, walletctl.CodeConflict)
	if got := w.Balance(u); got != 95_00 {
		t.Fatalf("balance after refunds %d, want 9500", got)
	}
	q = must[*walletctl.Order](t)(w.Engine.Order(w.Ctx, walletctl.OrderQuery{MchID: m.ID, OutTradeNo: "order-0001"}))
	if q.TradeState != walletctl.StateRefund || q.Refunded != 25_00 {
		t.Fatalf("after refunds %+v", q)
	}
	bill := must[*walletctl.Bill](t)(w.Engine.TradeBill(w.Ctx, m.ID, "", "ALL"))
	if bill.Rows != 3 || !strings.Contains(bill.Content, "`"+paid.TransactionID) || len(bill.HashValue) != 40 ||
		!strings.Contains(bill.Content, "`3,`30.00,`25.00,") {
		t.Fatalf("bill %d rows:\n%s", bill.Rows, bill.Content)
	}
	if b := must[*walletctl.Bill](t)(w.Engine.TradeBill(w.Ctx, m.ID, "", "REFUND")); b.Rows != 2 {
		t.Fatalf("refund bill rows %d", b.Rows)
	}
}

func TestOrderCloseExpiryAndRaces(t *testing.T) {
	w := newWorld(t)
	u := w.OpenWallet(card("ok"), 100_00).User.ID
	m := w.merchant()
	o := w.native(m.ID, "close-0001", 5_00)
	closed := must[*walletctl.Order](t)(w.Engine.CloseOrder(w.Ctx, walletctl.OrderQuery{MchID: m.ID, OutTradeNo: o.OutTradeNo}))
	if closed.TradeState != walletctl.StateClosed {
		t.Fatalf("closed %+v", closed)
	}
	_, err := w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Password: pw})
	code(t, err, walletctl.CodeOrderState)
	// Paid just before the close: the close is refused, the payment stands.
	o2 := w.native(m.ID, "close-0002", 5_00)
	must[*walletctl.Order](t)(w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: u, Ref: o2.CodeURL, Password: pw}))
	_, err = w.Engine.CloseOrder(w.Ctx, walletctl.OrderQuery{MchID: m.ID, OutTradeNo: o2.OutTradeNo})
	code(t, err, walletctl.CodeOrderState)
	// Expiry on the virtual clock.
	o3 := must[*walletctl.Order](t)(w.Engine.CreateOrder(w.Ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "APP", OutTradeNo: "expire-0001",
		Description: "x", Amount: 1_00, TimeExpire: w.Clock.Now().Add(30 * time.Minute)}))
	if o3.PrepayID == "" {
		t.Fatalf("no prepay id: %+v", o3)
	}
	must[time.Time](t)(w.Engine.Advance(w.Ctx, 31*time.Minute))
	_, err = w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: u, Ref: o3.PrepayID, Password: pw})
	code(t, err, walletctl.CodeOrderState)
	q := must[*walletctl.Order](t)(w.Engine.Order(w.Ctx, walletctl.OrderQuery{MchID: m.ID, OutTradeNo: "expire-0001"}))
	if q.TradeState != walletctl.StateClosed {
		t.Fatalf("expired order %+v", q)
	}
	if got := w.Balance(u); got != 95_00 {
		t.Fatalf("balance %d", got)
	}
}

func TestCodePayPasswordFreeAndConfirm(t *testing.T) {
	w := newWorld(t)
	u, c := w.OpenWallet(card("ok"), 500_00).IDs()
	m := w.merchant()
	pc := must[*walletctl.PayCode](t)(w.Engine.NewPayCode(w.Ctx, u, ""))
	if len(pc.Code) != 18 {
		t.Fatalf("code %q", pc.Code)
	}
	o := must[*walletctl.Order](t)(w.Engine.CodePay(w.Ctx, walletctl.CodePayRequest{MchID: m.ID, OutTradeNo: "pos-000001", Description: "bread", Amount: 12_00, AuthCode: pc.Code}))
	if o.TradeState != walletctl.StateSuccess || o.TradeType != walletctl.TradeCodePay {
		t.Fatalf("codepay %+v", o)
	}
	// A code is used once.
	_, err := w.Engine.CodePay(w.Ctx, walletctl.CodePayRequest{MchID: m.ID, OutTradeNo: "pos-000002", Description: "bread", Amount: 12_00, AuthCode: pc.Code})
	code(t, err, walletctl.CodePayCodeInvalid)
	// Above the password-free limit: USERPAYING until the payer confirms.
	pc = must[*walletctl.PayCode](t)(w.Engine.NewPayCode(w.Ctx, u, "card:"+c))
	o = must[*walletctl.Order](t)(w.Engine.CodePay(w.Ctx, walletctl.CodePayRequest{MchID: m.ID, OutTradeNo: "pos-000003", Description: "tv", Amount: 300_00, AuthCode: pc.Code}))
	if o.TradeState != walletctl.StateUserPaying {
		t.Fatalf("big codepay %+v", o)
	}
	before := w.CardBalance(card("ok").CardNo)
	done := must[*walletctl.Order](t)(w.Engine.ConfirmOrder(w.Ctx, u, o.ID, pw))
	if done.TradeState != walletctl.StateSuccess || !strings.HasSuffix(done.BankType, "_DEBIT") && !strings.HasSuffix(done.BankType, "_CREDIT") {
		t.Fatalf("confirmed %+v", done)
	}
	if got := w.CardBalance(card("ok").CardNo); got != before-300_00 {
		t.Fatalf("card %d, want %d", got, before-300_00)
	}
	// An expired code.
	pc = must[*walletctl.PayCode](t)(w.Engine.NewPayCode(w.Ctx, u, ""))
	must[time.Time](t)(w.Engine.Advance(w.Ctx, 61*time.Second))
	_, err = w.Engine.CodePay(w.Ctx, walletctl.CodePayRequest{MchID: m.ID, OutTradeNo: "pos-000004", Description: "x", Amount: 1_00, AuthCode: pc.Code})
	code(t, err, walletctl.CodePayCodeInvalid)
	// Reverse a paid code payment: refunded in full, REVOKED.
	rev := must[*walletctl.Order](t)(w.Engine.ReverseOrder(w.Ctx, walletctl.OrderQuery{MchID: m.ID, OutTradeNo: "pos-000001"}))
	if rev.TradeState != walletctl.StateRevoked {
		t.Fatalf("reversed %+v", rev)
	}
	if got := w.merchantBalance(m.ID); got != 300_00 {
		t.Fatalf("merchant %d", got)
	}
}

func TestCardRefundUnderBankFault(t *testing.T) {
	w := newWorld(t)
	u, c := w.OpenWallet(card("ok")).IDs()
	m := w.merchant()
	o := w.native(m.ID, "card-00001", 40_00)
	paid := must[*walletctl.Order](t)(w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Source: "card:" + c, Password: pw}))
	if paid.TradeState != walletctl.StateSuccess {
		t.Fatalf("paid %+v", paid)
	}
	must[*bankapi.Fault](t)(w.Admin.AddFault(w.Ctx, bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpCredit, First: 1}))
	must[*bankapi.Fault](t)(w.Admin.AddFault(w.Ctx, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: bankapi.OpTransaction, First: 1}))
	before := w.CardBalance(card("ok").CardNo)
	r := must[*walletctl.Refund](t)(w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: m.ID, OutTradeNo: o.OutTradeNo, OutRefundNo: "card-refund-1", Amount: 15_00}))
	if r.Status != walletctl.RefundProcessing {
		t.Fatalf("refund under fault %+v", r)
	}
	if got := w.merchantBalance(m.ID); got != 25_00 {
		t.Fatalf("merchant holds %d while the refund is processing", got)
	}
	rep := must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
	if rep.Settled != 1 || len(rep.Mismatches) != 0 {
		t.Fatalf("reconcile %+v", rep)
	}
	r = must[*walletctl.Refund](t)(w.Engine.RefundByOutNo(w.Ctx, m.ID, "card-refund-1"))
	if r.Status != walletctl.RefundSuccess || w.CardBalance(card("ok").CardNo) != before+15_00 {
		t.Fatalf("refund after reconcile %+v, card %d", r, w.CardBalance(card("ok").CardNo)-before)
	}
	// The card unbound: the next refund is ABNORMAL and nothing moves.
	if err := w.Engine.UnbindCard(w.Ctx, u, c); err != nil {
		t.Fatal(err)
	}
	r = must[*walletctl.Refund](t)(w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: m.ID, OutTradeNo: o.OutTradeNo, OutRefundNo: "card-refund-2", Amount: 5_00}))
	if r.Status != walletctl.RefundAbnormal || w.merchantBalance(m.ID) != 25_00 {
		t.Fatalf("refund to a gone card %+v, merchant %d", r, w.merchantBalance(m.ID))
	}
}

func TestMerchantCredentialsDeterministic(t *testing.T) {
	w := newWorld(t)
	m := w.merchant()
	a := must[*walletctl.MerchantCredentials](t)(w.Engine.MerchantCredentials(w.Ctx, m.ID))
	b := must[*walletctl.MerchantCredentials](t)(w.Engine.MerchantCredentials(w.Ctx, m.ID))
	if a.PrivateKey != b.PrivateKey || a.Cert != b.Cert || len(a.APIv3Key) != 32 || a.APIv3Key != b.APIv3Key {
		t.Fatal("credentials differ between calls")
	}
	if !strings.Contains(a.PrivateKey, "PRIVATE KEY") || !strings.Contains(a.PlatformCert, "CERTIFICATE") || a.PublicKeyID == "" {
		t.Fatalf("credentials %+v", a.MchID)
	}
	_, err := w.Engine.MerchantCredentials(w.Ctx, "m-cinema")
	code(t, err, walletctl.CodeNotFound)
}

// A reversal whose refund the bank refuses leaves the order paid (it was revoked with the money
// kept by the merchant before: chaos seeds 5 and 12).
func TestReverseRefusedByTheBankIsNotRevoked(t *testing.T) {
	w := newWorld(t)
	u, c := w.OpenWallet(card("ok")).IDs()
	m := w.merchant()
	pc := must[*walletctl.PayCode](t)(w.Engine.NewPayCode(w.Ctx, u, "card:"+c))
	o := must[*walletctl.Order](t)(w.Engine.CodePay(w.Ctx, walletctl.CodePayRequest{MchID: m.ID, OutTradeNo: "rev-000001", Description: "x", Amount: 50_00, AuthCode: pc.Code}))
	if o.TradeState != walletctl.StateSuccess {
		t.Fatalf("code pay %+v", o)
	}
	must[*bankapi.Fault](t)(w.Admin.AddFault(w.Ctx, bankapi.Fault{Kind: bankapi.FaultRefuse, Op: bankapi.OpCredit, First: 1}))
	_, err := w.Engine.ReverseOrder(w.Ctx, walletctl.OrderQuery{MchID: m.ID, OutTradeNo: o.OutTradeNo})
	code(t, err, walletctl.CodeOrderState)
	q := must[*walletctl.Order](t)(w.Engine.Order(w.Ctx, walletctl.OrderQuery{MchID: m.ID, OutTradeNo: o.OutTradeNo}))
	if q.TradeState != walletctl.StateSuccess || q.Refunded != 0 || w.merchantBalance(m.ID) != 50_00 {
		t.Fatalf("after a refused reversal: %+v, merchant %d", q, w.merchantBalance(m.ID))
	}
	// Once the bank takes it, the reversal goes through.
	r := must[*walletctl.Order](t)(w.Engine.ReverseOrder(w.Ctx, walletctl.OrderQuery{MchID: m.ID, OutTradeNo: o.OutTradeNo}))
	if r.TradeState != walletctl.StateRevoked || w.merchantBalance(m.ID) != 0 {
		t.Fatalf("reversal %+v, merchant %d", r, w.merchantBalance(m.ID))
	}
}
