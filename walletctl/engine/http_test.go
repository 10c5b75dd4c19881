package engine_test

import (
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
)

// TestOverHTTP drives the same flows with the bank behind a real loopback server, through
// bankmock/client: the adapter must give the same results as in-process.
func TestOverHTTP(t *testing.T) {
	w := newWorld(t, testworld.Loopback("test-admin"), testworld.Client(client.Options{Retries: -1}))

	// Bind: a wrong phone names the field over the wire too, then the real bind works.
	c := card("ok")
	u := w.Verified(c).ID
	_, err := w.Engine.BindCard(w.Ctx, u, c.CardNo, "13912345678")
	e := code(t, err, walletctl.CodeCardInfoMismatch)
	if f, _ := e.Details["fields"].([]string); len(f) != 1 || f[0] != "phone" {
		t.Fatalf("fields %v", e.Details)
	}
	cid := w.Bind(u, c).ID
	if err := w.Engine.SetPassword(w.Ctx, u, pw); err != nil {
		t.Fatal(err)
	}
	// Top-up.
	if tx := must[*walletctl.Txn](t)(w.Engine.TopUp(w.Ctx, u, cid, 8_000, pw)); tx.Status != walletctl.TxnSucceeded {
		t.Fatalf("top-up %+v", tx)
	}
	// A dropped answer (admin rule) leaves it pending; reconcile settles it succeeded.
	must[*bankapi.Fault](t)(w.Admin.AddFault(w.Ctx, bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpDebit, First: 1}))
	tx, err := w.Engine.TopUp(w.Ctx, u, cid, 2_000, pw)
	code(t, err, walletctl.CodePending)
	rep := must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
	if rep.Settled != 1 || rep.Matched != 2 || len(rep.Mismatches) != 0 || rep.LedgerSum != 0 {
		t.Fatalf("report %+v", rep)
	}
	if got := must[*walletctl.Txn](t)(w.Engine.Transaction(w.Ctx, u, tx.ID)); got.Status != walletctl.TxnSucceeded || w.Balance(u) != 10_000 {
		t.Fatalf("txn %+v balance %d", got, w.Balance(u))
	}
	// A refused connection (magic amount 444.44) is pending, then failed: the bank never saw it.
	_, err = w.Engine.TopUp(w.Ctx, u, cid, 44_444, pw)
	code(t, err, walletctl.CodePending)
	rep = must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
	if rep.Failed != 1 || len(rep.Mismatches) != 0 {
		t.Fatalf("report %+v", rep)
	}
	// Empty card over HTTP: the bank's decline and response code come through.
	nf := card("no_funds")
	u2, cid2 := w.OpenWallet(nf).IDs()
	_, err = w.Engine.TopUp(w.Ctx, u2, cid2, 100, pw)
	if e := code(t, err, walletctl.CodeInsufficientFunds); e.Details["resp_code"] != "51" {
		t.Fatalf("details %v", e.Details)
	}
	// KYC against the registry over HTTP.
	u3 := must[*walletctl.User](t)(w.Engine.Register(w.Ctx, "13900000003"))
	_, err = w.Engine.SubmitKYC(w.Ctx, u3.ID, "张三", card("frozen").IDNo)
	code(t, err, walletctl.CodeKYCFailed)
}

// Nothing listening at the bank's address (a closed port): the request never left, so a top-up is
// NETWORK_ERROR and its txn failed, never PENDING; the money stays where it was, a retry is safe.
func TestRefusedConnectionIsNotPending(t *testing.T) {
	w := newWorld(t, testworld.Loopback("test-admin"), testworld.Client(client.Options{Retries: 2}))
	// A top-up that succeeds, then the port is closed: every connection is refused.
	u, cid := w.OpenWallet(card("ok"), 1_000).IDs()
	w.HTTP.Close()

	tx, err := w.Engine.TopUp(w.Ctx, u, cid, 2_000, pw)
	e := code(t, err, walletctl.CodeNetwork)
	if tx != nil && tx.Status == walletctl.TxnPending {
		t.Fatalf("a refused connection left the txn pending: %+v", tx)
	}
	if tx != nil {
		got := must[*walletctl.Txn](t)(w.Engine.Transaction(w.Ctx, u, tx.ID))
		if got.Status != walletctl.TxnFailed {
			t.Fatalf("txn after a refused connection: %+v (%v)", got, e)
		}
	}
	if bal := w.Balance(u); bal != 1_000 {
		t.Fatalf("balance %d after a refused top-up, want 1000", bal)
	}
	w.CheckLedger()
}
