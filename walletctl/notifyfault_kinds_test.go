package walletctl

import (
	"context"
	"slices"
	"testing"
	"time"
)

// fakeDeliverer answers every delivery with ok and records what it was asked to send.
type fakeDeliverer struct {
	ok   bool
	sent []Delivery
}

func (f *fakeDeliverer) Deliver(_ context.Context, d Delivery) NotifyAttempt {
	f.sent = append(f.sent, d)
	return NotifyAttempt{OK: f.ok, Status: 200}
}

func kindOf(t *testing.T, name string) NotifyFaultKind {
	t.Helper()
	k, ok := NotifyFaultKindOf(name)
	if !ok {
		t.Fatalf("no notification fault kind %s", name)
	}
	return k
}

// The registry lists the kinds in the order the CLI always showed, each with help, and the
// parser's hint is built from it.
func TestNotifyFaultRegistry(t *testing.T) {
	want := []string{"duplicate", "out_of_order", "delay", "drop_ack", "sign_probe"}
	if !slices.Equal(NotifyFaultKinds, want) {
		t.Fatalf("kinds %v, want %v", NotifyFaultKinds, want)
	}
	for _, n := range NotifyFaultKinds {
		if info := kindOf(t, n).Info(); info.Kind != n || info.Help == "" {
			t.Errorf("%s: %+v", n, info)
		}
	}
	_, err := ParseNotifyFault("explode")
	e, ok := err.(*Error)
	if !ok || e.Hint != "KIND[;event=TRANSACTION.SUCCESS][;mchid=M][;first=N][;d=10s], KIND one of duplicate, out_of_order, delay, drop_ack, sign_probe" {
		t.Errorf("hint: %#v", err)
	}
}

func TestNotifyFaultKinds(t *testing.T) {
	ctx := context.Background()
	d := Delivery{URL: "http://merchant.test/notify"}

	t.Run("duplicate", func(t *testing.T) {
		k, to := kindOf(t, NotifyFaultDuplicate), &fakeDeliverer{ok: true}
		out := k.Send(ctx, d, to)
		if len(out) != 2 || len(to.sent) != 2 || out[0].Fault != NotifyFaultDuplicate || out[1].Fault != NotifyFaultDuplicate {
			t.Fatalf("%+v", out)
		}
		if !k.Fires(&Notification{Tries: 3}) || k.Hold(&NotifyFault{}, &Notification{}) {
			t.Fatal("duplicate fires on every try and holds nothing")
		}
	})
	t.Run("out_of_order", func(t *testing.T) {
		k := kindOf(t, NotifyFaultOutOfOrder)
		n := &Notification{}
		if !k.Fires(n) || k.Fires(&Notification{Tries: 1}) {
			t.Fatal("out_of_order fires on a first delivery only")
		}
		if !k.Hold(&NotifyFault{}, n) || !n.Held {
			t.Fatalf("not held: %+v", n)
		}
	})
	t.Run("delay", func(t *testing.T) {
		k := kindOf(t, NotifyFaultDelay)
		at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		n := &Notification{Tries: 2, NextAt: &at}
		if !k.Fires(n) || !k.Hold(&NotifyFault{Delay: 30 * time.Second}, n) {
			t.Fatal("delay should fire and hold")
		}
		if !n.NextAt.Equal(at.Add(30*time.Second)) || n.DelayedTry != 3 {
			t.Fatalf("rescheduled to %v, delayed try %d", n.NextAt, n.DelayedTry)
		}
		if k.Fires(n) {
			t.Fatal("a try delayed once fires again")
		}
		if _, err := ParseNotifyFault("delay"); err == nil {
			t.Fatal("delay without d= parsed")
		}
	})
	t.Run("drop_ack", func(t *testing.T) {
		k := kindOf(t, NotifyFaultDropAck)
		out := k.Send(ctx, d, &fakeDeliverer{ok: true})
		if len(out) != 1 || out[0].OK || out[0].Error == "" || out[0].Fault != NotifyFaultDropAck {
			t.Fatalf("an accepted delivery counts: %+v", out)
		}
		if out := k.Send(ctx, d, &fakeDeliverer{ok: false}); out[0].OK || out[0].Error != "" {
			t.Fatalf("a refused delivery: %+v", out)
		}
	})
	t.Run("sign_probe", func(t *testing.T) {
		k, to := kindOf(t, NotifyFaultSignProbe), &fakeDeliverer{ok: true}
		out := k.Send(ctx, d, to)
		if len(out) != 2 || !to.sent[0].Probe || to.sent[1].Probe {
			t.Fatalf("want a probe, then the notification: %+v", to.sent)
		}
		if !out[0].Probe || out[0].Fault != NotifyFaultSignProbe || out[0].OK || out[0].Error == "" {
			t.Fatalf("an accepted probe must fail and say why: %+v", out[0])
		}
		if out[1].Probe || out[1].Fault != "" || !out[1].OK {
			t.Fatalf("the notification after the probe: %+v", out[1])
		}
	})
}
