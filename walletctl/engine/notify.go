package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// Notifications (DESIGN.md section 9). An event is recorded in the transaction that makes it
// happen (an order paid, a refund finished), so that none is lost or invented by a crash; it is
// delivered afterwards, outside any store transaction (an HTTP call may take 5 s), by
// deliverDue, which the operations that can make events call before they return, and which
// Advance calls after the clock moved: each attempt is recorded at the virtual time it was due,
// so advancing a day runs a day of retries in order.

const (
	// settingForward keeps `walletctl listen`'s forward address and its real-time expiry.
	settingForward = "notify_forward"
	// maxDeliveries bounds one call's work (a day of retries of many notifications still fits).
	maxDeliveries = 2000
)

type forward struct {
	URL   string `json:"url"`
	Until int64  `json:"until"` // Unix seconds, real time
}

// notifyEvent records the event of an order or a refund for its merchant, due now.
func (e *Engine) notifyEvent(tx walletctl.StoreTx, eventType string, o *walletctl.Order, r *walletctl.Refund) error {
	url, mchid, summary := "", "", ""
	switch {
	case o != nil:
		url, mchid, summary = o.NotifyURL, o.MchID, "支付成功"
	case r != nil:
		url, mchid = r.NotifyURL, r.MchID
		if url == "" {
			// The sandbox's stand-in for the merchant platform's configured refund URL: the order's.
			if ord, err := tx.FindOrder(walletctl.OrderKey{TransactionID: r.TransactionID}); err != nil {
				return err
			} else if ord != nil {
				url = ord.NotifyURL
			}
		}
		summary = map[string]string{walletctl.EventRefundSuccess: "退款成功", walletctl.EventRefundAbnormal: "退款异常",
			walletctl.EventRefundClosed: "退款关闭"}[eventType]
	}
	if url == "" {
		return nil
	}
	n, err := tx.NextID("notification")
	if err != nil {
		return err
	}
	now := e.now()
	rec := &walletctl.Notification{ID: fmt.Sprintf("n%d", n), EventID: fmt.Sprintf("EV-%s%010d", now.In(vclock.Shanghai).Format("20060102"), n),
		MchID: mchid, EventType: eventType, Summary: summary, URL: url, CreatedAt: now, Status: walletctl.NotifyPending, NextAt: &now,
		Attempts: []walletctl.NotifyAttempt{}}
	if o != nil {
		c := *o
		rec.Order = &c
	} else {
		c := *r
		rec.Refund = &c
	}
	return tx.CreateNotification(rec)
}

// Notifications lists every notification, oldest first.
func (e *Engine) Notifications(ctx context.Context) ([]walletctl.Notification, error) {
	out := []walletctl.Notification{}
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		ns, err := tx.ListNotifications()
		out = append(out, ns...)
		return err
	})
	return out, err
}

// Notification is one notification with its attempts.
func (e *Engine) Notification(ctx context.Context, id string) (*walletctl.Notification, error) {
	var out *walletctl.Notification
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		out, err = getNotification(tx, id)
		return err
	})
	return out, err
}

func getNotification(tx walletctl.StoreTx, id string) (*walletctl.Notification, error) {
	n, err := tx.GetNotification(id)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, withHint(errf(walletctl.CodeNotFound, "no notification %q", id), "list them: walletctl notify list")
	}
	return n, nil
}

// ResendNotification starts a notification's schedule again, due now, and delivers it.
func (e *Engine) ResendNotification(ctx context.Context, id string) (*walletctl.Notification, error) {
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		n, err := getNotification(tx, id)
		if err != nil {
			return err
		}
		now := e.now()
		n.Status, n.NextAt, n.Tries, n.Held, n.DelayedTry = walletctl.NotifyPending, &now, 0, false, 0
		n.Resends++
		return tx.SaveNotification(n)
	})
	if err != nil {
		return nil, err
	}
	if _, err := e.DeliverNotifications(ctx); err != nil {
		return nil, err
	}
	return e.Notification(ctx, id)
}

// ForwardNotifications sends deliveries to url for ttl of real time (url "": no longer).
func (e *Engine) ForwardNotifications(ctx context.Context, url string, ttl time.Duration) error {
	value := ""
	if url != "" {
		if err := walletctl.CheckNotifyURL("url", url); err != nil {
			return err
		}
		if ttl <= 0 {
			return errf(walletctl.CodeInvalidArgument, "a forward needs a positive time to live")
		}
		b, _ := json.Marshal(forward{URL: url, Until: e.realNow().Add(ttl).Unix()})
		value = string(b)
	}
	return e.update(ctx, func(tx walletctl.StoreTx) error { return tx.PutSetting(settingForward, value) })
}

func (e *Engine) realNow() time.Time {
	if e.realClock != nil {
		return e.realClock()
	}
	return time.Now()
}

// AddNotifyFault adds a rule to the notification path.
func (e *Engine) AddNotifyFault(ctx context.Context, f walletctl.NotifyFault) (*walletctl.NotifyFault, error) {
	if _, err := walletctl.ParseNotifyFault(f.String()); err != nil {
		return nil, err
	}
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		id, err := seqID(tx, "notify_fault", "nf")
		if err != nil {
			return err
		}
		f.ID, f.Fired = id, 0
		return tx.CreateNotifyFault(&f)
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// NotifyFaults lists the notification fault rules.
func (e *Engine) NotifyFaults(ctx context.Context) ([]walletctl.NotifyFault, error) {
	out := []walletctl.NotifyFault{}
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		fs, err := tx.ListNotifyFaults()
		out = append(out, fs...)
		return err
	})
	return out, err
}

// ClearNotifyFaults deletes every notification fault rule.
func (e *Engine) ClearNotifyFaults(ctx context.Context) error {
	return e.update(ctx, func(tx walletctl.StoreTx) error { return tx.ClearNotifyFaults() })
}

// DeliverNotifications sends every attempt that is due, in order of when it was due.
func (e *Engine) DeliverNotifications(ctx context.Context) ([]walletctl.Notification, error) {
	out := []walletctl.Notification{}
	if e.deliverer == nil {
		return out, nil
	}
	seen := map[string]int{}
	for range maxDeliveries {
		n, fault, url, err := e.nextDelivery(ctx)
		if err != nil {
			return out, err
		}
		if n == nil {
			break
		}
		release, got, err := e.claimDelivery(ctx, n)
		switch {
		case err != nil:
			return out, err
		case got == claimBusy:
			return out, nil // another process is sending it and records the attempt
		case got == claimStale:
			continue // sent meanwhile: look for the next
		}
		at := *n.NextAt
		atts, err := e.attempt(ctx, n, fault, url)
		if err != nil {
			release()
			return out, err
		}
		var saved *walletctl.Notification
		if err := e.update(context.WithoutCancel(ctx), func(tx walletctl.StoreTx) error {
			cur, err := tx.GetNotification(n.ID)
			if err != nil || cur == nil {
				return err
			}
			ok := false
			for _, a := range atts {
				a.N, a.At = len(cur.Attempts)+1, at
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
				next := at.Add(walletctl.NotifySchedule[cur.Tries-1])
				cur.NextAt = &next
			}
			saved = cur
			if err := tx.SaveNotification(cur); err != nil {
				return err
			}
			// What an out-of-order fault held back goes right after this one.
			held, err := tx.HeldNotifications(cur.MchID)
			if err != nil {
				return err
			}
			for i := range held {
				h := &held[i]
				if h.ID == cur.ID {
					continue
				}
				h.Held, h.NextAt = false, &at
				if err := tx.SaveNotification(h); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			release()
			return out, err
		}
		release()
		if i, ok := seen[saved.ID]; ok {
			out[i] = *saved
		} else {
			seen[saved.ID] = len(out)
			out = append(out, *saved)
		}
	}
	return out, nil
}

// claimDelivery makes this process the one that sends n's try: several processes may deliver
// for one store (servers sharing a PostgreSQL tenant), and each would otherwise send the same try
// and count it. It is claimBusy while another holds it, claimStale when this try was sent since
// n was read.
func (e *Engine) claimDelivery(ctx context.Context, n *walletctl.Notification) (release func(), c claim, err error) {
	name := "notify:" + n.ID
	unlockLocal, free := e.calls.tryLock(name)
	if !free {
		return nil, claimBusy, nil
	}
	release = unlockLocal
	if g, shared := e.store.(walletctl.CallGuard); shared {
		unlock, free, err := g.TryLockCall(ctx, name)
		if err != nil || !free {
			unlockLocal()
			return nil, claimBusy, err
		}
		release = func() { unlock(); unlockLocal() }
	}
	var cur *walletctl.Notification
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		cur, err = tx.GetNotification(n.ID)
		return err
	}); err != nil {
		release()
		return nil, claimBusy, err
	}
	if cur == nil || cur.Status != walletctl.NotifyPending || cur.Tries != n.Tries || len(cur.Attempts) != len(n.Attempts) {
		release()
		return nil, claimStale, nil
	}
	return release, claimed, nil
}

// claim is what claimDelivery got.
type claim int

const (
	claimed claim = iota
	claimBusy
	claimStale
)

// nextDelivery picks the notification due first and the fault that applies to this try, and
// the address it goes to. A delay or out-of-order fault reschedules it instead (and the next one
// is looked for).
func (e *Engine) nextDelivery(ctx context.Context) (*walletctl.Notification, *walletctl.NotifyFault, string, error) {
	for range maxDeliveries {
		var n *walletctl.Notification
		var fault *walletctl.NotifyFault
		url := ""
		again := false
		err := e.update(ctx, func(tx walletctl.StoreTx) error {
			var err error
			if n, err = tx.NextNotification(e.now()); err != nil || n == nil {
				return err
			}
			url = n.URL
			if v, err := tx.GetSetting(settingForward); err != nil {
				return err
			} else if v != "" {
				var f forward
				if json.Unmarshal([]byte(v), &f) == nil && e.realNow().Unix() < f.Until {
					url = f.URL
				}
			}
			faults, err := tx.ListNotifyFaults()
			if err != nil {
				return err
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
				if err := tx.SaveNotifyFault(f); err != nil {
					return err
				}
				fault = f
				break
			}
			if fault == nil {
				return nil
			}
			if k, _ := walletctl.NotifyFaultKindOf(fault.Kind); k.Hold(fault, n) {
				again = true // rescheduled: look for the next one due
				return tx.SaveNotification(n)
			}
			return nil
		})
		if err != nil || !again {
			return n, fault, url, err
		}
	}
	return nil, nil, "", nil
}

// attempt sends one try of n (with what its fault adds) and returns the attempts made.
func (e *Engine) attempt(ctx context.Context, n *walletctl.Notification, fault *walletctl.NotifyFault, url string) ([]walletctl.NotifyAttempt, error) {
	pf, err := e.Platform(ctx)
	if err != nil {
		return nil, err
	}
	var pubKeyMode bool
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		m, err := tx.GetMerchant(n.MchID)
		if m != nil {
			pubKeyMode = m.PublicKeyMode
		}
		return err
	}); err != nil {
		return nil, err
	}
	d := walletctl.Delivery{Notification: n, URL: url, APIv3Key: e.apiV3Key(n.MchID), Platform: pf, PublicKeyID: pubKeyMode}
	if fault != nil {
		if k, ok := walletctl.NotifyFaultKindOf(fault.Kind); ok {
			return k.Send(ctx, d, e.deliverer), nil
		}
	}
	return []walletctl.NotifyAttempt{e.deliverer.Deliver(ctx, d)}, nil
}

// flush delivers what fell due, after an operation that may have made events. Its failures are
// the notifications' own (recorded in their attempts) or the store's; neither changes the
// operation's answer, and what was not delivered stays due.
func (e *Engine) flush(ctx context.Context) {
	if e.deliverer != nil {
		e.DeliverNotifications(context.WithoutCancel(ctx))
	}
}

// timedDeliverer gives every delivery the wallet's notify_timeout, whatever sends it.
type timedDeliverer struct {
	walletctl.Deliverer
	timeout time.Duration
}

func (t timedDeliverer) Deliver(ctx context.Context, d walletctl.Delivery) walletctl.NotifyAttempt {
	if d.Timeout <= 0 {
		d.Timeout = t.timeout
	}
	return t.Deliverer.Deliver(ctx, d)
}

// withNotifyTimeout wraps d (nil stays nil: no delivery at all); a zero timeout (settings made
// in code without it) is v3's.
func withNotifyTimeout(d walletctl.Deliverer, timeout time.Duration) walletctl.Deliverer {
	if d == nil {
		return nil
	}
	if timeout <= 0 {
		timeout = walletctl.NotifyTimeout
	}
	return timedDeliverer{d, timeout}
}
