package cli

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

type clockView struct {
	Now time.Time `json:"now"`
}

// ClockShowOptions are clock show's inputs: none.
type ClockShowOptions struct{ *Factory }

// NewCmdClockShow is `clock show`.
func NewCmdClockShow(f *Factory, runF func(context.Context, *ClockShowOptions) error) *cobra.Command {
	return newViewCmd(&cobra.Command{Use: "show", Short: "Show the virtual time"}, &ClockShowOptions{Factory: f}, runF,
		walletctl.Service.Now, (*Output).Clock)
}

// ClockAdvanceOptions are clock advance's inputs.
type ClockAdvanceOptions struct {
	*Factory
	By time.Duration // > 0
}

// NewCmdClockAdvance is `clock advance DURATION`.
func NewCmdClockAdvance(f *Factory, runF func(context.Context, *ClockAdvanceOptions) error) *cobra.Command {
	opts := &ClockAdvanceOptions{Factory: f}
	return newCmd(&cobra.Command{Use: "advance DURATION", Short: "Move the virtual clock forward (2h, 90m, 1d, 1d2h) and run what fell due",
		Long: `Move the virtual clock forward and run what fell due: delayed transfers arrive, unaccepted ones
go back to the payer, password locks expire. DURATION is a Go duration (2h, 90m) with an optional
leading number of days (1d, 1d12h). With --bank URL the remote bank's clock moves too.`,
		Args: cobra.ExactArgs(1),
	}, opts, func(args []string) error {
		d, err := parseDuration(args[0])
		if err != nil {
			return err
		}
		if d <= 0 {
			return invalidArg("the clock only moves forward: give a positive duration like 2h", "duration %q is not positive", args[0])
		}
		opts.By = d
		return nil
	}, runF, func(ctx context.Context, o *ClockAdvanceOptions) error {
		now, err := o.Advance(ctx, o.By)
		if err != nil {
			return err
		}
		o.Out.Clock(now)
		return nil
	})
}

// Clock shows the virtual time.
func (o *Output) Clock(now time.Time) { o.Message(clockView{now}, "%s", ts(now)) }

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
