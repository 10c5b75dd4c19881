package cli

import (
	"context"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// NewCmdSecurityLog is `security log`.
func NewCmdSecurityLog(f *Factory, runF func(context.Context, *SecurityLogOptions) error) *cobra.Command {
	return newListCmd(f, &cobra.Command{Use: "log", Short: "Password set, wrong, locked, reset; cards bound; status changes (newest first)"}, runF, true, false,
		walletctl.Service.SecurityLog, securitySeq, func(o *Output, evs []walletctl.SecurityEvent, _ bool) { o.SecurityLog(evs) })
}

// SecurityLog lists a user's security events.
func (o *Output) SecurityLog(evs []walletctl.SecurityEvent) {
	o.List(evs, []string{"SEQ", "TIME", "EVENT", "DETAIL"}, rowsOf(evs, func(e walletctl.SecurityEvent) table.Row {
		return table.Row{e.Seq, ts(e.Time), e.Event, e.Detail}
	}))
}
