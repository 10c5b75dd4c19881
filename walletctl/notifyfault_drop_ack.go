package walletctl

import "context"

// NotifyFaultDropAck: the merchant's answer is lost: the try counts as failed and is retried.
const NotifyFaultDropAck = "drop_ack"

func init() { RegisterNotifyFault(notifyDropAck{}) }

type notifyDropAck struct{}

func (notifyDropAck) Info() NotifyFaultInfo {
	return NotifyFaultInfo{Kind: NotifyFaultDropAck, Rank: 40, Help: "the merchant's answer is lost: counted as failed, retried"}
}

func (notifyDropAck) Fires(*Notification) bool              { return true }
func (notifyDropAck) Hold(*NotifyFault, *Notification) bool { return false }

func (notifyDropAck) Send(ctx context.Context, d Delivery, to Deliverer) []NotifyAttempt {
	a := to.Deliver(ctx, d)
	a.Fault = NotifyFaultDropAck
	if a.OK {
		a.OK, a.Error = false, "the receiver's answer was dropped (fault drop_ack): counted as failed"
	}
	return []NotifyAttempt{a}
}
