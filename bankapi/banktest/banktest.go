// Package banktest is test scaffolding for any bankapi bank: the mock's engine in process or the
// protocol client over HTTP. It imports only bankapi, so that bankmock's own tests can use it
// too.
package banktest

import (
	"context"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
)

// Binder is what binding a card takes: the protocol's two calls and the test helper that reads
// the OTP the bank sent. bankmock's Engine and the protocol client are both.
type Binder interface {
	CreateBinding(ctx context.Context, req bankapi.CardRequest) (*bankapi.Binding, error)
	ConfirmBinding(ctx context.Context, bindingID, otp string) (*bankapi.Agreement, error)
	LastOTP(ctx context.Context, phone string) (string, error)
}

// CardRequest names c's card and its holder, as verification and binding ask.
func CardRequest(c bankapi.Customer) bankapi.CardRequest {
	return bankapi.CardRequest{CardNo: c.CardNo, Name: c.Name, IDNo: c.IDNo, Phone: c.Phone}
}

// Bind binds c's card through the bank's OTP flow, as the caller ctx names (a partner, or the
// default one): create the binding, read the code the bank sent, confirm it. It returns the
// binding and its agreement; a failed step fails t.
func Bind(t testing.TB, ctx context.Context, bank Binder, c bankapi.Customer) (*bankapi.Binding, *bankapi.Agreement) {
	t.Helper()
	b, err := bank.CreateBinding(ctx, CardRequest(c))
	if err != nil {
		t.Fatalf("bind %s: %v", c.Name, err)
	}
	otp, err := bank.LastOTP(ctx, c.Phone)
	if err != nil {
		t.Fatalf("bind %s: read the OTP: %v", c.Name, err)
	}
	a, err := bank.ConfirmBinding(ctx, b.BindingID, otp)
	if err != nil {
		t.Fatalf("bind %s: confirm: %v", c.Name, err)
	}
	return b, a
}
