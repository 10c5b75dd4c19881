package engine_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// BenchmarkMerchantBillHistory compares a merchant with a long history (WALLETCTL_BENCH_BILL_HISTORY
// paid orders over the 100 days before today, default 50,000, a fifth of them partly refunded the
// next day, written through the store as the engine writes them) with a new merchant, both with
// the same orders today, in turns in the same run (issue 21): today's bill (streamed, as the v3
// download and `merchant bill --out` read it) and `merchant show`. The bill reads the day's rows
// of an index and `merchant show` the totals' one row, so the two cost the same ("new/history"
// near 1);
// "whole-history" is each as it was before, from every order and refund, for contrast.
// The store does not fsync (sqlite.SyncOff): nothing here writes.
func BenchmarkMerchantBillHistory(b *testing.B) {
	n := 50_000
	if v := os.Getenv("WALLETCTL_BENCH_BILL_HISTORY"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			b.Fatalf("WALLETCTL_BENCH_BILL_HISTORY=%q: want a number of orders", v)
		}
	}
	const days = 100
	today := max(n/days, 1) // the orders of today: a day of the history's
	st, err := sqlite.OpenWith(filepath.Join(b.TempDir(), "wallet.db"), sqlite.Options{Sync: sqlite.SyncOff})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Date(2026, 12, 1, 20, 0, 0, 0, vclock.Shanghai)
	w := newWorld(b, testworld.Store(st), func(c *testworld.Config) { c.Start = now })
	old := must[*walletctl.Merchant](b)(w.Engine.CreateMerchant(w.Ctx, walletctl.MerchantSpec{Name: "old shop"}))
	fresh := must[*walletctl.Merchant](b)(w.Engine.CreateMerchant(w.Ctx, walletctl.MerchantSpec{Name: "new shop"}))
	start := vclock.StartOfDay(now).Add(-days * 24 * time.Hour)
	seq := 0
	// orders writes count paid orders of m from `from` over span, a fifth of them partly refunded
	// a day later (today's orders today, yesterday's yesterday).
	orders := func(m *walletctl.Merchant, count int, from time.Time, span time.Duration) {
		const batch = 5_000
		for done := 0; done < count; done += batch {
			if err := st.Update(w.Ctx, func(tx walletctl.StoreTx) error {
				for i := done; i < min(count, done+batch); i++ {
					seq++
					paid := from.Add(time.Duration(int64(span) / int64(count) * int64(i)))
					o := &walletctl.Order{ID: fmt.Sprintf("o%d", seq), TransactionID: fmt.Sprintf("4200%012d", seq), MchID: m.ID, AppID: m.AppID,
						MerchantName: m.Name, OutTradeNo: fmt.Sprintf("out-%d", seq), Description: "一杯咖啡 coffee", TradeType: walletctl.TradeNative,
						TradeState: walletctl.StateSuccess, TradeStateDesc: "支付成功", Amount: 1_00, Currency: "CNY", PayerOpenID: "o-payer",
						PayerUserID: "u1", Source: "balance", BankType: "OTHERS", TxnID: fmt.Sprintf("t%d", seq), TimeExpire: paid.Add(time.Hour),
						CreatedAt: paid, SuccessTime: &paid}
					if err := tx.CreateOrder(o); err != nil {
						return err
					}
					if i%5 != 0 {
						continue
					}
					done := paid.Add(24 * time.Hour)
					switch {
					case !paid.Before(vclock.StartOfDay(now)):
						done = now // today's order: refunded today
					case !done.Before(vclock.StartOfDay(now)):
						done = paid // the history's stays in it: both merchants have the same day
					}
					o.Refunded, o.TradeState = 30, walletctl.StateRefund
					if err := tx.SaveOrder(o); err != nil {
						return err
					}
					if err := tx.CreateRefund(&walletctl.Refund{RefundID: fmt.Sprintf("5030%012d", seq), OutRefundNo: fmt.Sprintf("r-%d", seq),
						TransactionID: o.TransactionID, OutTradeNo: o.OutTradeNo, MchID: m.ID, Channel: "ORIGINAL", Status: walletctl.RefundSuccess,
						Amount: 30, Total: o.Amount, Currency: "CNY", UserID: "u1", Source: "balance", TxnID: fmt.Sprintf("t%dr", seq),
						CreatedAt: done, SuccessTime: &done}); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
	orders(old, n, start, days*24*time.Hour)
	for _, m := range []*walletctl.Merchant{old, fresh} {
		orders(m, today, vclock.StartOfDay(now), now.Sub(vclock.StartOfDay(now)))
	}
	date := vclock.Day(now)
	oldBill := must[*walletctl.Bill](b)(w.Engine.TradeBill(w.Ctx, old.ID, date, "ALL"))
	newBill := must[*walletctl.Bill](b)(w.Engine.TradeBill(w.Ctx, fresh.ID, date, "ALL"))
	if oldBill.Rows != newBill.Rows || oldBill.Rows < today {
		b.Fatalf("today's bills have %d and %d rows: not the same day", oldBill.Rows, newBill.Rows)
	}
	// Each case runs for the new merchant and the old in turns, each timed on its own, so that
	// what else the machine does weighs on both alike.
	turns := func(b *testing.B, unit string, op func(mchid string)) {
		var newTime, oldTime time.Duration
		for b.Loop() {
			begin := time.Now()
			op(fresh.ID)
			newTime += time.Since(begin)
			begin = time.Now()
			op(old.ID)
			oldTime += time.Since(begin)
		}
		b.ReportMetric(float64(newTime.Nanoseconds())/float64(b.N), "new-ns/"+unit)
		b.ReportMetric(float64(oldTime.Nanoseconds())/float64(b.N), "history-ns/"+unit)
		b.ReportMetric(float64(newTime)/float64(oldTime), "new/history")
	}
	b.Run(fmt.Sprintf("bill/history=%d", n), func(b *testing.B) {
		turns(b, "bill", func(mchid string) {
			must[*walletctl.Bill](b)(w.Engine.WriteTradeBill(w.Ctx, io.Discard, mchid, date, "ALL"))
		})
	})
	b.Run(fmt.Sprintf("show/history=%d", n), func(b *testing.B) {
		turns(b, "show", func(mchid string) { must[*walletctl.MerchantInfo](b)(w.Engine.Merchant(w.Ctx, mchid)) })
	})
	b.Run(fmt.Sprintf("whole-history/bill/history=%d", n), func(b *testing.B) {
		turns(b, "bill", func(mchid string) {
			if err := st.View(w.Ctx, func(tx walletctl.StoreTx) error {
				_, err := wholeHistoryBill(tx, mchid, date, "ALL")
				return err
			}); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run(fmt.Sprintf("whole-history/show/history=%d", n), func(b *testing.B) {
		turns(b, "show", func(mchid string) {
			if err := st.View(w.Ctx, func(tx walletctl.StoreTx) error {
				_, _, _, err := wholeHistoryTotals(tx, mchid)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		})
	})
}
