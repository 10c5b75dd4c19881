package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// listen forwards a tenant's notifications to a local receiver, like Stripe's CLI, but with the
// wallet's own retries: it registers the forward address (which the wallet keeps for a short
// time of real time, renewed while listen runs, so that a listener killed with -9 stops
// receiving within seconds), delivers what is due, and shows every attempt, including those
// that other commands (a payment, a refund, clock advance) make in the meantime.

const (
	listenTTL   = 15 * time.Second       // how long a registration lives without renewal
	listenRenew = 5 * time.Second        // how often it is renewed
	listenPoll  = 500 * time.Millisecond // how often due notifications are delivered and attempts read
)

// listenLine is one attempt as listen -o json prints it: one JSON object per line.
type listenLine struct {
	Notification string `json:"notification"`
	EventID      string `json:"event_id"`
	EventType    string `json:"event_type"`
	MchID        string `json:"mchid"`
	walletctl.NotifyAttempt
}

func (a *app) listenCmd() *cobra.Command {
	var forwardTo, events, timeout string
	var maxEvents int
	cmd := &cobra.Command{
		Use:   "listen --forward-to URL [--events TYPE,...]",
		Short: "Forward merchant notifications to a local receiver and show each delivery",
		Long: `Forward every merchant notification of the sandbox (or of the --backend
tenant) to URL, a receiver on your machine, and print one line per delivery
attempt with its answer:

  <virtual time>  <EVENT>  <notification id>  → <status> <latency>ms  <answer>

While listen runs, every delivery (first attempts, retries, resends, those of
other commands) goes to URL instead of the notification's notify_url, signed
and encrypted as v3 sends it; retries follow the schedule on the virtual clock
(walletctl clock advance runs them). The registration is renewed every few
seconds and dropped on exit (Ctrl-C). --events only filters what is shown.
A first line on standard error says when it is ready; -o json prints one JSON
object per attempt. --max-events and --timeout stop it by themselves.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if forwardTo == "" {
				return invalidArg("your receiver's address, e.g. --forward-to http://localhost:8080/notify", "--forward-to is required")
			}
			// The wallet checks it again (the one check of every URL the sender is given); checked
			// here too so that a typo is told before anything is registered.
			if err := walletctl.CheckNotifyURL("--forward-to", forwardTo); err != nil {
				return err
			}
			only := map[string]bool{}
			for _, e := range strings.Split(events, ",") {
				e = strings.ToUpper(strings.TrimSpace(e))
				if e == "" {
					continue
				}
				known := false
				for _, k := range eventTypes {
					known = known || k == e
				}
				if !known {
					return invalidArg("event types: "+strings.Join(eventTypes, ", "), "unknown event type %q", e)
				}
				only[e] = true
			}
			if maxEvents < 0 {
				return invalidArg("", "--max-events must be 0 (no limit) or more")
			}
			var limit time.Duration
			if timeout != "" {
				d, err := parseDuration(timeout)
				if err != nil {
					return err
				}
				if d <= 0 {
					return invalidArg("how long to listen, e.g. --timeout 30s", "--timeout %q is not positive", timeout)
				}
				limit = d
			}
			l := &listener{a: a, url: forwardTo, only: only, max: maxEvents, seen: map[string]int{}}
			return l.run(cmd.Context(), limit)
		},
	}
	f := cmd.Flags()
	f.StringVar(&forwardTo, "forward-to", "", "the receiver's URL, e.g. http://localhost:8080/notify")
	f.StringVar(&events, "events", "", "show only these event types, comma-separated (e.g. TRANSACTION.SUCCESS,REFUND.SUCCESS)")
	f.IntVar(&maxEvents, "max-events", 0, "stop after this many attempts are shown (0: no limit)")
	f.StringVar(&timeout, "timeout", "", "stop after this long of real time, e.g. 30s (with --max-events not reached: exit 10, PENDING)")
	cmd.RegisterFlagCompletionFunc("events", fixedCompletion(eventTypes...))
	return cmd
}

type listener struct {
	a     *app
	url   string
	only  map[string]bool
	max   int
	seen  map[string]int // notification id -> attempts already shown (or there before listen)
	shown int
	first bool // the sandbox has been opened once (created if missing)
}

// with runs f on the wallet: the --backend client, or the embedded sandbox opened for this call
// only and closed after, so that other commands on the home never wait long for listen.
func (l *listener) with(ctx context.Context, f func(svc walletctl.Service) error) error {
	a := l.a
	if a.backend != "" {
		c, err := a.remoteClient()
		if err != nil {
			return err
		}
		return f(c)
	}
	if !l.first {
		// The first time as every command does: created with the default seed if missing.
		svc, err := a.service(ctx)
		if err != nil {
			return err
		}
		l.first = true
		ferr := f(svc)
		if err := a.releaseSandbox(ctx); ferr == nil {
			ferr = err
		}
		return ferr
	}
	opts, err := a.sandboxOptions(ctx)
	if err != nil {
		return err
	}
	opts.LockWait = nil // a poll that waits for another command says nothing
	sb, _, err := sandbox.Open(ctx, opts, false)
	if err != nil {
		return err
	}
	ferr := f(sb.Service())
	if err := sb.Close(context.WithoutCancel(ctx)); ferr == nil {
		ferr = err
	}
	return ferr
}

func (l *listener) run(parent context.Context, limit time.Duration) error {
	a := l.a
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	timedOut := func() bool { return false }
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
		timedOut = func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }
	}
	// Register, and take what was attempted before as seen.
	if err := l.with(ctx, func(svc walletctl.Service) error {
		if err := svc.ForwardNotifications(ctx, l.url, listenTTL); err != nil {
			return err
		}
		ns, err := svc.Notifications(ctx)
		for _, n := range ns {
			l.seen[n.ID] = len(n.Attempts)
		}
		return err
	}); err != nil {
		return err
	}
	defer func() {
		// Dropped on every way out (Ctrl-C, SIGTERM, --max-events, --timeout, an error).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 10*time.Second)
		defer cancel()
		if err := l.with(cctx, func(svc walletctl.Service) error { return svc.ForwardNotifications(cctx, "", 0) }); err != nil {
			fmt.Fprintf(a.ios.ErrOut, "walletctl: listen: could not drop the forward (it expires within %s): %v\n", listenTTL, asWalletError(err).Message)
		}
	}()
	where := a.home
	if a.backend != "" {
		where = a.backend
	}
	fmt.Fprintf(a.ios.ErrOut, "Ready: forwarding notifications of %s to %s (Ctrl-C to stop)\n", where, l.url)

	renewed := time.Now()
	tick := time.NewTicker(listenPoll)
	defer tick.Stop()
	lastErr := ""
	for {
		done, err := l.poll(ctx, time.Since(renewed) >= listenRenew)
		if err == nil {
			if time.Since(renewed) >= listenRenew {
				renewed = time.Now()
			}
			lastErr = ""
		} else if ctx.Err() == nil {
			// A busy home or a server restarting: say so once, keep listening.
			if msg := asWalletError(err).Message; msg != lastErr {
				fmt.Fprintf(a.ios.ErrOut, "walletctl: listen: %s (retrying)\n", msg)
				lastErr = msg
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			if timedOut() && l.max > 0 {
				return &walletctl.Error{Code: walletctl.CodePending,
					Message: fmt.Sprintf("listen: %d of %d deliveries seen in %s", l.shown, l.max, limit),
					Hint:    "nothing was delivered in time: check that a command made an event (walletctl notify list) and its attempts (walletctl notify show ID)",
					Details: map[string]any{"shown": l.shown, "max_events": l.max}}
			}
			return nil
		case <-tick.C:
		}
	}
}

// poll renews the registration when asked, delivers what is due, and prints the attempts not
// shown yet. It reports whether --max-events is reached.
func (l *listener) poll(ctx context.Context, renew bool) (bool, error) {
	var fresh []listenLine
	err := l.with(ctx, func(svc walletctl.Service) error {
		if renew {
			if err := svc.ForwardNotifications(ctx, l.url, listenTTL); err != nil {
				return err
			}
		}
		if _, err := svc.DeliverNotifications(ctx); err != nil {
			return err
		}
		ns, err := svc.Notifications(ctx)
		if err != nil {
			return err
		}
		for _, n := range ns {
			from := l.seen[n.ID]
			if from > len(n.Attempts) {
				from = len(n.Attempts)
			}
			for _, at := range n.Attempts[from:] {
				if len(l.only) > 0 && !l.only[n.EventType] {
					continue
				}
				fresh = append(fresh, listenLine{Notification: n.ID, EventID: n.EventID, EventType: n.EventType, MchID: n.MchID, NotifyAttempt: at})
			}
			l.seen[n.ID] = len(n.Attempts)
		}
		return nil
	})
	sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].At.Before(fresh[j].At) })
	for _, x := range fresh {
		if l.a.out.JSON() {
			b, _ := json.Marshal(x)
			fmt.Fprintln(l.a.ios.Out, string(b))
		} else {
			fmt.Fprintln(l.a.ios.Out, attemptLine(walletctl.Notification{ID: x.Notification, EventType: x.EventType}, x.NotifyAttempt))
		}
		l.shown++
		if l.max > 0 && l.shown >= l.max {
			return true, nil
		}
	}
	return false, err
}
