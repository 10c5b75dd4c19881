package engine

import (
	"testing"

	"github.com/walletctl/walletctl/walletctl"
)

func TestOpenWalletFlow(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	u, cid := w.ready(c)
	before := w.cardBalance(c.CardNo)
	tx := must[*walletctl.Txn](t)(w.eng.TopUp(w.ctx, u, cid, 10000, pw))
	if tx.Status != walletctl.TxnSucceeded || w.balance(u) != 10000 || w.cardBalance(c.CardNo) != before-10000 {
		t.Fatalf("top-up: %+v, balance %d", tx, w.balance(u))
	}
	pay := must[*walletctl.Txn](t)(w.eng.Pay(w.ctx, walletctl.PayRequest{UserID: u, Merchant: "m-cinema", Amount: 4500, Password: pw}))
	if pay.Status != walletctl.TxnSucceeded || w.balance(u) != 5500 {
		t.Fatalf("pay: %+v balance %d", pay, w.balance(u))
	}
	k := must[*walletctl.KYC](t)(w.eng.KYCStatus(w.ctx, u))
	if k.Class != 2 || k.UsedFen != 4500 || k.LimitPeriod != "year" {
		t.Fatalf("kyc: %+v", k)
	}
	show := must[*walletctl.Txn](t)(w.eng.Transaction(w.ctx, u, pay.ID))
	if len(show.Postings) != 2 {
		t.Fatalf("postings: %+v", show.Postings)
	}
}
