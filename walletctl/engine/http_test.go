package engine

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// TestOverHTTP drives the same flows with the bank behind a real loopback server, through
// bankmock/client: the adapter must give the same results as in-process.
func TestOverHTTP(t *testing.T) {
	clock := vclock.NewManual(vclock.DefaultEpoch)
	b := bankmock.New(bankmock.Config{Seed: 7, Customers: 5, Clock: clock})
	srv := server.New(b, server.Options{AdminToken: "test-admin"})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { srv.ReleaseHangs(); ts.Close() })
	cl := client.New(ts.URL, client.Options{AdminToken: "test-admin", Timeout: 2 * time.Second, Retries: -1})
	w := newWorldWith(t, clock, cl, cl, walletctl.SandboxSettings())

	// Bind: a wrong phone names the field over the wire too, then the real bind works.
	c := card("ok")
	u := w.verified(c)
	_, err := w.eng.BindCard(w.ctx, u, c.CardNo, "13912345678")
	e := code(t, err, walletctl.CodeCardInfoMismatch)
	if f, _ := e.Details["fields"].([]string); len(f) != 1 || f[0] != "phone" {
		t.Fatalf("fields %v", e.Details)
	}
	cid := w.bind(u, c)
	if err := w.eng.SetPassword(w.ctx, u, pw); err != nil {
		t.Fatal(err)
	}
	// Top-up.
	if tx := must[*walletctl.Txn](t)(w.eng.TopUp(w.ctx, u, cid, 8_000, pw)); tx.Status != walletctl.TxnSucceeded {
		t.Fatalf("top-up %+v", tx)
	}
	// A dropped answer (admin rule) leaves it pending; reconcile settles it succeeded.
	must[*bankapi.Fault](t)(w.admin.AddFault(w.ctx, bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpDebit, First: 1}))
	tx, err := w.eng.TopUp(w.ctx, u, cid, 2_000, pw)
	code(t, err, walletctl.CodePending)
	rep := must[*walletctl.ReconcileReport](t)(w.eng.Reconcile(w.ctx, ""))
	if rep.Settled != 1 || rep.Matched != 2 || len(rep.Mismatches) != 0 || rep.LedgerSum != 0 {
		t.Fatalf("report %+v", rep)
	}
	if got := must[*walletctl.Txn](t)(w.eng.Transaction(w.ctx, u, tx.ID)); got.Status != walletctl.TxnSucceeded || w.balance(u) != 10_000 {
		t.Fatalf("txn %+v balance %d", got, w.balance(u))
	}
	// A refused connection (magic amount 444.44) is pending, then failed: the bank never saw it.
	_, err = w.eng.TopUp(w.ctx, u, cid, 44_444, pw)
	code(t, err, walletctl.CodePending)
	rep = must[*walletctl.ReconcileReport](t)(w.eng.Reconcile(w.ctx, ""))
	if rep.Failed != 1 || len(rep.Mismatches) != 0 {
		t.Fatalf("report %+v", rep)
	}
	// Empty card over HTTP: the bank's decline and response code come through.
	nf := card("no_funds")
	u2, cid2 := w.ready(nf)
	_, err = w.eng.TopUp(w.ctx, u2, cid2, 100, pw)
	if e := code(t, err, walletctl.CodeInsufficientFunds); e.Details["resp_code"] != "51" {
		t.Fatalf("details %v", e.Details)
	}
	// KYC against the registry over HTTP.
	u3 := must[*walletctl.User](t)(w.eng.Register(w.ctx, "13900000003"))
	_, err = w.eng.SubmitKYC(w.ctx, u3.ID, "张三", card("frozen").IDNo)
	code(t, err, walletctl.CodeKYCFailed)
}
