package chaos

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
)

// Config is one chaos run.
type Config struct {
	Seed      int64               // everything random derives from it
	Users     int                 // wallet users (bank card holders); default 20
	Ops       int                 // random operations after set-up; default 2000
	FaultRate float64             // total chance that a bank request meets an injected fault (0.2 = 20%)
	Kinds     []bankapi.FaultKind // fault kinds to inject; nil = every kind
	Dir       string              // where the SQLite file goes; "" = a temp dir, removed afterwards
	// Workers > 1 runs the operations on that many goroutines, each with its own seeded stream.
	// The invariants must still hold, but the final hash is then not reproducible (interleavings
	// vary); determinism is promised for Workers <= 1 only.
	Workers int
	// Wallets is how many wallets share the one bank, each its own SQLite file, engine, key and
	// bank partner; the bank's card holders are dealt out among them, and every fifth holder is a
	// user of two wallets with the same cards. Default 1 (one wallet, the bank's default partner).
	Wallets int
	// KillRate is the chance that a debit or credit kills the wallet process, just before the
	// request leaves or just after the bank answered; the wallet then restarts from its file.
	KillRate float64
	// GiveUpRate is the chance that an operation's client gives up: before the call, or at the
	// moment the wallet calls the bank (the request then leaves, or not).
	GiveUpRate float64
	// OpKinds restricts the workload to these operation kinds (OpKinds lists them; "merchant"
	// names every merchant kind); nil = the default mix.
	OpKinds []string
}

func (c *Config) defaults() {
	if c.Users <= 0 {
		c.Users = 20
	}
	if c.Ops < 0 {
		c.Ops = 0
	}
	if c.Kinds == nil {
		c.Kinds = append([]bankapi.FaultKind(nil), bankapi.FaultKinds...)
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Wallets <= 0 {
		c.Wallets = 1
	}
}

// Report is what a run did and found.
type Report struct {
	Seed      int64    `json:"seed"`
	Users     int      `json:"users"` // users set up (registered, verified, with a card and a password)
	Ops       int      `json:"ops"`
	FaultRate float64  `json:"fault_rate"`
	Kinds     []string `json:"kinds"`
	OpKinds   []string `json:"op_kinds,omitempty"`
	Workers   int      `json:"workers"`
	Wallets   int      `json:"wallets"`
	// KillRate and GiveUpRate are the process-death and give-up chances of the run.
	KillRate   float64 `json:"kill_rate"`
	GiveUpRate float64 `json:"give_up_rate"`

	// Operations counts outcomes by operation: "ok" or the wallet error code.
	Operations map[string]map[string]int `json:"operations"`
	// FaultsFired counts the faults the bank journal recorded, by kind.
	FaultsFired map[string]int `json:"faults_fired"`
	// Retries is how many money movements were re-sent with the same idempotency key after an
	// ambiguous answer.
	Retries int `json:"retries"`
	// PendingSeen counts answers that left a movement pending; PendingSettled how many pending
	// txns the status query and reconciliation settled.
	PendingSeen    int `json:"pending_seen"`
	PendingSettled int `json:"pending_settled"`
	Reconciles     int `json:"reconciles"` // Reconcile calls after the run
	// KillsBefore and KillsAfter count the wallet process deaths at a bank call: before the
	// request left, and after the bank answered. Restarts counts the wallets started again.
	KillsBefore int `json:"kills_before_bank"`
	KillsAfter  int `json:"kills_after_bank"`
	Restarts    int `json:"restarts"`
	// GiveUps counts the clients that gave up, by where.
	GiveUps    map[string]int `json:"give_ups"`
	Violations []Violation    `json:"violations"`
	Totals     *Totals        `json:"totals,omitempty"`
	Hash       string         `json:"hash"`
	Elapsed    Millis         `json:"elapsed_ms"`
}

// Millis is a duration that reads as milliseconds in JSON.
type Millis time.Duration

func (m Millis) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%d", time.Duration(m).Milliseconds())), nil
}

// OK reports whether no invariant was violated.
func (r *Report) OK() bool { return len(r.Violations) == 0 }

// OpsPerSecond is the operations per wall-clock second of the run (set-up and checks included).
func (r *Report) OpsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / time.Duration(r.Elapsed).Seconds()
}

func (r *Report) count(op, outcome string) {
	m := r.Operations[op]
	if m == nil {
		m = map[string]int{}
		r.Operations[op] = m
	}
	m[outcome]++
}

// Run sets up cfg.Users users, runs cfg.Ops random operations with the bank injecting faults,
// then reconciles every bank day with faults cleared and checks every invariant.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	began := time.Now() // wall time only for the report's speed figure, never for the engines
	ws, err := newWorlds(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer closeWorlds(ws)
	rep, err := runWorlds(ctx, ws, cfg)
	if err != nil {
		return nil, err
	}
	rep.Elapsed = Millis(time.Since(began))
	return rep, nil
}

// runIn runs the workload, reconciliation and checks on a world.
func runIn(ctx context.Context, w *World, cfg Config) (*Report, error) {
	return runWorlds(ctx, []*World{w}, cfg)
}

// runWorlds runs the workload, reconciliation and checks on wallets that share one bank (and
// its Admin and clock). With one goroutine the wallets take turns, operation by operation, on
// one seeded stream, so that a seed replays.
func runWorlds(ctx context.Context, ws []*World, cfg Config) (*Report, error) {
	rep := &Report{Seed: cfg.Seed, Ops: cfg.Ops, FaultRate: cfg.FaultRate, Workers: max(cfg.Workers, 1), Wallets: len(ws),
		KillRate: cfg.KillRate, GiveUpRate: cfg.GiveUpRate, GiveUps: map[string]int{},
		Operations: map[string]map[string]int{}, FaultsFired: map[string]int{}, Violations: []Violation{}}
	for _, k := range cfg.Kinds {
		rep.Kinds = append(rep.Kinds, string(k))
	}
	rep.OpKinds = cfg.OpKinds
	mix, err := opMix(cfg.OpKinds)
	if err != nil {
		return nil, walletctl.Errorf(walletctl.CodeInvalidArgument, "%v", err)
	}
	admin := ws[0].Admin
	if err := InstallFaults(ctx, admin, cfg.FaultRate, cfg.Kinds); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0xc4a05))
	repMu := &sync.Mutex{}
	wls := make([]*workload, len(ws))
	for k, w := range ws {
		wls[k] = &workload{w: w, rep: rep, repMu: repMu, giveUpRate: cfg.GiveUpRate, mix: mix}
		if len(ws) > 1 {
			wls[k].holders = dealHolders(k, len(ws), cfg.Users)
		}
		if err := wls[k].setup(ctx, rng, cfg.Users); err != nil {
			return nil, err
		}
		rep.Users += len(wls[k].actors)
	}
	// Operation i goes to wallet i mod N, whoever runs it.
	step := func(r *rand.Rand, i, n int) error { return wls[i%len(wls)].step(ctx, r, n) }
	if cfg.Workers <= 1 {
		for i := 0; i < cfg.Ops; i++ {
			if err := step(rng, i, i); err != nil {
				return nil, err
			}
		}
	} else {
		var wg sync.WaitGroup
		errs := make([]error, cfg.Workers)
		for k := 0; k < cfg.Workers; k++ {
			n := cfg.Ops / cfg.Workers
			if k < cfg.Ops%cfg.Workers {
				n++
			}
			r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0xc4a05+uint64(k)+1))
			wg.Add(1)
			go func(k, n int, r *rand.Rand) {
				defer wg.Done()
				for i := 0; i < n; i++ {
					if err := step(r, k+i, k*cfg.Ops+i); err != nil {
						errs[k] = err
						return
					}
				}
			}(k, n, r)
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	if err := settleWorlds(ctx, ws, rep); err != nil {
		return nil, err
	}
	byCard := make([]map[string]int64, len(ws))
	for k, w := range ws {
		vs, tot, bc, err := check(ctx, w)
		if err != nil {
			return nil, err
		}
		byCard[k] = bc
		for _, v := range vs {
			if len(ws) > 1 {
				v.Detail = fmt.Sprintf("wallet %d: %s", k, v.Detail)
			}
			rep.Violations = append(rep.Violations, v)
		}
		rep.Totals = rep.Totals.add(tot)
		n, err := countSettled(ctx, w.Store, wls[k].everPending)
		if err != nil {
			return nil, err
		}
		rep.PendingSettled += n
		rep.Restarts += w.Restarts
	}
	if len(ws) > 1 {
		vs, err := CheckCards(ctx, ws, byCard)
		if err != nil {
			return nil, err
		}
		rep.Violations = append(rep.Violations, vs...)
	}
	err = bankapi.Each(ctx, bankapi.Page{Limit: bankapi.MaxPageLimit}, admin.Journal, bankapi.JournalEntry.Cursor, func(e bankapi.JournalEntry) error {
		if e.FaultKind != "" {
			rep.FaultsFired[e.FaultKind]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rep.Hash, err = stateHash(ctx, ws); err != nil {
		return nil, err
	}
	return rep, nil
}

// dealHolders gives wallet k of n the bank's card holders i (among the first users) with
// i mod n == k, and also every fifth holder of the previous wallet: one person with two wallet
// apps on the same cards, to whom the bank issues one agreement per partner.
func dealHolders(k, n, users int) func(i int) bool {
	return func(i int) bool {
		if i >= users {
			return false
		}
		return i%n == k || (i%5 == 0 && (i+1)%n == k)
	}
}

// InstallFaults adds one probability rule per kind so that a request meets some fault with
// probability rate in total. Rules are consulted in order and the first that fires wins, so each
// gets p with 1-(1-p)^k = rate. The bank draws from its seed and each rule's match counter, so
// the same requests meet the same faults on replay.
func InstallFaults(ctx context.Context, admin bankapi.Admin, rate float64, kinds []bankapi.FaultKind) error {
	if rate <= 0 || len(kinds) == 0 {
		return nil
	}
	if rate > 1 {
		rate = 1
	}
	p := 1 - math.Pow(1-rate, 1/float64(len(kinds)))
	for _, k := range kinds {
		f := bankapi.Fault{Kind: k, Probability: bankapi.Chance(p)}
		if info, ok := bankapi.LookupFaultKind(k); ok && info.Sample != nil {
			info.Sample(&f, bankClientTimeout) // the kind's own parameters, against the wallet's patience
		}
		if _, err := admin.AddFault(ctx, f); err != nil {
			return fmt.Errorf("add %s fault: %w", k, err)
		}
	}
	return nil
}

// Settle is the end of a run: one reconciliation of today with the faults still on (it may
// fail: that is realistic), then, with the faults cleared, reconcile every bank day touched until
// nothing is pending (at most three rounds). Mismatches in the last round are violations.
func Settle(ctx context.Context, w *World, rep *Report) error {
	return settleWorlds(ctx, []*World{w}, rep)
}

// settleWorlds is Settle for wallets on one bank: the faults are cleared once, bank-wide.
func settleWorlds(ctx context.Context, ws []*World, rep *Report) error {
	for _, w := range ws {
		_, err := w.Engine.Reconcile(ctx, "")
		rep.count("reconcile (faults on)", outcomeOf(err))
	}
	if err := ws[0].Admin.ClearFaults(ctx); err != nil {
		return err
	}
	for k, w := range ws {
		who := ""
		if len(ws) > 1 {
			who = fmt.Sprintf("wallet %d: ", k)
		}
		days := Days(w.Start, w.Clock.Now())
		for round := 1; round <= 3; round++ {
			still := 0
			var last []Violation
			for _, d := range days {
				rep.Reconciles++
				r, err := w.Engine.Reconcile(ctx, d)
				if err != nil {
					last = append(last, Violation{Check: "reconcile", Detail: fmt.Sprintf("%sreconcile %s with faults cleared: %v", who, d, err)})
					still++
					continue
				}
				still += r.StillPending
				for _, m := range r.Mismatches {
					last = append(last, Violation{Check: "reconcile", Detail: who + d + ": " + m})
				}
				if r.LedgerSum != 0 {
					last = append(last, Violation{Check: "reconcile", Detail: fmt.Sprintf("%s%s: ledger sum %d", who, d, r.LedgerSum)})
				}
			}
			if still == 0 || round == 3 {
				rep.Violations = append(rep.Violations, last...)
				break
			}
		}
	}
	return nil
}

// countSettled counts the txns among ids that are no longer pending.
func countSettled(ctx context.Context, st walletctl.Store, ids []string) (int, error) {
	n := 0
	err := st.View(ctx, func(tx walletctl.StoreTx) error {
		for _, id := range ids {
			t, err := tx.GetTxn(id)
			if err != nil {
				return err
			}
			if t != nil && t.Status != walletctl.TxnPending {
				n++
			}
		}
		return nil
	})
	return n, err
}

// add sums two wallets' totals (nil counts as zero).
func (t *Totals) add(u *Totals) *Totals {
	if t == nil {
		t = &Totals{}
	}
	if u == nil {
		return t
	}
	t.WalletTxns += u.WalletTxns
	t.BankTxns += u.BankTxns
	t.BankIn += u.BankIn
	t.BankOut += u.BankOut
	t.Users += u.Users
	t.Merchants += u.Merchants
	t.InTransit += u.InTransit
	t.Fees += u.Fees
	t.Withdrawing += u.Withdrawing
	t.StillPending += u.StillPending
	t.Orders += u.Orders
	t.OrdersPaid += u.OrdersPaid
	t.Refunds += u.Refunds
	t.Refunding += u.Refunding
	return t
}

// sortedOps lists the operation names of a report in order.
func (r *Report) sortedOps() []string {
	out := make([]string, 0, len(r.Operations))
	for k := range r.Operations {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
