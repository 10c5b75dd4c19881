package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

func (a *app) reconcileCmd() *cobra.Command {
	var date string
	cmd := &cobra.Command{
		Use:   "reconcile [--date YYYY-MM-DD]",
		Short: "Settle pending operations with the bank and match its statement",
		Long: `Ask the bank about every pending operation (settling it as succeeded or failed), then match the
bank's statement for the day (default: today on the virtual clock) against the wallet's ledger.
Exits 0 when wallet and bank agree and the ledger sums to zero.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if date != "" {
				if _, err := time.Parse("2006-01-02", date); err != nil {
					return invalidArg("dates look like 2026-01-05", "invalid --date %q", date)
				}
			}
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			r, err := svc.Reconcile(ctx, date)
			if err != nil {
				return err
			}
			if r.Mismatches == nil {
				r.Mismatches = []string{}
			}
			mism := "none"
			if len(r.Mismatches) > 0 {
				mism = strings.Join(r.Mismatches, "\n")
			}
			a.out.Record(r, []kv{
				{"DATE", r.Date},
				{"PENDING CHECKED", r.Checked},
				{"SETTLED", r.Settled},
				{"FAILED", r.Failed},
				{"STILL PENDING", r.StillPending},
				{"STATEMENT LINES MATCHED", r.Matched},
				{"MISMATCHES", mism},
				{"LEDGER SUM", yuan(r.LedgerSum)},
			})
			if len(r.Mismatches) > 0 || r.LedgerSum != 0 {
				return &walletctl.Error{Code: walletctl.CodeConflict,
					Message: fmt.Sprintf("wallet and bank disagree: %d mismatches, ledger sum %s", len(r.Mismatches), yuan(r.LedgerSum)),
					Hint:    "look at the mismatches above and at: walletctl bank journal"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&date, "date", "", "bank day to match, YYYY-MM-DD (default: today on the virtual clock)")
	return cmd
}
