package engine_test

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/engine"
)

func TestInsufficientFunds(t *testing.T) {
	w := newWorld(t)
	u, cid := w.OpenWallet(card("ok")).IDs()
	_, err := w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-rail", Amount: 100, Password: pw})
	e := code(t, err, walletctl.CodeInsufficientBalance)
	if !strings.Contains(e.Hint, "top up") {
		t.Errorf("hint %q", e.Hint)
	}
	_, err = w.Engine.Withdraw(w.Ctx, u, cid, 100, pw)
	code(t, err, walletctl.CodeInsufficientBalance)

	// An empty card: the bank declines, the txn is recorded failed with the bank's code.
	nf := card("no_funds")
	u2, cid2 := w.OpenWallet(nf).IDs()
	tx, err := w.Engine.TopUp(w.Ctx, u2, cid2, 100, pw)
	e = code(t, err, walletctl.CodeInsufficientFunds)
	if e.Details["resp_code"] != "51" || tx == nil || tx.Status != walletctl.TxnFailed || tx.FailureCode != walletctl.CodeInsufficientFunds {
		t.Fatalf("top-up from empty card: %+v %+v", tx, e.Details)
	}
	_, err = w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u2, Merchant: "m-rail", Amount: 100, Source: "card:" + cid2, Password: pw})
	code(t, err, walletctl.CodeInsufficientFunds)
	if w.Balance(u2) != 0 {
		t.Fatal("balance moved")
	}
	// The bank's single limit.
	must[*walletctl.Txn](t)(w.Engine.TopUp(w.Ctx, u, cid, 100, pw))
	_, err = w.Engine.TopUp(w.Ctx, u, cid, 5_000_001, pw) // ICBC: 50,000 CNY per debit
	code(t, err, walletctl.CodeBankLimit)
	_, err = w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-nowhere", Amount: 100, Password: pw})
	code(t, err, walletctl.CodeNotFound)
	_, err = w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-rail", Amount: 100, Source: "card:c99", Password: pw})
	code(t, err, walletctl.CodeNotFound)
	_, err = w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-rail", Amount: 0, Password: pw})
	code(t, err, walletctl.CodeInvalidAmount)
}

func TestAccountStatus(t *testing.T) {
	w := newWorld(t)
	u, cid := w.OpenWallet(card("ok")).IDs()
	u2 := w.Verified(card("no_funds")).ID
	must[*walletctl.Txn](t)(w.Engine.TopUp(w.Ctx, u, cid, 10000, pw))
	pay := func() error {
		_, err := w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-cafe", Amount: 100, Password: pw})
		return err
	}
	cardPay := func() error {
		_, err := w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-cafe", Amount: 100, Source: "card:" + cid, Password: pw})
		return err
	}
	transfer := func() error {
		_, err := w.Engine.Transfer(w.Ctx, walletctl.TransferRequest{UserID: u, To: u2, Amount: 100, Password: pw})
		return err
	}
	topup := func() error { _, err := w.Engine.TopUp(w.Ctx, u, cid, 100, pw); return err }
	withdraw := func() error { _, err := w.Engine.Withdraw(w.Ctx, u, cid, 100, pw); return err }
	cases := []struct {
		status                                  walletctl.UserStatus
		pay, cardPay, transfer, topup, withdraw string
	}{
		{walletctl.StatusRestricted, walletctl.CodeAccountRestricted, walletctl.CodeAccountRestricted, walletctl.CodeAccountRestricted, "", ""},
		{walletctl.StatusFrozen, walletctl.CodeAccountFrozen, walletctl.CodeAccountFrozen, walletctl.CodeAccountFrozen, walletctl.CodeAccountFrozen, walletctl.CodeAccountFrozen},
		{walletctl.StatusNormal, "", "", "", "", ""},
	}
	for _, tc := range cases {
		must[*walletctl.User](t)(w.Engine.SetUserStatus(w.Ctx, u, tc.status))
		for _, op := range []struct {
			name string
			f    func() error
			want string
		}{{"pay", pay, tc.pay}, {"card pay", cardPay, tc.cardPay}, {"transfer", transfer, tc.transfer}, {"topup", topup, tc.topup}, {"withdraw", withdraw, tc.withdraw}} {
			err := op.f()
			if got := walletctl.ErrorCode(err); got != op.want {
				t.Errorf("%s %s: %s, want %q (%v)", tc.status, op.name, got, op.want, err)
			}
			if op.want == walletctl.CodeAccountRestricted && !strings.Contains(walletctl.Hint(op.want), "customer service") {
				t.Errorf("restricted hint lacks the seed's advice")
			}
		}
	}
}

func TestClassILimit(t *testing.T) {
	w := newWorld(t)
	rich, cid := w.OpenWallet(card("ok")).IDs()
	must[*walletctl.Txn](t)(w.Engine.TopUp(w.Ctx, rich, cid, 300_000, pw))
	// A class I account (ID checked only) receives money by transfer and pays from balance.
	nf := card("no_funds")
	poor := w.Verified(nf).ID
	if err := w.Engine.SetPassword(w.Ctx, poor, pw); err != nil {
		t.Fatal(err)
	}
	tr := must[*walletctl.Transfer](t)(w.Engine.Transfer(w.Ctx, walletctl.TransferRequest{UserID: rich, To: poor, Amount: 200_000, ConfirmPayee: nf.Name, Password: pw}))
	must[*walletctl.Transfer](t)(w.Engine.AcceptTransfer(w.Ctx, poor, tr.ID))
	must[*walletctl.Txn](t)(w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: poor, Merchant: "m-insurance", Amount: 60_000, Password: pw}))
	must[*walletctl.Txn](t)(w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: poor, Merchant: "m-mobile", Amount: 40_000, Password: pw}))
	_, err := w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: poor, Merchant: "m-cafe", Amount: 1, Password: pw})
	e := code(t, err, walletctl.CodeClassLimit)
	if e.Details["used"] != int64(100_000) || e.Details["period"] != "lifetime" {
		t.Fatalf("details %v", e.Details)
	}
	// Transfers count too; the limit is lifetime, so a year later it still holds.
	must[time.Time](t)(w.Engine.Advance(w.Ctx, 366*24*time.Hour))
	_, err = w.Engine.Transfer(w.Ctx, walletctl.TransferRequest{UserID: poor, To: rich, Amount: 1, Password: pw})
	code(t, err, walletctl.CodeClassLimit)
	k := must[*walletctl.KYC](t)(w.Engine.KYCStatus(w.Ctx, poor))
	if k.Class != 1 || k.UsedFen != 100_000 || k.LimitFen != 100_000 {
		t.Fatalf("kyc %+v", k)
	}
	if w.Balance(poor) != 100_000 {
		t.Fatalf("balance %d", w.Balance(poor))
	}
}

func TestWithdrawFee(t *testing.T) {
	cases := []struct {
		used, amount, fee int64
	}{
		{0, 100_000, 0},            // within the free quota
		{0, 100_001, 10},           // 0.01 over: the minimum fee
		{100_000, 10_000, 10},      // 0.1% of 100 = 0.10
		{100_000, 1_000_000, 1000}, // 0.1% of 10,000 = 10.00
		{50_000, 100_000, 50},      // half over the quota: 0.1% of 500 = 0.50
		{100_000, 15_005, 15},      // 15.005 rounds half up to 0.15
	}
	w := newWorld(t)
	for _, tc := range cases {
		if got := w.Engine.WithdrawFee(tc.used, tc.amount); got != tc.fee {
			t.Errorf("used %d amount %d: fee %d, want %d", tc.used, tc.amount, got, tc.fee)
		}
	}
	c := card("ok")
	u, cid := w.OpenWallet(c, 300_000).IDs()
	before := w.CardBalance(c.CardNo)
	t1 := must[*walletctl.Txn](t)(w.Engine.Withdraw(w.Ctx, u, cid, 80_000, pw))
	t2 := must[*walletctl.Txn](t)(w.Engine.Withdraw(w.Ctx, u, cid, 30_000, pw)) // 100 over the quota: 0.10
	t3 := must[*walletctl.Txn](t)(w.Engine.Withdraw(w.Ctx, u, cid, 100_000, pw))
	if t1.Fee != 0 || t2.Fee != 10 || t3.Fee != 100 || t3.Status != walletctl.TxnSucceeded {
		t.Fatalf("fees %d %d %d", t1.Fee, t2.Fee, t3.Fee)
	}
	if got := w.CardBalance(c.CardNo) - before; got != 210_000-110 {
		t.Fatalf("card received %d", got)
	}
	if w.Balance(u) != 90_000 {
		t.Fatalf("balance %d", w.Balance(u))
	}
	_, err := w.Engine.Withdraw(w.Ctx, u, cid, 10, pw)
	code(t, err, walletctl.CodeInvalidAmount) // not more than the fee
	var fees int64
	w.Store.View(w.Ctx, func(tx walletctl.StoreTx) error { fees, _ = tx.AccountBalance(engine.AcctFees); return nil })
	if fees != 110 {
		t.Fatalf("fees account %d", fees)
	}
	// Withdrawals do not count against the class limit.
	if k := must[*walletctl.KYC](t)(w.Engine.KYCStatus(w.Ctx, u)); k.UsedFen != 0 {
		t.Fatalf("withdrawals counted: %+v", k)
	}
}

func TestPendingDebitReconciledSucceeded(t *testing.T) {
	for _, kind := range []string{"drop_after", "malformed"} {
		t.Run(kind, func(t *testing.T) {
			w := newWorld(t)
			c := card(kind)
			u, cid := w.OpenWallet(c).IDs()
			before := w.CardBalance(c.CardNo)
			tx, err := w.Engine.TopUp(w.Ctx, u, cid, 5000, pw)
			e := code(t, err, walletctl.CodePending)
			if e.Code != walletctl.CodePending || e.Details["txn_id"] != tx.ID || tx.Status != walletctl.TxnPending {
				t.Fatalf("pending: %+v %+v", tx, e.Details)
			}
			// The bank took the money, the wallet does not count it yet.
			b := must[*walletctl.Balance](t)(w.Engine.Balance(w.Ctx, u))
			if w.CardBalance(c.CardNo) != before-5000 || b.Available != 0 || b.Pending != 5000 {
				t.Fatalf("balance %+v", b)
			}
			rep := must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
			if rep.Checked != 1 || rep.Settled != 1 || rep.StillPending != 0 || rep.LedgerSum != 0 || len(rep.Mismatches) != 0 || rep.Matched != 1 {
				t.Fatalf("report %+v", rep)
			}
			got := must[*walletctl.Txn](t)(w.Engine.Transaction(w.Ctx, u, tx.ID))
			if got.Status != walletctl.TxnSucceeded || got.BankTxnID == "" || w.Balance(u) != 5000 {
				t.Fatalf("after reconcile: %+v", got)
			}
			// Reconciling again changes nothing.
			rep = must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
			if rep.Checked != 0 || rep.Matched != 1 || w.Balance(u) != 5000 {
				t.Fatalf("second report %+v", rep)
			}
		})
	}
}

func TestPendingWithdrawHoldsAndRefusedReleases(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	u, cid := w.OpenWallet(c, 10_000).IDs()
	// Refused before the bank saw it: pending, the money held.
	must[*bankapi.Fault](t)(w.Admin.AddFault(w.Ctx, bankapi.Fault{Kind: bankapi.FaultRefuse, Op: bankapi.OpCredit, First: 1}))
	tx, err := w.Engine.Withdraw(w.Ctx, u, cid, 8_000, pw)
	code(t, err, walletctl.CodePending)
	if w.Balance(u) != 2_000 {
		t.Fatalf("not held: %d", w.Balance(u))
	}
	// Nothing is spent twice: the held money cannot pay.
	_, err = w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-cafe", Amount: 5_000, Password: pw})
	code(t, err, walletctl.CodeInsufficientBalance)
	// tx show queries the bank: it never saw the request, so the withdrawal failed and the hold is released.
	got := must[*walletctl.Txn](t)(w.Engine.Transaction(w.Ctx, u, tx.ID))
	if got.Status != walletctl.TxnFailed || w.Balance(u) != 10_000 || len(got.Postings) != 4 {
		t.Fatalf("after query: %+v balance %d", got, w.Balance(u))
	}
}

func TestPendingStaysPendingWhileBankUnknown(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	u, cid := w.OpenWallet(c).IDs()
	must[*bankapi.Fault](t)(w.Admin.AddFault(w.Ctx, bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpDebit, First: 1}))
	tx, err := w.Engine.TopUp(w.Ctx, u, cid, 700, pw)
	code(t, err, walletctl.CodePending)
	must[*bankapi.Fault](t)(w.Admin.AddFault(w.Ctx, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: bankapi.OpTransaction}))
	rep := must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
	if rep.StillPending != 1 || rep.Settled != 0 {
		t.Fatalf("report %+v", rep)
	}
	// The statement shows the bank's debit: reported, not guessed.
	if len(rep.Mismatches) != 1 || !strings.Contains(rep.Mismatches[0], tx.ID) {
		t.Fatalf("mismatches %v", rep.Mismatches)
	}
	must[struct{}](t)(struct{}{}, w.Admin.ClearFaults(w.Ctx))
	rep = must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
	if rep.Settled != 1 || len(rep.Mismatches) != 0 || w.Balance(u) != 700 {
		t.Fatalf("report %+v", rep)
	}
}

func TestCardPaymentPendingThenFailed(t *testing.T) {
	w := newWorld(t)
	c := card("refuse")
	u, cid := w.OpenWallet(c).IDs()
	tx, err := w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-rail", Amount: 12_000, Source: "card:" + cid, Password: pw})
	code(t, err, walletctl.CodePending)
	rep := must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
	if rep.Failed != 1 || len(rep.Mismatches) != 0 {
		t.Fatalf("report %+v", rep)
	}
	got := must[*walletctl.Txn](t)(w.Engine.Transaction(w.Ctx, u, tx.ID))
	if got.Status != walletctl.TxnFailed || len(got.Postings) != 0 {
		t.Fatalf("txn %+v", got)
	}
}

func TestIdempotentRetries(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	u, cid := w.OpenWallet(c).IDs()
	before := w.CardBalance(c.CardNo)
	ctx := walletctl.WithIdempotencyKey(w.Ctx, "order-42")
	// The first attempt's answer is lost; the retry with the same key settles it, once.
	must[*bankapi.Fault](t)(w.Admin.AddFault(w.Ctx, bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpDebit, First: 1}))
	t1, err := w.Engine.TopUp(ctx, u, cid, 3_000, pw)
	code(t, err, walletctl.CodePending)
	t2 := must[*walletctl.Txn](t)(w.Engine.TopUp(ctx, u, cid, 3_000, pw))
	t3 := must[*walletctl.Txn](t)(w.Engine.TopUp(ctx, u, cid, 3_000, pw))
	if t1.ID != t2.ID || t2.ID != t3.ID || t3.Status != walletctl.TxnSucceeded {
		t.Fatalf("retries: %s %s %s", t1.ID, t2.ID, t3.ID)
	}
	if w.Balance(u) != 3_000 || w.CardBalance(c.CardNo) != before-3_000 {
		t.Fatalf("charged twice: wallet %d card %d", w.Balance(u), before-w.CardBalance(c.CardNo))
	}
	_, err = w.Engine.TopUp(ctx, u, cid, 3_001, pw)
	code(t, err, walletctl.CodeConflict)
	// Balance payments too.
	pctx := walletctl.WithIdempotencyKey(w.Ctx, "coffee")
	p1 := must[*walletctl.Txn](t)(w.Engine.Pay(pctx, walletctl.PayRequest{UserID: u, Merchant: "m-cafe", Amount: 1_000, Password: pw}))
	p2 := must[*walletctl.Txn](t)(w.Engine.Pay(pctx, walletctl.PayRequest{UserID: u, Merchant: "m-cafe", Amount: 1_000, Password: pw}))
	if p1.ID != p2.ID || w.Balance(u) != 2_000 {
		t.Fatalf("pay retried twice: %s %s %d", p1.ID, p2.ID, w.Balance(u))
	}
}

func TestVelocityAndDailyLimits(t *testing.T) {
	w := newWorld(t, testworld.Settings(func(s *walletctl.Settings) {
		s.VelocityMax, s.DailyLimit = 3, 10_000
	}))
	u, cid := w.OpenWallet(card("ok")).IDs()
	payCard := func(amount int64) error {
		_, err := w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-cafe", Amount: amount, Source: "card:" + cid, Password: pw})
		return err
	}
	for i := 0; i < 3; i++ {
		if err := payCard(100); err != nil {
			t.Fatal(err)
		}
	}
	code(t, payCard(100), walletctl.CodeVelocityLimit)
	must[time.Time](t)(w.Engine.Advance(w.Ctx, 10*time.Minute))
	if err := payCard(100); err != nil {
		t.Fatal(err)
	}
	code(t, payCard(9_601), walletctl.CodeDailyLimit)
	if err := payCard(9_600); err != nil {
		t.Fatal(err)
	}
	// The next Shanghai calendar day starts afresh (the epoch is 09:00; 15 h later is tomorrow).
	must[time.Time](t)(w.Engine.Advance(w.Ctx, 15*time.Hour))
	if err := payCard(5_000); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentPayments(t *testing.T) {
	w := newWorld(t, testworld.Settings(func(s *walletctl.Settings) { s.VelocityMax = 0 }))
	u, cid := w.OpenWallet(card("ok"), 10_000).IDs()
	// 40 goroutines try to spend 500 each from a balance of 10,000: exactly 20 succeed.
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req := walletctl.PayRequest{UserID: u, Merchant: "m-cafe", Amount: 500, Password: pw}
			if i%4 == 0 {
				req.Source = "card:" + cid
			}
			_, err := w.Engine.Pay(w.Ctx, req)
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	ok, short := 0, 0
	for err := range errs {
		switch walletctl.ErrorCode(err) {
		case "":
			ok++
		case walletctl.CodeInsufficientBalance:
			short++
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	if ok != 30 || short != 10 || w.Balance(u) != 0 {
		t.Fatalf("ok %d short %d balance %d", ok, short, w.Balance(u))
	}
	txs := must[[]walletctl.Txn](t)(walletctl.Items(w.Engine.Transactions(w.Ctx, u, walletctl.MaxPage)))
	if len(txs) != 31 {
		t.Fatalf("%d txns", len(txs))
	}
	seen := map[string]bool{}
	for _, tx := range txs {
		if seen[tx.ID] {
			t.Fatalf("duplicate id %s", tx.ID)
		}
		seen[tx.ID] = true
	}
	_ = fmt.Sprint()
}

// Amounts above the bank's maximum (and those that would overflow a sum) are INVALID_AMOUNT before
// anything is recorded: no txn, no transfer, no bank call, no balance moved. The bank would refuse
// them too, but only after the wallet had recorded a pending top-up (then INTERNAL).
func TestAmountAboveBankMaximum(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	u, cid := w.OpenWallet(c, 10_000).IDs()
	payee := w.Verified(card("credit")).ID
	txns := len(must[[]walletctl.Txn](t)(walletctl.Items(w.Engine.Transactions(w.Ctx, u, walletctl.MaxPage))))
	journal := len(must[[]bankapi.JournalEntry](t)(bankapi.AllJournal(w.Ctx, w.Admin)))
	cardBefore := w.CardBalance(c.CardNo)
	for _, amount := range []int64{walletctl.MaxAmount + 1, math.MaxInt64} {
		_, err := w.Engine.TopUp(w.Ctx, u, cid, amount, pw)
		code(t, err, walletctl.CodeInvalidAmount)
		_, err = w.Engine.Withdraw(w.Ctx, u, cid, amount, pw)
		code(t, err, walletctl.CodeInvalidAmount)
		for _, src := range []string{"balance", "card:" + cid} {
			_, err = w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-rail", Amount: amount, Source: src, Password: pw})
			code(t, err, walletctl.CodeInvalidAmount)
		}
		_, err = w.Engine.PreviewTransfer(w.Ctx, u, payee, amount)
		code(t, err, walletctl.CodeInvalidAmount)
		_, err = w.Engine.Transfer(w.Ctx, walletctl.TransferRequest{UserID: u, To: payee, Amount: amount, Password: pw})
		code(t, err, walletctl.CodeInvalidAmount)
	}
	if n := len(must[[]walletctl.Txn](t)(walletctl.Items(w.Engine.Transactions(w.Ctx, u, walletctl.MaxPage)))); n != txns {
		t.Fatalf("%d txns recorded for refused amounts", n-txns)
	}
	if n := len(must[[]walletctl.Transfer](t)(walletctl.Items(w.Engine.Transfers(w.Ctx, u, walletctl.MaxPage)))); n != 0 {
		t.Fatalf("%d transfers recorded for refused amounts", n)
	}
	if n := len(must[[]bankapi.JournalEntry](t)(bankapi.AllJournal(w.Ctx, w.Admin))); n != journal {
		t.Fatalf("the bank was called %d times for refused amounts", n-journal)
	}
	if w.Balance(u) != 10_000 || w.CardBalance(c.CardNo) != cardBefore {
		t.Fatal("money moved")
	}
	// The maximum itself is an amount like any other: refused for the balance it needs, not its size.
	_, err := w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-rail", Amount: walletctl.MaxAmount, Password: pw})
	if walletctl.ErrorCode(err) == walletctl.CodeInvalidAmount {
		t.Fatalf("the maximum itself refused: %v", err)
	}
}
