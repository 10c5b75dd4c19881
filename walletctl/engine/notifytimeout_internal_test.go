package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// timeouts records the answer timeout of each delivery.
type timeouts []time.Duration

func (ts *timeouts) Deliver(_ context.Context, d walletctl.Delivery) walletctl.NotifyAttempt {
	*ts = append(*ts, d.Timeout)
	return walletctl.NotifyAttempt{OK: true}
}

// Every delivery carries the wallet's notify_timeout, whatever sends it; settings made in code
// without one get v3's 5 s; no deliverer stays none (notifications stay pending).
func TestDeliveriesCarryNotifyTimeout(t *testing.T) {
	var got timeouts
	ctx := context.Background()
	withNotifyTimeout(&got, 1500*time.Millisecond).Deliver(ctx, walletctl.Delivery{})
	withNotifyTimeout(&got, 0).Deliver(ctx, walletctl.Delivery{})
	withNotifyTimeout(&got, time.Second).Deliver(ctx, walletctl.Delivery{Timeout: 3 * time.Second}) // set by the caller: kept
	if want := (timeouts{1500 * time.Millisecond, 5 * time.Second, 3 * time.Second}); !slices.Equal(got, want) {
		t.Fatalf("delivery timeouts %v, want %v", got, want)
	}
	if withNotifyTimeout(nil, time.Second) != nil {
		t.Fatal("an engine without a deliverer got one")
	}
}
