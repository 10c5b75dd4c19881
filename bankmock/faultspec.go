package bankmock

import (
	"context"
	"hash/fnv"

	"github.com/walletctl/walletctl/bankapi"
)

type faultCtxKey struct{}
type reportCtxKey struct{}

// WithFault stages a fault for the calls made with the returned context: the in-process
// equivalent of the X-Bankmock-Fault request header, with the highest precedence. The engine gives
// it the ID "h<n>" and source "header" when it fires.
func WithFault(ctx context.Context, f bankapi.Fault) context.Context {
	return context.WithValue(ctx, faultCtxKey{}, f)
}

func headerFault(ctx context.Context) (bankapi.Fault, bool) {
	f, ok := ctx.Value(faultCtxKey{}).(bankapi.Fault)
	return f, ok
}

// Report tells the HTTP server which fault fired on a call. Putting one on the context with
// WithReport switches the engine into SERVER MODE, whose contract is: the engine does the bank's
// part of the fault kind (bankmock/faults: its Plan, then its Answer for a server caller) and
// sets Fault; the server then acts out the kind's Network part on the answer.
//
//   - a request the kind never processes: the engine returns at once with a zero result and a nil
//     error, or with the kind's error (an error status's ISSUER_UNAVAILABLE 96, Error.Fault set);
//   - a request processed now: the engine returns the operation's real result or error, which
//     the network then loses or garbles;
//   - a request processed later: the engine itself waits (or until ctx is done: a client that
//     leaves does not stop the bank), then processes and returns the real result. ClientTimeout
//     does not apply: the real client has its own.
//
// In every case the server sends X-Bankmock-Fault-Fired: Fault.Ref() when it answers at all.
// Without a Report on the context (in-process callers), the kind's Answer turns what the
// network would do into the errors a client would see.
type Report struct {
	Fault *bankapi.Fault // the fault that fired (Source and ID set), nil if none
}

// WithReport attaches r to ctx; the engine fills it in and switches to server mode (see Report).
func WithReport(ctx context.Context, r *Report) context.Context {
	return context.WithValue(ctx, reportCtxKey{}, r)
}

func reportFrom(ctx context.Context) *Report {
	r, _ := ctx.Value(reportCtxKey{}).(*Report)
	return r
}

// matches reports whether fault f applies to a request. A fault with an amount bound only matches
// requests that carry an amount.
func matches(f *bankapi.Fault, op, bank, card string, amount int64) bool {
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

// decide counts one match of f and says whether the fault fires on it: within the first First matches
// (when First > 0) and by a draw below Probability (when set: 0 never fires); neither set: always.
// The draw is a pure function of the seed, the fault ID and the match counter, so two engines from
// one seed fire identically and a restored snapshot continues the sequence.
func decide(f *bankapi.Fault, seed int64) bool {
	f.Matched++
	fire := true
	if f.First > 0 && f.Matched > f.First {
		fire = false
	}
	if fire && f.Probability != nil && *f.Probability <= 0 {
		fire = false
	}
	if fire && f.Probability != nil && *f.Probability > 0 && *f.Probability < 1 {
		h := fnv.New64a()
		h.Write([]byte(f.Source + ":" + f.ID))
		x := splitmix64(uint64(seed) ^ h.Sum64() ^ splitmix64(uint64(f.Matched)))
		fire = float64(x>>11)/(1<<53) < *f.Probability
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
