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
// delivered afterwards, off the operation's path, by whoever drives the wallet's due work
// (duework.go): the CLI after a command has released the home, a server's worker. Each attempt
// is recorded at the time it was due, so advancing a day runs a day of retries in order.

const (
	// settingForward keeps `walletctl listen`'s forward address and its real-time expiry.
	settingForward = "notify_forward"
	// maxDeliveries bounds one DeliverNotifications call's work (a day of retries of many
	// notifications still fits).
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
func (e *Engine) Notifications(ctx context.Context, f walletctl.NotificationFilter, p walletctl.Page) (*walletctl.List[walletctl.Notification], error) {
	out := &walletctl.List[walletctl.Notification]{}
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		ns, more, err := tx.PageNotifications(f, p)
		out.Data, out.HasMore = append([]walletctl.Notification{}, ns...), more
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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

// ResendNotification starts a notification's schedule again, due now; whoever drives the due
// work (DueWork) sends it.
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
