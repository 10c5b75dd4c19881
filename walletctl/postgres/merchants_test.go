package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/engine"
	"github.com/walletctl/walletctl/walletctl/notify"
)

// The merchant records (orders, refunds, payment codes, notifications, their faults and the
// forward setting) on PostgreSQL: a card-paid order refunded under a bank fault settles by
// reconcile, an order expires, and the notification records follow, as on SQLite.
func TestMerchantFlowsOnPostgres(t *testing.T) {
	ctx := context.Background()
	w := testworld.New(t, testworld.Store(openTest(t, Options{})), testworld.Customers(2))
	e, bank := w.Engine, w.Mock
	u, c := w.OpenWallet(customer(w, "王五")).IDs()
	m := ok[*walletctl.Merchant](t)(e.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "pg shop"}))
	o := ok[*walletctl.Order](t)(e.CreateOrder(ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: "pg-order-1",
		Description: "x", Amount: 50_00, NotifyURL: "http://127.0.0.1:1/notify"}))
	paid := ok[*walletctl.Order](t)(e.PayOrder(ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Source: "card:" + c, Password: pw}))
	if paid.TradeState != walletctl.StateSuccess {
		t.Fatalf("paid %+v", paid)
	}
	ok[*bankapi.Fault](t)(bank.AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpCredit, First: 1}))
	ok[*bankapi.Fault](t)(bank.AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: bankapi.OpTransaction, First: 1}))
	r := ok[*walletctl.Refund](t)(e.Refund(ctx, walletctl.RefundRequest{MchID: m.ID, OutTradeNo: "pg-order-1", OutRefundNo: "pg-refund-1", Amount: 20_00}))
	if r.Status != walletctl.RefundProcessing {
		t.Fatalf("refund %+v", r)
	}
	if rep := ok[*walletctl.ReconcileReport](t)(e.Reconcile(ctx, "")); rep.Settled != 1 || len(rep.Mismatches) != 0 {
		t.Fatalf("reconcile %+v", rep)
	}
	if r = ok[*walletctl.Refund](t)(e.RefundByOutNo(ctx, m.ID, "pg-refund-1")); r.Status != walletctl.RefundSuccess {
		t.Fatalf("refund after reconcile %+v", r)
	}
	ok[*walletctl.Order](t)(e.CreateOrder(ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "APP", OutTradeNo: "pg-order-2", Description: "y", Amount: 1_00}))
	ok[time.Time](t)(e.Advance(ctx, 3*time.Hour))
	if q := ok[*walletctl.Order](t)(e.Order(ctx, walletctl.OrderQuery{MchID: m.ID, OutTradeNo: "pg-order-2"})); q.TradeState != walletctl.StateClosed {
		t.Fatalf("not expired: %+v", q)
	}
	ns := ok[[]walletctl.Notification](t)(walletctl.Items(e.Notifications(ctx, walletctl.NotificationFilter{}, walletctl.MaxPage)))
	if len(ns) != 2 || ns[1].EventType != walletctl.EventTransactionSuccess || ns[0].EventType != walletctl.EventRefundSuccess || ns[1].Status != walletctl.NotifyPending { // newest first
		t.Fatalf("notifications %+v", ns)
	}
	ok[*walletctl.NotifyFault](t)(e.AddNotifyFault(ctx, walletctl.NotifyFault{Kind: walletctl.NotifyFaultDuplicate, First: 1}))
	if fs := ok[[]walletctl.NotifyFault](t)(e.NotifyFaults(ctx)); len(fs) != 1 {
		t.Fatalf("faults %+v", fs)
	}
	if err := e.ForwardNotifications(ctx, "http://127.0.0.1:2/", time.Minute); err != nil {
		t.Fatal(err)
	}
	if bal := ok[*walletctl.MerchantInfo](t)(e.Merchant(ctx, m.ID)); bal.Balance != 30_00 || bal.Refunded != 20_00 {
		t.Fatalf("merchant %+v", bal)
	}
	w.CheckLedger()
}

// Two wallet processes on one schema deliver the same due notifications at once: each try is
// sent by one of them only (the notification's call lock), so the merchant gets each event once
// and every notification records one attempt.
func TestTwoEnginesDeliverEachNotificationOnce(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{})
	w := testworld.New(t, testworld.Store(st), testworld.Customers(2))
	e := w.Engine // makes the events, sends nothing
	var mu sync.Mutex
	got := map[string]int{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // a receiver that takes a moment: both processes are at it
		var env struct {
			ID string `json:"id"`
		}
		json.NewDecoder(r.Body).Decode(&env)
		mu.Lock()
		got[env.ID]++
		mu.Unlock()
	}))
	defer rcv.Close()
	u, _ := w.OpenWallet(customer(w, "赵六"), 100_00).IDs()
	m := ok[*walletctl.Merchant](t)(e.CreateMerchant(ctx, walletctl.MerchantSpec{}))
	const orders = 8
	for i := range orders {
		o := ok[*walletctl.Order](t)(e.CreateOrder(ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: fmt.Sprintf("twice-%04d", i),
			Description: "x", Amount: 1_00, NotifyURL: rcv.URL}))
		ok[*walletctl.Order](t)(e.PayOrder(ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Password: pw}))
	}
	var wg sync.WaitGroup
	for i := range 2 {
		s2, err := OpenWith(ctx, dsn(t), Options{Schema: st.Schema()})
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		p := w.NewEngine(s2, byte(2+i), func(c *engine.Config) { c.Deliverer = &notify.Sender{} })
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if _, err := p.DeliverNotifications(ctx); err != nil {
					t.Errorf("process %d: %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	for _, n := range ok[[]walletctl.Notification](t)(walletctl.Items(e.Notifications(ctx, walletctl.NotificationFilter{}, walletctl.MaxPage))) {
		if n.Status != walletctl.NotifyDelivered || len(n.Attempts) != 1 || got[n.EventID] != 1 {
			t.Errorf("%s: %s, %d attempts, received %d times", n.ID, n.Status, len(n.Attempts), got[n.EventID])
		}
	}
	if len(got) != orders {
		t.Errorf("the merchant got %d events, want %d", len(got), orders)
	}
}

// One payment code charged by two servers at once (two engines on one schema): one charge, the
// other PAYCODE_INVALID.
func TestPayCodeChargedOnceByTwoEngines(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{})
	w := testworld.New(t, testworld.Store(st), testworld.Customers(2))
	e := w.Engine
	u, _ := w.OpenWallet(customer(w, "孙七"), 100_00).IDs()
	m := ok[*walletctl.Merchant](t)(e.CreateMerchant(ctx, walletctl.MerchantSpec{}))
	for round := range 5 {
		pc := ok[*walletctl.PayCode](t)(e.NewPayCode(ctx, u, ""))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			s2, err := OpenWith(ctx, dsn(t), Options{Schema: st.Schema()})
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			p := w.NewEngine(s2, byte(2+i))
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = p.CodePay(ctx, walletctl.CodePayRequest{MchID: m.ID, OutTradeNo: fmt.Sprintf("pos-%d-%d", round, i), Description: "x",
					Amount: 1_00, AuthCode: pc.Code})
			}()
		}
		wg.Wait()
		paid := 0
		for _, err := range errs {
			switch walletctl.ErrorCode(err) {
			case "":
				paid++
			case walletctl.CodePayCodeInvalid:
			default:
				t.Errorf("round %d: %v", round, err)
			}
		}
		if paid != 1 {
			t.Errorf("round %d: the code was charged %d times", round, paid)
		}
	}
	if b := ok[*walletctl.Balance](t)(e.Balance(ctx, u)); b.Available != 95_00 {
		t.Errorf("balance %d, want 9500 (five charges of 1.00)", b.Available)
	}
	w.CheckLedger()
}
