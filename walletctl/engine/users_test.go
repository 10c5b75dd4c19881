package engine_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/walletctl"
)

func TestRegister(t *testing.T) {
	w := newWorld(t)
	u1 := must[*walletctl.User](t)(w.Engine.Register(w.Ctx, "13900000001"))
	u2 := must[*walletctl.User](t)(w.Engine.Register(w.Ctx, "13900000002"))
	if u1.ID != "u1" || u2.ID != "u2" || u1.Status != walletctl.StatusNormal || u1.Verified || u1.Class != 0 {
		t.Fatalf("users: %+v %+v", u1, u2)
	}
	for _, tc := range []struct{ phone, code string }{
		{"1390000000", walletctl.CodeInvalidPhone},
		{"12900000001", walletctl.CodeInvalidPhone},
		{"1390000000a", walletctl.CodeInvalidPhone},
		{"１3900000001", walletctl.CodeInvalidPhone},
		{"13900000001", walletctl.CodeAlreadyExists},
	} {
		_, err := w.Engine.Register(w.Ctx, tc.phone)
		code(t, err, tc.code)
	}
	byPhone := must[*walletctl.User](t)(w.Engine.User(w.Ctx, "13900000002"))
	if byPhone.ID != "u2" {
		t.Fatalf("by phone: %+v", byPhone)
	}
	_, err := w.Engine.User(w.Ctx, "u9")
	code(t, err, walletctl.CodeNotFound)
	if us := must[[]walletctl.User](t)(walletctl.Items(w.Engine.Users(w.Ctx, walletctl.MaxPage))); len(us) != 2 || us[0].ID != "u2" { // newest first
		t.Fatalf("users: %+v", us)
	}
}

func TestKYC(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	badCheck := c.IDNo[:17] + string("0123456789"[(int(c.IDNo[17]-'0')+1)%10])
	cases := []struct {
		name, id, code, msg string
	}{
		{"", c.IDNo, walletctl.CodeInvalidArgument, "name"},
		{c.Name, c.IDNo[:17], walletctl.CodeInvalidIDNumber, "18 characters"},
		{c.Name, "99" + c.IDNo[2:], walletctl.CodeInvalidIDNumber, "province"},
		{c.Name, c.IDNo[:10] + "13" + c.IDNo[12:], walletctl.CodeInvalidIDNumber, "birth date"},
		{c.Name, badCheck, walletctl.CodeInvalidIDNumber, "check digit"},
		{"张三", c.IDNo, walletctl.CodeKYCFailed, ""},
	}
	u := must[*walletctl.User](t)(w.Engine.Register(w.Ctx, "13900000001"))
	for _, tc := range cases {
		_, err := w.Engine.SubmitKYC(w.Ctx, u.ID, tc.name, tc.id)
		e := code(t, err, tc.code)
		if !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: message %q does not say %q", tc.code, e.Message, tc.msg)
		}
	}
	k := must[*walletctl.KYC](t)(w.Engine.SubmitKYC(w.Ctx, u.ID, c.Name, c.IDNo))
	if !k.Verified || k.Class != 1 || k.LimitFen != 100_000 || k.LimitPeriod != "lifetime" || !slices.Equal(k.Checks, []string{"id"}) {
		t.Fatalf("kyc: %+v", k)
	}
	if k.IDMasked != cnid.MaskID(c.IDNo) || k.NameMasked != cnid.MaskName(c.Name) || strings.Contains(k.IDMasked, c.IDNo[4:14]) {
		t.Fatalf("masks: %+v", k)
	}
	_, err := w.Engine.SubmitKYC(w.Ctx, u.ID, c.Name, c.IDNo)
	code(t, err, walletctl.CodeKYCDone)
	// One identity, one wallet.
	u2 := must[*walletctl.User](t)(w.Engine.Register(w.Ctx, "13900000002"))
	_, err = w.Engine.SubmitKYC(w.Ctx, u2.ID, c.Name, c.IDNo)
	code(t, err, walletctl.CodeAlreadyExists)
	if ev := w.events(u.ID); !slices.Equal(ev, []string{"kyc_verified"}) {
		t.Fatalf("security log: %v", ev)
	}
}

func TestUserStatus(t *testing.T) {
	w := newWorld(t)
	u := must[*walletctl.User](t)(w.Engine.Register(w.Ctx, "13900000001"))
	_, err := w.Engine.SetUserStatus(w.Ctx, u.ID, "banned")
	code(t, err, walletctl.CodeInvalidArgument)
	got := must[*walletctl.User](t)(w.Engine.SetUserStatus(w.Ctx, u.ID, walletctl.StatusRestricted))
	if got.Status != walletctl.StatusRestricted {
		t.Fatalf("status %s", got.Status)
	}
	if ev := w.events(u.ID); !slices.Equal(ev, []string{"status_changed"}) {
		t.Fatalf("security log: %v", ev)
	}
}

func TestOpenWalletFlow(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	before := w.CardBalance(c.CardNo)
	opened := w.OpenWallet(c, 10000)
	u, tx := opened.User.ID, opened.TopUps[0]
	if tx.Status != walletctl.TxnSucceeded || w.Balance(u) != 10000 || w.CardBalance(c.CardNo) != before-10000 {
		t.Fatalf("top-up: %+v, balance %d", tx, w.Balance(u))
	}
	pay := must[*walletctl.Txn](t)(w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u, Merchant: "m-cinema", Amount: 4500, Password: pw}))
	if pay.Status != walletctl.TxnSucceeded || w.Balance(u) != 5500 {
		t.Fatalf("pay: %+v balance %d", pay, w.Balance(u))
	}
	k := must[*walletctl.KYC](t)(w.Engine.KYCStatus(w.Ctx, u))
	if k.Class != 2 || k.UsedFen != 4500 || k.LimitPeriod != "year" {
		t.Fatalf("kyc: %+v", k)
	}
	show := must[*walletctl.Txn](t)(w.Engine.Transaction(w.Ctx, u, pay.ID))
	if len(show.Postings) != 2 {
		t.Fatalf("postings: %+v", show.Postings)
	}
}
