package faults

import (
	"context"
	"time"

	"github.com/walletctl/walletctl/bankapi"
)

func init() {
	Register(delay{info{Kind: bankapi.FaultDelay, Rank: 30, Help: "processed late, after delay=",
		Params: []bankapi.SpecParam[bankapi.Fault]{param("delay", "how long the bank takes (a Go duration)",
			func(f *bankapi.Fault) *time.Duration { return &f.Delay }, time.ParseDuration, time.Duration.String,
			func(d time.Duration) bool { return d >= 0 }, "fault: delay must not be negative")},
		// Past the caller's patience: processed, the answer unknown to the caller.
		Sample: func(f *bankapi.Fault, patience time.Duration) { f.Delay = 2 * patience },
	}})
}

// delay: the bank processes the request after delay=, then answers normally. In-process, past
// the caller's patience the answer is OUTCOME_UNKNOWN 04 (the engine's Later rule); over HTTP the
// real client's own timeout decides.
type delay struct{ info }

func (delay) Plan(f *bankapi.Fault) Plan {
	return Plan{When: Later, Wait: f.Delay, Detail: "processed after " + f.Delay.String()}
}

func (delay) Answer(context.Context, *bankapi.Fault, Caller) *bankapi.Error { return nil }

// Network: the engine already waited; the answer goes out as usual.
func (delay) Network(*Exchange) bool { return false }
