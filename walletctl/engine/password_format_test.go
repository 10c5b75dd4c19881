package engine_test

import (
	"slices"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
)

// malformed are strings that cannot be a payment password: PASSWORD_FORMAT, and no attempt used.
var malformed = []string{"12345", "abcdef", "１２３４５６", "12 456", " 385926", "1234567"}

// TestMalformedPasswordUsesNoAttempt: many more malformed passwords than the lock allows never
// lock the password nor log a wrong attempt, in every money movement that asks for it; the
// right one still works after them and one wrong one still counts.
func TestMalformedPasswordUsesNoAttempt(t *testing.T) {
	w := newWorld(t)
	u, cid := w.OpenWallet(card("ok")).IDs()
	if _, err := w.Engine.TopUp(w.Ctx, u, cid, 10000, pw); err != nil {
		t.Fatal(err)
	}
	moves := []func(p string) error{
		func(p string) error { _, err := w.Engine.TopUp(w.Ctx, u, cid, 100, p); return err },
		func(p string) error { _, err := w.Engine.Withdraw(w.Ctx, u, cid, 100, p); return err },
		func(p string) error {
			_, err := w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-cinema", Amount: 100, Password: p})
			return err
		},
	}
	for round := 0; round < 3; round++ {
		for _, move := range moves {
			for _, p := range malformed {
				code(t, move(p), walletctl.CodePasswordFormat)
			}
		}
	}
	for _, ev := range w.events(u) {
		if ev == "password_wrong" || ev == "password_locked" {
			t.Fatalf("a malformed password counted as an attempt: %v", w.events(u))
		}
	}
	e := code(t, moves[0]("902741"), walletctl.CodePasswordWrong)
	if e.Details["attempts_remaining"] != w.Engine.Settings().PasswordMaxAttempts-1 {
		t.Fatalf("attempts_remaining %v after malformed ones and one wrong", e.Details["attempts_remaining"])
	}
	if err := moves[0](pw); err != nil {
		t.Fatal(err)
	}
	if ev := w.events(u); !slices.Contains(ev, "password_wrong") {
		t.Fatalf("the wrong one was not logged: %v", ev)
	}
}

// TestMalformedOTPNeverReachesTheBank: a full-width or short SMS code is INVALID_ARGUMENT and
// leaves the binding open; the right code still confirms it.
func TestMalformedOTPNeverReachesTheBank(t *testing.T) {
	w := newWorld(t)
	p := w.PendingBinding(card("ok"))
	confirm := func(otp string) error {
		_, err := w.Engine.ConfirmCard(w.Ctx, p.User.ID, p.Binding.BindingID, otp)
		return err
	}
	otp, wide := p.OTP, ""
	for _, r := range otp {
		wide += string(r - '0' + '０')
	}
	for i := 0; i < 10; i++ {
		for _, bad := range []string{wide, otp[:5], "abcdef", otp[:3] + " " + otp[3:]} {
			code(t, confirm(bad), walletctl.CodeInvalidArgument)
		}
	}
	if err := confirm(otp); err != nil {
		t.Fatalf("the right code after malformed ones: %v", err)
	}
}

// The same at a password reset: a malformed SMS code is INVALID_ARGUMENT, the reset stays open
// and the right code completes it.
func TestMalformedOTPAtPasswordReset(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	u, _ := w.OpenWallet(c).IDs()
	r := must[*walletctl.PasswordReset](t)(w.Engine.StartPasswordReset(w.Ctx, u, c.Name, c.IDNo, c.CardNo))
	otp := must[string](t)(w.Admin.LastOTP(w.Ctx, c.Phone))
	wide := ""
	for _, d := range otp {
		wide += string(d - '0' + '０')
	}
	for i := 0; i < 10; i++ {
		for _, bad := range []string{wide, otp[:5], otp + "0", "abcdef"} {
			code(t, w.Engine.CompletePasswordReset(w.Ctx, u, r.ResetID, bad, "902741"), walletctl.CodeInvalidArgument)
		}
	}
	if err := w.Engine.CompletePasswordReset(w.Ctx, u, r.ResetID, " "+otp+"\n", "902741"); err != nil {
		t.Fatalf("the right code after malformed ones: %v", err)
	}
}
