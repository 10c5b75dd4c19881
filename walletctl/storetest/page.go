package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// pages checks the keyset pages of the lists: newest first, the merge of a user's own txns with
// the transfers they received, cursors that must name an item of the same list, both directions,
// and the notification filters, on every store.
func pages(t *testing.T, s walletctl.Store) {
	seed(t, s, 3)
	// u1's list: its own txns t1, t3, t5, ... and the transfers u2 sent it (t2, t6, ...); u3's t4 is
	// not in it, nor the transfer u1 sent u2 twice (t8 is u1's own).
	var want []string
	update(t, s, func(tx walletctl.StoreTx) error {
		for i := 1; i <= 11; i++ {
			id := fmt.Sprintf("t%d", i)
			r := txn(id, "u1", walletctl.KindPay, walletctl.TxnSucceeded, 100, at(time.Duration(i)*time.Minute))
			switch {
			case i == 4:
				r.UserID = "u3"
			case i%4 == 2:
				r.UserID, r.Kind, r.Counterparty = "u2", walletctl.KindTransfer, "u1"
			case i == 8:
				r.Kind, r.Counterparty = walletctl.KindTransfer, "u2"
			}
			if r.UserID == "u1" || r.Counterparty == "u1" {
				want = append(want, id)
			}
			if err := tx.CreateTxn(r); err != nil {
				return err
			}
		}
		return nil
	})
	slices.Reverse(want)
	var got []string
	p := walletctl.Page{Limit: 3}
	view(t, s, func(tx walletctl.StoreTx) error {
		for n := 0; ; n++ {
			page, more, err := tx.PageTxns("u1", p)
			if err != nil {
				return err
			}
			got = append(got, txnIDs(page)...)
			if !more || n > 10 {
				break
			}
			p.StartingAfter = page[len(page)-1].ID
		}
		return nil
	})
	if !slices.Equal(got, want) {
		t.Errorf("u1's pages of 3: %v, want %v", got, want)
	}
	view(t, s, func(tx walletctl.StoreTx) error {
		// Toward newer items: the ones just before t3, nearest first in the page, newest first.
		page, more, err := tx.PageTxns("u1", walletctl.Page{Limit: 2, EndingBefore: "t3"})
		if err != nil || !slices.Equal(txnIDs(page), []string{"t6", "t5"}) || !more {
			t.Errorf("ending_before t3, limit 2: %v more %v, %v", txnIDs(page), more, err)
		}
		page, more, err = tx.PageTxns("u1", walletctl.Page{EndingBefore: "t9"})
		if err != nil || !slices.Equal(txnIDs(page), []string{"t11", "t10"}) || more {
			t.Errorf("ending_before t9: %v more %v, %v", txnIDs(page), more, err)
		}
		// A cursor names an item of this list: u3's txn and an unknown id are refused.
		for _, c := range []string{"t4", "t99"} {
			if _, _, err := tx.PageTxns("u1", walletctl.Page{StartingAfter: c}); walletctl.ErrorCode(err) != walletctl.CodeInvalidArgument {
				t.Errorf("u1 starting_after %s: %v", c, err)
			}
		}
		if _, _, err := tx.PageTxns("u1", walletctl.Page{Limit: 101}); walletctl.ErrorCode(err) != walletctl.CodeInvalidArgument {
			t.Errorf("limit 101: %v", err)
		}
		return nil
	})

	// Transfers: sent and received, merged, each once.
	update(t, s, func(tx walletctl.StoreTx) error {
		for i, ft := range [][2]string{{"u1", "u2"}, {"u2", "u1"}, {"u2", "u3"}, {"u3", "u1"}, {"u1", "u3"}} {
			id := fmt.Sprintf("t%d", 20+i)
			if err := tx.CreateTxn(txn(id, ft[0], walletctl.KindTransfer, walletctl.TxnPending, 100, at(time.Hour))); err != nil {
				return err
			}
			tr := &walletctl.Transfer{ID: id, From: ft[0], To: ft[1], PayeeNameMasked: "*三", Amount: 100, Status: walletctl.TransferScheduled,
				Delay: "2h", CreatedAt: at(time.Hour), ArrivesAt: at(3 * time.Hour), RefundAt: at(27 * time.Hour)}
			if err := tx.CreateTransfer(tr); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		page, more, err := tx.PageTransfers("u1", walletctl.Page{Limit: 3})
		rest, more2, err2 := tx.PageTransfers("u1", walletctl.Page{Limit: 3, StartingAfter: "t23"})
		ids := func(trs []walletctl.Transfer) (out []string) {
			for _, tr := range trs {
				out = append(out, tr.ID)
			}
			return out
		}
		if err != nil || err2 != nil || !slices.Equal(ids(page), []string{"t24", "t23", "t21"}) || !more || !slices.Equal(ids(rest), []string{"t21", "t20"}) || more2 {
			t.Errorf("u1's transfers: %v (%v) then %v (%v); %v %v", ids(page), more, ids(rest), more2, err, err2)
		}
		return nil
	})

	// Notifications: the filters narrow the list before it is paged.
	update(t, s, func(tx walletctl.StoreTx) error {
		for i := 1; i <= 8; i++ {
			n := &walletctl.Notification{ID: fmt.Sprintf("n%d", i), MchID: []string{"1900000001", "1900000002"}[i%2], CreatedAt: t0,
				EventType: []string{walletctl.EventTransactionSuccess, walletctl.EventRefundSuccess}[i%3%2], URL: "http://x/",
				Status: []string{walletctl.NotifyPending, walletctl.NotifyDelivered}[i%4/2], Attempts: []walletctl.NotifyAttempt{}}
			if err := tx.CreateNotification(n); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		all, _, err := tx.PageNotifications(walletctl.NotificationFilter{}, walletctl.MaxPage)
		if err != nil {
			return err
		}
		for _, f := range []walletctl.NotificationFilter{{}, {MchID: "1900000002"}, {Status: walletctl.NotifyDelivered},
			{Event: "refund.success"}, {MchID: "1900000001", Status: walletctl.NotifyPending, Event: walletctl.EventTransactionSuccess}} {
			var wantIDs []string
			for _, n := range all {
				if (f.MchID == "" || n.MchID == f.MchID) && (f.Status == "" || n.Status == f.Status) && (f.Event == "" || n.EventType == "REFUND.SUCCESS") {
					wantIDs = append(wantIDs, n.ID)
				}
			}
			if f.Event != "" && f.MchID != "" {
				wantIDs = nil
				for _, n := range all {
					if n.MchID == f.MchID && n.Status == f.Status && n.EventType == f.Event {
						wantIDs = append(wantIDs, n.ID)
					}
				}
			}
			var gotIDs []string
			p := walletctl.Page{Limit: 2}
			for {
				page, more, err := tx.PageNotifications(f, p)
				if err != nil {
					return err
				}
				for _, n := range page {
					gotIDs = append(gotIDs, n.ID)
				}
				if !more {
					break
				}
				p.StartingAfter = page[len(page)-1].ID
			}
			if !slices.Equal(gotIDs, wantIDs) || len(wantIDs) == 0 {
				t.Errorf("notifications %+v: %v, want %v", f, gotIDs, wantIDs)
			}
		}
		if len(all) != 8 || all[0].ID != "n8" {
			t.Errorf("all notifications, newest first: %d from %s", len(all), all[0].ID)
		}
		return nil
	})
}
