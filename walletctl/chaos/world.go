// Package chaos is the invariant harness of issue 5: a seeded random workload over many wallet
// users against the real bankmock engine with injected faults, then reconciliation and a check of
// every money invariant (the ledger sums to zero, wallet and bank agree key by key, money is
// conserved, nothing stays pending), in the spirit of Jepsen's bank test.
package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/bankadapter"
	"github.com/walletctl/walletctl/walletctl/engine"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// World is one wallet over one bank: a real SQLite file, the wallet engine, and the bank's
// protocol and admin sides (the in-process engine, or a client of a bankmock server). The checker
// reads everything through these, so it works the same for the in-process harness and for the
// crash test, where the bank lives in another process.
type World struct {
	Store  *sqlite.Store
	Engine *engine.Engine
	Bank   bankapi.API
	Admin  bankapi.Admin
	Clock  *vclock.Manual
	// Start is the first instant of the run: reconciliation and the checks cover every bank day
	// from Start to the clock's time.
	Start time.Time
	// Initial is every card's bank balance before the workload, by card number: the bank side of
	// money conservation.
	Initial map[string]int64

	dir     string
	tempDir bool
}

// Close closes the store and removes the directory if the world made it.
func (w *World) Close() error {
	err := w.Store.Close()
	if w.tempDir {
		os.RemoveAll(w.dir)
	}
	return err
}

// seedBytes turns a seed into a ChaCha8 key, so that password salts replay from the seed too.
func seedBytes(seed int64, stream byte) [32]byte {
	var k [32]byte
	for i := 0; i < 8; i++ {
		k[i] = byte(uint64(seed) >> (8 * i))
	}
	k[31] = stream
	return k
}

// NewEngine builds the wallet engine over a store and a bank with the sandbox settings and a
// seeded entropy source.
func NewEngine(st *sqlite.Store, api bankapi.API, admin bankapi.Admin, clock walletctl.Clock, seed int64) (*engine.Engine, error) {
	return engine.New(engine.Config{Store: st, Bank: bankadapter.New(api), Identity: bankadapter.NewRegistry(admin),
		Clock: clock, Settings: walletctl.SandboxSettings(), Entropy: rand.NewChaCha8(seedBytes(seed, 1)),
		SecretKey: func() []byte { k := seedBytes(seed, 2); return k[:] }()}) // a seed replays: the key is the seed's too
}

// bankClientTimeout is how long the wallet "waits" for a delayed or hung bank. With InstantSleep
// it costs no wall time; it only decides which delays are past the caller's patience.
const bankClientTimeout = 100 * time.Millisecond

// newWorld builds an in-process world for cfg: the bank generated from the seed with enough
// customers for cfg.Users holders, and an empty wallet on a SQLite file in cfg.Dir.
func newWorld(ctx context.Context, cfg Config) (*World, error) {
	clock := vclock.NewManual(vclock.DefaultEpoch)
	bank := bankmock.New(bankmock.Config{Seed: cfg.Seed, Customers: cfg.Users + cfg.Users/4 + 2, Clock: clock,
		ClientTimeout: bankClientTimeout, Sleep: bankmock.InstantSleep})
	dir, temp := cfg.Dir, false
	if dir == "" {
		d, err := os.MkdirTemp("", "walletctl-chaos-")
		if err != nil {
			return nil, err
		}
		dir, temp = d, true
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, fmt.Sprintf("chaos-%d.db", cfg.Seed))
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix) // a fresh wallet every run, so that a seed replays
	}
	st, err := sqlite.Open(path)
	if err != nil {
		return nil, err
	}
	eng, err := NewEngine(st, bank, bank, clock, cfg.Seed)
	if err != nil {
		st.Close()
		return nil, err
	}
	w := &World{Store: st, Engine: eng, Bank: bank, Admin: bank, Clock: clock, Start: clock.Now(), dir: dir, tempDir: temp}
	if w.Initial, err = Balances(ctx, bank); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Balances reads every card's balance at the bank.
func Balances(ctx context.Context, admin bankapi.Admin) (map[string]int64, error) {
	cs, err := admin.Customers(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(cs))
	for _, c := range cs {
		out[c.CardNo] = c.Balance
	}
	return out, nil
}

// Days lists the bank days (Shanghai calendar dates) from start to end, inclusive.
func Days(start, end time.Time) []string {
	var out []string
	d := time.Date(start.In(vclock.Shanghai).Year(), start.In(vclock.Shanghai).Month(), start.In(vclock.Shanghai).Day(), 0, 0, 0, 0, vclock.Shanghai)
	for !d.After(end) {
		out = append(out, d.Format("2006-01-02"))
		d = d.AddDate(0, 0, 1)
	}
	return out
}
