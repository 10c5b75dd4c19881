package engine_test

import (
	"testing"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
)

// BenchmarkCardPayment measures card payments per second through the whole engine: password
// check (argon2id), the pending txn committed before the bank call, the in-process bank debit,
// and the settlement commit, on a SQLite file in WAL mode with synchronous=FULL (every commit is
// fsynced before Pay returns: see sqlite.Open for why NORMAL is not enough for a wallet).
// Velocity and daily limits are switched off so that one user can pay b.N times; their indexed
// counts are part of every real payment but small.
//
// The goal (>= 2,000 payments/s on the 2-core machine) is measured with the SANDBOX hash
// cost (argon2id t=1, m=64 KiB), by "sandbox/parallel": concurrent callers, as behind a server,
// whose commits share fsyncs (sqlite's group commit). "sandbox/serial" is bounded by two fsyncs
// per payment in a row (about 0.4 ms each on this machine's disk when it is quiet, far more when
// other work is writing), so one caller cannot reach 2,000/s durably on this disk whatever the CPU.
//
// With the PRODUCTION hash cost (argon2id t=2, m=19 MiB) the figure is about 25 payments/s on
// one caller and at most about 2 per core per ~35 ms in parallel: the one password verification
// each payment needs costs ~35-60 ms of CPU and 19 MiB of memory by design (it is what makes a
// stolen database's 6-digit passwords expensive to guess). The engine verifies once per payment
// (the write transaction only compares the stored hash), so the remaining cost is the hash itself.
func BenchmarkCardPayment(b *testing.B) {
	for _, tc := range []struct {
		name string
		hash walletctl.HashParams
	}{{"production", walletctl.ProductionHash}, {"sandbox", walletctl.SandboxHash}} {
		b.Run(tc.name, func(b *testing.B) {
			w := newWorld(b, testworld.Settings(func(s *walletctl.Settings) {
				s.PasswordHash, s.VelocityMax, s.DailyLimit = tc.hash, 0, 0
			}))
			u, cid := w.OpenWallet(card("ok")).IDs()
			req := walletctl.PayRequest{UserID: u, Merchant: "m-cafe", Amount: 1, Source: "card:" + cid, Password: pw}
			b.Run("serial", func(b *testing.B) {
				for b.Loop() {
					if _, err := w.Engine.Pay(w.Ctx, req); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
			})
			// Concurrent callers (as behind walletctl serve): hashing, reads and the bank call
			// overlap; the write transactions still queue one at a time.
			b.Run("parallel", func(b *testing.B) {
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := w.Engine.Pay(w.Ctx, req); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payments/s")
			})
		})
	}
}
