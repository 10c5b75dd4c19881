package cli

import (
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"
)

func (a *app) txCmd() *cobra.Command {
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
				rows[i] = table.Row{t.ID, ts(t.CreatedAt), t.Kind, t.Status, yuan(t.Amount), fee, t.Counterparty, t.Source, t.FailureCode}
			}
			a.printList(txns, []string{"ID", "TIME", "KIND", "STATUS", "AMOUNT", "FEE", "COUNTERPARTY", "SOURCE", "FAILURE"}, rows)
			return nil
		},
	}
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
			if !a.json() && len(t.Postings) > 0 {
				pt := a.newTable("ACCOUNT", "DEBIT", "CREDIT")
				for _, p := range t.Postings {
					if p.Amount >= 0 {
						pt.AppendRow(table.Row{p.Account, yuan(p.Amount), ""})
					} else {
						pt.AppendRow(table.Row{p.Account, "", yuan(-p.Amount)})
					}
				}
				a.render(pt)
			}
			return nil
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}
