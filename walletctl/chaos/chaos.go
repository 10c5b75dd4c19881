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
}

// Report is what a run did and found.
type Report struct {
	Seed      int64    `json:"seed"`
	Users     int      `json:"users"` // users set up (registered, verified, with a card and a password)
	Ops       int      `json:"ops"`
	FaultRate float64  `json:"fault_rate"`
	Kinds     []string `json:"kinds"`
	Workers   int      `json:"workers"`

	// Operations counts outcomes by operation: "ok" or the wallet error code.
	Operations map[string]map[string]int `json:"operations"`
	// FaultsFired counts the faults the bank journal recorded, by kind.
	FaultsFired map[string]int `json:"faults_fired"`
	// Retries is how many money movements were re-sent with the same idempotency key after an
	// ambiguous answer.
	Retries int `json:"retries"`
	// PendingSeen counts answers that left a movement pending; PendingSettled how many pending
	// txns the status query and reconciliation settled.
	PendingSeen    int         `json:"pending_seen"`
	PendingSettled int         `json:"pending_settled"`
	Reconciles     int         `json:"reconciles"` // Reconcile calls after the run
	Violations     []Violation `json:"violations"`
	Totals         *Totals     `json:"totals,omitempty"`
	Hash           string      `json:"hash"`
	Elapsed        Millis      `json:"elapsed_ms"`
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
	w, err := newWorld(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	rep, err := runIn(ctx, w, cfg)
	if err != nil {
		return nil, err
	}
	rep.Elapsed = Millis(time.Since(began))
	return rep, nil
}

// runIn runs the workload, reconciliation and checks on a world.
func runIn(ctx context.Context, w *World, cfg Config) (*Report, error) {
	rep := &Report{Seed: cfg.Seed, Ops: cfg.Ops, FaultRate: cfg.FaultRate, Workers: max(cfg.Workers, 1),
		Operations: map[string]map[string]int{}, FaultsFired: map[string]int{}, Violations: []Violation{}}
	for _, k := range cfg.Kinds {
		rep.Kinds = append(rep.Kinds, string(k))
	}
	if err := InstallFaults(ctx, w.Admin, cfg.FaultRate, cfg.Kinds); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0xc4a05))
	wl := &workload{w: w, rep: rep}
	if err := wl.setup(ctx, rng, cfg.Users); err != nil {
		return nil, err
	}
	rep.Users = len(wl.actors)
	if cfg.Workers <= 1 {
		for i := 0; i < cfg.Ops; i++ {
			if err := wl.step(ctx, rng, i); err != nil {
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
					if err := wl.step(ctx, r, k*cfg.Ops+i); err != nil {
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
	if err := Settle(ctx, w, rep); err != nil {
		return nil, err
	}
	vs, tot, err := Check(ctx, w)
	if err != nil {
		return nil, err
	}
	rep.Violations = append(rep.Violations, vs...)
	rep.Totals = tot
	if rep.PendingSettled, err = countSettled(ctx, w.Store, wl.everPending); err != nil {
		return nil, err
	}
	j, err := w.Admin.Journal(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range j {
		if e.FaultKind != "" {
			rep.FaultsFired[e.FaultKind]++
		}
	}
	if rep.Hash, err = StateHash(ctx, w); err != nil {
		return nil, err
	}
	return rep, nil
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
		switch k {
		case bankapi.FaultDelay:
			f.Delay = 2 * bankClientTimeout // past the caller's patience: processed, answer unknown
		case bankapi.FaultHTTPError:
			f.Status = 503
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
	_, err := w.Engine.Reconcile(ctx, "")
	rep.count("reconcile (faults on)", outcomeOf(err))
	if err := w.Admin.ClearFaults(ctx); err != nil {
		return err
	}
	days := Days(w.Start, w.Clock.Now())
	for round := 1; round <= 3; round++ {
		still := 0
		var last []Violation
		for _, d := range days {
			rep.Reconciles++
			r, err := w.Engine.Reconcile(ctx, d)
			if err != nil {
				last = append(last, Violation{Check: "reconcile", Detail: fmt.Sprintf("reconcile %s with faults cleared: %v", d, err)})
				still++
				continue
			}
			still += r.StillPending
			for _, m := range r.Mismatches {
				last = append(last, Violation{Check: "reconcile", Detail: d + ": " + m})
			}
			if r.LedgerSum != 0 {
				last = append(last, Violation{Check: "reconcile", Detail: fmt.Sprintf("%s: ledger sum %d", d, r.LedgerSum)})
			}
		}
		if still == 0 || round == 3 {
			rep.Violations = append(rep.Violations, last...)
			break
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

// sortedOps lists the operation names of a report in order.
func (r *Report) sortedOps() []string {
	out := make([]string, 0, len(r.Operations))
	for k := range r.Operations {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
