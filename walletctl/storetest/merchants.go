package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

func order(id, mchid, out, state string, expire time.Time) *walletctl.Order {
	return &walletctl.Order{ID: id, MchID: mchid, AppID: "wx01", OutTradeNo: out, Description: "d", TradeType: walletctl.TradeNative,
		TradeState: state, Amount: 100, Currency: "CNY", CodeURL: "weixin://wxpay/bizpayurl?pr=" + id, TimeExpire: expire, CreatedAt: t0}
}

// merchants: merchant, order, refund, payment code, notification and fault records, found by each
// of their keys, with the uniqueness the engine relies on, and every time back in Shanghai.
func merchants(t *testing.T, s walletctl.Store) {
	created := t0
	m := &walletctl.Merchant{ID: "1900000001", Name: "shop", Category: "merchant", AppID: "wx01", CertSerial: "5ABC", CreatedAt: &created}
	paid := order("o2", m.ID, "out-2", walletctl.StateSuccess, at(2*time.Hour))
	paid.TransactionID, paid.TxnID, paid.SuccessTime, paid.CodeURL, paid.PrepayID = "4200x1", "t7", ptr(at(time.Minute)), "", "wx-prepay-2"
	update(t, s, func(tx walletctl.StoreTx) error {
		if err := tx.CreateMerchant(m); err != nil {
			return err
		}
		for _, o := range []*walletctl.Order{order("o1", m.ID, "out-1", walletctl.StateNotPay, at(time.Hour)), paid,
			order("o3", m.ID, "out-3", walletctl.StateUserPaying, at(30*time.Minute))} {
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
		}
		return nil
	})
	// The same out_trade_no for the same merchant is refused; for another merchant it is not.
	if err := s.Update(ctx, func(tx walletctl.StoreTx) error {
		return tx.CreateOrder(order("o4", m.ID, "out-1", walletctl.StateNotPay, t0))
	}); err == nil {
		t.Error("a second order with the same mchid and out_trade_no was stored")
	}
	update(t, s, func(tx walletctl.StoreTx) error {
		return tx.CreateOrder(order("o5", "1900000002", "out-1", walletctl.StateNotPay, at(time.Hour)))
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		if got, err := tx.GetMerchant(m.ID); err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("GetMerchant %+v, %v", got, err)
		}
		for name, k := range map[string]walletctl.OrderKey{"id": {ID: "o2"}, "transaction": {TransactionID: "4200x1"},
			"transaction+mchid": {TransactionID: "4200x1", MchID: m.ID}, "prepay": {PrepayID: "wx-prepay-2"}, "txn": {TxnID: "t7"},
			"out_trade_no": {MchID: m.ID, OutTradeNo: "out-2"}} {
			got, err := tx.FindOrder(k)
			if err != nil || !reflect.DeepEqual(got, paid) {
				t.Errorf("FindOrder by %s:\n got %+v, %v\nwant %+v", name, got, err, paid)
			}
		}
		if got, err := tx.FindOrder(walletctl.OrderKey{TransactionID: "4200x1", MchID: "1900000002"}); err != nil || got != nil {
			t.Errorf("another merchant's transaction: %+v, %v", got, err)
		}
		if got, err := tx.FindOrder(walletctl.OrderKey{CodeURL: "weixin://wxpay/bizpayurl?pr=o1"}); err != nil || got == nil || got.ID != "o1" {
			t.Errorf("by code_url: %+v, %v", got, err)
		}
		// Due: unpaid, or waiting for a password without a txn, at or before now.
		due, err := tx.OrdersDue(at(time.Hour))
		if err != nil {
			return err
		}
		var ids []string
		for _, o := range due {
			ids = append(ids, o.ID)
		}
		if fmt.Sprint(ids) != "[o1 o3 o5]" {
			t.Errorf("OrdersDue %v, want [o1 o3 o5] (o2 is paid)", ids)
		}
		next, err := tx.NextDue()
		if err != nil || next == nil || !next.Equal(at(30*time.Minute)) {
			t.Errorf("NextDue %v, %v: want the earliest expiry", next, err)
		}
		list, err := tx.ListOrders(m.ID)
		if err != nil || len(list) != 3 {
			t.Errorf("ListOrders %d, %v", len(list), err)
		}
		return nil
	})
	// Refunds and payment codes.
	r := &walletctl.Refund{RefundID: "5030x1", OutRefundNo: "r-1", TransactionID: "4200x1", OutTradeNo: "out-2", MchID: m.ID,
		Status: walletctl.RefundProcessing, Amount: 40, Total: 100, TxnID: "t8", CreatedAt: t0}
	update(t, s, func(tx walletctl.StoreTx) error {
		if err := tx.CreateRefund(r); err != nil {
			return err
		}
		r.Status, r.SuccessTime = walletctl.RefundSuccess, ptr(at(time.Second))
		if err := tx.SaveRefund(r); err != nil {
			return err
		}
		if err := tx.CreatePayCode(&walletctl.PayCode{Code: "130000000000000001", UserID: "u1", Source: "balance", ExpiresAt: at(time.Minute)}); err != nil {
			return err
		}
		return tx.CreatePayCode(&walletctl.PayCode{Code: "130000000000000002", UserID: "u1", Source: "balance", ExpiresAt: at(2 * time.Minute)})
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		for name, k := range map[string]walletctl.RefundKey{"id": {RefundID: "5030x1"}, "txn": {TxnID: "t8"}, "out": {MchID: m.ID, OutRefundNo: "r-1"}} {
			if got, err := tx.FindRefund(k); err != nil || !reflect.DeepEqual(got, r) {
				t.Errorf("FindRefund by %s: %+v, %v", name, got, err)
			}
		}
		if rs, err := tx.ListRefunds(m.ID, "4200x1"); err != nil || len(rs) != 1 {
			t.Errorf("ListRefunds %d, %v", len(rs), err)
		}
		// A user's new code replaces the earlier one.
		if pc, err := tx.GetPayCode("130000000000000001"); err != nil || pc != nil {
			t.Errorf("the replaced code is still there: %+v, %v", pc, err)
		}
		if pc, err := tx.GetPayCode("130000000000000002"); err != nil || pc == nil || !pc.ExpiresAt.Equal(at(2*time.Minute)) {
			t.Errorf("GetPayCode %+v, %v", pc, err)
		}
		return nil
	})
	// Notifications: the earliest due first, held ones never, in Shanghai.
	real0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) // leases are on wall time
	update(t, s, func(tx walletctl.StoreTx) error {
		for i, due := range []time.Duration{2 * time.Minute, time.Minute, 0} {
			n := &walletctl.Notification{ID: fmt.Sprintf("n%d", i+1), MchID: m.ID, EventType: walletctl.EventTransactionSuccess, URL: "http://x/",
				Order: paid, CreatedAt: t0, Status: walletctl.NotifyPending, NextAt: ptr(at(due)), Attempts: []walletctl.NotifyAttempt{}, Held: i == 2}
			if err := tx.CreateNotification(n); err != nil {
				return err
			}
		}
		if err := tx.CreateNotifyFault(&walletctl.NotifyFault{ID: "nf1", Kind: walletctl.NotifyFaultDuplicate, First: 1}); err != nil {
			return err
		}
		return tx.PutSetting("k", "v")
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		n, err := tx.NextNotification(at(5*time.Minute), real0, nil)
		if err != nil || n == nil || n.ID != "n2" || !reflect.DeepEqual(n.Order, paid) || n.NextAt.Location().String() != t0.Location().String() {
			t.Errorf("NextNotification %+v, %v: want n2 (n3 is held, n1 due later)", n, err)
		}
		if n, err := tx.NextNotification(at(30*time.Second), real0, nil); err != nil || n != nil {
			t.Errorf("nothing is due yet: %+v, %v", n, err)
		}
		if n, err := tx.NextNotification(at(5*time.Minute), real0, []string{"other", m.ID}); err != nil || n != nil {
			t.Errorf("the merchant is busy: %+v, %v", n, err)
		}
		if due, err := tx.NextNotificationAt(real0); err != nil || due == nil || !due.Equal(at(time.Minute)) {
			t.Errorf("NextNotificationAt %v, %v: want n2's due time (n3 is held)", due, err)
		}
		held, err := tx.HeldNotifications(m.ID)
		if err != nil || len(held) != 1 || held[0].ID != "n3" {
			t.Errorf("HeldNotifications %+v, %v", held, err)
		}
		if fs, err := tx.ListNotifyFaults(); err != nil || len(fs) != 1 || fs[0].First != 1 {
			t.Errorf("ListNotifyFaults %+v, %v", fs, err)
		}
		if v, err := tx.GetSetting("k"); err != nil || v != "v" {
			t.Errorf("GetSetting %q, %v", v, err)
		}
		return nil
	})
	// Leases: one owner at a time until the lease ends; only the owner ends it early.
	update(t, s, func(tx walletctl.StoreTx) error {
		if ok, err := tx.ClaimNotification("n2", "a", real0.Add(time.Minute), real0); err != nil || !ok {
			t.Errorf("first claim: %v, %v", ok, err)
		}
		if ok, err := tx.ClaimNotification("n2", "b", real0.Add(time.Minute), real0.Add(time.Second)); err != nil || ok {
			t.Errorf("a leased try was claimed again: %v, %v", ok, err)
		}
		if n, err := tx.NextNotification(at(5*time.Minute), real0.Add(time.Second), nil); err != nil || n == nil || n.ID != "n1" {
			t.Errorf("NextNotification skips the leased n2: %+v, %v", n, err)
		}
		if err := tx.ReleaseNotification("n2", "b"); err != nil {
			return err
		}
		if ok, err := tx.ClaimNotification("n2", "b", real0.Add(time.Minute), real0.Add(time.Second)); err != nil || ok {
			t.Errorf("another's release ended the lease: %v, %v", ok, err)
		}
		if ok, err := tx.ClaimNotification("n2", "b", real0.Add(3*time.Minute), real0.Add(2*time.Minute)); err != nil || !ok {
			t.Errorf("an ended lease (its holder died) was not claimable: %v, %v", ok, err)
		}
		if err := tx.ReleaseNotification("n2", "b"); err != nil {
			return err
		}
		if ok, err := tx.ClaimNotification("n2", "a", real0.Add(time.Minute), real0); err != nil || !ok {
			t.Errorf("a released try was not claimable: %v, %v", ok, err)
		}
		return tx.ReleaseNotification("n2", "a")
	})
	update(t, s, func(tx walletctl.StoreTx) error {
		if err := tx.PutSetting("k", ""); err != nil {
			return err
		}
		return tx.ClearNotifyFaults()
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		if v, err := tx.GetSetting("k"); err != nil || v != "" {
			t.Errorf("a cleared setting: %q, %v", v, err)
		}
		if fs, err := tx.ListNotifyFaults(); err != nil || len(fs) != 0 {
			t.Errorf("cleared faults: %+v, %v", fs, err)
		}
		return nil
	})
}
