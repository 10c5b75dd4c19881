package bankmock

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/banktest"
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

var req = banktest.CardRequest

// bind binds a card for the default partner through the full OTP flow and returns the agreement
// token.
func bind(t testing.TB, e *Engine, c bankapi.Customer) string {
	t.Helper()
	return bindAs(t, bg, e, c)
}

// bindAs binds a card as the partner ctx names.
func bindAs(t testing.TB, ctx context.Context, e *Engine, c bankapi.Customer) string {
	t.Helper()
	_, a := banktest.Bind(t, ctx, e, c)
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

// waitInFlight returns once a request of partner's holds key in flight.
func waitInFlight(e *Engine, partner, key string) {
	for {
		e.mu.Lock()
		held := e.inflight[inflightKey{partner, key}]
		e.mu.Unlock()
		if held {
			return
		}
		time.Sleep(time.Millisecond)
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

// journalOf is ctx's whole journal walked page by page, oldest first: the order a test's steps
// happened in (a page is newest first).
func journalOf(ctx context.Context, e *Engine) ([]bankapi.JournalEntry, error) {
	j, err := bankapi.All(ctx, e.Journal, bankapi.JournalEntry.Cursor)
	slices.Reverse(j)
	return j, err
}

// customersOf is every customer, walked page by page, in catalogue order.
func customersOf(ctx context.Context, e *Engine) ([]bankapi.Customer, error) {
	return bankapi.All(ctx, e.Customers, bankapi.Customer.Cursor)
}
