package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// merchantDays: a day's paid orders and SUCCESS refunds of a merchant, by the Shanghai day of
// their SuccessTime (the last nanosecond of a day and the first of the next apart; a time in
// another zone on its Shanghai day), in creation order, whichever write set the time, each refund
// with its order, nothing of another merchant's or another day's; and the merchant's totals,
// moved by every write that changes an order's success or a refund's.
func merchantDays(t *testing.T, s walletctl.Store) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, vclock.Shanghai)
	last := day.Add(24*time.Hour - time.Nanosecond)
	next := day.Add(24 * time.Hour)
	m := &walletctl.Merchant{ID: "1900000001", Name: "shop", Category: "merchant", AppID: "wx01", CertSerial: "5ABC", CreatedAt: ptr(t0)}
	m2 := &walletctl.Merchant{ID: "1900000002", Name: "other", Category: "merchant", AppID: "wx02", CertSerial: "5ABD", CreatedAt: ptr(t0)}
	paidOrder := func(id, mchid string, amount int64, at *time.Time) *walletctl.Order {
		o := order(id, mchid, "out-"+id, walletctl.StateSuccess, t0)
		o.CodeURL, o.TransactionID, o.Amount, o.SuccessTime = "", "4200"+id, amount, at
		if at == nil {
			o.TradeState, o.TransactionID = walletctl.StateNotPay, ""
		}
		return o
	}
	refund := func(id string, o *walletctl.Order, mchid, status string, amount int64, at *time.Time) *walletctl.Refund {
		return &walletctl.Refund{RefundID: "5030" + id, OutRefundNo: "r-" + id, TransactionID: o.TransactionID, OutTradeNo: o.OutTradeNo, MchID: mchid,
			Status: status, Amount: amount, Total: o.Amount, CreatedAt: t0, SuccessTime: at}
	}
	utc := last.Add(-time.Hour).UTC() // 22:59 in Shanghai, 14:59 UTC: the same day either way
	early := day.Add(-time.Nanosecond).UTC()
	o1 := paidOrder("o1", m.ID, 100, ptr(last))
	o2 := paidOrder("o2", m.ID, 200, ptr(next))
	o3 := paidOrder("o3", m.ID, 300, nil) // paid later, by SaveOrder
	o4 := paidOrder("o4", m2.ID, 400, ptr(day))
	o5 := paidOrder("o5", m.ID, 500, &utc)
	o6 := paidOrder("o6", m.ID, 600, &early) // the day before, in UTC the same date
	update(t, s, func(tx walletctl.StoreTx) error {
		for _, mm := range []*walletctl.Merchant{m, m2} {
			if err := tx.CreateMerchant(mm); err != nil {
				return err
			}
		}
		for _, o := range []*walletctl.Order{o1, o2, o3, o4, o5, o6} {
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
		}
		return nil
	})
	totals := func(mchid string, want walletctl.MerchantTotals) {
		t.Helper()
		view(t, s, func(tx walletctl.StoreTx) error {
			if got, err := tx.MerchantTotals(mchid); err != nil || got != want {
				t.Errorf("MerchantTotals(%s) %+v, %v; want %+v", mchid, got, err, want)
			}
			return nil
		})
	}
	totals(m.ID, walletctl.MerchantTotals{Orders: 5, Paid: 100 + 200 + 500 + 600})
	totals(m2.ID, walletctl.MerchantTotals{Orders: 1, Paid: 400})
	totals("1900000009", walletctl.MerchantTotals{})
	update(t, s, func(tx walletctl.StoreTx) error {
		o3.TradeState, o3.TransactionID, o3.SuccessTime = walletctl.StateSuccess, "4200o3", ptr(day.Add(time.Hour))
		if err := tx.SaveOrder(o3); err != nil {
			return err
		}
		o1.Refunded, o1.TradeState = 60, walletctl.StateRefund // saved again, still paid: no move
		if err := tx.SaveOrder(o1); err != nil {
			return err
		}
		rs := []*walletctl.Refund{
			refund("r1", o1, m.ID, walletctl.RefundSuccess, 10, ptr(next)), // an order of the day before
			refund("r2", o1, m.ID, walletctl.RefundProcessing, 20, nil),    // succeeds below
			refund("r3", o2, m.ID, walletctl.RefundClosed, 30, nil),
			refund("r4", o4, m.ID, walletctl.RefundSuccess, 40, ptr(next)), // names another merchant's order
			refund("r5", o4, m2.ID, walletctl.RefundSuccess, 50, ptr(next)),
			refund("r6", o5, m.ID, walletctl.RefundSuccess, 60, ptr(day)),
		}
		for _, r := range rs {
			if err := tx.CreateRefund(r); err != nil {
				return err
			}
		}
		rs[1].Status, rs[1].SuccessTime = walletctl.RefundSuccess, ptr(next.Add(time.Minute))
		return tx.SaveRefund(rs[1])
	})
	totals(m.ID, walletctl.MerchantTotals{Orders: 5, Paid: 100 + 200 + 300 + 500 + 600, Refunded: 10 + 20 + 40 + 60})
	totals(m2.ID, walletctl.MerchantTotals{Orders: 1, Paid: 400, Refunded: 50})

	ordersOf := func(mchid string, d time.Time) string {
		t.Helper()
		var got []string
		view(t, s, func(tx walletctl.StoreTx) error {
			return tx.EachOrderSucceeded(mchid, vclock.Day(d), func(o *walletctl.Order) error {
				if o.SuccessTime.Location().String() != vclock.Shanghai.String() {
					t.Errorf("order %s's SuccessTime in %s", o.ID, o.SuccessTime.Location())
				}
				got = append(got, o.ID)
				return nil
			})
		})
		return fmt.Sprint(got)
	}
	refundsOf := func(mchid string, d time.Time) string {
		t.Helper()
		var got []string
		view(t, s, func(tx walletctl.StoreTx) error {
			return tx.EachRefundSucceeded(mchid, vclock.Day(d), func(r *walletctl.Refund, o *walletctl.Order) error {
				of := "-"
				if o != nil {
					of = o.ID
				}
				got = append(got, r.RefundID+":"+of)
				return nil
			})
		})
		return fmt.Sprint(got)
	}
	for _, c := range []struct{ name, got, want string }{
		{"orders of the day", ordersOf(m.ID, day), "[o1 o3 o5]"},
		{"orders of the next day", ordersOf(m.ID, next), "[o2]"},
		{"orders of the day before", ordersOf(m.ID, day.Add(-time.Hour)), "[o6]"},
		{"another merchant's orders", ordersOf(m2.ID, day), "[o4]"},
		{"refunds of the day", refundsOf(m.ID, day), "[5030r6:o5]"},
		{"refunds of the next day", refundsOf(m.ID, next), "[5030r1:o1 5030r2:o1 5030r4:-]"},
		{"another merchant's refunds", refundsOf(m2.ID, next), "[5030r5:o4]"},
		{"a day with nothing", ordersOf(m.ID, next.Add(24*time.Hour)) + refundsOf(m.ID, next.Add(24*time.Hour)), "[][]"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", c.name, c.got, c.want)
		}
	}
	// The record comes back whole, and fn's error ends the read.
	stop := errors.New("stop")
	view(t, s, func(tx walletctl.StoreTx) error {
		n := 0
		err := tx.EachOrderSucceeded(m.ID, vclock.Day(day), func(o *walletctl.Order) error {
			n++
			if o.ID == "o1" && !reflect.DeepEqual(o, o1) {
				t.Errorf("EachOrderSucceeded gave\n %+v\nwant %+v", o, o1)
			}
			return stop
		})
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("EachOrderSucceeded went on after fn's error: %d rows, %v", n, err)
		}
		n = 0
		err = tx.EachRefundSucceeded(m.ID, vclock.Day(next), func(*walletctl.Refund, *walletctl.Order) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("EachRefundSucceeded went on after fn's error: %d rows, %v", n, err)
		}
		return nil
	})
	// A refund that stops being a success (and an order that stops being paid) moves back.
	update(t, s, func(tx walletctl.StoreTx) error {
		r6, err := tx.FindRefund(walletctl.RefundKey{RefundID: "5030r6"})
		if err != nil {
			return err
		}
		r6.Status, r6.SuccessTime = walletctl.RefundAbnormal, nil
		if err := tx.SaveRefund(r6); err != nil {
			return err
		}
		o6.SuccessTime, o6.TradeState = nil, walletctl.StateClosed
		return tx.SaveOrder(o6)
	})
	totals(m.ID, walletctl.MerchantTotals{Orders: 5, Paid: 100 + 200 + 300 + 500, Refunded: 10 + 20 + 40})
	if got := refundsOf(m.ID, day) + ordersOf(m.ID, day.Add(-time.Hour)); got != "[][]" {
		t.Errorf("after they stopped: %s", got)
	}
}
