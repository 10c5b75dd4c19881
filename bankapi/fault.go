package bankapi

import (
	"strings"
	"time"
)

// FaultKind is what an injected fault does to a request.
type FaultKind string

const (
	FaultRefuse    FaultKind = "refuse"     // not processed; the connection is closed with no answer
	FaultDropAfter FaultKind = "drop_after" // processed; the answer is lost (the nasty one)
	FaultDelay     FaultKind = "delay"      // processed after Delay; past the caller's timeout it is unknown
	FaultHang      FaultKind = "hang"       // never answers and never processes, until the caller gives up
	FaultHTTPError FaultKind = "http_error" // not processed; HTTP Status (default 503) with ISSUER_UNAVAILABLE
	FaultMalformed FaultKind = "malformed"  // processed; the body is garbage
)

// FaultKinds lists every kind, in documentation order.
var FaultKinds = []FaultKind{FaultRefuse, FaultDropAfter, FaultDelay, FaultHang, FaultHTTPError, FaultMalformed}

// faultKindHelp says in a few words what each kind does: the one text that spec errors, the
// CLI's help and completion, and chaos's help read.
var faultKindHelp = map[FaultKind]string{
	FaultRefuse:    "not processed, no answer",
	FaultDropAfter: "processed, answer lost",
	FaultDelay:     "processed late, after delay=",
	FaultHang:      "never answered, never processed",
	FaultHTTPError: "not processed, an HTTP status=, 503 by default",
	FaultMalformed: "processed, garbage answer",
}

// Help is what kind k does, in a few words ("" for an unknown kind).
func (k FaultKind) Help() string { return faultKindHelp[k] }

// FaultKindNames are the kinds' names, in documentation order.
func FaultKindNames() []string {
	s := make([]string, len(FaultKinds))
	for i, k := range FaultKinds {
		s[i] = string(k)
	}
	return s
}

// FaultKindsHelp lists the kinds with what each does: "refuse (not processed, no answer), ...".
func FaultKindsHelp() string {
	s := make([]string, len(FaultKinds))
	for i, k := range FaultKinds {
		s[i] = string(k) + " (" + k.Help() + ")"
	}
	return strings.Join(s, ", ")
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

	// Parameters.
	Delay  time.Duration `json:"delay,omitempty"`  // for delay
	Status int           `json:"status,omitempty"` // for http_error (default 503)

	// Counters, kept by the engine.
	Matched int `json:"matched"`
	Fired   int `json:"fired"`
}

// Chance returns p as a Fault.Probability: Fault{Kind: FaultRefuse, Probability: Chance(0.2)}.
func Chance(p float64) *float64 { return &p }
