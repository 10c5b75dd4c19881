package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// ReconcileOptions are reconcile's inputs.
type ReconcileOptions struct {
	*Factory
	Date string // YYYY-MM-DD; "": today on the virtual clock
}

// NewCmdReconcile is `reconcile`.
func NewCmdReconcile(f *Factory, runF func(context.Context, *ReconcileOptions) error) *cobra.Command {
	opts := &ReconcileOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "reconcile [--date YYYY-MM-DD]", Short: "Settle pending operations with the bank and match its statement",
		Long: `Ask the bank about every pending operation (settling it as succeeded or failed), then match the
bank's statement for the day (default: today on the virtual clock) against the wallet's ledger.
Exits 0 when wallet and bank agree and the ledger sums to zero.`,
	}, opts, func([]string) error {
		if opts.Date != "" {
			if !isDay(opts.Date) {
				return invalidArg("dates look like 2026-01-05", "invalid --date %q", opts.Date)
			}
		}
		return nil
	}, runF, reconcileRun)
	cmd.Flags().StringVar(&opts.Date, "date", "", "bank day to match, YYYY-MM-DD (default: today on the virtual clock)")
	return cmd
}

func reconcileRun(ctx context.Context, o *ReconcileOptions) error {
	var r *walletctl.ReconcileReport
	err := withServiceOf(ctx, o.Factory, walletctl.Service.Reconcile, o.Date, func(x *walletctl.ReconcileReport) {
		r = x
		o.Out.Reconcile(r)
	})
	if err != nil {
		return err
	}
	if len(r.Mismatches) > 0 || r.LedgerSum != 0 {
		return &walletctl.Error{Code: walletctl.CodeConflict,
			Message: fmt.Sprintf("wallet and bank disagree: %d mismatches, ledger sum %s", len(r.Mismatches), yuan(r.LedgerSum)),
			Hint:    "look at the mismatches above and at: walletctl bank journal"}
	}
	return nil
}

// Reconcile shows a reconciliation: what was settled and what does not match.
func (o *Output) Reconcile(r *walletctl.ReconcileReport) {
	if r.Mismatches == nil {
		r.Mismatches = []string{}
	}
	mism := "none"
	if len(r.Mismatches) > 0 {
		mism = strings.Join(r.Mismatches, "\n")
	}
	o.Record(r, []kv{
		{"DATE", r.Date},
		{"PENDING CHECKED", r.Checked},
		{"SETTLED", r.Settled},
		{"FAILED", r.Failed},
		{"STILL PENDING", r.StillPending},
		{"STATEMENT LINES MATCHED", r.Matched},
		{"MISMATCHES", mism},
		{"LEDGER SUM", yuan(r.LedgerSum)},
	})
}
