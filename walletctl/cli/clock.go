package cli

import (
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

type clockView struct {
	Now time.Time `json:"now"`
}

func (a *app) clockCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clock",
		Short: "The sandbox's virtual clock: show it, move it forward",
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the virtual time",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			now, err := svc.Now(ctx)
			if err != nil {
				return err
			}
			a.out.Message(clockView{now}, "%s", ts(now))
			return nil
		},
	}
	advance := &cobra.Command{
		Use:   "advance DURATION",
		Short: "Move the virtual clock forward (2h, 90m, 1d, 1d2h) and run what fell due",
		Long: `Move the virtual clock forward and run what fell due: delayed transfers arrive, unaccepted ones
go back to the payer, password locks expire. DURATION is a Go duration (2h, 90m) with an optional
leading number of days (1d, 1d12h). With --bank URL the remote bank's clock moves too.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := parseDuration(args[0])
			if err != nil {
				return err
			}
			if d <= 0 {
				return invalidArg("the clock only moves forward: give a positive duration like 2h", "duration %q is not positive", args[0])
			}
			now, err := a.advance(ctx, d)
			if err != nil {
				return err
			}
			a.out.Message(clockView{now}, "%s", ts(now))
			return nil
		},
	}
	cmd.AddCommand(show, advance)
	return cmd
}

// parseDuration reads a Go duration with an optional leading "<n>d" for days: 1d, 1d2h, 24h, 90m.
func parseDuration(s string) (time.Duration, error) {
	bad := func() (time.Duration, error) {
		return 0, invalidArg("durations look like 2h, 90m, 1d or 1d12h", "invalid duration %q", s)
	}
	rest := s
	var days int64
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 || n > 36500 {
			return bad()
		}
		days, rest = n, s[i+1:]
		if rest == "" {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return bad()
	}
	if days > 0 && d < 0 {
		return bad()
	}
	return time.Duration(days)*24*time.Hour + d, nil
}
