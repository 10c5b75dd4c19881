package walletctl

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/walletctl/walletctl/bankapi"
)

// Notification faults are values in a registry, one file per kind (notifyfault_<kind>.go), the
// shape of the bank's faults (bankmock/faults) and their spec syntax (bankapi.SplitSpec): a kind
// registers its name, parameters and help, and what it does to a delivery; the engine's delivery
// code reads the registry instead of switching on names.

// NotifyFaultKind is one notification fault kind.
type NotifyFaultKind interface {
	// Info is the kind's descriptor: name, rank, help, its own parameters and checks.
	Info() NotifyFaultInfo
	// Fires says whether a rule of this kind that matches n fires on n's next try.
	Fires(n *Notification) bool
	// Hold changes n's schedule instead of sending it now, and reports whether it did; the
	// engine then saves n and looks for the next notification due.
	Hold(f *NotifyFault, n *Notification) bool
	// Send makes one try of d through to, with what the fault adds, and returns its attempts
	// (each with Fault set when the fault touched it).
	Send(ctx context.Context, d Delivery, to Deliverer) []NotifyAttempt
}

// NotifyFaultInfo describes a notification fault kind.
type NotifyFaultInfo struct {
	Kind string
	// Rank orders the kinds in help, completion and errors (lower first).
	Rank int
	// Help says in a few words what the kind does.
	Help string
	// Params are the kind's own parameters (d=). They are fields of every rule, so the parser
	// accepts them whatever the kind; only this kind acts on them.
	Params []bankapi.SpecParam[NotifyFault]
	// Check validates a rule of this kind once its parameters are read; nil: none.
	Check func(f *NotifyFault) error
}

var notifyFaultKinds bankapi.Kinds[NotifyFaultKind]

// NotifyFaultKinds lists the registered kinds' names, in documentation order. RegisterNotifyFault
// keeps it; do not change it.
var NotifyFaultKinds []string

// RegisterNotifyFault adds a kind; call it from the kind's init. A repeated name panics.
func RegisterNotifyFault(k NotifyFaultKind) {
	info := k.Info()
	notifyFaultKinds.Add(info.Kind, info.Rank, k)
	NotifyFaultKinds = notifyFaultKinds.Names()
}

// NotifyFaultKindOf returns the kind named name.
func NotifyFaultKindOf(name string) (NotifyFaultKind, bool) { return notifyFaultKinds.Get(name) }

// NotifyFaultKindsHelp lists the kinds with what each does: "duplicate (delivered twice ...), ...".
func NotifyFaultKindsHelp() string {
	s := make([]string, len(NotifyFaultKinds))
	for i, n := range NotifyFaultKinds {
		k, _ := NotifyFaultKindOf(n)
		s[i] = n + " (" + k.Info().Help + ")"
	}
	return strings.Join(s, ", ")
}

// commonNotifyParams are the parameters of every kind: the matchers and the firing rule.
var commonNotifyParams = []bankapi.SpecParam[NotifyFault]{
	{Key: "event", Example: EventTransactionSuccess, Help: "only this event type",
		Set: func(f *NotifyFault, v string) error {
			switch v {
			case EventTransactionSuccess, EventRefundSuccess, EventRefundAbnormal, EventRefundClosed:
			default:
				return fmt.Errorf("unknown event %q", v)
			}
			f.EventType = v
			return nil
		},
		Get: func(f *NotifyFault) string { return f.EventType }},
	{Key: "mchid", Example: "M", Help: "only this merchant's notifications",
		Set: func(f *NotifyFault, v string) error { f.MchID = v; return nil },
		Get: func(f *NotifyFault) string { return f.MchID }},
	{Key: "first", Example: "N", Help: "fire on the first N matches only",
		Set: func(f *NotifyFault, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("first must be a positive count")
			}
			f.First = n
			return nil
		},
		Get: func(f *NotifyFault) string {
			if f.First <= 0 {
				return ""
			}
			return strconv.Itoa(f.First)
		}},
}

// notifyParams are every parameter a spec may carry, in the order String writes them.
func notifyParams() []bankapi.SpecParam[NotifyFault] {
	ps := append([]bankapi.SpecParam[NotifyFault](nil), commonNotifyParams...)
	for _, n := range NotifyFaultKinds {
		k, _ := NotifyFaultKindOf(n)
		ps = append(ps, k.Info().Params...)
	}
	return ps
}

// notifySpecHint is the syntax: KIND[;event=TRANSACTION.SUCCESS]...[;d=10s], KIND one of ....
func notifySpecHint() string {
	var b strings.Builder
	b.WriteString("KIND")
	for _, p := range notifyParams() {
		b.WriteString("[;" + p.Key + "=" + p.Example + "]")
	}
	return b.String() + ", KIND one of " + strings.Join(NotifyFaultKinds, ", ")
}

// ParseNotifyFault reads "KIND[;event=E][;mchid=M][;first=N]" and the kinds' own parameters
// ("[;d=DURATION]" for delay), in bankapi.SplitSpec's syntax.
func ParseNotifyFault(spec string) (*NotifyFault, error) {
	kind, params, perr := bankapi.SplitSpec(spec) // the bank faults' syntax
	f := &NotifyFault{Kind: kind}
	bad := func(format string, args ...any) error {
		return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("notification fault %q: ", spec) + fmt.Sprintf(format, args...),
			Hint: notifySpecHint()}
	}
	if perr != nil {
		return nil, bad("%v", perr)
	}
	k, known := NotifyFaultKindOf(f.Kind)
	if !known {
		return nil, bad("unknown kind %q", f.Kind)
	}
	all := notifyParams()
	for _, kv := range params {
		p := bankapi.FindParam(all, kv[0])
		if p == nil {
			return nil, bad("unknown parameter %q", kv[0])
		}
		if err := p.Set(f, kv[1]); err != nil {
			return nil, bad("%v", err)
		}
	}
	if check := k.Info().Check; check != nil {
		if err := check(f); err != nil {
			return nil, bad("%v", err)
		}
	}
	return f, nil
}

// String is the rule as ParseNotifyFault reads it.
func (f NotifyFault) String() string { return bankapi.FormatSpec(f.Kind, &f, notifyParams()) }
