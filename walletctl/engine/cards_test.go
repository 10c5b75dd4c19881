package engine_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
)

func TestBindCardFailures(t *testing.T) {
	w := newWorld(t)
	ok := card("ok")
	other := card("no_funds")
	// Same ID, different name; same name, different ID: each field mismatches on its own.
	sameID := w.AddCustomer(bankapi.Customer{Bank: "CCB", Name: ok.Name + "明", IDNo: ok.IDNo, Phone: ok.Phone, Balance: 1000})
	sameName := w.AddCustomer(bankapi.Customer{Bank: "CCB", Name: ok.Name, IDNo: other.IDNo, Phone: ok.Phone, Balance: 1000})

	cases := []struct {
		name     string
		holder   bankapi.Customer // whose identity the user verified
		cardNo   string
		phone    string
		code     string
		fields   []string
		respCode string
	}{
		{"wrong reserved phone", ok, ok.CardNo, "13912345678", walletctl.CodeCardInfoMismatch, []string{"phone"}, "66"},
		{"name differs at the bank", ok, sameID.CardNo, ok.Phone, walletctl.CodeCardInfoMismatch, []string{"name"}, "66"},
		{"ID differs at the bank", ok, sameName.CardNo, ok.Phone, walletctl.CodeCardInfoMismatch, []string{"id_no"}, "66"},
		{"someone else's card", ok, other.CardNo, other.Phone, walletctl.CodeCardInfoMismatch, []string{"name", "id_no"}, "66"},
		{"small bank refuses online binding", card("no_online_binding"), card("no_online_binding").CardNo, card("no_online_binding").Phone, walletctl.CodeBankBindingDenied, nil, "68"},
		{"frozen card", card("frozen"), card("frozen").CardNo, card("frozen").Phone, walletctl.CodeCardRestricted, nil, "77"},
		{"lost card", card("lost"), card("lost").CardNo, card("lost").Phone, walletctl.CodeCardRestricted, nil, "77"},
		{"expired card", card("expired"), card("expired").CardNo, card("expired").Phone, walletctl.CodeCardRestricted, nil, "78"},
		{"online payments not enabled", card("cnp_disabled"), card("cnp_disabled").CardNo, card("cnp_disabled").Phone, walletctl.CodeCardNotSupported, nil, "72"},
		{"Luhn digit wrong", ok, ok.CardNo[:18] + string('0'+(ok.CardNo[18]-'0'+1)%10), ok.Phone, walletctl.CodeInvalidCardNo, nil, ""},
		{"letters", ok, "6222abcd00000018", ok.Phone, walletctl.CodeInvalidCardNo, nil, ""},
		{"BIN no bank issues", ok, "1234567890123452", ok.Phone, walletctl.CodeInvalidCardNo, nil, "14"},
		{"bad phone", ok, ok.CardNo, "1234", walletctl.CodeInvalidPhone, nil, ""},
	}
	users := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, seen := users[tc.holder.IDNo]
			if !seen {
				u = w.Verified(tc.holder).ID
				users[tc.holder.IDNo] = u
			}
			_, err := w.Engine.BindCard(w.Ctx, u, tc.cardNo, tc.phone)
			e := code(t, err, tc.code)
			if tc.fields != nil && !slices.Equal(e.Details["fields"].([]string), tc.fields) {
				t.Errorf("fields %v, want %v", e.Details["fields"], tc.fields)
			}
			if tc.respCode != "" && e.Details["resp_code"] != tc.respCode {
				t.Errorf("resp_code %v, want %s", e.Details["resp_code"], tc.respCode)
			}
			if strings.Contains(e.Message, tc.cardNo) || strings.Contains(e.Message, tc.holder.IDNo) {
				t.Errorf("message leaks a number: %s", e.Message)
			}
		})
	}
	if hint := walletctl.Hint(walletctl.CodeBankBindingDenied); !strings.Contains(hint, "contact the bank") || !strings.Contains(hint, "another card") {
		t.Errorf("hint does not carry the seed's advice: %s", hint)
	}
}

func TestBindNeedsKYC(t *testing.T) {
	w := newWorld(t)
	u := must[*walletctl.User](t)(w.Engine.Register(w.Ctx, "13900000001"))
	_, err := w.Engine.BindCard(w.Ctx, u.ID, card("ok").CardNo, card("ok").Phone)
	e := code(t, err, walletctl.CodeKYCRequired)
	if !strings.Contains(e.Hint, "real-name") {
		t.Errorf("hint: %s", e.Hint)
	}
}

func TestBindNetworkDropThenRetry(t *testing.T) {
	for _, kind := range []bankapi.FaultKind{bankapi.FaultRefuse, bankapi.FaultDropAfter, bankapi.FaultHTTPError} {
		t.Run(string(kind), func(t *testing.T) {
			w := newWorld(t)
			c := card("ok")
			u := w.Verified(c).ID
			must[*bankapi.Fault](t)(w.Admin.AddFault(w.Ctx, bankapi.Fault{Kind: kind, Op: bankapi.OpBind, First: 1}))
			_, err := w.Engine.BindCard(w.Ctx, u, c.CardNo, c.Phone)
			want := walletctl.CodeNetwork
			if kind == bankapi.FaultHTTPError {
				want = walletctl.CodeBankUnavailable
			}
			e := code(t, err, want)
			if !strings.Contains(e.Hint, "retry") {
				t.Errorf("hint: %s", e.Hint)
			}
			// Only a refusal the bank answered names its fault; a lost answer cannot.
			if (e.Details["fault"] != nil) != (kind == bankapi.FaultHTTPError) {
				t.Errorf("fault detail: %v", e.Details)
			}
			// Retrying on a good network works.
			cid := w.Bind(u, c).ID
			if cards := must[[]walletctl.Card](t)(walletctl.Items(w.Engine.Cards(w.Ctx, u, walletctl.MaxPage))); len(cards) != 1 || cards[0].ID != cid {
				t.Fatalf("cards: %+v", cards)
			}
		})
	}
}

func TestConfirmCard(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	p := w.PendingBinding(c)
	u, b, otp := p.User.ID, p.Binding, p.OTP
	if b.BindingID != "b1" || b.Bank != "ICBC" || b.PhoneMasked != "138****8000" || strings.Contains(b.CardMasked, c.CardNo[6:14]) {
		t.Fatalf("binding: %+v", b)
	}
	wrong := "000000"
	if otp == wrong {
		wrong = "111111"
	}
	_, err := w.Engine.ConfirmCard(w.Ctx, u, b.BindingID, wrong)
	e := code(t, err, walletctl.CodeOTPInvalid)
	if e.Details["remaining"] != 2 {
		t.Errorf("remaining: %v", e.Details)
	}
	_, err = w.Engine.ConfirmCard(w.Ctx, "u9", b.BindingID, otp)
	code(t, err, walletctl.CodeNotFound)
	cd := must[*walletctl.Card](t)(w.Engine.ConfirmCard(w.Ctx, u, b.BindingID, otp))
	if cd.ID != "c1" || cd.Bank != "ICBC" || cd.BankName == "" || cd.CardType != "debit" || cd.Last4 != c.CardNo[len(c.CardNo)-4:] ||
		cd.CardMasked != c.CardNo[:4]+" **** **** "+cd.Last4 {
		t.Fatalf("card: %+v", cd)
	}
	// Class II: ID + phone + bank card; the phone registered is the reserved one (a 4th check).
	k := must[*walletctl.KYC](t)(w.Engine.KYCStatus(w.Ctx, u))
	if k.Class != 2 || len(k.Checks) != 4 || k.LimitFen != 10_000_000 {
		t.Fatalf("kyc: %+v", k)
	}
	// Binding the same card again is refused before the bank is asked.
	_, err = w.Engine.BindCard(w.Ctx, u, c.CardNo, c.Phone)
	code(t, err, walletctl.CodeAlreadyExists)

	// Too many wrong codes expire the binding.
	c2 := w.AddCustomer(bankapi.Customer{Bank: "CCB", Name: c.Name, IDNo: c.IDNo, Phone: c.Phone, Balance: 1000})
	b2 := must[*walletctl.CardBinding](t)(w.Engine.BindCard(w.Ctx, u, c2.CardNo, c2.Phone))
	for i, want := range []string{walletctl.CodeOTPInvalid, walletctl.CodeOTPInvalid, walletctl.CodeOTPInvalid, walletctl.CodeNotFound} {
		_, err := w.Engine.ConfirmCard(w.Ctx, u, b2.BindingID, wrong)
		if got := walletctl.ErrorCode(err); got != want && !(i == 2 && got == walletctl.CodeOTPExpired) {
			t.Fatalf("attempt %d: %s, want %s", i+1, got, want)
		}
	}
	// Bound at a second bank: five checks, class III.
	cid2 := w.Bind(u, c2).ID
	k = must[*walletctl.KYC](t)(w.Engine.KYCStatus(w.Ctx, u))
	if k.Class != 3 || len(k.Checks) != 5 {
		t.Fatalf("kyc after second bank: %+v", k)
	}
	if err := w.Engine.UnbindCard(w.Ctx, u, cid2); err != nil {
		t.Fatal(err)
	}
	if cards := must[[]walletctl.Card](t)(walletctl.Items(w.Engine.Cards(w.Ctx, u, walletctl.MaxPage))); len(cards) != 1 {
		t.Fatalf("cards after unbind: %+v", cards)
	}
	code(t, w.Engine.UnbindCard(w.Ctx, u, cid2), walletctl.CodeNotFound)
	if ev := w.events(u); !slices.Equal(ev, []string{"kyc_verified", "card_bound", "class_changed", "card_bound", "class_changed", "card_unbound"}) {
		t.Fatalf("security log: %v", ev)
	}
	// The journal saw the unbind.
	found := false
	for _, j := range must[[]bankapi.JournalEntry](t)(bankapi.AllJournal(w.Ctx, w.Admin)) {
		found = found || (j.Op == bankapi.OpUnbind && j.Outcome == "ok")
	}
	if !found {
		t.Fatal("no unbind at the bank")
	}
}
