package engine

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// Nothing listening at the bank's address (a closed port): the request never left, so a top-up is
// NETWORK_ERROR and its txn failed, never PENDING; the money stays where it was, a retry is safe.
func TestRefusedConnectionIsNotPending(t *testing.T) {
	clock := vclock.NewManual(vclock.DefaultEpoch)
	b := bankmock.New(bankmock.Config{Seed: 7, Customers: 5, Clock: clock})
	srv := server.New(b, server.Options{AdminToken: "test-admin"})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { srv.ReleaseHangs(); ts.Close() })
	cl := client.New(ts.URL, client.Options{AdminToken: "test-admin", Timeout: 2 * time.Second, Retries: 2, Backoff: time.Millisecond})
	w := newWorldWith(t, clock, cl, cl, walletctl.SandboxSettings())
	u, cid := w.ready(card("ok"))
	if tx := must[*walletctl.Txn](t)(w.eng.TopUp(w.ctx, u, cid, 1_000, pw)); tx.Status != walletctl.TxnSucceeded {
		t.Fatalf("top-up %+v", tx)
	}
	ts.Close() // the port is closed now: every connection is refused

	tx, err := w.eng.TopUp(w.ctx, u, cid, 2_000, pw)
	e := code(t, err, walletctl.CodeNetwork)
	if tx != nil && tx.Status == walletctl.TxnPending {
		t.Fatalf("a refused connection left the txn pending: %+v", tx)
	}
	if tx != nil {
		got := must[*walletctl.Txn](t)(w.eng.Transaction(w.ctx, u, tx.ID))
		if got.Status != walletctl.TxnFailed {
			t.Fatalf("txn after a refused connection: %+v (%v)", got, e)
		}
	}
	if bal := w.balance(u); bal != 1_000 {
		t.Fatalf("balance %d after a refused top-up, want 1000", bal)
	}
	w.checkLedger()
}
