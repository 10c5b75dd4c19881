package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// twoUsers: a funded payer (class II) and a verified payee.
func twoUsers(t *testing.T, w *world) (payer, payee, payeeName string) {
	t.Helper()
	payer, cid := w.OpenWallet(card("ok")).IDs()
	must[*walletctl.Txn](t)(w.Engine.TopUp(w.Ctx, payer, cid, 500_000, pw))
	nf := card("no_funds")
	payee = w.Verified(nf).ID
	return payer, payee, nf.Name
}

func TestTransferPreviewAndConfirmation(t *testing.T) {
	w := newWorld(t)
	payer, payee, name := twoUsers(t, w)
	pv := must[*walletctl.TransferPreview](t)(w.Engine.PreviewTransfer(w.Ctx, payer, card("no_funds").Phone, 50_000))
	if pv.To != payee || pv.PayeeNameMasked != "*娜" || !pv.Stranger || !pv.NeedsConfirmation {
		t.Fatalf("preview %+v", pv)
	}
	if pv := must[*walletctl.TransferPreview](t)(w.Engine.PreviewTransfer(w.Ctx, payer, payee, 49_999)); pv.NeedsConfirmation {
		t.Fatalf("below threshold needs confirmation: %+v", pv)
	}
	req := walletctl.TransferRequest{UserID: payer, To: payee, Amount: 50_000, Password: pw}
	_, err := w.Engine.Transfer(w.Ctx, req)
	e := code(t, err, walletctl.CodePayeeConfirm)
	if e.Details["payee_name_masked"] != "*娜" {
		t.Fatalf("details %v", e.Details)
	}
	req.ConfirmPayee = "王娜"
	_, err = w.Engine.Transfer(w.Ctx, req)
	code(t, err, walletctl.CodePayeeMismatch)
	// The confirmation failures cost no password attempt and move no money.
	if b := w.Balance(payer); b != 500_000 {
		t.Fatalf("balance %d", b)
	}
	req.ConfirmPayee = name
	tr := must[*walletctl.Transfer](t)(w.Engine.Transfer(w.Ctx, req))
	if tr.Status != walletctl.TransferArrived || tr.Delay != "none" || !tr.ArrivesAt.Equal(w.Clock.Now()) || !tr.RefundAt.Equal(w.Clock.Now().Add(24*time.Hour)) {
		t.Fatalf("transfer %+v", tr)
	}
	b := must[*walletctl.Balance](t)(w.Engine.Balance(w.Ctx, payer))
	if b.Available != 450_000 || b.InTransit != 50_000 {
		t.Fatalf("payer balance %+v", b)
	}
	if b := must[*walletctl.Balance](t)(w.Engine.Balance(w.Ctx, payee)); b.Incoming != 50_000 || b.Available != 0 {
		t.Fatalf("payee balance %+v", b)
	}
	acc := must[*walletctl.Transfer](t)(w.Engine.AcceptTransfer(w.Ctx, payee, tr.ID))
	if acc.Status != walletctl.TransferAccepted || w.Balance(payee) != 50_000 {
		t.Fatalf("accepted %+v", acc)
	}
	_, err = w.Engine.AcceptTransfer(w.Ctx, payee, tr.ID)
	code(t, err, walletctl.CodeTransferState)
	// No longer strangers: a large transfer needs no confirmation now, either way.
	if pv := must[*walletctl.TransferPreview](t)(w.Engine.PreviewTransfer(w.Ctx, payee, payer, 50_000)); pv.Stranger || pv.NeedsConfirmation {
		t.Fatalf("preview after accepted transfer %+v", pv)
	}
	if !slices.Contains(w.events(payer), "large_transfer_confirmed") {
		t.Fatalf("security log %v", w.events(payer))
	}
	// Payee seen in history.
	if txs := must[[]walletctl.Txn](t)(walletctl.Items(w.Engine.Transactions(w.Ctx, payee, walletctl.MaxPage))); len(txs) != 1 || txs[0].ID != tr.ID || txs[0].Status != walletctl.TxnSucceeded {
		t.Fatalf("payee history %+v", txs)
	}
}

func TestTransferRules(t *testing.T) {
	w := newWorld(t)
	payer, payee, _ := twoUsers(t, w)
	unverified := must[*walletctl.User](t)(w.Engine.Register(w.Ctx, "13900000009"))
	for _, tc := range []struct {
		req  walletctl.TransferRequest
		code string
	}{
		{walletctl.TransferRequest{UserID: payer, To: payer, Amount: 100, Password: pw}, walletctl.CodeInvalidArgument},
		{walletctl.TransferRequest{UserID: payer, To: unverified.ID, Amount: 100, Password: pw}, walletctl.CodeKYCRequired},
		{walletctl.TransferRequest{UserID: payer, To: "u99", Amount: 100, Password: pw}, walletctl.CodeNotFound},
		{walletctl.TransferRequest{UserID: payer, To: payee, Amount: 100, Delay: "1h", Password: pw}, walletctl.CodeInvalidArgument},
		{walletctl.TransferRequest{UserID: payer, To: payee, Amount: -1, Password: pw}, walletctl.CodeInvalidAmount},
		{walletctl.TransferRequest{UserID: payer, To: payee, Amount: 100, Password: "902741"}, walletctl.CodePasswordWrong},
		{walletctl.TransferRequest{UserID: payer, To: payee, Amount: 600_000, ConfirmPayee: card("no_funds").Name, Password: pw}, walletctl.CodeInsufficientBalance},
	} {
		_, err := w.Engine.Transfer(w.Ctx, tc.req)
		code(t, err, tc.code)
	}
}

func TestDelayedTransferCancelAndArrival(t *testing.T) {
	w := newWorld(t)
	payer, payee, _ := twoUsers(t, w)
	tr := must[*walletctl.Transfer](t)(w.Engine.Transfer(w.Ctx, walletctl.TransferRequest{UserID: payer, To: payee, Amount: 10_000, Delay: "2h", Password: pw}))
	if tr.Status != walletctl.TransferScheduled || !tr.ArrivesAt.Equal(w.Clock.Now().Add(2*time.Hour)) {
		t.Fatalf("scheduled %+v", tr)
	}
	_, err := w.Engine.AcceptTransfer(w.Ctx, payee, tr.ID)
	code(t, err, walletctl.CodeTransferState) // not arrived yet
	_, err = w.Engine.CancelTransfer(w.Ctx, payee, tr.ID)
	code(t, err, walletctl.CodeNotFound) // only the payer cancels
	must[time.Time](t)(w.Engine.Advance(w.Ctx, time.Hour))
	c := must[*walletctl.Transfer](t)(w.Engine.CancelTransfer(w.Ctx, payer, tr.ID))
	if c.Status != walletctl.TransferCancelled || w.Balance(payer) != 500_000 {
		t.Fatalf("cancelled %+v balance %d", c, w.Balance(payer))
	}
	// Next day: arrives after 24 h, cannot be cancelled after that, then is accepted.
	tr2 := must[*walletctl.Transfer](t)(w.Engine.Transfer(w.Ctx, walletctl.TransferRequest{UserID: payer, To: payee, Amount: 20_000, Delay: "24h", Password: pw}))
	must[time.Time](t)(w.Engine.Advance(w.Ctx, 24*time.Hour))
	_, err = w.Engine.CancelTransfer(w.Ctx, payer, tr2.ID)
	code(t, err, walletctl.CodeTransferState)
	must[*walletctl.Transfer](t)(w.Engine.AcceptTransfer(w.Ctx, payee, tr2.ID))
	if w.Balance(payee) != 20_000 || w.Balance(payer) != 480_000 {
		t.Fatalf("balances %d %d", w.Balance(payee), w.Balance(payer))
	}
	trs := must[[]walletctl.Transfer](t)(walletctl.Items(w.Engine.Transfers(w.Ctx, payee, walletctl.MaxPage)))
	if len(trs) != 2 || trs[1].Status != walletctl.TransferCancelled || trs[0].Status != walletctl.TransferAccepted { // newest first
		t.Fatalf("transfers %+v", trs)
	}
	// The cancelled one is a failed transfer txn plus a refund txn.
	txs := must[[]walletctl.Txn](t)(walletctl.Items(w.Engine.Transactions(w.Ctx, payer, walletctl.MaxPage)))
	kinds := map[string]int{}
	for _, tx := range txs {
		kinds[tx.Kind+"/"+tx.Status]++
	}
	if kinds["transfer/failed"] != 1 || kinds["refund/succeeded"] != 1 || kinds["transfer/succeeded"] != 1 {
		t.Fatalf("payer txns %v", kinds)
	}
}

func TestUnacceptedTransferRefundsAfter24h(t *testing.T) {
	w := newWorld(t)
	payer, payee, _ := twoUsers(t, w)
	tr := must[*walletctl.Transfer](t)(w.Engine.Transfer(w.Ctx, walletctl.TransferRequest{UserID: payer, To: payee, Amount: 10_000, Delay: "2h", Password: pw}))
	// Arrives at +2h; refund due at +26h. The clock passes by without the engine being called;
	// the first operation afterwards does the due work.
	w.Clock.Advance(26*time.Hour - time.Second)
	if got := must[[]walletctl.Transfer](t)(walletctl.Items(w.Engine.Transfers(w.Ctx, payer, walletctl.MaxPage))); got[0].Status != walletctl.TransferArrived {
		t.Fatalf("status %s", got[0].Status)
	}
	w.Clock.Advance(time.Second)
	if b := w.Balance(payer); b != 500_000 {
		t.Fatalf("not refunded: %d", b)
	}
	got := must[[]walletctl.Transfer](t)(walletctl.Items(w.Engine.Transfers(w.Ctx, payer, walletctl.MaxPage)))
	if got[0].Status != walletctl.TransferRefunded || got[0].DoneAt == nil || !got[0].DoneAt.Equal(tr.RefundAt) {
		t.Fatalf("transfer %+v", got[0])
	}
	_, err := w.Engine.AcceptTransfer(w.Ctx, payee, tr.ID)
	code(t, err, walletctl.CodeTransferState)
}
