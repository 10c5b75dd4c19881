package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
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
// receiving within seconds), and shows every attempt, including those that other commands (a
// payment, a refund, clock advance) make in the meantime. On an embedded home it polls: it
// delivers what is due and reads the notifications. With --backend the server's worker sends the
// tries by itself and pushes each attempt on the tenant's event stream (GET /v1/events), which
// listen follows instead, resuming with Last-Event-ID when the stream breaks.

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

// ListenOptions are listen's inputs: Only and Limit are what Events and Timeout say.
type ListenOptions struct {
	*Factory
	ForwardTo, Events, Timeout string
	MaxEvents                  int
	Only                       map[string]bool
	Limit                      time.Duration
	Interval                   time.Duration // between polls
}

// NewCmdListen is `listen`; runF (tests) replaces listenRun.
func NewCmdListen(f *Factory, runF func(context.Context, *ListenOptions) error) *cobra.Command {
	opts := &ListenOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "listen --forward-to URL [--events TYPE,...]", Short: "Forward merchant notifications to a local receiver and show each delivery",
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
object per attempt. --max-events N stops it (exit 0) once N attempts are shown;
--timeout D gives up after D (exit 9, TIMED_OUT), with or without --max-events.`,
	}, opts, opts.parse, runF, listenRun)
	fl := cmd.Flags()
	fl.StringVar(&opts.ForwardTo, "forward-to", "", "the receiver's URL, e.g. http://localhost:8080/notify")
	choiceFlag(cmd, &opts.Events, "events", "", "show only these event types, comma-separated (e.g. TRANSACTION.SUCCESS,REFUND.SUCCESS)", eventTypes...)
	fl.IntVar(&opts.MaxEvents, "max-events", 0, "stop after this many attempts are shown (0: no limit)")
	fl.StringVar(&opts.Timeout, "timeout", "", "give up after this long of real time, e.g. 30s: exit 9, TIMED_OUT (--max-events reached first: exit 0)")
	fl.DurationVar(&opts.Interval, "interval", listenPoll, "how often due notifications are delivered and new attempts read (10ms to 5s; with --backend the server pushes them)")
	return cmd
}

// parse checks the flags, and reads Only and Limit from them.
func (o *ListenOptions) parse([]string) error {
	if err := missing(need{"--forward-to", o.ForwardTo, "your receiver's address, e.g. --forward-to http://localhost:8080/notify"}); err != nil {
		return err
	}
	// The wallet checks it again (the one check of every URL the sender is given); checked
	// here too so that a typo is told before anything is registered.
	if err := walletctl.CheckNotifyURL("--forward-to", o.ForwardTo); err != nil {
		return err
	}
	o.Only = map[string]bool{}
	for _, e := range strings.Split(o.Events, ",") {
		e = strings.ToUpper(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if !slices.Contains(eventTypes, e) {
			return invalidArg("event types: "+strings.Join(eventTypes, ", "), "unknown event type %q", e)
		}
		o.Only[e] = true
	}
	if o.MaxEvents < 0 {
		return invalidArg("", "--max-events must be 0 (no limit) or more")
	}
	// At most the renewal period: the registration is renewed between polls.
	if o.Interval < 10*time.Millisecond || o.Interval > listenRenew {
		return invalidArg("e.g. --interval 500ms", "--interval %s is not between 10ms and %s", o.Interval, listenRenew)
	}
	if o.Timeout != "" {
		d, err := parseDuration(o.Timeout)
		if err != nil {
			return err
		}
		if d <= 0 {
			return invalidArg("how long to listen, e.g. --timeout 30s", "--timeout %q is not positive", o.Timeout)
		}
		o.Limit = d
	}
	return nil
}

func listenRun(ctx context.Context, o *ListenOptions) error {
	l := &listener{out: o.Out, url: o.ForwardTo, only: o.Only, max: o.MaxEvents, seen: map[string]int{}, every: o.Interval}
	if o.app != nil {
		h := &homeWallet{a: o.app}
		l.with, l.deliver, l.where = h.with, h.deliver, o.app.home
		if o.app.backend != "" {
			l.where = o.app.backend
			l.events = func(ctx context.Context, lastID string) (eventStream, error) {
				c, err := o.app.remoteClient()
				if err != nil {
					return nil, err
				}
				st, err := c.Events(ctx, lastID)
				if err != nil {
					return nil, err // not a nil *EventStream in a non-nil interface
				}
				return st, nil
			}
		}
	} else {
		// A Factory with no invocation behind it (a test's fake): its wallet as it is, nothing
		// to open or close per call.
		l.with = func(ctx context.Context, f func(svc walletctl.Service) error) error {
			svc, err := o.Service(ctx)
			if err != nil {
				return err
			}
			return f(svc)
		}
		l.deliver = func(ctx context.Context) error {
			svc, err := o.Service(ctx)
			if err != nil {
				return err
			}
			_, err = svc.DeliverNotifications(ctx)
			return err
		}
		l.where = "the wallet"
	}
	return l.run(ctx, o.Limit)
}

type listener struct {
	every time.Duration // between polls
	// deliver sends what is due with nothing held (the home released; a server drains).
	deliver func(ctx context.Context) error
	// events, when set (--backend), opens the server's event stream after lastID ("": from now):
	// listen follows it instead of polling.
	events func(ctx context.Context, lastID string) (eventStream, error)
	out    *Output
	with   func(ctx context.Context, f func(svc walletctl.Service) error) error // runs f on the wallet
	where  string                                                               // the home or --backend, for the Ready line
	url    string
	only   map[string]bool
	max    int
	seen   map[string]int // notification id -> attempts already shown (or there before listen)
	shown  int
}

// eventStream is a server's event stream (httpapi.EventStream).
type eventStream interface {
	Next() (walletctl.StreamEvent, error)
	Close() error
}

// homeWallet is the wallet of an invocation as listen uses it.
type homeWallet struct {
	a     *app
	first bool // the sandbox has been opened once (created if missing)
}

// with runs f on the wallet: the --backend client, or the embedded sandbox opened for this call
// only and closed after, so that other commands on the home never wait long for listen.
func (h *homeWallet) with(ctx context.Context, f func(svc walletctl.Service) error) error {
	a := h.a
	if a.backend != "" {
		c, err := a.remoteClient()
		if err != nil {
			return err
		}
		return f(c)
	}
	if !h.first {
		// The first time as every command does: created with the default seed if missing.
		svc, err := a.service(ctx)
		if err != nil {
			return err
		}
		h.first = true
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

// deliver sends what is due with the home released (sandbox.Settle), or has the --backend
// server drain its queue.
func (h *homeWallet) deliver(ctx context.Context) error {
	a := h.a
	if a.backend != "" {
		c, err := a.remoteClient()
		if err != nil {
			return err
		}
		_, err = c.DeliverNotifications(ctx)
		return err
	}
	opts, err := a.sandboxOptions(ctx)
	if err != nil {
		return err
	}
	opts.LockWait = nil
	sb, _, err := sandbox.Open(ctx, opts, false)
	if err != nil {
		return err
	}
	return sb.Settle(ctx)
}

func (l *listener) run(parent context.Context, limit time.Duration) error {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	timedOut := func() bool { return false }
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
		timedOut = func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }
	}
	ended := func() error {
		// One outcome for a listen that ran out of time, with or without --max-events (as
		// timeout(1) and kubectl wait --timeout): TIMED_OUT, after printing what it saw. It is
		// not PENDING, whose meaning is a bank answer that was lost.
		if !timedOut() {
			return nil
		}
		e := &walletctl.Error{Code: walletctl.CodeTimedOut,
			Message: fmt.Sprintf("listen: --timeout %s reached after %d deliveries", limit, l.shown),
			Hint:    "check that a command made an event (walletctl notify list) and its attempts (walletctl notify show ID), or listen longer",
			Details: map[string]any{"shown": l.shown}}
		if l.max > 0 {
			e.Message = fmt.Sprintf("listen: %d of %d deliveries seen before --timeout %s", l.shown, l.max, limit)
			e.Details["max_events"] = l.max
		}
		return e
	}
	// Following a stream, subscribe before registering: every attempt sent to the forward address
	// comes after, so none is missed, and those made before are not shown.
	var stream eventStream
	if l.events != nil {
		st, err := l.events(ctx, "")
		switch {
		case walletctl.ErrorCode(err) == walletctl.CodeNotFound:
			l.events = nil // a server without GET /v1/events: poll it
		case err != nil:
			return err
		default:
			stream = st
			defer func() { stream.Close() }()
		}
	}
	// Register; when polling, take what was attempted before as seen.
	if err := l.with(ctx, func(svc walletctl.Service) error {
		if err := svc.ForwardNotifications(ctx, l.url, listenTTL); err != nil {
			return err
		}
		if stream != nil {
			return nil
		}
		ns, err := allNotifications(ctx, svc)
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
			fmt.Fprintf(l.out.IO.ErrOut, "walletctl: listen: could not drop the forward (it expires within %s): %v\n", listenTTL, asWalletError(err).Message)
		}
	}()
	fmt.Fprintf(l.out.IO.ErrOut, "Ready: forwarding notifications of %s to %s (Ctrl-C to stop)\n", l.where, l.url)
	if stream != nil {
		return l.follow(ctx, &stream, ended)
	}

	renewed := time.Now()
	tick := time.NewTicker(l.every)
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
				fmt.Fprintf(l.out.IO.ErrOut, "walletctl: listen: %s (retrying)\n", msg)
				lastErr = msg
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ended()
		case <-tick.C:
		}
	}
}

// listenReconnect is how long listen waits before opening a broken event stream again.
const listenReconnect = time.Second

// follow prints the attempts the server pushes on *stream, renews the registration every
// listenRenew, and opens the stream again after the last event seen when it breaks (the server
// restarted, or dropped this listener for falling behind). It returns ended() when ctx ends, nil
// at --max-events. *stream is the stream open at any time (the caller closes it).
func (l *listener) follow(ctx context.Context, stream *eventStream, ended func() error) error {
	type next struct {
		ev  walletctl.StreamEvent
		err error
	}
	// One reader per stream: it stops at the stream's first error (or when it is closed).
	read := func(st eventStream) <-chan next {
		ch := make(chan next, 16)
		go func() {
			defer close(ch)
			for {
				ev, err := st.Next()
				select {
				case ch <- next{ev, err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
		return ch
	}
	evs := read(*stream)
	renew := time.NewTicker(listenRenew)
	defer renew.Stop()
	lastID, lastErr := "", ""
	report := func(err error) {
		if err == nil {
			lastErr = ""
			return
		}
		// A server restarting: say so once, keep listening.
		if msg := asWalletError(err).Message; ctx.Err() == nil && msg != lastErr {
			fmt.Fprintf(l.out.IO.ErrOut, "walletctl: listen: %s (retrying)\n", msg)
			lastErr = msg
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ended()
		case <-renew.C:
			report(l.with(ctx, func(svc walletctl.Service) error { return svc.ForwardNotifications(ctx, l.url, listenTTL) }))
		case n, ok := <-evs:
			if ok && n.err == nil {
				if n.ev.ID != 0 {
					lastID = strconv.FormatUint(n.ev.ID, 10)
				}
				if l.show(n.ev) {
					return nil
				}
				continue
			}
			if ok {
				report(n.err)
			}
			(*stream).Close()
			evs = nil // until it is open again
			for evs == nil {
				select {
				case <-ctx.Done():
					return ended()
				case <-time.After(listenReconnect):
				}
				st, err := l.events(ctx, lastID)
				if err != nil {
					report(err)
					continue
				}
				*stream, evs = st, read(st)
				// Renewed at once: a registration may have lapsed while the server was away.
				report(l.with(ctx, func(svc walletctl.Service) error { return svc.ForwardNotifications(ctx, l.url, listenTTL) }))
			}
		}
	}
}

// show prints a pushed attempt as poll does (when --events lets it through) and reports whether
// --max-events is reached. Other events are not listen's, but a gap is said: attempts may have
// been made while the stream was away.
func (l *listener) show(ev walletctl.StreamEvent) bool {
	switch ev.Type {
	case walletctl.StreamAttempt:
		var a walletctl.AttemptEvent
		if json.Unmarshal(ev.Data, &a) != nil || len(l.only) > 0 && !l.only[a.EventType] {
			return false
		}
		l.out.ListenLine(listenLine{Notification: a.Notification, EventID: a.EventID, EventType: a.EventType, MchID: a.MchID, NotifyAttempt: a.Attempt})
		l.shown++
		return l.max > 0 && l.shown >= l.max
	case walletctl.StreamGap:
		fmt.Fprintf(l.out.IO.ErrOut, "walletctl: listen: attempts made while the event stream was away may be missing here (walletctl notify list shows them all)\n")
	}
	return false
}

// poll renews the registration when asked, delivers what is due, and prints the attempts not
// shown yet. It reports whether --max-events is reached.
func (l *listener) poll(ctx context.Context, renew bool) (bool, error) {
	var fresh []listenLine
	if renew {
		if err := l.with(ctx, func(svc walletctl.Service) error { return svc.ForwardNotifications(ctx, l.url, listenTTL) }); err != nil {
			return false, err
		}
	}
	if err := l.deliver(ctx); err != nil {
		return false, err
	}
	err := l.with(ctx, func(svc walletctl.Service) error {
		ns, err := allNotifications(ctx, svc)
		if err != nil {
			return err
		}
		// Oldest first, as the attempts were made.
		slices.Reverse(ns)
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
		l.out.ListenLine(x)
		l.shown++
		if l.max > 0 && l.shown >= l.max {
			return true, nil
		}
	}
	return false, err
}

// ListenLine prints one attempt as listen shows it: a line of text, or -o json one JSON object a
// line.
func (o *Output) ListenLine(x listenLine) {
	if o.JSON() {
		b, _ := json.Marshal(x)
		fmt.Fprintln(o.IO.Out, string(b))
		return
	}
	fmt.Fprintln(o.IO.Out, attemptLine(walletctl.Notification{ID: x.Notification, EventType: x.EventType}, x.NotifyAttempt))
}

// allNotifications walks every page of the notifications: polling (a server without the event
// stream, or an embedded home) has no cursor of what changed, since a retry adds an attempt to an
// old notification.
func allNotifications(ctx context.Context, svc walletctl.Service) ([]walletctl.Notification, error) {
	return walletctl.All(ctx, func(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Notification], error) {
		return svc.Notifications(ctx, walletctl.NotificationFilter{}, p)
	}, notificationID)
}
