package walletctl

import "context"

// NotifyFaultSignProbe: a WECHATPAY/SIGNTEST/ signature probe is sent first; a receiver must
// refuse it (a bad signature), then gets the real notification.
const NotifyFaultSignProbe = "sign_probe"

func init() { RegisterNotifyFault(notifySignProbe{}) }

type notifySignProbe struct{}

func (notifySignProbe) Info() NotifyFaultInfo {
	return NotifyFaultInfo{Kind: NotifyFaultSignProbe, Rank: 50, Help: "a WECHATPAY/SIGNTEST/ signature probe is sent first"}
}

func (notifySignProbe) Fires(*Notification) bool              { return true }
func (notifySignProbe) Hold(*NotifyFault, *Notification) bool { return false }

// Send marks the probe, never the notification after it: the fault touched only the probe.
func (notifySignProbe) Send(ctx context.Context, d Delivery, to Deliverer) []NotifyAttempt {
	probe := d
	probe.Probe = true
	a := to.Deliver(ctx, probe)
	a.Probe, a.Fault = true, NotifyFaultSignProbe
	if a.OK {
		a.Error = "the receiver accepted a signature probe (it must refuse a bad signature)"
	}
	a.OK = false // a probe never counts as the delivery
	return []NotifyAttempt{a, to.Deliver(ctx, d)}
}
