package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// OldBills is a history of merchant orders and refunds as a wallet wrote them before their days
// and the merchants' totals were kept (columns its migration adds and fills from the records'
// JSON), for the stores' migration tests.
type OldBills struct {
	merchants []walletctl.Merchant
	orders    []walletctl.Order
	refunds   []walletctl.Refund
	days      []string
}

// NewOldBills draws n orders of three merchants over a week from seed, paid or not, and refunds
// of the paid ones (of every status, on the day of the payment or later). Some times are written
// in UTC, not in Shanghai: the day is Shanghai's whatever zone the JSON has.
func NewOldBills(seed uint64, n int) *OldBills {
	rng := rand.New(rand.NewPCG(seed, 8))
	h := &OldBills{}
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, vclock.Shanghai)
	for i := range 3 {
		id := fmt.Sprintf("19%08d", i+1)
		h.merchants = append(h.merchants, walletctl.Merchant{ID: id, Name: "shop " + id, Category: "merchant", AppID: "wx0" + id, CreatedAt: &start})
	}
	for d := range 8 {
		h.days = append(h.days, vclock.Day(start.Add(time.Duration(d)*24*time.Hour)))
	}
	// at is a time up to max after from: sometimes in UTC, sometimes the first or the last
	// nanosecond of its day.
	at := func(from time.Time, max time.Duration) time.Time {
		t := from.Add(time.Duration(rng.Int64N(int64(max))))
		switch rng.IntN(4) {
		case 0:
			return t.UTC()
		case 1: // the first and last instants of a day
			return vclock.StartOfDay(t)
		case 2:
			return vclock.StartOfDay(t).Add(24*time.Hour - time.Nanosecond)
		}
		return t
	}
	refunds := 0
	for i := range n {
		m := h.merchants[rng.IntN(len(h.merchants))]
		created := at(start, 5*24*time.Hour)
		o := walletctl.Order{ID: fmt.Sprintf("o%d", i+1), MchID: m.ID, AppID: m.AppID, OutTradeNo: fmt.Sprintf("out-%d", i+1), Description: "d",
			TradeType: walletctl.TradeNative, TradeState: walletctl.StateNotPay, Amount: int64(1 + rng.IntN(10_000)), Currency: "CNY",
			TimeExpire: created.Add(2 * time.Hour), CreatedAt: created}
		if rng.IntN(4) > 0 {
			paid := at(created, time.Hour)
			o.TradeState, o.TransactionID, o.SuccessTime = walletctl.StateSuccess, fmt.Sprintf("4200%08d", i+1), &paid
			for range rng.IntN(3) {
				refunds++
				r := walletctl.Refund{RefundID: fmt.Sprintf("5030%08d", refunds), OutRefundNo: fmt.Sprintf("r-%d", refunds), TransactionID: o.TransactionID,
					OutTradeNo: o.OutTradeNo, MchID: m.ID, Channel: "ORIGINAL", Amount: 1 + rng.Int64N(o.Amount), Total: o.Amount, Currency: "CNY",
					CreatedAt: paid}
				switch rng.IntN(4) {
				case 0:
					r.Status = walletctl.RefundProcessing
				case 1:
					r.Status = walletctl.RefundClosed
				default:
					done := at(paid, 2*24*time.Hour)
					r.Status, r.SuccessTime = walletctl.RefundSuccess, &done
				}
				h.refunds = append(h.refunds, r)
			}
		}
		h.orders = append(h.orders, o)
	}
	return h
}

func quote(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return "'" + strings.ReplaceAll(string(b), "'", "''") + "'"
}

func nullable(s string) string {
	if s == "" {
		return "NULL"
	}
	return "'" + s + "'"
}

// SQL inserts the history into the merchants, orders and refunds tables as they were.
func (h *OldBills) SQL() []string {
	var out []string
	for i, m := range h.merchants {
		out = append(out, fmt.Sprintf(`INSERT INTO merchants(id, num, data) VALUES ('%s', %d, %s)`, m.ID, i+1, quote(m)))
	}
	for i, o := range h.orders {
		out = append(out, fmt.Sprintf(`INSERT INTO orders(id, num, mchid, out_trade_no, transaction_id, state, time_expire, data) VALUES ('%s', %d, '%s', '%s', %s, '%s', %d, %s)`,
			o.ID, i+1, o.MchID, o.OutTradeNo, nullable(o.TransactionID), o.TradeState, o.TimeExpire.UnixNano(), quote(o)))
	}
	for i, r := range h.refunds {
		out = append(out, fmt.Sprintf(`INSERT INTO refunds(refund_id, num, mchid, out_refund_no, transaction_id, status, data) VALUES ('%s', %d, '%s', '%s', '%s', '%s', %s)`,
			r.RefundID, i+1, r.MchID, r.OutRefundNo, r.TransactionID, r.Status, quote(r)))
	}
	return out
}

// Check reads what the migration made of the history: every merchant's totals, and the paid
// orders and SUCCESS refunds of every day (and the days around), as the records' times say.
func (h *OldBills) Check(t *testing.T, s walletctl.Store) {
	t.Helper()
	byTxn := map[string]walletctl.Order{}
	for _, o := range h.orders {
		if o.TransactionID != "" {
			byTxn[o.TransactionID] = o
		}
	}
	days := append([]string{"2026-01-04"}, h.days...)
	view(t, s, func(tx walletctl.StoreTx) error {
		rows := 0
		for _, m := range h.merchants {
			var want walletctl.MerchantTotals
			for _, o := range h.orders {
				if o.MchID == m.ID {
					want.Orders++
					if o.SuccessTime != nil {
						want.Paid += o.Amount
					}
				}
			}
			for _, r := range h.refunds {
				if r.MchID == m.ID && r.Status == walletctl.RefundSuccess {
					want.Refunded += r.Amount
				}
			}
			if got, err := tx.MerchantTotals(m.ID); err != nil || got != want {
				t.Errorf("merchant %s: totals %+v, %v; the history says %+v", m.ID, got, err, want)
			}
			for _, day := range days {
				var want, got []string
				for _, o := range h.orders {
					if o.MchID == m.ID && o.SuccessTime != nil && vclock.Day(*o.SuccessTime) == day {
						want = append(want, o.ID)
					}
				}
				for _, r := range h.refunds {
					if r.MchID == m.ID && r.Status == walletctl.RefundSuccess && vclock.Day(*r.SuccessTime) == day {
						want = append(want, r.RefundID+":"+byTxn[r.TransactionID].ID)
					}
				}
				if err := tx.EachOrderSucceeded(m.ID, day, func(o *walletctl.Order) error { got = append(got, o.ID); return nil }); err != nil {
					return err
				}
				if err := tx.EachRefundSucceeded(m.ID, day, func(r *walletctl.Refund, o *walletctl.Order) error {
					got = append(got, r.RefundID+":"+o.ID)
					return nil
				}); err != nil {
					return err
				}
				if !slices.Equal(got, want) {
					t.Errorf("merchant %s, %s: %v, want %v", m.ID, day, got, want)
				}
				rows += len(got)
			}
		}
		if rows < len(h.orders)/2 {
			t.Errorf("only %d rows in the days: the history is too thin", rows)
		}
		return nil
	})
}
