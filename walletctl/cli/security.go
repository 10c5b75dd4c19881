package cli

import (
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"
)

func (a *app) securityCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "security",
		Short: "The account's security log",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "log",
		Short: "Password set, wrong, locked, reset; cards bound; status changes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			evs, err := svc.SecurityLog(ctx, u.ID)
			if err != nil {
				return err
			}
			rows := make([]table.Row, len(evs))
			for i, e := range evs {
				rows[i] = table.Row{e.Seq, ts(e.Time), e.Event, e.Detail}
			}
			a.out.List(evs, []string{"SEQ", "TIME", "EVENT", "DETAIL"}, rows)
			return nil
		},
	})
	return cmd
}
