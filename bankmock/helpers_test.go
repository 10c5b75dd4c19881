package bankmock

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
)

var bg = context.Background()

// The formats of binding ids and agreement tokens: derived from a partner's secret, never counters.
var (
	bindingIDRe = regexp.MustCompile(`^b_[0-9a-f]{16}$`)
	agreementRe = regexp.MustCompile(`^agr_[0-9a-f]{24}$`)
)

func newTest(t testing.TB) *Engine {
	t.Helper()
	return New(Config{Seed: 42, Customers: 30, Sleep: InstantSleep})
}

func testCard(t testing.TB, key string) bankapi.Customer {
	t.Helper()
	for _, c := range TestCards {
		if c.Key == key {
			return c.Customer
		}
	}
	t.Fatalf("no test card %q", key)
	return bankapi.Customer{}
}

func req(c bankapi.Customer) bankapi.CardRequest {
	return bankapi.CardRequest{CardNo: c.CardNo, Name: c.Name, IDNo: c.IDNo, Phone: c.Phone}
}

// bind binds a card through the full OTP flow and returns the agreement token.
func bind(t testing.TB, e *Engine, c bankapi.Customer) string {
	t.Helper()
	b, err := e.CreateBinding(bg, req(c))
	if err != nil {
		t.Fatalf("bind %s: %v", c.Name, err)
	}
	otp, err := e.LastOTP(bg, c.Phone)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.ConfirmBinding(bg, b.BindingID, otp)
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	return a.Agreement
}

func cny(agr string, fen int64) bankapi.MoneyRequest {
	return bankapi.MoneyRequest{Agreement: agr, Amount: fen, Currency: bankapi.Currency}
}

// wantCode fails unless err is a *Error with the code and (if given) resp code.
func wantCode(t testing.TB, err error, code, resp string) *bankapi.Error {
	t.Helper()
	be, ok := bankapi.AsError(err)
	if !ok {
		t.Fatalf("want %s (%s), got %v", code, resp, err)
	}
	if be.Code != code || (resp != "" && be.RespCode != resp) {
		t.Fatalf("want %s (%s), got %s (%s): %s", code, resp, be.Code, be.RespCode, be.Message)
	}
	return be
}

func balance(t testing.TB, e *Engine, card string) int64 {
	t.Helper()
	c, err := e.Customer(bg, card)
	if err != nil {
		t.Fatal(err)
	}
	return c.Balance
}

func notFound(t testing.TB, e *Engine, key string) {
	t.Helper()
	_, err := e.Transaction(bg, key)
	if !errors.Is(err, bankapi.ErrNotFound) {
		t.Fatalf("Transaction(%s): want NOT_FOUND, got %v", key, err)
	}
}

// withoutPartners is a snapshot without its partners: what Reset must restore byte for byte.
func withoutPartners(t testing.TB, snap []byte) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(snap, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "partners")
	delete(m, "partner_seq")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
