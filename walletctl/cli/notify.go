package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// The merchant notifications (DESIGN.md section 9) as commands: what was sent, every attempt and
// its answer, a resend, and the faults of the notification path. listen.go forwards them to a
// local receiver; trigger.go makes the state that fires them.

func (a *app) notifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Merchant notifications: list, show attempts, resend, faults",
		Long: `A paid order or a finished refund sends v3's notification to its notify_url,
signed by the platform and its resource encrypted under the merchant's APIv3
key, until the merchant answers 2xx within 5 s, retrying after 15s, 15s, 30s,
3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h on the virtual clock
(walletctl clock advance delivers what fell due). Every attempt is kept.`,
	}
	cmd.AddCommand(a.notifyListCmd(), a.notifyShowCmd(), a.notifyResendCmd(), a.notifyFaultCmd())
	return cmd
}

func (a *app) notifyListCmd() *cobra.Command {
	var mchid, status, event string
	var wide bool
	cmd := &cobra.Command{
		Use:   "list [--mchid M] [--status S] [--event TYPE]",
		Short: "List the notifications: event, merchant, status, tries, next attempt",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			all, err := svc.Notifications(ctx)
			if err != nil {
				return err
			}
			list := make([]walletctl.Notification, 0, len(all))
			var rows []table.Row
			for _, n := range all {
				if (mchid != "" && n.MchID != mchid) || (status != "" && n.Status != status) || (event != "" && !strings.EqualFold(n.EventType, event)) {
					continue
				}
				list = append(list, n)
				rows = append(rows, table.Row{n.ID, n.EventType, n.MchID, notifyStatus(n), n.Tries, shortTime(n.NextAt)})
			}
			a.out.Table(list, []string{"ID", "EVENT", "MCHID", "STATUS", "TRIES", "NEXT"}, rows, wide, "MCHID")
			return nil
		},
	}
	cmd.Flags().StringVar(&mchid, "mchid", "", "only this merchant's")
	cmd.Flags().StringVar(&status, "status", "", "only this status: pending, delivered, failed")
	cmd.Flags().StringVar(&event, "event", "", "only this event type, e.g. TRANSACTION.SUCCESS")
	cmd.Flags().BoolVar(&wide, "wide", false, wideUsage)
	cmd.RegisterFlagCompletionFunc("mchid", a.completeMchids)
	cmd.RegisterFlagCompletionFunc("status", fixedCompletion(walletctl.NotifyPending, walletctl.NotifyDelivered, walletctl.NotifyFailed))
	cmd.RegisterFlagCompletionFunc("event", fixedCompletion(eventTypes...))
	return cmd
}

// eventTypes are v3's notification event types, in the order trigger documents them.
var eventTypes = []string{walletctl.EventTransactionSuccess, walletctl.EventRefundSuccess, walletctl.EventRefundAbnormal, walletctl.EventRefundClosed}

// notifyStatus is the status, with "held" for one an out-of-order fault keeps back.
func notifyStatus(n walletctl.Notification) string {
	if n.Held {
		return n.Status + " (held)"
	}
	return n.Status
}

func (a *app) notifyShowCmd() *cobra.Command {
	var wide bool
	cmd := &cobra.Command{
		Use:               "show ID",
		Short:             "Show a notification and every attempt: time, status, latency, answer",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeNotificationsArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			n, err := svc.Notification(ctx, args[0])
			if err != nil {
				return err
			}
			a.printNotification(n, wide)
			return nil
		},
	}
	cmd.Flags().BoolVar(&wide, "wide", false, wideUsage)
	return cmd
}

func (a *app) notifyResendCmd() *cobra.Command {
	var wide bool
	cmd := &cobra.Command{
		Use:   "resend ID",
		Short: "Send a notification again now, starting its retry schedule over",
		Long: `Send a notification again now (a delivered one too: the merchant must treat it as
a duplicate), starting its retry schedule over. Prints it with every attempt.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeNotificationsArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			n, err := svc.ResendNotification(ctx, args[0])
			if err != nil {
				return err
			}
			a.printNotification(n, wide)
			return nil
		},
	}
	cmd.Flags().BoolVar(&wide, "wide", false, wideUsage)
	return cmd
}

// printNotification prints a notification (a record) and its attempts (a table); -o json the
// notification with every field.
func (a *app) printNotification(n *walletctl.Notification, wide bool) {
	if a.out.JSON() {
		writeJSON(a.ios.Out, n)
		return
	}
	rows := []kv{
		{"ID", n.ID},
		{"EVENT", n.EventType},
		{"EVENT ID", n.EventID},
		{"MCHID", n.MchID},
		{"SUMMARY", n.Summary},
		{"URL", n.URL},
	}
	switch {
	case n.Order != nil:
		rows = append(rows, kv{"ORDER", n.Order.OutTradeNo + " " + n.Order.TradeState + " " + yuan(n.Order.Amount)})
	case n.Refund != nil:
		rows = append(rows, kv{"REFUND", n.Refund.OutRefundNo + " " + n.Refund.Status + " " + yuan(n.Refund.Amount) +
			" (order " + n.Refund.OutTradeNo + ")"})
	}
	rows = append(rows, kv{"CREATED", ts(n.CreatedAt)}, kv{"STATUS", notifyStatus(*n)})
	if n.NextAt != nil {
		rows = append(rows, kv{"NEXT", tsp(n.NextAt)})
	}
	rows = append(rows, kv{"TRIES", fmt.Sprintf("%d of %d", n.Tries, len(walletctl.NotifySchedule)+1)})
	if n.Resends > 0 {
		rows = append(rows, kv{"RESENDS", n.Resends})
	}
	a.out.Record(n, rows)
	arows := make([]table.Row, len(n.Attempts))
	for i, at := range n.Attempts {
		fault := at.Fault
		if at.Probe {
			fault = strings.TrimSpace(fault + " probe")
		}
		answer := oneLine(at.Answer)
		if !wide {
			answer = clip(answer, 24)
		}
		arows[i] = table.Row{at.N, shortTime(&at.At), attemptStatus(at), at.LatencyMS, yesNo(at.OK), answer, at.Error, fault}
	}
	a.out.Table(nil, []string{"N", "TIME", "STATUS", "MS", "OK", "ANSWER", "ERROR", "FAULT"}, arows, wide, "OK", "MS")
}

// shortTime is a virtual time without its year (tables of notifications; -o json has it all).
func shortTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.In(vclock.Shanghai).Format("01-02 15:04:05")
}

// attemptStatus is the HTTP status of an attempt, or "-" when there was no answer.
func attemptStatus(at walletctl.NotifyAttempt) string {
	if at.Status == 0 {
		return "-"
	}
	return strconv.Itoa(at.Status)
}

// oneLine keeps an answer's first bytes on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// clip shortens s to n characters with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func (a *app) notifyFaultCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fault",
		Short: "Faults of the notification path: add, list, clear",
	}
	var kind, event, mchid, delay string
	var first int
	add := &cobra.Command{
		Use:   "add [SPEC]",
		Short: "Add a notification fault (spec: kind;event=E;mchid=M;first=N;d=10s)",
		Long: `Add a fault to the notification path. SPEC is

  KIND[;event=TRANSACTION.SUCCESS][;mchid=M][;first=N][;d=DURATION]

and flags add to or override it. Kinds:
  duplicate     the notification is delivered twice in a row
  out_of_order  held back until the merchant's next notification is sent
  delay         sent d later on the virtual clock (needs d=, or --delay)
  drop_ack      the merchant's answer is lost: counted as failed, retried
  sign_probe    a WECHATPAY/SIGNTEST/ signature probe is sent first
first=N fires on the first N notifications that match, then passes.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeNotifyFaultKinds,
	}
	add.Flags().StringVar(&kind, "kind", "", "fault kind (instead of a spec)")
	add.Flags().StringVar(&event, "event", "", "only this event type, e.g. REFUND.SUCCESS")
	add.Flags().StringVar(&mchid, "mchid", "", "only this merchant's notifications")
	add.Flags().IntVar(&first, "first", 0, "fire on the first N matching notifications, then pass")
	add.Flags().StringVar(&delay, "delay", "", "for delay: how long on the virtual clock (30s, 5m)")
	add.RegisterFlagCompletionFunc("kind", completeNotifyFaultKinds)
	add.RegisterFlagCompletionFunc("event", fixedCompletion(eventTypes...))
	add.RegisterFlagCompletionFunc("mchid", a.completeMchids)
	add.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		var f walletctl.NotifyFault
		switch {
		case len(args) == 1:
			p, err := walletctl.ParseNotifyFault(args[0])
			if err != nil {
				return err
			}
			f = *p
		case kind != "":
		default:
			return invalidArg("walletctl notify fault add drop_ack --first 1 (kinds: "+strings.Join(walletctl.NotifyFaultKinds, ", ")+")",
				"give a fault spec or --kind")
		}
		fl := cmd.Flags()
		if kind != "" {
			f.Kind = kind
		}
		if fl.Changed("event") {
			f.EventType = strings.ToUpper(event)
		}
		if fl.Changed("mchid") {
			f.MchID = mchid
		}
		if fl.Changed("first") {
			f.First = first
		}
		if fl.Changed("delay") {
			d, err := parseDuration(delay)
			if err != nil {
				return err
			}
			f.Delay = d
		}
		// Validate the merged rule with the parser of the spec.
		checked, err := walletctl.ParseNotifyFault(f.String())
		if err != nil {
			return err
		}
		svc, err := a.service(ctx)
		if err != nil {
			return err
		}
		added, err := svc.AddNotifyFault(ctx, *checked)
		if err != nil {
			return err
		}
		a.out.Record(added, []kv{{"ID", added.ID}, {"KIND", added.Kind}, {"RULE", added.String()}})
		return nil
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the notification fault rules with how often each fired",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			fs, err := svc.NotifyFaults(ctx)
			if err != nil {
				return err
			}
			rows := make([]table.Row, len(fs))
			for i, f := range fs {
				rows[i] = table.Row{f.ID, f.String(), f.Fired}
			}
			a.out.List(fs, []string{"ID", "RULE", "FIRED"}, rows)
			return nil
		},
	}
	clear := &cobra.Command{
		Use:   "clear",
		Short: "Delete every notification fault rule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			if err := svc.ClearNotifyFaults(ctx); err != nil {
				return err
			}
			a.out.Message(map[string]bool{"cleared": true}, "all notification fault rules cleared")
			return nil
		},
	}
	cmd.AddCommand(add, list, clear)
	return cmd
}

func completeNotifyFaultKinds(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	return walletctl.NotifyFaultKinds, noFiles
}

// completeNotificationsArg offers the notification ids, newest first.
func (a *app) completeNotificationsArg(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	return a.withService(cmd, func(ctx context.Context, svc walletctl.Service) []string {
		ns, err := svc.Notifications(ctx)
		if err != nil {
			return nil
		}
		out := make([]string, 0, len(ns))
		for i := len(ns) - 1; i >= 0; i-- {
			out = append(out, ns[i].ID+"\t"+ns[i].EventType+" "+ns[i].Status)
		}
		return out
	})
}

// attemptLine is one attempt as listen prints it:
// <virtual time>  <EVENT>  <notification id>  → <status> <latency>ms  <answer or error>
func attemptLine(n walletctl.Notification, at walletctl.NotifyAttempt) string {
	detail := clip(oneLine(at.Answer), 40)
	if at.Error != "" {
		if detail != "" {
			detail += " · "
		}
		detail += at.Error
	}
	marks := ""
	if at.Probe {
		marks += " [probe]"
	}
	if at.Fault != "" && !at.Probe {
		marks += " [" + at.Fault + "]"
	}
	return fmt.Sprintf("%s  %s  %s  → %s %dms  %s%s", ts(at.At), n.EventType, n.ID, attemptStatus(at), at.LatencyMS, detail, marks)
}
