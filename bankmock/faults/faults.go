// Package faults holds the mock bank's fault kinds, one file per kind (Toxiproxy's toxics/
// shape): each registers, at init, its protocol descriptor (name, parameters, help: read by
// bankapi's parser, the CLIs' help and completion, and chaos) and what the bank does when it
// fires: whether the engine processes the request, what an in-process caller sees, and what
// bankmock/server does to the connection. The engine and the server read the registry; neither
// names a kind.
//
// Adding a kind is one file here (plus its test): a type implementing Kind, built from the shared
// pieces below (info, notProcessed, processedLost, closes, param) and its own methods, and an
// init calling Register.
package faults

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/walletctl/walletctl/bankapi"
)

// Kind is one fault kind.
type Kind interface {
	// Info is the kind's protocol descriptor; Register puts it in bankapi's registry.
	Info() bankapi.FaultKindInfo
	// Plan is what the bank does with a request f fired on (called under the engine's lock).
	Plan(f *bankapi.Fault) Plan
	// Answer is what the engine returns instead of the bank's own answer once its work is done
	// (nil: the bank's own). An in-process caller (c.Server false) must see what a client over
	// the network would: a kind that does not process (Never) answers it with an error. For the
	// server (c.Server true) nil means "return the bank's answer, or nothing if it did not
	// process", and the server then acts out Network.
	Answer(ctx context.Context, f *bankapi.Fault, c Caller) *bankapi.Error
	// Network acts out what the network does to the answer in x, and reports whether it did;
	// false: the server writes the answer as usual.
	Network(x *Exchange) bool
}

// When is when the bank processes a request a fault fired on.
type When int

const (
	// Now: the bank processes it at once (what the caller then gets is the kind's Answer).
	Now When = iota
	// Never: the request does not reach the bank's logic; nothing changes.
	Never
	// Later: the bank processes it after Plan.Wait, without holding its lock; meanwhile the
	// request's idempotency key is in flight (a second request with it is DUPLICATE). An
	// in-process caller whose patience (ClientTimeout, its context's deadline) runs out first
	// gets OUTCOME_UNKNOWN 04; the bank processes anyway.
	Later
)

// Plan is what the bank does with one request.
type Plan struct {
	When When
	// Wait is how long a Later request takes.
	Wait time.Duration
	// Outcome and RespCode are the journal's for a request the bank Never processes.
	Outcome, RespCode string
	// Detail is the journal's detail: the whole of it when Never, added to the bank's own
	// otherwise ("processed; response dropped").
	Detail string
}

// Caller is who called the engine, for Answer.
type Caller struct {
	// Server: bankmock/server called with a Report and acts out the network itself.
	Server bool
	// ClientTimeout is how long an in-process caller waits for an answer (Config.ClientTimeout).
	ClientTimeout time.Duration
	// Sleep waits d or until ctx is done (Config.Sleep: virtual in tests).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Exchange is one HTTP exchange whose fault the server acts out: the engine's answer and the
// means to misbehave.
type Exchange struct {
	// Ctx is the request's context: done when the client leaves.
	Ctx   context.Context
	Fault *bankapi.Fault
	// Value is the answer's body, Err the engine's error as the protocol writes it (nil: none).
	Value any
	Err   *bankapi.Error
	// Release is closed when the server shuts down; HangTimeout bounds a held connection.
	Release     <-chan struct{}
	HangTimeout time.Duration
	// WriteError writes a protocol error body with a status; WriteRaw writes bytes as they are.
	WriteError func(status int, e *bankapi.Error)
	WriteRaw   func(status int, contentType string, b []byte)
	// Hijack takes the connection over from net/http, or panics with http.ErrAbortHandler where
	// that is impossible (HTTP/2, a test recorder): net/http's way to drop the stream.
	Hijack func() net.Conn
}

// Body is the answer's JSON as the server would have written it (without the final newline, and
// as bankmock/server writes JSON: &, < and > not HTML-escaped).
func (x *Exchange) Body() []byte {
	var v any = x.Value
	if x.Err != nil {
		v = struct {
			Error *bankapi.Error `json:"error"`
		}{x.Err}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Close ends the exchange with no response at all, as a dead network would: the connection is
// closed (a FIN; the client reads EOF).
func (x *Exchange) Close() { _ = x.Hijack().Close() }

// TCPConn is the TCP connection under c (a TLS connection's included), or nil.
func TCPConn(c net.Conn) *net.TCPConn {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	tc, _ := c.(*net.TCPConn)
	return tc
}

var kinds bankapi.Kinds[Kind]

// Register adds a kind: its descriptor to bankapi's registry, its behaviour to this one. Call
// it from the kind's init; a repeated name panics.
func Register(k Kind) {
	info := k.Info()
	bankapi.RegisterFaultKind(info)
	kinds.Add(string(info.Kind), info.Rank, k)
}

// Of returns the kind named k.
func Of(k bankapi.FaultKind) (Kind, bool) { return kinds.Get(string(k)) }

// All lists the kinds in documentation order.
func All() []Kind {
	names := kinds.Names()
	out := make([]Kind, len(names))
	for i, n := range names {
		out[i], _ = kinds.Get(n)
	}
	return out
}

// The pieces several kinds share: a kind's type embeds them and writes only what is its own.

// info is a kind's descriptor: embedded, it is the kind's Info.
type info bankapi.FaultKindInfo

func (i info) Info() bankapi.FaultKindInfo { return bankapi.FaultKindInfo(i) }

// notProcessed is the Plan and Answer of a kind whose request the bank never sees: the server
// acts out the network; an in-process caller gets no answer.
type notProcessed struct{}

func (notProcessed) Plan(*bankapi.Fault) Plan { return notProcessedPlan }

func (notProcessed) Answer(_ context.Context, f *bankapi.Fault, c Caller) *bankapi.Error {
	if c.Server {
		return nil
	}
	return noAnswer(f)
}

// processedLost is the Plan and Answer of a kind whose request the bank processes and whose
// answer does not arrive usable: the server acts out how (on the bank's answer); an in-process
// caller is told what came back. detail is the journal's, what the caller's message.
type processedLost struct{ detail, what string }

func (p processedLost) Plan(*bankapi.Fault) Plan {
	return Plan{When: Now, Detail: "processed; " + p.detail}
}

func (p processedLost) Answer(_ context.Context, f *bankapi.Fault, c Caller) *bankapi.Error {
	if c.Server {
		return nil
	}
	return lostAnswer(f, p.what)
}

// closes is the Network of a kind that ends the exchange with no response (a FIN).
type closes struct{}

func (closes) Network(x *Exchange) bool {
	x.Close()
	return true
}

// param is a kind's parameter held in a field of Fault and unset while zero (delay=, status=):
// how the spec reads and writes the field, and which set values are valid (bad says why not).
func param[T comparable](key, help string, field func(*bankapi.Fault) *T,
	parse func(string) (T, error), format func(T) string, valid func(T) bool, bad string) bankapi.SpecParam[bankapi.Fault] {
	var zero T
	return bankapi.SpecParam[bankapi.Fault]{Key: key, Help: help,
		Set: func(f *bankapi.Fault, v string) (err error) {
			*field(f), err = parse(v)
			return err
		},
		Get: func(f *bankapi.Fault) string {
			if v := *field(f); v != zero {
				return format(v)
			}
			return ""
		},
		Check: func(f *bankapi.Fault) error {
			if v := *field(f); v != zero && !valid(v) {
				return errors.New(bad)
			}
			return nil
		},
	}
}

// notProcessedPlan is the plan of a kind whose request the bank never sees: the journal
// records the unknown outcome a client is left with.
var notProcessedPlan = Plan{When: Never, Outcome: bankapi.CodeOutcomeUnknown, RespCode: "03", Detail: "not processed"}

// noAnswer is what an in-process caller gets when no answer comes back from a request the bank
// did not process: it cannot know that, so it must query by key.
func noAnswer(f *bankapi.Fault) *bankapi.Error {
	return &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, RespCode: "03", Fault: f.Ref(),
		Message: fmt.Sprintf("no answer from the bank (%s); the request was not processed, but a client cannot know that: query by idempotency key", f.Kind)}
}

// lostAnswer is what an in-process caller gets when the bank processed the request and what
// came back was unusable.
func lostAnswer(f *bankapi.Fault, what string) *bankapi.Error {
	return &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, RespCode: "05", Fault: f.Ref(), Processed: true,
		Message: what + " after the bank processed the request: query by idempotency key"}
}
