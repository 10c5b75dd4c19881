package chaos

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
)

// NewCommand is `walletctl chaos`: run the harness for one or more seeds, print the report (a
// table, or JSON with -o json / --json) and fail with the seeds to replay on any violation.
func NewCommand() *cobra.Command {
	var (
		seed, seeds int64
		users, ops  int
		workers     int
		wallets     int
		killRate    float64
		giveUpRate  float64
		rate        float64
		kinds       []string
		opKinds     []string
		dir         string
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "chaos",
		Short: "Random work against a faulty bank, then reconcile and check every money invariant",
		Long: `chaos runs a seeded random workload (top-up, pay, transfer, accept, cancel, withdraw, wrong
passwords, clock advances; merchant orders paid by scan from the balance or a card, code payments
below and above the password-free limit, refunds, closes racing payments, reverses; --ops-kinds
narrows the mix) over many users against the mock bank in-process, with the bank injecting
every fault kind at the chosen rate (` + strings.Join(bankapi.FaultKindNames(), ", ") + `). Afterwards it clears the faults, reconciles every bank day and checks: the ledger sums
to zero with no negative balance; every bank debit and credit matches exactly one wallet txn and
vice versa; money is conserved on both sides; nothing stays pending; every merchant order is
paid by exactly one succeeded payment or none, its refunds stay within what was paid and each
merchant's account holds its paid orders less its refunds; and it prints the final state
hash (the same seed gives the same hash). It exits non-zero on any violation and prints the seed
to replay it. The sandbox in --home is not touched.

Three more fault classes live on the wallet's side of the wire (all off by default):
  --wallets N       N wallets, each its own SQLite file, key and bank partner, on one bank; the
                    card holders are dealt out among them and every fifth holder uses two wallets
                    with the same cards. Each wallet must match its own statements, and at the
                    bank every card must have moved by exactly what all wallets' lines net on it
                    (a card no wallet touched must not move).
  --kill-rate P     a debit or credit kills the wallet process with chance P, before the request
                    leaves or after the bank answered; the wallet restarts from its file (store
                    reopened, new engine) and the client may retry with the same key.
  --give-up-rate P  an operation's client gives up with chance P: before the call, or at the
                    moment the wallet calls the bank (the request then leaves, or not).
With one worker every class is drawn from the seed, so a seed still replays to the same hash.`,
		Example: `  walletctl chaos --seed 7
  walletctl chaos --seeds 20 --ops 2000 --fault-rate 0.2
  walletctl chaos --seed 7 --kinds drop_after,hang -o json
  walletctl chaos --seeds 5 --wallets 3 --kill-rate 0.02 --give-up-rate 0.02`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rate < 0 || rate > 1 {
				return walletctl.Errorf(walletctl.CodeInvalidArgument, "--fault-rate must be between 0 and 1, not %g", rate)
			}
			if seeds < 1 || users < 1 || ops < 0 || wallets < 1 {
				return walletctl.Errorf(walletctl.CodeInvalidArgument, "--seeds, --users and --wallets must be at least 1, --ops at least 0")
			}
			if killRate < 0 || killRate > 1 || giveUpRate < 0 || giveUpRate > 1 {
				return walletctl.Errorf(walletctl.CodeInvalidArgument, "--kill-rate and --give-up-rate must be between 0 and 1")
			}
			var ks []bankapi.FaultKind
			for _, k := range kinds {
				for _, part := range strings.Split(k, ",") {
					part = strings.TrimSpace(part)
					if part == "" {
						continue
					}
					if !validKind(bankapi.FaultKind(part)) {
						return walletctl.Errorf(walletctl.CodeInvalidArgument, "unknown fault kind %q (want %s)", part, strings.Join(bankapi.FaultKindNames(), ","))
					}
					ks = append(ks, bankapi.FaultKind(part))
				}
			}
			if _, err := opMix(opKinds); err != nil {
				return walletctl.Errorf(walletctl.CodeInvalidArgument, "--ops-kinds: %v", err)
			}
			if f := cmd.Flag("output"); f != nil && f.Value.String() == "json" {
				asJSON = true
			}
			// The replay line carries the wallet-side classes that were on.
			classes := ""
			if wallets > 1 {
				classes += fmt.Sprintf(" --wallets %d", wallets)
			}
			if killRate > 0 {
				classes += fmt.Sprintf(" --kill-rate %g", killRate)
			}
			if giveUpRate > 0 {
				classes += fmt.Sprintf(" --give-up-rate %g", giveUpRate)
			}
			if workers > 1 {
				classes += fmt.Sprintf(" --workers %d", workers)
			}
			if len(opKinds) > 0 {
				classes += fmt.Sprintf(" --ops-kinds %q", strings.Join(opKinds, ","))
			}
			out := cmd.OutOrStdout()
			var bad []int64
			for s := seed; s < seed+seeds; s++ {
				r, err := Run(cmd.Context(), Config{Seed: s, Users: users, Ops: ops, FaultRate: rate, Kinds: ks, Dir: dir, Workers: workers,
					Wallets: wallets, KillRate: killRate, GiveUpRate: giveUpRate, OpKinds: opKinds})
				if err != nil {
					return fmt.Errorf("chaos seed %d: %w", s, err)
				}
				if asJSON {
					if err := r.WriteJSON(out); err != nil {
						return err
					}
				} else {
					r.WriteTable(out)
					fmt.Fprintf(out, "%d operations in %.1fs (%.0f/s)\n\n", r.Ops, time.Duration(r.Elapsed).Seconds(), r.OpsPerSecond())
				}
				if !r.OK() {
					bad = append(bad, s)
					fmt.Fprintf(cmd.ErrOrStderr(), "seed %d: %d violation(s); replay: %s\n", s, len(r.Violations), replay(s, users, ops, rate, kinds)+classes)
				}
			}
			if len(bad) > 0 {
				return &walletctl.Error{Code: walletctl.CodeInternal,
					Message: fmt.Sprintf("invariants violated for seed(s) %v", bad),
					Hint:    "replay one seed: " + replay(bad[0], users, ops, rate, kinds) + classes,
					Details: map[string]any{"seeds": bad}}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Int64Var(&seed, "seed", 1, "first seed (everything random derives from it)")
	f.Int64Var(&seeds, "seeds", 1, "how many consecutive seeds to run, from --seed")
	f.IntVar(&users, "users", 20, "wallet users (bank card holders)")
	f.IntVar(&ops, "ops", 2000, "random operations per seed")
	f.Float64Var(&rate, "fault-rate", 0.2, "chance that a bank request meets an injected fault")
	f.StringSliceVar(&kinds, "kinds", nil, "fault kinds to inject (default all: "+strings.Join(bankapi.FaultKindNames(), ",")+")")
	f.StringSliceVar(&opKinds, "ops-kinds", nil, "operation kinds to draw (default the whole mix; \"merchant\" = every merchant kind): "+strings.Join(OpKinds(), ","))
	f.StringVar(&dir, "dir", "", "directory for the SQLite files (default: a temp dir, removed afterwards)")
	f.IntVar(&workers, "workers", 1, "goroutines running operations (>1: invariants still checked, hash not reproducible)")
	f.IntVar(&wallets, "wallets", 1, "wallets on the one bank, each its own partner (holders dealt out, some shared)")
	f.Float64Var(&killRate, "kill-rate", 0, "chance that a debit or credit kills the wallet process (before or after the bank); it restarts")
	f.Float64Var(&giveUpRate, "give-up-rate", 0, "chance that an operation's client gives up (before the call or at the bank call)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON (same as -o json)")
	return cmd
}

func validKind(k bankapi.FaultKind) bool {
	for _, x := range bankapi.FaultKinds {
		if x == k {
			return true
		}
	}
	return false
}

func replay(seed int64, users, ops int, rate float64, kinds []string) string {
	s := fmt.Sprintf("walletctl chaos --seed %d --users %d --ops %d --fault-rate %g", seed, users, ops, rate)
	if len(kinds) > 0 {
		s += " --kinds " + strings.Join(kinds, ",")
	}
	return s
}
