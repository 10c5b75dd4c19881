package bankapi

import "time"

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
