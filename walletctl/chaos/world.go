// Package chaos is the invariant harness of issue 5: a seeded random workload over many wallet
// users against the real bankmock engine with injected faults, then reconciliation and a check of
// every money invariant (the ledger sums to zero, wallet and bank agree key by key, money is
// conserved, nothing stays pending), in the spirit of Jepsen's bank test.
package chaos

import (
	"context"
	"errors"
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
	// SkipCardConservation leaves the per-card balance check to CheckCards: with several wallets
	// on one bank, a card's movements are spread over several partners' statements.
	SkipCardConservation bool
	// Partner is the bank partner this wallet acts as ("" = the bank's default partner).
	Partner string
	// Restarts counts the simulated process restarts (Restart).
	Restarts int

	dir     string
	tempDir bool
	// What a restart needs to open the same wallet again, exactly as a new process would.
	path       string
	opts       sqlite.Options
	keySeed    int64
	engineBank bankapi.API // the bank as the engine sees it (with the process's own failures)
}

// Close closes the store and removes the directory if the world made it.
func (w *World) Close() error {
	err := w.Store.Close()
	if w.tempDir {
		os.RemoveAll(w.dir)
	}
	return err
}

// Restart is the wallet process dying and starting again: the engine (with its in-memory
// locks) is dropped, the store closed and reopened from its file with the same options, and a
// new engine built with the same key (so card hashes agree with the old one's records).
func (w *World) Restart() error {
	if w.path == "" {
		return errors.New("chaos: this world was not built by the harness and cannot restart")
	}
	w.Engine = nil
	if err := w.Store.Close(); err != nil {
		return fmt.Errorf("restart: close %s: %w", w.path, err)
	}
	st, err := sqlite.OpenWith(w.path, w.opts)
	if err != nil {
		return fmt.Errorf("restart: reopen %s: %w", w.path, err)
	}
	eng, err := NewEngine(st, w.engineBank, w.Admin, w.Clock, w.keySeed)
	if err != nil {
		st.Close()
		return fmt.Errorf("restart: %w", err)
	}
	w.Store, w.Engine = st, eng
	w.Restarts++
	return nil
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

// newWorld builds an in-process world for cfg with one wallet (see newWorlds).
func newWorld(ctx context.Context, cfg Config) (*World, error) {
	cfg.Wallets = 1
	ws, err := newWorlds(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return ws[0], nil
}

// walletSeed is wallet k's seed for its secret key and salts: wallet 0 keeps the run's seed (so a
// one-wallet run is the same as before wallets existed); the others get distinct ones.
func walletSeed(seed int64, k int) int64 {
	return int64(uint64(seed) + uint64(k)*0x9e3779b97f4a7c15)
}

// newWorlds builds the in-process worlds for cfg: the bank generated from the seed with enough
// customers for cfg.Users holders, and cfg.Wallets empty wallets on SQLite files in cfg.Dir, all
// on that one bank. With several wallets each is its own partner of the bank, with its own key.
// The worlds share the clock and the bank; close them with closeWorlds.
func newWorlds(ctx context.Context, cfg Config) ([]*World, error) {
	n := max(cfg.Wallets, 1)
	clock := vclock.NewManual(vclock.DefaultEpoch)
	bank := bankmock.New(bankmock.Config{Seed: cfg.Seed, Customers: cfg.Users + cfg.Users/4 + 2, Clock: clock,
		ClientTimeout: bankClientTimeout, Sleep: bankmock.InstantSleep,
		Entropy: rand.NewChaCha8(seedBytes(cfg.Seed, 3))}) // partner keys replay from the seed too
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
	initial, err := Balances(ctx, bank)
	if err != nil {
		if temp {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	var ws []*World
	fail := func(err error) ([]*World, error) {
		closeWorlds(ws)
		if temp && len(ws) == 0 {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	for k := 0; k < n; k++ {
		name := fmt.Sprintf("chaos-%d.db", cfg.Seed)
		var api bankapi.API = bank
		partner := ""
		if n > 1 {
			name = fmt.Sprintf("chaos-%d-w%d.db", cfg.Seed, k)
			cred, err := bank.CreatePartner(ctx, fmt.Sprintf("chaos wallet %d", k))
			if err != nil {
				return fail(err)
			}
			partner = cred.Partner.ID
			api = partnerAPI{api: bank, id: partner}
		}
		path := filepath.Join(dir, name)
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix) // a fresh wallet every run, so that a seed replays
		}
		seed := walletSeed(cfg.Seed, k)
		key := seedBytes(seed, 2)
		opts := sqlite.Options{SecretKey: key[:]}
		st, err := sqlite.OpenWith(path, opts)
		if err != nil {
			return fail(err)
		}
		eb := &dyingBank{API: api, killRate: cfg.KillRate, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0xd1e0+uint64(k)))}
		eng, err := NewEngine(st, eb, bank, clock, seed)
		if err != nil {
			st.Close()
			return fail(err)
		}
		ws = append(ws, &World{Store: st, Engine: eng, Bank: api, Admin: bank, Clock: clock, Start: clock.Now(),
			Initial: initial, SkipCardConservation: n > 1, Partner: partner,
			dir: dir, tempDir: temp && k == 0, path: path, opts: opts, keySeed: seed, engineBank: eb})
	}
	return ws, nil
}

// closeWorlds closes the worlds, the first (which may own the directory) last.
func closeWorlds(ws []*World) error {
	var errs []error
	for i := len(ws) - 1; i >= 0; i-- {
		errs = append(errs, ws[i].Close())
	}
	return errors.Join(errs...)
}

// Balances reads every card's balance at the bank.
func Balances(ctx context.Context, admin bankapi.Admin) (map[string]int64, error) {
	cs, err := bankapi.AllCustomers(ctx, admin)
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
