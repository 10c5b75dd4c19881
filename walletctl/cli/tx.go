package cli

import (
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

func (a *app) txCmd() *cobra.Command {
	var wide bool
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Transaction history: list, show (with ledger postings)",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the --as user's transactions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			txns, err := svc.Transactions(ctx, u.ID)
			if err != nil {
				return err
			}
			rows := make([]table.Row, len(txns))
			for i, t := range txns {
				fee := ""
				if t.Fee != 0 {
					fee = yuan(t.Fee)
				}
				// A transfer has one status here, its own (as transfer list shows it); the
				// ledger's pending/succeeded stays in -o json.
				status := txnStatus(&t)
				source := t.Source
				if t.Direction == walletctl.DirectionIn && t.Kind == walletctl.KindTransfer {
					source = "" // the payer's source of funds is not the payee's
				}
				rows[i] = table.Row{t.ID, ts(t.CreatedAt), t.Kind, t.Direction, status, yuan(t.Amount), t.Counterparty, fee, source, t.FailureCode}
			}
			a.out.Table(txns, []string{"ID", "TIME", "KIND", "DIR", "STATUS", "AMOUNT", "COUNTERPARTY", "FEE", "SOURCE", "FAILURE"}, rows,
				wide, "SOURCE", "FEE", "TIME", "FAILURE")
			return nil
		},
	}
	list.Flags().BoolVar(&wide, "wide", false, wideUsage)
	show := &cobra.Command{
		Use:               "show ID",
		Short:             "Show one transaction and its double-entry postings",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTxnsArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			t, err := svc.Transaction(ctx, u.ID, args[0])
			if err != nil {
				return err
			}
			a.printTxn(t)
			if !a.out.JSON() && len(t.Postings) > 0 {
				pt := a.out.NewTable("ACCOUNT", "DEBIT", "CREDIT")
				for _, p := range t.Postings {
					if p.Amount >= 0 {
						pt.AppendRow(table.Row{p.Account, yuan(p.Amount), ""})
					} else {
						pt.AppendRow(table.Row{p.Account, "", yuan(-p.Amount)})
					}
				}
				a.out.Render(pt)
			}
			return nil
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}
