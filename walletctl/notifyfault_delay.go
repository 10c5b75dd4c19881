package walletctl

import (
	"context"
	"fmt"
	"time"

	"github.com/walletctl/walletctl/bankapi"
)

// NotifyFaultDelay: the try is sent d later (virtual time).
const NotifyFaultDelay = "delay"

func init() { RegisterNotifyFault(notifyDelay{}) }

type notifyDelay struct{}

func (notifyDelay) Info() NotifyFaultInfo {
	return NotifyFaultInfo{Kind: NotifyFaultDelay, Rank: 30, Help: "sent d later on the virtual clock",
		Params: []bankapi.SpecParam[NotifyFault]{{
			Key: "d", Example: "10s", Help: "for delay: how long on the virtual clock",
			Set: func(f *NotifyFault, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return fmt.Errorf("d must be a positive duration like 30s")
				}
				f.Delay = d
				return nil
			},
			Get: func(f *NotifyFault) string {
				if f.Delay <= 0 {
					return ""
				}
				return f.Delay.String()
			},
		}},
		Check: func(f *NotifyFault) error {
			if f.Delay == 0 {
				return fmt.Errorf("delay needs d=DURATION")
			}
			return nil
		},
	}
}

// Fires once per try: the try it postponed comes back due and is sent.
func (notifyDelay) Fires(n *Notification) bool { return n.DelayedTry != n.Tries+1 }

func (notifyDelay) Hold(f *NotifyFault, n *Notification) bool {
	next := n.NextAt.Add(f.Delay)
	n.NextAt, n.DelayedTry = &next, n.Tries+1
	return true
}

// Send is a plain try (a delayed try is sent when due again, without its fault).
func (notifyDelay) Send(ctx context.Context, d Delivery, to Deliverer) []NotifyAttempt {
	a := to.Deliver(ctx, d)
	a.Fault = NotifyFaultDelay
	return []NotifyAttempt{a}
}
