package bankapi

import (
	"strings"
	"time"
)

// FaultKind is what an injected fault does to a request. The kinds are values in a registry
// (faultkinds.go), each registered with its help and parameters by one file of
// github.com/walletctl/walletctl/bankmock/faults, which also says what the bank and its network do.
type FaultKind string

// The kinds every bankmock knows, named here so that callers can build a Fault in code; what each
// does is its registered help and its file in bankmock/faults.
const (
	FaultRefuse    FaultKind = "refuse"
	FaultDropAfter FaultKind = "drop_after"
	FaultDelay     FaultKind = "delay"
	FaultHang      FaultKind = "hang"
	FaultHTTPError FaultKind = "http_error"
	FaultMalformed FaultKind = "malformed"
)

// FaultKinds lists every registered kind, in documentation order. RegisterFaultKind keeps it;
// do not change it.
var FaultKinds []FaultKind

// Help is what kind k does, in a few words ("" for an unknown kind).
func (k FaultKind) Help() string {
	info, _ := LookupFaultKind(k)
	return info.Help
}

// FaultKindNames are the kinds' names, in documentation order.
func FaultKindNames() []string { return faultKinds.Names() }

// FaultKindsHelp lists the kinds with what each does: "refuse (not processed, no answer), ...".
func FaultKindsHelp() string {
	names := faultKinds.Names()
	for i, n := range names {
		names[i] = n + " (" + FaultKind(n).Help() + ")"
	}
	return strings.Join(names, ", ")
}

// Fault sources, in order of precedence.
const (
	SourceHeader  = "header"  // X-Bankmock-Fault on the request (in-process: WithFault on the context)
	SourceRule    = "rule"    // an admin rule
	SourceMagic   = "magic"   // a documented test card or amount
	SourceProfile = "profile" // the bank's profile (e.g. a flaky small bank)
)

// Fault is one fault rule: a composable value with parameters. Zero matchers match everything.
type Fault struct {
	ID     string    `json:"id"` // assigned by AddFault ("f1", "f2", ...)
	Kind   FaultKind `json:"kind"`
	Source string    `json:"source,omitempty"` // set by the engine
	// Partner, set by the bank, is the partner whose rule this is: it matches only that
	// partner's traffic. Empty: a bank-wide rule (admin only).
	Partner string `json:"partner,omitempty"`

	// Matchers.
	Op        string `json:"op,omitempty"`         // OpDebit, OpBind, ... ("" = any)
	Bank      string `json:"bank,omitempty"`       // bank code ("" = any)
	CardNo    string `json:"card_no,omitempty"`    // exact card ("" = any)
	MinAmount int64  `json:"min_amount,omitempty"` // fen, inclusive (0 = no bound)
	MaxAmount int64  `json:"max_amount,omitempty"` // fen, inclusive (0 = no bound)

	// Firing: First > 0 fires on the first First matching requests, then passes. Probability in
	// [0,1] fires on each match with that chance, drawn from the engine's seed and the fault's match
	// counter (counter-based, so a restored snapshot continues the same sequence): 0 never fires.
	// A pointer, because an absent probability (nil) means always and must differ from 0.
	First       int      `json:"first,omitempty"`
	Probability *float64 `json:"probability,omitempty"`

	// Parameters of some kinds (see their SpecParams); every fault carries them.
	Delay  time.Duration `json:"delay,omitempty"`  // for delay
	Status int           `json:"status,omitempty"` // for http_error (default 503)

	// Counters, kept by the engine.
	Matched int `json:"matched"`
	Fired   int `json:"fired"`
}

// Chance returns p as a Fault.Probability: Fault{Kind: FaultRefuse, Probability: Chance(0.2)}.
func Chance(p float64) *float64 { return &p }
