package walletctl

import "context"

// NotifyFaultDuplicate: the notification is delivered twice in a row; a receiver must act once.
const NotifyFaultDuplicate = "duplicate"

func init() { RegisterNotifyFault(notifyDuplicate{}) }

type notifyDuplicate struct{}

func (notifyDuplicate) Info() NotifyFaultInfo {
	return NotifyFaultInfo{Kind: NotifyFaultDuplicate, Rank: 10, Help: "delivered twice in a row"}
}

func (notifyDuplicate) Fires(*Notification) bool              { return true }
func (notifyDuplicate) Hold(*NotifyFault, *Notification) bool { return false }

func (notifyDuplicate) Send(ctx context.Context, d Delivery, to Deliverer) []NotifyAttempt {
	a := to.Deliver(ctx, d)
	a.Fault = NotifyFaultDuplicate
	dup := to.Deliver(ctx, d)
	dup.Fault = NotifyFaultDuplicate
	return []NotifyAttempt{a, dup}
}
