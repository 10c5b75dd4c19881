package postgres

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// BenchmarkCardPaymentPostgres measures card payments per second through the whole engine
// (password check with the sandbox hash, the pending txn committed before the in-process bank's
// debit, the settlement commit) from 32 concurrent clients, each its own user, on PostgreSQL and,
// in the same run, on SQLite, so that the figures compare on one machine at one moment.
//
// The CI server runs with fsync off (.ci/postgres.sh), so "sqlite-nosync" is its like for like;
// "sqlite-durable" is the embedded default (every commit fsynced, shared by group commit).
// Every settlement moves the same merchant and bank clearing balances, so on PostgreSQL concurrent
// payments conflict there and some are retried whole (retries/op).
func BenchmarkCardPaymentPostgres(b *testing.B) {
	const clients = 32
	for _, tc := range []struct {
		name string
		open func(b *testing.B) (walletctl.Store, func() int64)
	}{
		{"sqlite-durable", func(b *testing.B) (walletctl.Store, func() int64) { return openSQLite(b, sqlite.SyncFull), nil }},
		{"sqlite-nosync", func(b *testing.B) (walletctl.Store, func() int64) { return openSQLite(b, sqlite.SyncOff), nil }},
		{"postgres", func(b *testing.B) (walletctl.Store, func() int64) {
			s := openTest(b, Options{MaxConns: clients})
			return s, s.Retries
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			st, retries := tc.open(b)
			w := testworld.New(b, testworld.Store(st), testworld.Customers(1), testworld.Settings(func(s *walletctl.Settings) {
				s.VelocityMax, s.DailyLimit = 0, 0
			}))
			e := w.Engine
			reqs := make([]walletctl.PayRequest, clients)
			for i := range reqs {
				u, c := w.OpenWallet(customer(w, fmt.Sprintf("客户%d", i))).IDs()
				reqs[i] = walletctl.PayRequest{UserID: u, Merchant: "m-cafe", Amount: 1, Source: "card:" + c, Password: pw}
			}
			var before int64
			if retries != nil {
				before = retries()
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for i := range reqs {
				wg.Add(1)
				go func(req walletctl.PayRequest) {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if _, err := e.Pay(ctx, req); err != nil {
							b.Error(err)
							return
						}
					}
				}(reqs[i])
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
			if retries != nil {
				b.ReportMetric(float64(retries()-before)/float64(b.N), "retries/op")
			}
			w.CheckLedger()
		})
	}
}

func openSQLite(b *testing.B, sync sqlite.Sync) walletctl.Store {
	s, err := sqlite.OpenWith(filepath.Join(b.TempDir(), "wallet.db"), sqlite.Options{Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
