package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/engine"
)

func TestPasswordRules(t *testing.T) {
	id := card("ok").IDNo // born 1985-03-07
	cases := []struct{ pw, code string }{
		{"12345", walletctl.CodePasswordFormat},
		{"1234567", walletctl.CodePasswordFormat},
		{"12a456", walletctl.CodePasswordFormat},
		{"１２３４５６", walletctl.CodePasswordFormat},
		{"111111", walletctl.CodePasswordWeak},
		{"123456", walletctl.CodePasswordWeak},
		{"345678", walletctl.CodePasswordWeak},
		{"654321", walletctl.CodePasswordWeak},
		{"121212", walletctl.CodePasswordWeak},
		{"520520", walletctl.CodePasswordWeak},
		{"850307", walletctl.CodePasswordWeak}, // YYMMDD, the last 6 of YYYYMMDD
		{"030785", walletctl.CodePasswordWeak}, // MMDDYY
		{"070385", walletctl.CodePasswordWeak}, // DDMMYY
		{"030741", walletctl.CodePasswordWeak}, // contains MMDD
		{"385926", ""},
		{"902741", ""},
	}
	for _, tc := range cases {
		err := engine.CheckPasswordRules(tc.pw, id)
		if got := walletctl.ErrorCode(err); got != tc.code {
			t.Errorf("%q: %q, want %q", tc.pw, got, tc.code)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	w := newWorld(t)
	h := must[string](t)(w.Engine.HashPassword("385926"))
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h, "385926") {
		t.Fatalf("hash %s", h)
	}
	h2 := must[string](t)(w.Engine.HashPassword("385926"))
	if h == h2 {
		t.Fatal("two hashes of one password share a salt")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"385926", true}, {"385927", false}, {"", false}} {
		if ok := must[bool](t)(engine.VerifyPassword(tc.pw, h)); ok != tc.want {
			t.Errorf("verify %q = %v", tc.pw, ok)
		}
	}
	if _, err := engine.VerifyPassword("385926", "$md5$x"); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestSetPassword(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	u := must[*walletctl.User](t)(w.Engine.Register(w.Ctx, c.Phone))
	code(t, w.Engine.SetPassword(w.Ctx, u.ID, pw), walletctl.CodeKYCRequired)
	must[*walletctl.KYC](t)(w.Engine.SubmitKYC(w.Ctx, u.ID, c.Name, c.IDNo))
	code(t, w.Engine.SetPassword(w.Ctx, u.ID, "850307"), walletctl.CodePasswordWeak)
	if err := w.Engine.SetPassword(w.Ctx, u.ID, pw); err != nil {
		t.Fatal(err)
	}
	code(t, w.Engine.SetPassword(w.Ctx, u.ID, "902741"), walletctl.CodeAlreadyExists)
	if got := must[*walletctl.User](t)(w.Engine.User(w.Ctx, u.ID)); !got.PasswordSet {
		t.Fatal("password_set false")
	}
}

func TestPasswordNeededForEveryMovement(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	u := w.Verified(c).ID
	cid := w.Bind(u, c).ID
	_, err := w.Engine.TopUp(w.Ctx, u, cid, 100, pw)
	code(t, err, walletctl.CodePasswordNotSet)
	if err := w.Engine.SetPassword(w.Ctx, u, pw); err != nil {
		t.Fatal(err)
	}
	u2 := w.Verified(card("no_funds")).ID
	moves := []struct {
		name string
		f    func(p string) error
	}{
		{"topup", func(p string) error { _, err := w.Engine.TopUp(w.Ctx, u, cid, 1000, p); return err }},
		{"withdraw", func(p string) error { _, err := w.Engine.Withdraw(w.Ctx, u, cid, 100, p); return err }},
		{"pay", func(p string) error {
			_, err := w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-cafe", Amount: 100, Password: p})
			return err
		}},
		{"transfer", func(p string) error {
			_, err := w.Engine.Transfer(w.Ctx, walletctl.TransferRequest{UserID: u, To: u2, Amount: 100, Password: p})
			return err
		}},
	}
	for _, m := range moves {
		name, f := m.name, m.f
		code(t, f(""), walletctl.CodePasswordMissing)
		e := code(t, f("902741"), walletctl.CodePasswordWrong)
		if e.Details["attempts_remaining"] == nil {
			t.Errorf("%s: no attempts_remaining", name)
		}
		// A right password clears the counter, so the three wrong ones never add up to a lock.
		if err := f(pw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestPasswordLockAndExpiry(t *testing.T) {
	w := newWorld(t)
	u, cid := w.OpenWallet(card("ok")).IDs()
	for i := 1; i <= 4; i++ {
		_, err := w.Engine.TopUp(w.Ctx, u, cid, 100, "902741")
		e := code(t, err, walletctl.CodePasswordWrong)
		if e.Details["attempts_remaining"] != 5-i {
			t.Fatalf("attempt %d: remaining %v", i, e.Details["attempts_remaining"])
		}
	}
	_, err := w.Engine.TopUp(w.Ctx, u, cid, 100, "902741")
	e := code(t, err, walletctl.CodePasswordLocked)
	until := w.Clock.Now().Add(3 * time.Hour).In(vclock.Shanghai).Format(time.RFC3339) // +08:00, never Z
	if e.Details["locked_until"] != until {
		t.Fatalf("locked_until %v, want %s", e.Details["locked_until"], until)
	}
	// Locked: even the right password is refused until the lock expires on the virtual clock.
	_, err = w.Engine.TopUp(w.Ctx, u, cid, 100, pw)
	code(t, err, walletctl.CodePasswordLocked)
	must[time.Time](t)(w.Engine.Advance(w.Ctx, 3*time.Hour-time.Second))
	_, err = w.Engine.TopUp(w.Ctx, u, cid, 100, pw)
	code(t, err, walletctl.CodePasswordLocked)
	must[time.Time](t)(w.Engine.Advance(w.Ctx, time.Second))
	if _, err := w.Engine.TopUp(w.Ctx, u, cid, 100, pw); err != nil {
		t.Fatal(err)
	}
	want := []string{"kyc_verified", "card_bound", "class_changed", "password_set",
		"password_wrong", "password_wrong", "password_wrong", "password_wrong", "password_wrong", "password_locked", "password_unlocked"}
	if ev := w.events(u); !slices.Equal(ev, want) {
		t.Fatalf("security log:\n got %v\nwant %v", ev, want)
	}
}

func TestPasswordReset(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	u, cid := w.OpenWallet(c).IDs()
	for i := 0; i < 5; i++ {
		w.Engine.TopUp(w.Ctx, u, cid, 100, "902741")
	}
	other := card("no_funds")
	for _, tc := range []struct{ name, id, card string }{
		{c.Name + "x", c.IDNo, c.CardNo},
		{c.Name, other.IDNo, c.CardNo},
		{c.Name, c.IDNo, other.CardNo},
	} {
		_, err := w.Engine.StartPasswordReset(w.Ctx, u, tc.name, tc.id, tc.card)
		code(t, err, walletctl.CodeIdentityFailed)
	}
	r := must[*walletctl.PasswordReset](t)(w.Engine.StartPasswordReset(w.Ctx, u, c.Name, strings.ToLower(c.IDNo), c.CardNo))
	if r.ResetID != "r1" || r.PhoneMasked != "138****8000" {
		t.Fatalf("reset: %+v", r)
	}
	otp := must[string](t)(w.Admin.LastOTP(w.Ctx, c.Phone))
	code(t, w.Engine.CompletePasswordReset(w.Ctx, u, r.ResetID, otp, "123456"), walletctl.CodePasswordWeak)
	wrong := "000000"
	if otp == wrong {
		wrong = "111111"
	}
	code(t, w.Engine.CompletePasswordReset(w.Ctx, u, r.ResetID, wrong, "902741"), walletctl.CodeOTPInvalid)
	if err := w.Engine.CompletePasswordReset(w.Ctx, u, r.ResetID, otp, "902741"); err != nil {
		t.Fatal(err)
	}
	// Lock cleared, new password works, the old one does not; the card still pays (new agreement).
	_, err := w.Engine.TopUp(w.Ctx, u, cid, 100, pw)
	code(t, err, walletctl.CodePasswordWrong)
	if _, err := w.Engine.TopUp(w.Ctx, u, cid, 100, "902741"); err != nil {
		t.Fatal(err)
	}
	ev := w.events(u)
	if !slices.Contains(ev, "password_reset") || !slices.Contains(ev, "password_reset_failed") || !slices.Contains(ev, "password_reset_started") {
		t.Fatalf("security log: %v", ev)
	}
	code(t, w.Engine.CompletePasswordReset(w.Ctx, u, r.ResetID, otp, "902741"), walletctl.CodeNotFound)
}
