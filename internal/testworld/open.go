package testworld

import (
	"context"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
)

// Password is the payment password of every wallet a test opens.
const Password = "385926"

// Wallet is what the open-wallet sequence calls: *engine.Engine, a sandbox's walletctl.Service
// and httpapi's Client all have it.
type Wallet interface {
	Register(ctx context.Context, phone string) (*walletctl.User, error)
	SubmitKYC(ctx context.Context, userID, name, idNo string) (*walletctl.KYC, error)
	BindCard(ctx context.Context, userID, cardNo, phone string) (*walletctl.CardBinding, error)
	ConfirmCard(ctx context.Context, userID, bindingID, otp string) (*walletctl.Card, error)
	SetPassword(ctx context.Context, userID, password string) error
	TopUp(ctx context.Context, userID, cardID string, amount int64, password string) (*walletctl.Txn, error)
}

// OTPs is where the bank's SMS codes are read: its admin side (bankapi.Admin), or a tenant's own
// bank through httpapi's Client.Bank.
type OTPs interface {
	LastOTP(ctx context.Context, phone string) (string, error)
}

// Opener opens wallets through Wallet for the bank's customers, reading the OTPs from OTPs.
type Opener struct {
	T      testing.TB
	Ctx    context.Context // nil: context.Background()
	Wallet Wallet
	OTPs   OTPs
}

// Through is the opener with another wallet: another process of the same wallet, a client of it.
func (o Opener) Through(w Wallet) Opener { o.Wallet = w; return o }

// Opened is what each step of the open-wallet sequence returned.
type Opened struct {
	User    *walletctl.User
	Binding *walletctl.CardBinding
	OTP     string
	Card    *walletctl.Card // nil when the sequence stopped at the pending binding
	TopUps  []*walletctl.Txn
}

// IDs returns the user's ID and the bound card's.
func (o *Opened) IDs() (userID, cardID string) { return o.User.ID, o.Card.ID }

func (o Opener) ctx() context.Context {
	if o.Ctx == nil {
		return context.Background()
	}
	return o.Ctx
}

// Verified registers c's phone and passes real-name verification with c's name and ID number.
func (o Opener) Verified(c bankapi.Customer) *walletctl.User {
	o.T.Helper()
	u := Must[*walletctl.User](o.T)(o.Wallet.Register(o.ctx(), c.Phone))
	Must[*walletctl.KYC](o.T)(o.Wallet.SubmitKYC(o.ctx(), u.ID, c.Name, c.IDNo))
	return u
}

// StartBinding starts binding c's card to the user and reads the OTP the bank sent for it.
func (o Opener) StartBinding(userID string, c bankapi.Customer) (*walletctl.CardBinding, string) {
	o.T.Helper()
	b := Must[*walletctl.CardBinding](o.T)(o.Wallet.BindCard(o.ctx(), userID, c.CardNo, c.Phone))
	return b, Must[string](o.T)(o.OTPs.LastOTP(o.ctx(), c.Phone))
}

// Bind binds c's card to the user: StartBinding, confirmed with the OTP.
func (o Opener) Bind(userID string, c bankapi.Customer) *walletctl.Card {
	o.T.Helper()
	b, otp := o.StartBinding(userID, c)
	return Must[*walletctl.Card](o.T)(o.Wallet.ConfirmCard(o.ctx(), userID, b.BindingID, otp))
}

// PendingBinding is the open-wallet sequence up to a card binding waiting for its OTP:
// Verified, StartBinding.
func (o Opener) PendingBinding(c bankapi.Customer) *Opened {
	o.T.Helper()
	u := o.Verified(c)
	b, otp := o.StartBinding(u.ID, c)
	return &Opened{User: u, Binding: b, OTP: otp}
}

// OpenWallet is the open-wallet sequence for the bank's customer c: register c's phone, verify
// c's name and ID, bind c's card with the bank's OTP, set Password, then top up each amount from
// the card, each of which must succeed.
func (o Opener) OpenWallet(c bankapi.Customer, topUps ...int64) *Opened {
	o.T.Helper()
	w := o.PendingBinding(c)
	w.Card = Must[*walletctl.Card](o.T)(o.Wallet.ConfirmCard(o.ctx(), w.User.ID, w.Binding.BindingID, w.OTP))
	if err := o.Wallet.SetPassword(o.ctx(), w.User.ID, Password); err != nil {
		o.T.Fatal(err)
	}
	for _, a := range topUps {
		txn, err := o.Wallet.TopUp(o.ctx(), w.User.ID, w.Card.ID, a, Password)
		if err != nil || txn.Status != walletctl.TxnSucceeded {
			o.T.Fatalf("top-up %d: %+v %v", a, txn, err)
		}
		w.TopUps = append(w.TopUps, txn)
	}
	return w
}
