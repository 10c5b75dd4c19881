package engine_test

import (
	"fmt"
	"testing"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
)

// pagingWorld is a payee whose list mixes its own payments (user_id its own) with the transfers it
// received (user_id the payer's): the two branches a user's list merges.
func pagingWorld(t *testing.T) (w *world, payer, payee string, pay, send func()) {
	w = newWorld(t, testworld.Settings(func(s *walletctl.Settings) { s.VelocityMax = 0 }))
	payer, cid := w.OpenWallet(card("ok")).IDs()
	must[*walletctl.Txn](t)(w.Engine.TopUp(w.Ctx, payer, cid, 500_000, pw))
	payee = w.OpenWallet(card("no_funds")).User.ID
	send = func() {
		t.Helper()
		tr := must[*walletctl.Transfer](t)(w.Engine.Transfer(w.Ctx, walletctl.TransferRequest{UserID: payer, To: payee, Amount: 300, Delay: "none", Password: pw}))
		if tr.Status == walletctl.TransferArrived {
			must[*walletctl.Transfer](t)(w.Engine.AcceptTransfer(w.Ctx, payee, tr.ID))
		}
	}
	pay = func() {
		t.Helper()
		must[*walletctl.Txn](t)(w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: payee, Merchant: "m-cafe", Amount: 100, Source: "balance", Password: pw}))
	}
	return w, payer, payee, pay, send
}

// TestPagingWalksEveryTxnOnceUnderInserts walks a user's transactions page by page while new ones
// (own payments and incoming transfers) are made between the pages: every transaction that was
// there when the walk started is seen exactly once, newest first, and none made meanwhile.
func TestPagingWalksEveryTxnOnceUnderInserts(t *testing.T) {
	w, _, payee, pay, send := pagingWorld(t)
	for i := 0; i < 12; i++ {
		send()
		pay()
		if i%3 == 0 {
			pay()
		}
	}
	before := must[[]walletctl.Txn](t)(walletctl.Items(w.Engine.Transactions(w.Ctx, payee, walletctl.MaxPage)))
	if len(before) < 25 {
		t.Fatalf("%d txns to walk", len(before))
	}
	want := map[string]bool{}
	for _, x := range before {
		want[x.ID] = true
	}
	seen := map[string]int{}
	var order []string
	p := walletctl.Page{Limit: 7}
	pages := 0
	for {
		l := must[*walletctl.List[walletctl.Txn]](t)(w.Engine.Transactions(w.Ctx, payee, p))
		pages++
		if len(l.Data) > 7 {
			t.Fatalf("a page of limit 7 holds %d", len(l.Data))
		}
		for _, x := range l.Data {
			seen[x.ID]++
			order = append(order, x.ID)
		}
		// New ones arrive between two pages.
		send()
		pay()
		next := walletctl.NextPage(p, l, func(x walletctl.Txn) string { return x.ID })
		if next == nil {
			break
		}
		p = *next
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%s seen %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if !want[id] {
			t.Errorf("%s (made during the walk) seen %d times", id, n)
		}
	}
	for i := 1; i < len(order); i++ {
		if num(order[i]) >= num(order[i-1]) {
			t.Fatalf("not newest first: %v", order)
		}
	}
	if pages != (len(before)+6)/7 {
		t.Errorf("%d pages for %d txns of 7 a page", pages, len(before))
	}
	// ending_before the newest seen shows what was made during the walk, and only that.
	newer := must[*walletctl.List[walletctl.Txn]](t)(w.Engine.Transactions(w.Ctx, payee, walletctl.Page{Limit: 100, EndingBefore: order[0]}))
	if len(newer.Data) != 2*pages || newer.HasMore {
		t.Errorf("ending_before %s: %d txns (has_more %v), want %d made during the walk", order[0], len(newer.Data), newer.HasMore, 2*pages)
	}
	for _, x := range newer.Data {
		if want[x.ID] {
			t.Errorf("ending_before %s holds %s, which is older", order[0], x.ID)
		}
	}
	// A page of the newer side walked toward the newest says more follow while they do.
	step := must[*walletctl.List[walletctl.Txn]](t)(w.Engine.Transactions(w.Ctx, payee, walletctl.Page{Limit: 1, EndingBefore: order[0]}))
	if len(step.Data) != 1 || !step.HasMore {
		t.Errorf("ending_before %s limit 1: %+v", order[0], step)
	}
}

func num(id string) int {
	var n int
	fmt.Sscanf(id[1:], "%d", &n)
	return n
}

// TestPagingRefusesBadPages: a limit out of 1–100, both cursors, and a cursor that names nothing
// of the list (another user's transaction included) are INVALID_ARGUMENT with a hint, never a
// silent first page.
func TestPagingRefusesBadPages(t *testing.T) {
	w, payer, payee, pay, send := pagingWorld(t)
	send()
	pay()
	payerTxns := must[[]walletctl.Txn](t)(walletctl.Items(w.Engine.Transactions(w.Ctx, payer, walletctl.MaxPage)))
	mine := payerTxns[len(payerTxns)-1].ID // the payer's top-up: the oldest of its list
	for _, p := range []walletctl.Page{{Limit: -1}, {Limit: 101}, {StartingAfter: "t1", EndingBefore: "t2"},
		{StartingAfter: "t999"}, {EndingBefore: "nope"}} {
		_, err := w.Engine.Transactions(w.Ctx, payee, p)
		code(t, err, walletctl.CodeInvalidArgument)
	}
	// The payer's top-up is not in the payee's list: naming it is an unknown cursor, not a leak.
	_, err := w.Engine.Transactions(w.Ctx, payee, walletctl.Page{StartingAfter: mine})
	if e := code(t, err, walletctl.CodeInvalidArgument); e.Details["param"] != "starting_after" {
		t.Errorf("details %v", e.Details)
	}
	for _, s := range []string{"0", "101", "abc", "-3", "1.5"} {
		if _, err := walletctl.ParseLimit(s); walletctl.ErrorCode(err) != walletctl.CodeInvalidArgument {
			t.Errorf("limit %q: %v", s, err)
		}
	}
	if n, err := walletctl.ParseLimit(""); n != 0 || err != nil {
		t.Errorf("no limit: %d %v", n, err)
	}
	// Every paged list of the engine refuses the same way.
	bad := walletctl.Page{StartingAfter: "x404"}
	for name, call := range map[string]func() error{
		"users":     func() error { _, err := w.Engine.Users(w.Ctx, bad); return err },
		"cards":     func() error { _, err := w.Engine.Cards(w.Ctx, payee, bad); return err },
		"transfers": func() error { _, err := w.Engine.Transfers(w.Ctx, payee, bad); return err },
		"security":  func() error { _, err := w.Engine.SecurityLog(w.Ctx, payee, bad); return err },
		"merchants": func() error { _, err := w.Engine.Merchants(w.Ctx, bad); return err },
		"notifications": func() error {
			_, err := w.Engine.Notifications(w.Ctx, walletctl.NotificationFilter{}, bad)
			return err
		},
	} {
		if err := call(); walletctl.ErrorCode(err) != walletctl.CodeInvalidArgument {
			t.Errorf("%s starting_after x404: %v", name, err)
		}
	}
}

// TestPagingDefaultIsTwentyNewest: no page asked is the newest 20, and has_more says more follow.
func TestPagingDefaultIsTwentyNewest(t *testing.T) {
	w, _, payee, pay, send := pagingWorld(t)
	for i := 0; i < 8; i++ {
		send()
	}
	for i := 0; i < 18; i++ {
		pay()
	}
	l := must[*walletctl.List[walletctl.Txn]](t)(w.Engine.Transactions(w.Ctx, payee, walletctl.Page{}))
	all := must[[]walletctl.Txn](t)(walletctl.Items(w.Engine.Transactions(w.Ctx, payee, walletctl.MaxPage)))
	if len(l.Data) != walletctl.DefaultPageLimit || !l.HasMore || l.Data[0].ID != all[0].ID || len(all) != 26 {
		t.Fatalf("default page: %d items, has_more %v, first %s; all %d first %s", len(l.Data), l.HasMore, l.Data[0].ID, len(all), all[0].ID)
	}
	// Security events page by their seq.
	evs := must[*walletctl.List[walletctl.SecurityEvent]](t)(w.Engine.SecurityLog(w.Ctx, payee, walletctl.Page{Limit: 2}))
	rest := must[*walletctl.List[walletctl.SecurityEvent]](t)(w.Engine.SecurityLog(w.Ctx, payee, walletctl.Page{StartingAfter: fmt.Sprint(evs.Data[1].Seq)}))
	if len(evs.Data) != 2 || !evs.HasMore || len(rest.Data) == 0 || rest.Data[0].Seq >= evs.Data[1].Seq {
		t.Fatalf("security log pages: %+v then %+v", evs, rest)
	}
}
