package cli

import (
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"
)

func (a *app) merchantCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "merchant",
		Short: "The sandbox's merchants (tickets, insurance, phone top-up, ...)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the merchants you can pay",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			ms, err := svc.Merchants(ctx)
			if err != nil {
				return err
			}
			rows := make([]table.Row, len(ms))
			for i, m := range ms {
				rows[i] = table.Row{m.ID, m.Name, m.Category}
			}
			a.printList(ms, []string{"ID", "NAME", "CATEGORY"}, rows)
			return nil
		},
	})
	return cmd
}
