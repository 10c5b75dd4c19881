package bankmock

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"
)

// knownOps are the operations a fault may name.
var knownOps = map[string]bool{
	OpBanks: true, OpVerify: true, OpBind: true, OpConfirm: true, OpUnbind: true,
	OpDebit: true, OpCredit: true, OpTransaction: true, OpStatement: true,
}

func knownKind(k FaultKind) bool {
	for _, x := range FaultKinds {
		if x == k {
			return true
		}
	}
	return false
}

// ParseFault reads the X-Bankmock-Fault syntax: a kind, then ";"-separated key=value parameters.
//
//	drop_after;op=debit;first=2;bank=ICBC;card=6222...;min=100;max=5000;p=0.2;delay=500ms;status=502
//
// Amounts are fen; delay is a Go duration; p is a probability in [0,1]; status (http_error) is an
// HTTP status 400-599. Unknown keys, repeated keys and empty values are errors.
func ParseFault(spec string) (Fault, error) {
	parts := strings.Split(spec, ";")
	f := Fault{Kind: FaultKind(strings.TrimSpace(parts[0]))}
	if !knownKind(f.Kind) {
		return Fault{}, fmt.Errorf("fault: unknown kind %q (want one of refuse, drop_after, delay, hang, http_error, malformed)", f.Kind)
	}
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return Fault{}, fmt.Errorf("fault: parameter %q is not key=value", p)
		}
		if seen[k] {
			return Fault{}, fmt.Errorf("fault: parameter %q given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "op":
			f.Op = v
		case "bank":
			f.Bank = v
		case "card":
			f.CardNo = v
		case "min":
			f.MinAmount, err = strconv.ParseInt(v, 10, 64)
		case "max":
			f.MaxAmount, err = strconv.ParseInt(v, 10, 64)
		case "first":
			f.First, err = strconv.Atoi(v)
		case "p":
			f.Probability, err = strconv.ParseFloat(v, 64)
		case "delay":
			f.Delay, err = time.ParseDuration(v)
		case "status":
			f.Status, err = strconv.Atoi(v)
		default:
			return Fault{}, fmt.Errorf("fault: unknown parameter %q (want op, bank, card, min, max, first, p, delay, status)", k)
		}
		if err != nil {
			return Fault{}, fmt.Errorf("fault: bad %s %q", k, v)
		}
	}
	if err := validateFault(f); err != nil {
		return Fault{}, err
	}
	return f, nil
}

// validateFault checks a fault's kind and parameters (not its ID or counters).
func validateFault(f Fault) error {
	switch {
	case !knownKind(f.Kind):
		return fmt.Errorf("fault: unknown kind %q", f.Kind)
	case f.Op != "" && !knownOps[f.Op]:
		return fmt.Errorf("fault: unknown op %q", f.Op)
	case strings.ContainsAny(f.Bank+f.CardNo, ";"):
		return fmt.Errorf("fault: bank and card may not contain ';'")
	case f.MinAmount < 0 || f.MaxAmount < 0:
		return fmt.Errorf("fault: amounts must not be negative")
	case f.MaxAmount > 0 && f.MaxAmount < f.MinAmount:
		return fmt.Errorf("fault: max %d is below min %d", f.MaxAmount, f.MinAmount)
	case f.First < 0:
		return fmt.Errorf("fault: first must not be negative")
	case math.IsNaN(f.Probability) || f.Probability < 0 || f.Probability > 1:
		return fmt.Errorf("fault: probability must be in [0,1]")
	case f.Delay < 0:
		return fmt.Errorf("fault: delay must not be negative")
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("fault: status must be an HTTP error status (400-599)")
	}
	return nil
}

// String renders the fault in ParseFault's syntax, parameters in a fixed order, zero values
// left out. ParseFault(f.String()) gives back f's kind, matchers and parameters.
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	add := func(k, v string) { b.WriteString(";" + k + "=" + v) }
	if f.Op != "" {
		add("op", f.Op)
	}
	if f.Bank != "" {
		add("bank", f.Bank)
	}
	if f.CardNo != "" {
		add("card", f.CardNo)
	}
	if f.MinAmount != 0 {
		add("min", strconv.FormatInt(f.MinAmount, 10))
	}
	if f.MaxAmount != 0 {
		add("max", strconv.FormatInt(f.MaxAmount, 10))
	}
	if f.First != 0 {
		add("first", strconv.Itoa(f.First))
	}
	if f.Probability != 0 {
		add("p", strconv.FormatFloat(f.Probability, 'g', -1, 64))
	}
	if f.Delay != 0 {
		add("delay", f.Delay.String())
	}
	if f.Status != 0 {
		add("status", strconv.Itoa(f.Status))
	}
	return b.String()
}

// Ref is "<source>:<id>", as the journal, Error.Fault and X-Bankmock-Fault-Fired show it.
func (f Fault) Ref() string { return f.Source + ":" + f.ID }

type faultCtxKey struct{}
type reportCtxKey struct{}

// WithFault stages a fault for the calls made with the returned context: the in-process
// equivalent of the X-Bankmock-Fault request header, with the highest precedence. The engine gives
// it the ID "h<n>" and source "header" when it fires.
func WithFault(ctx context.Context, f Fault) context.Context {
	return context.WithValue(ctx, faultCtxKey{}, f)
}

func headerFault(ctx context.Context) (Fault, bool) {
	f, ok := ctx.Value(faultCtxKey{}).(Fault)
	return f, ok
}

// Report tells the HTTP server which fault fired on a call. Putting one on the context with
// WithReport switches the engine into SERVER MODE, whose contract is:
//
//   - refuse, hang: the request is not processed; the engine returns at once with a zero result and
//     a nil error, and sets Fault. The server then closes the connection without answering (refuse)
//     or holds it until the client gives up (hang).
//   - drop_after, malformed: the request is processed and the engine returns the operation's real
//     result or error, and sets Fault. The server then closes the connection without answering
//     (drop_after) or writes a garbage body (malformed).
//   - http_error: not processed; the engine returns ISSUER_UNAVAILABLE (96) with Error.Fault set,
//     and sets Fault; the server answers with Fault.Status (503 when zero).
//   - delay: the engine itself waits Fault.Delay (or until ctx is done: a client that leaves does
//     not stop the bank), then processes and returns the real result; the server just answers.
//     ClientTimeout does not apply: the real client has its own.
//
// In every case the server sends X-Bankmock-Fault-Fired: Fault.Ref() when it answers at all.
// Without a Report on the context (in-process callers), the engine itself turns refuse, hang,
// drop_after and malformed into OUTCOME_UNKNOWN errors, as the client would see them.
type Report struct {
	Fault *Fault // the fault that fired (Source and ID set), nil if none
}

// WithReport attaches r to ctx; the engine fills it in and switches to server mode (see Report).
func WithReport(ctx context.Context, r *Report) context.Context {
	return context.WithValue(ctx, reportCtxKey{}, r)
}

func reportFrom(ctx context.Context) *Report {
	r, _ := ctx.Value(reportCtxKey{}).(*Report)
	return r
}

// matches reports whether f applies to a request. A fault with an amount bound only matches
// requests that carry an amount.
func (f *Fault) matches(op, bank, card string, amount int64) bool {
	if f.Op != "" && f.Op != op {
		return false
	}
	if f.Bank != "" && f.Bank != bank {
		return false
	}
	if f.CardNo != "" && f.CardNo != card {
		return false
	}
	if f.MinAmount > 0 || f.MaxAmount > 0 {
		if amount <= 0 || amount < f.MinAmount || (f.MaxAmount > 0 && amount > f.MaxAmount) {
			return false
		}
	}
	return true
}

// decide counts one match and says whether the fault fires on it: within the first First matches
// (when First > 0) and by a draw below Probability (when Probability > 0); neither set: always.
// The draw is a pure function of the seed, the fault ID and the match counter, so two engines from
// one seed fire identically and a restored snapshot continues the sequence.
func (f *Fault) decide(seed int64) bool {
	f.Matched++
	fire := true
	if f.First > 0 && f.Matched > f.First {
		fire = false
	}
	if fire && f.Probability > 0 && f.Probability < 1 {
		h := fnv.New64a()
		h.Write([]byte(f.Source + ":" + f.ID))
		x := splitmix64(uint64(seed) ^ h.Sum64() ^ splitmix64(uint64(f.Matched)))
		fire = float64(x>>11)/(1<<53) < f.Probability
	}
	if fire {
		f.Fired++
	}
	return fire
}

// splitmix64 is a good 64-bit mixer: counter-based randomness without a stateful generator.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
