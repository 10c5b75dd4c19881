package bankmock

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/vclock"
)

func TestVerifyAndBindErrorsFromData(t *testing.T) {
	ok := testCard(t, "ok")
	wrong := func(mod func(*bankapi.CardRequest)) bankapi.CardRequest { r := req(ok); mod(&r); return r }
	badLuhn := ok.CardNo[:18] + string('0'+(ok.CardNo[18]-'0'+1)%10)
	tests := []struct {
		name       string
		req        bankapi.CardRequest
		verifyCode string // "" = matches
		bindCode   string // "" = OTP sent
		resp       string
		fields     []string
	}{
		{"healthy", req(ok), "", "", "", nil},
		{"bad luhn", wrong(func(r *bankapi.CardRequest) { r.CardNo = badLuhn }), bankapi.CodeCardUnknown, bankapi.CodeCardUnknown, "14", nil},
		{"unknown BIN", wrong(func(r *bankapi.CardRequest) { r.CardNo = "9999990000000000004" }), bankapi.CodeCardUnknown, bankapi.CodeCardUnknown, "14", nil},
		{"wrong length for bank", wrong(func(r *bankapi.CardRequest) { r.CardNo = "62220200000000001" }), bankapi.CodeCardUnknown, bankapi.CodeCardUnknown, "14", nil},
		{"no such card", wrong(func(r *bankapi.CardRequest) { r.CardNo = "6222020000000000026" }), bankapi.CodeCardUnknown, bankapi.CodeCardUnknown, "14", nil},
		{"wrong name", wrong(func(r *bankapi.CardRequest) { r.Name = "张三" }), bankapi.CodeInfoMismatch, bankapi.CodeInfoMismatch, "66", []string{"name"}},
		{"wrong phone", wrong(func(r *bankapi.CardRequest) { r.Phone = "13900000000" }), bankapi.CodeInfoMismatch, bankapi.CodeInfoMismatch, "66", []string{"phone"}},
		{"all wrong", bankapi.CardRequest{CardNo: ok.CardNo, Name: "李四", IDNo: "110101199001011237", Phone: "13900000000"},
			bankapi.CodeInfoMismatch, bankapi.CodeInfoMismatch, "66", []string{"name", "id_no", "phone"}},
		{"frozen", req(testCard(t, "frozen")), bankapi.CodeIssuerRestricted, bankapi.CodeIssuerRestricted, "77", nil},
		{"lost", req(testCard(t, "lost")), bankapi.CodeIssuerRestricted, bankapi.CodeIssuerRestricted, "77", nil},
		{"expired", req(testCard(t, "expired")), bankapi.CodeCardExpired, bankapi.CodeCardExpired, "78", nil},
		{"small bank", req(testCard(t, "no_online_binding")), "", bankapi.CodeBindingNotSupported, "68", nil},
		{"cnp disabled", req(testCard(t, "cnp_disabled")), "", bankapi.CodeCNPNotEnabled, "72", nil},
		{"credit card binds", req(testCard(t, "credit")), "", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTest(t)
			v, err := e.Verify(bg, tt.req)
			if tt.verifyCode == "" {
				if err != nil || !v.Match || v.CardLast4 != tt.req.CardNo[len(tt.req.CardNo)-4:] {
					t.Fatalf("verify: %+v, %v", v, err)
				}
			} else {
				be := wantCode(t, err, tt.verifyCode, tt.resp)
				if !reflect.DeepEqual(be.Fields, tt.fields) {
					t.Fatalf("fields %v, want %v", be.Fields, tt.fields)
				}
			}
			b, err := e.CreateBinding(bg, tt.req)
			if tt.bindCode == "" {
				if err != nil || !bindingIDRe.MatchString(b.BindingID) || b.Status != "otp_sent" || !strings.Contains(b.PhoneMasked, "****") {
					t.Fatalf("bind: %+v, %v", b, err)
				}
				if !b.ExpiresAt.Equal(vclock.DefaultEpoch.Add(5 * time.Minute)) {
					t.Fatalf("expires %v", b.ExpiresAt)
				}
				return
			}
			wantCode(t, err, tt.bindCode, tt.resp)
			if _, err := e.LastOTP(bg, tt.req.Phone); !errors.Is(err, bankapi.ErrNotFound) {
				t.Fatalf("an OTP was sent for a refused binding: %v", err)
			}
		})
	}
}

func TestOTPAttemptsAndExpiry(t *testing.T) {
	c := testCard(t, "ok")
	t.Run("attempts", func(t *testing.T) {
		e := newTest(t)
		b, _ := e.CreateBinding(bg, req(c))
		otp, _ := e.LastOTP(bg, c.Phone)
		if len(otp) != 6 {
			t.Fatalf("otp %q", otp)
		}
		bad := "000000"
		if otp == bad {
			bad = "111111"
		}
		for want := 2; want >= 0; want-- {
			_, err := e.ConfirmBinding(bg, b.BindingID, bad)
			be := wantCode(t, err, bankapi.CodeOTPInvalid, "71")
			if be.Remaining == nil || *be.Remaining != want {
				t.Fatalf("remaining %v, want %d", be.Remaining, want)
			}
		}
		_, err := e.ConfirmBinding(bg, b.BindingID, otp)
		wantCode(t, err, bankapi.CodeOTPExpired, "71")
	})
	t.Run("ttl", func(t *testing.T) {
		e := newTest(t)
		b, _ := e.CreateBinding(bg, req(c))
		otp, _ := e.LastOTP(bg, c.Phone)
		e.Advance(bg, 5*time.Minute+time.Second)
		_, err := e.ConfirmBinding(bg, b.BindingID, otp)
		wantCode(t, err, bankapi.CodeOTPExpired, "71")
	})
	t.Run("success, derived ids, retry", func(t *testing.T) {
		e := newTest(t)
		e.Advance(bg, 4*time.Minute)
		b, _ := e.CreateBinding(bg, req(c))
		otp, _ := e.LastOTP(bg, c.Phone)
		e.Advance(bg, 4*time.Minute) // within the TTL of this binding
		a, err := e.ConfirmBinding(bg, b.BindingID, otp)
		if err != nil || !agreementRe.MatchString(a.Agreement) || a.Bank != "ICBC" || a.CardLast4 != "0018" || a.CardType != bankapi.CardDebit {
			t.Fatalf("%+v %v", a, err)
		}
		again, err := e.ConfirmBinding(bg, b.BindingID, otp)
		if err != nil || again.Agreement != a.Agreement {
			t.Fatalf("confirm retry: %+v %v", again, err)
		}
		if _, err := e.ConfirmBinding(bg, "b9", otp); !errors.Is(err, bankapi.ErrNotFound) {
			t.Fatalf("unknown binding: %v", err)
		}
		if agr := bind(t, e, c); agr == a.Agreement || !agreementRe.MatchString(agr) {
			t.Fatalf("second agreement %s", agr)
		}
		otp2, _ := e.LastOTP(bg, c.Phone)
		if otp2 == otp {
			t.Fatal("two bindings got the same OTP")
		}
	})
}

func TestMoneyErrorsFromData(t *testing.T) {
	e := newTest(t)
	ok := bind(t, e, testCard(t, "ok"))
	empty := bind(t, e, testCard(t, "no_funds"))
	credit := bind(t, e, testCard(t, "credit"))
	small := testCard(t, "flaky_bank") // WJRCB: 5,000 CNY single, 20,000 CNY daily
	flaky := bind(t, e, small)
	// The flaky profile refuses 10% of WJRCB debits; switch it off for this test.
	e.mu.Lock()
	p := e.st.Profiles["WJRCB"]
	p.Probability = bankapi.Chance(0) // never
	e.st.Profiles["WJRCB"] = p
	e.mu.Unlock()

	tests := []struct {
		name, op, key string
		r             bankapi.MoneyRequest
		code, resp    string
	}{
		{"empty key", bankapi.OpDebit, "", cny(ok, 100), bankapi.CodeInvalidRequest, "30"},
		{"zero amount", bankapi.OpDebit, "k0", cny(ok, 0), bankapi.CodeInvalidRequest, "30"},
		{"negative amount", bankapi.OpCredit, "k0", cny(ok, -5), bankapi.CodeInvalidRequest, "30"},
		{"currency", bankapi.OpDebit, "k0", bankapi.MoneyRequest{Agreement: ok, Amount: 100, Currency: "USD"}, bankapi.CodeInvalidRequest, "30"},
		{"unknown agreement", bankapi.OpDebit, "k0", cny("agr_99", 100), bankapi.CodeNotFound, "25"},
		{"ok", bankapi.OpDebit, "k1", cny(ok, 12345), "", ""},
		{"empty card", bankapi.OpDebit, "k2", cny(empty, 1), bankapi.CodeInsufficientFunds, "51"},
		{"over credit", bankapi.OpDebit, "k3", cny(credit, 50000*yuan+1), bankapi.CodeLimitExceeded, "61"},
		{"credit line", bankapi.OpDebit, "k4", cny(credit, 49000*yuan), "", ""},
		{"credit line used up", bankapi.OpDebit, "k5", cny(credit, 1001*yuan), bankapi.CodeInsufficientFunds, "64"},
		{"single limit", bankapi.OpDebit, "k6", cny(flaky, 5000*yuan+1), bankapi.CodeLimitExceeded, "61"},
		{"within single", bankapi.OpDebit, "k7", cny(flaky, 5000*yuan), "", ""},
		{"replay same", bankapi.OpDebit, "k7", cny(flaky, 5000*yuan), "", ""},
		{"mismatch amount", bankapi.OpDebit, "k7", cny(flaky, 4000*yuan), bankapi.CodeIdempotencyMismatch, "12"},
		{"mismatch kind", bankapi.OpCredit, "k7", cny(flaky, 5000*yuan), bankapi.CodeIdempotencyMismatch, "12"},
		{"replay failure", bankapi.OpDebit, "k2", cny(empty, 1), bankapi.CodeInsufficientFunds, "51"},
		{"credit", bankapi.OpCredit, "k8", cny(empty, 700), "", ""},
	}
	for _, tt := range tests {
		var tx *bankapi.Transaction
		var err error
		if tt.op == bankapi.OpDebit {
			tx, err = e.Debit(bg, tt.key, tt.r)
		} else {
			tx, err = e.Credit(bg, tt.key, tt.r)
		}
		if tt.code == "" {
			if err != nil || tx.Status != bankapi.TxnSucceeded || tx.Amount != tt.r.Amount || tx.Kind != tt.op {
				t.Fatalf("%s: %+v %v", tt.name, tx, err)
			}
			continue
		}
		if tx != nil {
			t.Fatalf("%s: a result with an error", tt.name)
		}
		wantCode(t, err, tt.code, tt.resp)
	}
	if got := balance(t, e, testCard(t, "ok").CardNo); got != 1000000*yuan-12345 {
		t.Errorf("ok balance %d", got)
	}
	if got := balance(t, e, small.CardNo); got != testBalance-5000*yuan {
		t.Errorf("replayed debit moved money twice: %d", got)
	}
	if got := balance(t, e, testCard(t, "no_funds").CardNo); got != 700 {
		t.Errorf("credit: %d", got)
	}
	failed, err := e.Transaction(bg, "k2")
	if err != nil || failed.Status != bankapi.TxnFailed || failed.Error == nil || failed.Error.RespCode != "51" {
		t.Fatalf("failed txn: %+v %v", failed, err)
	}
	notFound(t, e, "k0") // validation failures are not stored
	j, _ := journalOf(bg, e)
	replays := 0
	for _, x := range j {
		if x.Outcome == "replay" {
			replays++
		}
	}
	if replays != 2 {
		t.Errorf("%d replays journaled, want 2", replays)
	}
	// The card's status is checked on every debit, after binding.
	for _, st := range []struct {
		s    bankapi.CardStatus
		code string
		resp string
	}{{bankapi.CardFrozen, bankapi.CodeIssuerRestricted, "77"}, {bankapi.CardLost, bankapi.CodeIssuerRestricted, "77"}, {bankapi.CardExpired, bankapi.CodeCardExpired, "78"}} {
		e.SetCardStatus(bg, testCard(t, "ok").CardNo, st.s)
		_, err := e.Debit(bg, "s-"+string(st.s), cny(ok, 1))
		wantCode(t, err, st.code, st.resp)
		_, err = e.Credit(bg, "c-"+string(st.s), cny(ok, 1))
		wantCode(t, err, st.code, st.resp)
	}
	// Unbound agreements stop working; earlier keys still replay.
	if err := e.Unbind(bg, flaky); err != nil {
		t.Fatal(err)
	}
	if err := e.Unbind(bg, flaky); !errors.Is(err, bankapi.ErrNotFound) {
		t.Fatalf("unbind twice: %v", err)
	}
	_, err = e.Debit(bg, "k9", cny(flaky, 1))
	wantCode(t, err, bankapi.CodeNotFound, "25")
	if _, err := e.Debit(bg, "k7", cny(flaky, 5000*yuan)); err != nil {
		t.Fatalf("replay after unbind: %v", err)
	}
}

func TestDailyLimitResetsNextBankDay(t *testing.T) {
	e := newTest(t)
	agr := bind(t, e, testCard(t, "ok")) // ICBC: 50,000 CNY single and daily
	if _, err := e.Debit(bg, "d1", cny(agr, 30000*yuan)); err != nil {
		t.Fatal(err)
	}
	_, err := e.Debit(bg, "d2", cny(agr, 20000*yuan+1))
	wantCode(t, err, bankapi.CodeLimitExceeded, "81")
	if _, err := e.Debit(bg, "d3", cny(agr, 20000*yuan)); err != nil {
		t.Fatalf("exactly at the daily limit: %v", err)
	}
	// 09:00 + 14h59m is 23:59 the same bank day; one more minute is the next day.
	e.Advance(bg, 14*time.Hour+59*time.Minute)
	_, err = e.Debit(bg, "d4", cny(agr, 1))
	wantCode(t, err, bankapi.CodeLimitExceeded, "81")
	e.Advance(bg, time.Minute)
	if _, err := e.Debit(bg, "d5", cny(agr, 50000*yuan)); err != nil {
		t.Fatalf("next day: %v", err)
	}
}

func TestStatement(t *testing.T) {
	e := newTest(t)
	agr := bind(t, e, testCard(t, "ok"))
	e.Debit(bg, "a", cny(agr, 100))
	e.Credit(bg, "b", cny(agr, 40))
	e.Debit(bg, "c", cny(agr, 1000000*yuan)) // fails: not on the statement
	e.Advance(bg, 24*time.Hour)
	e.Debit(bg, "d", cny(agr, 7))
	s, err := e.Statement(bg, "2026-01-05")
	if err != nil {
		t.Fatal(err)
	}
	if s.DebitCount != 1 || s.DebitTotal != 100 || s.CreditCount != 1 || s.CreditTotal != 40 || len(s.Transactions) != 2 ||
		s.Transactions[0].IdempotencyKey != "a" || s.Transactions[1].IdempotencyKey != "b" {
		t.Fatalf("%+v", s)
	}
	s, _ = e.Statement(bg, "2026-01-06")
	if s.DebitCount != 1 || s.DebitTotal != 7 {
		t.Fatalf("next day %+v", s)
	}
	s, _ = e.Statement(bg, "2025-01-01")
	if s.Transactions == nil || len(s.Transactions) != 0 {
		t.Fatalf("empty day %+v", s)
	}
	_, err = e.Statement(bg, "05/01/2026")
	wantCode(t, err, bankapi.CodeInvalidRequest, "30")
}

func TestJournalNeverShowsSecrets(t *testing.T) {
	e := newTest(t)
	c := testCard(t, "ok")
	agr := bind(t, e, c)
	e.Verify(bg, bankapi.CardRequest{CardNo: c.CardNo, Name: "x", IDNo: c.IDNo, Phone: c.Phone})
	e.Debit(bg, "k", cny(agr, 66666))
	otp, _ := e.LastOTP(bg, c.Phone)
	j, _ := journalOf(bg, e)
	raw, _ := json.Marshal(j)
	for _, secret := range []string{c.CardNo, c.IDNo, c.Phone, otp} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("journal contains %s", secret)
		}
	}
	if !strings.Contains(string(raw), "622202*********0018") {
		t.Errorf("journal lacks the masked card: %s", raw)
	}
	if len(j) != 4 || j[3].Fault != "magic:amount:66666" || j[3].FaultKind != "drop_after" || !j[3].Processed || j[3].Seq != 4 {
		t.Errorf("journal %+v", j)
	}
}

func TestAddCustomer(t *testing.T) {
	a, b := newTest(t), newTest(t)
	ca, err := a.AddCustomer(bg, bankapi.Customer{Bank: "CMB", Balance: 500})
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := b.AddCustomer(bg, bankapi.Customer{Bank: "CMB", Balance: 500})
	if *ca != *cb {
		t.Fatalf("filled blanks differ: %+v vs %+v", ca, cb)
	}
	if bk, _ := BankForCard(ca.CardNo); bk.Code != "CMB" || len(ca.CardNo) != 16 || ca.Status != bankapi.CardActive || ca.Type != bankapi.CardDebit {
		t.Fatalf("%+v", ca)
	}
	// The staged customer can bind at once with the filled identity.
	bind(t, a, *ca)
	given := bankapi.Customer{CardNo: "6222020000000000026", Name: "测试", IDNo: "11010519491231002x", Phone: "13700000000"}
	got, err := a.AddCustomer(bg, given)
	if err != nil || got.Bank != "ICBC" || got.IDNo != "11010519491231002X" || got.Name != "测试" {
		t.Fatalf("%+v %v", got, err)
	}
	bad := []bankapi.Customer{
		given, // duplicate
		{Bank: "NOPE"},
		{CardNo: "6222020000000000019"}, // Luhn
		{Bank: "CMB", CardNo: "6222020000000000034"}, // not a CMB card
		{Bank: "ICBC", IDNo: "110105198503071231"},   // check digit
		{Bank: "ICBC", Phone: "12345678901"},         // phone
		{Bank: "ICBC", Balance: -1},                  // balance
		{Bank: "ICBC", Status: "closed"},             // status
		{Bank: "ICBC", Type: "prepaid"},              // type
		{CardNo: "62220200000000000018"},             // 20 digits
	}
	for i, c := range bad {
		_, err := a.AddCustomer(bg, c)
		wantCode(t, err, bankapi.CodeInvalidRequest, "")
		_ = i
	}
	if err := a.SetBalance(bg, "nope", 1); !errors.Is(err, bankapi.ErrNotFound) {
		t.Fatal(err)
	}
	wantCode(t, a.SetBalance(bg, ca.CardNo, -1), bankapi.CodeInvalidRequest, "")
	wantCode(t, a.SetCardStatus(bg, ca.CardNo, "gone"), bankapi.CodeInvalidRequest, "")
	if err := a.SetBalance(bg, ca.CardNo, 99); err != nil || balance(t, a, ca.CardNo) != 99 {
		t.Fatal("SetBalance")
	}
}

// The bank's largest amount is the protocol's (bankapi.MaxAmount), which the wallet checks before
// it records anything: one more fen is refused for its size, the maximum itself for other reasons.
func TestMaxAmountIsTheProtocols(t *testing.T) {
	e := newTest(t)
	agr := bind(t, e, testCard(t, "ok"))
	for _, op := range []func(context.Context, string, bankapi.MoneyRequest) (*bankapi.Transaction, error){e.Debit, e.Credit} {
		_, err := op(bg, "max+1", cny(agr, bankapi.MaxAmount+1))
		if be := wantCode(t, err, bankapi.CodeInvalidRequest, "30"); !strings.Contains(be.Message, "too large") {
			t.Fatalf("one fen above the maximum: %s", be.Message)
		}
		_, err = op(bg, "max", cny(agr, bankapi.MaxAmount))
		if be, _ := bankapi.AsError(err); be != nil && strings.Contains(be.Message, "too large") {
			t.Fatalf("the maximum itself refused for its size: %s", be.Message)
		}
	}
}
