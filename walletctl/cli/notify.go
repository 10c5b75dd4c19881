package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// The merchant notifications (DESIGN.md section 9) as commands: what was sent, every attempt and
// its answer, a resend, and the faults of the notification path. listen.go forwards them to a
// local receiver; trigger.go makes the state that fires them.

func (a *app) notifyCmd() *cobra.Command {
	cmd := group("notify", "Merchant notifications: list, show attempts, resend, faults",
		NewCmdNotifyList(a.f, nil), NewCmdNotifyShow(a.f, nil), NewCmdNotifyResend(a.f, nil), a.notifyFaultCmd())
	cmd.Long = `A paid order or a finished refund sends v3's notification to its notify_url,
signed by the platform and its resource encrypted under the merchant's APIv3
key, until the merchant answers 2xx within 5 s, retrying after 15s, 15s, 30s,
3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h on the virtual clock
(walletctl clock advance delivers what fell due). Every attempt is kept.`
	return cmd
}

// NotifyListOptions are notify list's inputs: the filters.
type NotifyListOptions struct {
	*Factory
	PageFlags
	MchID, Status, Event string
	Wide                 bool
}

// NewCmdNotifyList is `notify list`; runF (tests) replaces notifyListRun.
func NewCmdNotifyList(f *Factory, runF func(context.Context, *NotifyListOptions) error) *cobra.Command {
	opts := &NotifyListOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "list [--mchid M] [--status S] [--event TYPE]", Short: "List the notifications, newest first: event, merchant, status, tries, next attempt"},
		opts, func([]string) error { _, err := opts.Page(); return err }, runF, notifyListRun)
	pageFlags(cmd, &opts.PageFlags)
	mchidFlag(cmd, f, &opts.MchID, "only this merchant's")
	choiceFlag(cmd, &opts.Status, "status", "", "only this status: pending, delivered, failed", walletctl.NotifyPending, walletctl.NotifyDelivered, walletctl.NotifyFailed)
	choiceFlag(cmd, &opts.Event, "event", "", "only this event type, e.g. TRANSACTION.SUCCESS", eventTypes...)
	wideFlag(cmd, &opts.Wide)
	return cmd
}

func notifyListRun(ctx context.Context, o *NotifyListOptions) error {
	svc, err := o.Service(ctx)
	if err != nil {
		return err
	}
	f := walletctl.NotificationFilter{MchID: o.MchID, Status: o.Status, Event: o.Event}
	return listPages(ctx, o.Out, o.PageFlags, func(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Notification], error) {
		return svc.Notifications(ctx, f, p)
	}, notificationID, func(list []walletctl.Notification) { o.Out.Notifications(list, o.Wide) })
}

// Notifications lists notifications with their status and next attempt.
func (o *Output) Notifications(list []walletctl.Notification, wide bool) {
	o.Table(list, []string{"ID", "EVENT", "MCHID", "STATUS", "TRIES", "NEXT"}, rowsOf(list, func(n walletctl.Notification) table.Row {
		return table.Row{n.ID, n.EventType, n.MchID, notifyStatus(n), n.Tries, shortTime(n.NextAt)}
	}), wide, "MCHID")
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

// NotificationOptions are the inputs of notify show and notify resend: one notification.
type NotificationOptions struct {
	*Factory
	ID   string
	Wide bool
}

// NewCmdNotifyShow is `notify show ID`.
func NewCmdNotifyShow(f *Factory, runF func(context.Context, *NotificationOptions) error) *cobra.Command {
	return newNotificationCmd(f, &cobra.Command{Use: "show ID", Short: "Show a notification and every attempt: time, status, latency, answer"},
		runF, notifyShowRun)
}

// NewCmdNotifyResend is `notify resend ID`.
func NewCmdNotifyResend(f *Factory, runF func(context.Context, *NotificationOptions) error) *cobra.Command {
	return newNotificationCmd(f, &cobra.Command{Use: "resend ID", Short: "Send a notification again now, starting its retry schedule over",
		Long: `Send a notification again now (a delivered one too: the merchant must treat it as
a duplicate), starting its retry schedule over. Prints it with every attempt.`,
	}, runF, notifyResendRun)
}

// newNotificationCmd completes cmd (its words) as a command on the notification its argument names.
func newNotificationCmd(f *Factory, cmd *cobra.Command, runF, own func(context.Context, *NotificationOptions) error) *cobra.Command {
	opts := &NotificationOptions{Factory: f}
	newIDCmd(cmd, opts, &opts.ID, f.app.completeNotifications, runF, own)
	wideFlag(cmd, &opts.Wide)
	return cmd
}

func notifyShowRun(ctx context.Context, o *NotificationOptions) error {
	return o.do(ctx, walletctl.Service.Notification)
}

// notifyResendRun starts the schedule again, lets the try be sent (with nothing held), and shows
// the notification with its new attempt.
func notifyResendRun(ctx context.Context, o *NotificationOptions) error {
	svc, err := o.Service(ctx)
	if err != nil {
		return err
	}
	if _, err := svc.ResendNotification(ctx, o.ID); err != nil {
		return err
	}
	if err := o.Settle(ctx); err != nil {
		return err
	}
	return o.do(ctx, walletctl.Service.Notification)
}

// do is one call on the notification, which prints it after.
func (o *NotificationOptions) do(ctx context.Context, call func(walletctl.Service, context.Context, string) (*walletctl.Notification, error)) error {
	return withServiceOf(ctx, o.Factory, call, o.ID, func(n *walletctl.Notification) { o.Out.Notification(n, o.Wide) })
}

// Notification prints a notification (a record) and its attempts (a table); -o json the
// notification with every field.
func (o *Output) Notification(n *walletctl.Notification, wide bool) {
	if o.JSON() {
		writeJSON(o.IO.Out, n)
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
	if to := sentTo(n); to != "" {
		rows = append(rows, kv{"SENT TO", to})
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
	tries := fmt.Sprintf("%d of %d", n.Tries, len(walletctl.NotifySchedule)+1)
	if n.Resends > 0 {
		// A resend starts the schedule again: the count is of this schedule's tries, and the
		// table below lists every attempt.
		tries += fmt.Sprintf(" since the last resend (%d attempts in all)", len(n.Attempts))
	}
	rows = append(rows, kv{"TRIES", tries})
	if n.Resends > 0 {
		rows = append(rows, kv{"RESENDS", n.Resends})
	}
	o.Record(n, rows)
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
	o.Table(nil, []string{"N", "TIME", "STATUS", "MS", "OK", "ANSWER", "ERROR", "FAULT"}, arows, wide, "OK", "MS")
}

// sentTo is where a notification's last attempt went when that is not its notify_url (walletctl
// listen forwarded it): the record says where it really went. "" otherwise.
func sentTo(n *walletctl.Notification) string {
	if len(n.Attempts) == 0 {
		return ""
	}
	if u := n.Attempts[len(n.Attempts)-1].URL; u != "" && u != n.URL {
		return u
	}
	return ""
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
	return group("fault", "Faults of the notification path: add, list, clear",
		NewCmdNotifyFaultAdd(a.f, nil), NewCmdNotifyFaultList(a.f, nil), NewCmdNotifyFaultClear(a.f, nil))
}

// NotifyFaultAddOptions are notify fault add's inputs: Fault is the rule of the spec and the
// flags, checked.
type NotifyFaultAddOptions struct {
	*Factory
	Kind, Event, MchID, Delay string
	First                     int
	Fault                     walletctl.NotifyFault
}

// NewCmdNotifyFaultAdd is `notify fault add [SPEC]`.
func NewCmdNotifyFaultAdd(f *Factory, runF func(context.Context, *NotifyFaultAddOptions) error) *cobra.Command {
	opts := &NotifyFaultAddOptions{Factory: f}
	var cmd *cobra.Command
	cmd = newCmd(&cobra.Command{Use: "add [SPEC]", Short: "Add a notification fault (spec: kind;event=E;mchid=M;first=N;d=10s)",
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
	}, opts, func(args []string) error {
		checked, err := opts.rule(cmd, args)
		if err == nil {
			opts.Fault = *checked
		}
		return err
	}, runF, notifyFaultAddRun)
	fl := cmd.Flags()
	fl.StringVar(&opts.Kind, "kind", "", "fault kind (instead of a spec)")
	choiceFlag(cmd, &opts.Event, "event", "", "only this event type, e.g. REFUND.SUCCESS", eventTypes...)
	mchidFlag(cmd, f, &opts.MchID, "only this merchant's notifications")
	fl.IntVar(&opts.First, "first", 0, "fire on the first N matching notifications, then pass")
	fl.StringVar(&opts.Delay, "delay", "", "for delay: how long on the virtual clock (30s, 5m)")
	cmd.RegisterFlagCompletionFunc("kind", completeNotifyFaultKinds)
	return cmd
}

// rule is the spec of args with the flags given over it, checked by the spec's parser.
func (o *NotifyFaultAddOptions) rule(cmd *cobra.Command, args []string) (*walletctl.NotifyFault, error) {
	var f walletctl.NotifyFault
	switch {
	case len(args) == 1:
		p, err := walletctl.ParseNotifyFault(args[0])
		if err != nil {
			return nil, err
		}
		f = *p
	case o.Kind != "":
	default:
		return nil, invalidArg("walletctl notify fault add drop_ack --first 1 (kinds: "+strings.Join(walletctl.NotifyFaultKinds, ", ")+")",
			"give a fault spec or --kind")
	}
	fl := cmd.Flags()
	if o.Kind != "" {
		f.Kind = o.Kind
	}
	if fl.Changed("event") {
		f.EventType = strings.ToUpper(o.Event)
	}
	if fl.Changed("mchid") {
		f.MchID = o.MchID
	}
	if fl.Changed("first") {
		f.First = o.First
	}
	if fl.Changed("delay") {
		d, err := parseDuration(o.Delay)
		if err != nil {
			return nil, err
		}
		f.Delay = d
	}
	// Validate the merged rule with the parser of the spec.
	return walletctl.ParseNotifyFault(f.String())
}

func notifyFaultAddRun(ctx context.Context, o *NotifyFaultAddOptions) error {
	return withServiceOf(ctx, o.Factory, walletctl.Service.AddNotifyFault, o.Fault, o.Out.NotifyFault)
}

// NotifyFault shows a fault rule added.
func (o *Output) NotifyFault(f *walletctl.NotifyFault) {
	o.Record(f, []kv{{"ID", f.ID}, {"KIND", f.Kind}, {"RULE", f.String()}})
}

// NotifyFaultsOptions are the inputs of notify fault list and clear: none but the Factory.
type NotifyFaultsOptions struct{ *Factory }

// NewCmdNotifyFaultList is `notify fault list`.
func NewCmdNotifyFaultList(f *Factory, runF func(context.Context, *NotifyFaultsOptions) error) *cobra.Command {
	return newNotifyFaultsCmd(f, "list", "List the notification fault rules with how often each fired", runF, notifyFaultListRun)
}

// NewCmdNotifyFaultClear is `notify fault clear`.
func NewCmdNotifyFaultClear(f *Factory, runF func(context.Context, *NotifyFaultsOptions) error) *cobra.Command {
	return newNotifyFaultsCmd(f, "clear", "Delete every notification fault rule", runF, notifyFaultClearRun)
}

func newNotifyFaultsCmd(f *Factory, use, short string, runF, own func(context.Context, *NotifyFaultsOptions) error) *cobra.Command {
	return newCmd(&cobra.Command{Use: use, Short: short}, &NotifyFaultsOptions{Factory: f}, nil, runF, own)
}

func notifyFaultListRun(ctx context.Context, o *NotifyFaultsOptions) error {
	return withService(ctx, o.Factory, func(svc walletctl.Service) ([]walletctl.NotifyFault, error) {
		return svc.NotifyFaults(ctx)
	}, o.Out.NotifyFaults)
}

// NotifyFaults lists the fault rules with how often each fired.
func (o *Output) NotifyFaults(fs []walletctl.NotifyFault) {
	o.List(fs, []string{"ID", "RULE", "FIRED"}, rowsOf(fs, func(f walletctl.NotifyFault) table.Row { return table.Row{f.ID, f.String(), f.Fired} }))
}

func notifyFaultClearRun(ctx context.Context, o *NotifyFaultsOptions) error {
	return withService(ctx, o.Factory, func(svc walletctl.Service) (bool, error) {
		return true, svc.ClearNotifyFaults(ctx)
	}, func(bool) { o.Out.Message(map[string]bool{"cleared": true}, "all notification fault rules cleared") })
}

// completeNotifyFaultKinds offers the kinds as the first argument, or as --kind before it.
func completeNotifyFaultKinds(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return firstArg(fixedCompletion(walletctl.NotifyFaultKinds...))(cmd, args, s)
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
