package walletctl

import "context"

// NotifyFaultOutOfOrder: the notification is held back until the merchant's next notification
// has been sent, so that a refund's event can arrive before its payment's.
const NotifyFaultOutOfOrder = "out_of_order"

func init() { RegisterNotifyFault(notifyOutOfOrder{}) }

type notifyOutOfOrder struct{}

func (notifyOutOfOrder) Info() NotifyFaultInfo {
	return NotifyFaultInfo{Kind: NotifyFaultOutOfOrder, Rank: 20, Help: "held back until the merchant's next notification has been sent"}
}

// Fires only on a first delivery: a retry has nothing left to overtake.
func (notifyOutOfOrder) Fires(n *Notification) bool { return n.Tries == 0 }

func (notifyOutOfOrder) Hold(_ *NotifyFault, n *Notification) bool {
	n.Held = true
	return true
}

// Send is a plain try: a held notification is sent without its fault once released.
func (notifyOutOfOrder) Send(ctx context.Context, d Delivery, to Deliverer) []NotifyAttempt {
	a := to.Deliver(ctx, d)
	a.Fault = NotifyFaultOutOfOrder
	return []NotifyAttempt{a}
}
