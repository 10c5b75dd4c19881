package testworld_test

import (
	"testing"

	"github.com/walletctl/walletctl/internal/testworld"
)

// The open-wallet sequence opens a wallet with money, or stops at a binding waiting for its OTP,
// with the bank in process and on loopback (reached through the client with the admin token).
func TestOpenWallet(t *testing.T) {
	for name, opts := range map[string][]testworld.Option{"in-process": nil, "loopback": {testworld.Loopback("")}} {
		t.Run(name, func(t *testing.T) {
			w := testworld.New(t, opts...)
			c := testworld.Card("ok")
			before := w.CardBalance(c.CardNo)
			o := w.OpenWallet(c, 12_34)
			if o.Card == nil || len(o.TopUps) != 1 || w.Balance(o.User.ID) != 12_34 || w.CardBalance(c.CardNo) != before-12_34 {
				t.Fatalf("opened %+v: balance %d, card %d (was %d)", o, w.Balance(o.User.ID), w.CardBalance(c.CardNo), before)
			}
			p := w.PendingBinding(testworld.Card("no_funds"))
			if p.Card != nil || p.Binding == nil || len(p.OTP) != 6 || p.User.ID == o.User.ID {
				t.Fatalf("pending %+v", p)
			}
		})
	}
}
