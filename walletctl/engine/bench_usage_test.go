package engine_test

import (
	"fmt"
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

// BenchmarkBalancePaymentHistory compares a payment from the balance by a user with a long
// history this year (WALLETCTL_BENCH_PAY_HISTORY payments, default 100,000, written through the
// store as the engine writes them) with one by a new user, in turns in the same run (issue 21):
// the class, daily and fee limits read counters kept where money is posted, so the two cost the
// same ("new/history" near 1; a sum over the year's payments made it far lower). The store does
// not fsync (sqlite.SyncOff), so that the figure is the CPU the payment costs, not the disk's.
func BenchmarkBalancePaymentHistory(b *testing.B) {
	n := 100_000
	if v := os.Getenv("WALLETCTL_BENCH_PAY_HISTORY"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			b.Fatalf("WALLETCTL_BENCH_PAY_HISTORY=%q: want a number of payments", v)
		}
	}
	st, err := sqlite.OpenWith(filepath.Join(b.TempDir(), "wallet.db"), sqlite.Options{Sync: sqlite.SyncOff})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, vclock.Shanghai)
	w := newWorld(b, testworld.Store(st), func(c *testworld.Config) { c.Start = now }, testworld.Settings(func(s *walletctl.Settings) {
		// The velocity limit reads the last minutes only (and b.N payments in one virtual instant
		// would reach it); the daily limit is on, high enough for b.N payments.
		s.VelocityMax, s.DailyLimit = 0, walletctl.MaxAmount
	}))
	old, _ := w.OpenWallet(card("ok"), 10_000_00).IDs()
	fresh, _ := w.OpenWallet(card("credit"), 10_000_00).IDs()
	// The history: n payments of 1 fen from the balance since 1 January, as Pay records them.
	jan1 := time.Date(2026, 1, 1, 0, 0, 0, 0, vclock.Shanghai)
	const batch = 5_000
	for done := 0; done < n; done += batch {
		if err := st.Update(w.Ctx, func(tx walletctl.StoreTx) error {
			for i := done; i < min(n, done+batch); i++ {
				num, err := tx.NextID("txn")
				if err != nil {
					return err
				}
				id := fmt.Sprintf("t%d", num)
				at := jan1.Add(time.Duration(int64(now.Sub(jan1)) / int64(n+1) * int64(i)))
				if err := tx.CreateTxn(&walletctl.TxnRecord{Txn: walletctl.Txn{ID: id, Kind: walletctl.KindPay, Status: walletctl.TxnSucceeded, UserID: old,
					Amount: 1, Counterparty: "m-cafe", Source: "balance", IdempotencyKey: "auto:" + id, CreatedAt: at, SettledAt: &at}}); err != nil {
					return err
				}
				if err := tx.Post(id, []walletctl.Posting{{Account: "user:" + old, Amount: -1}, {Account: "merchant:m-cafe", Amount: 1}}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	// The two pay in turns, each timed on its own, so that what else the machine does weighs on
	// both alike.
	pay := func(b *testing.B, user string) time.Duration {
		begin := time.Now()
		if _, err := w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: user, Merchant: "m-cafe", Amount: 1, Source: "balance", Password: pw}); err != nil {
			b.Fatal(err)
		}
		return time.Since(begin)
	}
	b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
		var newTime, oldTime time.Duration
		for b.Loop() {
			newTime += pay(b, fresh)
			oldTime += pay(b, old)
		}
		b.ReportMetric(float64(newTime.Nanoseconds())/float64(b.N), "new-ns/pay")
		b.ReportMetric(float64(oldTime.Nanoseconds())/float64(b.N), "history-ns/pay")
		b.ReportMetric(float64(newTime)/float64(oldTime), "new/history")
	})
}
