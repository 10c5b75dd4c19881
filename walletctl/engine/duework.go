package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// Due work (DESIGN.md section 11): everything with a due time is a row written in the
// transaction that made it (a transfer's arrival and refund, an order's expiry, a password lock's
// end, a notification's next try). RunDue does the first kinds in one short transaction; a
// notification try is claimed (leased in its row), sent with no transaction and no lock held,
// and recorded, so that a receiver that never answers delays nobody but its own merchant's
// next tries.

var _ walletctl.DueWork = (*Engine)(nil)

// lease is how long a claimed try stays leased to its worker: the receiver's answer timeout
// twice (a duplicate fault sends two), plus a second to record it. A worker that dies mid-try
// leaves the try to others after this: with v3's 5 s, 11 s.
func (e *Engine) lease() time.Duration { return 2*e.notifyTimeout() + time.Second }

// RunDue does the due work that needs no one outside the wallet (see tick).
func (e *Engine) RunDue(ctx context.Context) error { return e.tick(ctx) }

// NextDueAt is the earliest due time of any work.
func (e *Engine) NextDueAt(ctx context.Context) (*time.Time, error) {
	var out *time.Time
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		a, err := tx.NextDue()
		if err != nil {
			return err
		}
		b, err := tx.NextNotificationAt(e.realNow())
		if err != nil {
			return err
		}
		out = a
		if b != nil && (out == nil || b.Before(*out)) {
			out = b
		}
		return nil
	})
	return out, err
}

// NextLeaseEnd is when the first lease on a due try ends.
func (e *Engine) NextLeaseEnd(ctx context.Context) (*time.Time, error) {
	var out *time.Time
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		out, err = tx.NextLeaseEnd(e.now(), e.realNow())
		return err
	})
	return out, err
}

// DeliverNotifications sends every try that is due, in order of when it was due, one at a time,
// and returns the notifications it attempted. The CLI calls it after a command, once the home is
// released; a server's worker drives the same steps with several merchants at once.
func (e *Engine) DeliverNotifications(ctx context.Context) ([]walletctl.Notification, error) {
	out := []walletctl.Notification{}
	if e.deliverer == nil {
		return out, nil
	}
	seen := map[string]int{}
	for range maxDeliveries {
		c, err := e.ClaimDelivery(ctx, e.owner, nil)
		if err != nil || c == nil {
			return out, err
		}
		n, err := e.RecordClaim(context.WithoutCancel(ctx), c, e.SendClaim(ctx, c))
		if err != nil {
			return out, err
		}
		if i, ok := seen[n.ID]; ok {
			out[i] = *n
		} else {
			seen[n.ID] = len(out)
			out = append(out, *n)
		}
	}
	return out, nil
}

// ClaimDelivery picks the notification due first (of a merchant not in busy), leases its try to
// owner, and decides the fault that applies and the address it goes to. A delay or out-of-order
// fault reschedules the try instead, and the next one is looked for. Everything the sender needs
// (keys, the platform's identity) is read here, so that SendClaim needs no store.
func (e *Engine) ClaimDelivery(ctx context.Context, owner string, busy []string) (*walletctl.Claim, error) {
	if e.deliverer == nil {
		return nil, nil
	}
	// A look first, without writing: after most commands nothing is due, and the platform's key
	// (a derivation) is needed only when something is.
	var due *walletctl.Notification
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		due, err = tx.NextNotification(e.now(), e.realNow(), busy)
		return err
	}); err != nil || due == nil {
		return nil, err
	}
	pf, err := e.Platform(ctx)
	if err != nil {
		return nil, err
	}
	for range maxDeliveries {
		var c *walletctl.Claim
		again := false
		err := e.update(ctx, func(tx walletctl.StoreTx) error {
			c, again = nil, false
			real := e.realNow()
			n, err := tx.NextNotification(e.now(), real, busy)
			if err != nil || n == nil {
				return err
			}
			if ok, err := tx.ClaimNotification(n.ID, owner, real.Add(e.lease()), real); err != nil {
				return err
			} else if !ok {
				again = true // taken meanwhile by another server: look again
				return nil
			}
			url := n.URL
			if v, err := tx.GetSetting(settingForward); err != nil {
				return err
			} else if v != "" {
				var f forward
				if json.Unmarshal([]byte(v), &f) == nil && real.Unix() < f.Until {
					url = f.URL
				}
			}
			fault, err := e.notifyFaultFor(tx, n)
			if err != nil {
				return err
			}
			if fault != nil {
				if k, _ := walletctl.NotifyFaultKindOf(fault.Kind); k.Hold(fault, n) {
					again = true // rescheduled: look for the next one due
					if err := tx.SaveNotification(n); err != nil {
						return err
					}
					return tx.ReleaseNotification(n.ID, owner)
				}
			}
			m, err := tx.GetMerchant(n.MchID)
			if err != nil {
				return err
			}
			c = &walletctl.Claim{Fault: fault, At: *n.NextAt, Owner: owner, Delivery: walletctl.Delivery{Notification: n, URL: url,
				APIv3Key: e.apiV3Key(n.MchID), Platform: pf, PublicKeyID: m != nil && m.PublicKeyMode}}
			return nil
		})
		if err != nil || !again {
			return c, err
		}
	}
	return nil, nil
}

// notifyFaultFor is the first fault rule that fires on n's try (counting it as fired).
func (e *Engine) notifyFaultFor(tx walletctl.StoreTx, n *walletctl.Notification) (*walletctl.NotifyFault, error) {
	faults, err := tx.ListNotifyFaults()
	if err != nil {
		return nil, err
	}
	for i := range faults {
		f := &faults[i]
		if f.EventType != "" && f.EventType != n.EventType || f.MchID != "" && f.MchID != n.MchID || f.First > 0 && f.Fired >= f.First {
			continue
		}
		if k, ok := walletctl.NotifyFaultKindOf(f.Kind); !ok || !k.Fires(n) {
			continue // a kind this build lacks, or one that passes this try by
		}
		f.Fired++
		return f, tx.SaveNotifyFault(f)
	}
	return nil, nil
}

// SendClaim sends the claimed try, with what its fault adds.
func (e *Engine) SendClaim(ctx context.Context, c *walletctl.Claim) []walletctl.NotifyAttempt {
	if c.Fault != nil {
		if k, ok := walletctl.NotifyFaultKindOf(c.Fault.Kind); ok {
			return k.Send(ctx, c.Delivery, e.deliverer)
		}
	}
	return []walletctl.NotifyAttempt{e.deliverer.Deliver(ctx, c.Delivery)}
}

// RecordClaim records a sent try: its attempts at the time it was due, the next try on v3's
// schedule (or the end of it), and what an out-of-order fault held back goes right after.
func (e *Engine) RecordClaim(ctx context.Context, c *walletctl.Claim, atts []walletctl.NotifyAttempt) (*walletctl.Notification, error) {
	var saved *walletctl.Notification
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		cur, err := tx.GetNotification(c.Delivery.Notification.ID)
		if err != nil {
			return err
		}
		if cur == nil {
			return errf(walletctl.CodeNotFound, "no notification %q", c.Delivery.Notification.ID)
		}
		ok := false
		for _, a := range atts {
			a.N, a.At = len(cur.Attempts)+1, c.At
			cur.Attempts = append(cur.Attempts, a)
			ok = ok || a.OK
		}
		cur.Tries++
		switch {
		case ok:
			cur.Status, cur.NextAt = walletctl.NotifyDelivered, nil
		case cur.Tries > len(walletctl.NotifySchedule):
			cur.Status, cur.NextAt = walletctl.NotifyFailed, nil
		default:
			next := c.At.Add(walletctl.NotifySchedule[cur.Tries-1])
			cur.NextAt = &next
		}
		saved = cur
		if err := tx.SaveNotification(cur); err != nil {
			return err
		}
		if err := tx.ReleaseNotification(cur.ID, c.Owner); err != nil {
			return err
		}
		held, err := tx.HeldNotifications(cur.MchID)
		if err != nil {
			return err
		}
		for i := range held {
			h := &held[i]
			if h.ID == cur.ID {
				continue
			}
			h.Held, h.NextAt = false, &c.At
			if err := tx.SaveNotification(h); err != nil {
				return err
			}
		}
		return nil
	})
	return saved, err
}

// notifyTimeout is how long a receiver has to answer one attempt.
func (e *Engine) notifyTimeout() time.Duration {
	if t, ok := e.deliverer.(timedDeliverer); ok {
		return t.timeout
	}
	return walletctl.NotifyTimeout
}

// newOwner names this engine in the leases it takes: unique per engine, so that a lease taken
// before a restart is never mistaken for this one's.
func newOwner() string {
	var b [8]byte
	rand.Read(b[:])
	return "w-" + hex.EncodeToString(b[:])
}
