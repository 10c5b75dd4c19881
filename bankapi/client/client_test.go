package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/banktest"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
)

// testAdminToken is the test banks' admin token: loopback is not a credential.
const testAdminToken = "test-admin-token"

// world is a real engine behind a real server on loopback, and a client of it.
type world struct {
	eng *bankmock.Engine
	srv *httptest.Server
	c   *client.Client
}

func newWorld(t *testing.T, opts client.Options) *world {
	t.Helper()
	b := testworld.NewBank(t, testworld.Customers(10), testworld.Loopback(testAdminToken), testworld.Client(opts))
	return &world{eng: b.Mock, srv: b.HTTP, c: b.Client}
}

var cardReq = banktest.CardRequest

// bind binds a test card (over HTTP, when bank is a client) and returns its agreement token.
func bind(t *testing.T, bank banktest.Binder, key string) string {
	t.Helper()
	_, a := banktest.Bind(t, context.Background(), bank, testworld.Card(key))
	return a.Agreement
}

// bindOK binds the healthy "ok" card and returns its agreement token, its number and its balance.
func (w *world) bindOK(t *testing.T) (agr, card string, before int64) {
	t.Helper()
	card = testworld.Card("ok").CardNo
	return bind(t, w.c, "ok"), card, balance(t, w.c, card)
}

func wantCode(t *testing.T, err error, code, resp string) *bankapi.Error {
	t.Helper()
	e, ok := bankapi.AsError(err)
	if !ok {
		t.Fatalf("want *bankapi.Error %s, got %T %v", code, err, err)
	}
	if e.Code != code || (resp != "" && e.RespCode != resp) {
		t.Fatalf("want %s (%s), got %v", code, resp, e)
	}
	return e
}

func balance(t *testing.T, api bankapi.Admin, card string) int64 {
	t.Helper()
	c, err := api.Customer(context.Background(), card)
	if err != nil {
		t.Fatal(err)
	}
	return c.Balance
}

func yuan(n int64) int64 { return n * 100 }

func TestDataErrorsOverHTTP(t *testing.T) {
	w := newWorld(t, client.Options{})
	ctx := context.Background()
	ok := testworld.Card("ok")

	// Four-element verification.
	v, err := w.c.Verify(ctx, cardReq(ok))
	if err != nil || !v.Match || v.Bank != "ICBC" || v.CardLast4 != ok.CardNo[len(ok.CardNo)-4:] {
		t.Fatalf("verify ok card: %+v %v", v, err)
	}
	bad := cardReq(ok)
	bad.Phone = "13900000000"
	e := wantCode(t, func() error { _, err := w.c.Verify(ctx, bad); return err }(), bankapi.CodeInfoMismatch, "66")
	if len(e.Fields) != 1 || e.Fields[0] != "phone" {
		t.Errorf("mismatch fields = %v, want [phone]", e.Fields)
	}
	for key, want := range map[string][2]string{
		"frozen":  {bankapi.CodeIssuerRestricted, "77"},
		"lost":    {bankapi.CodeIssuerRestricted, "77"},
		"expired": {bankapi.CodeCardExpired, "78"},
	} {
		_, err := w.c.Verify(ctx, cardReq(testworld.Card(key)))
		wantCode(t, err, want[0], want[1])
	}
	unknown := cardReq(ok)
	unknown.CardNo = "6222020000000000019" // Luhn-invalid
	_, err = w.c.Verify(ctx, unknown)
	wantCode(t, err, bankapi.CodeCardUnknown, "14")

	// Binding restrictions.
	_, err = w.c.CreateBinding(ctx, cardReq(testworld.Card("no_online_binding")))
	wantCode(t, err, bankapi.CodeBindingNotSupported, "68")
	_, err = w.c.CreateBinding(ctx, cardReq(testworld.Card("cnp_disabled")))
	wantCode(t, err, bankapi.CodeCNPNotEnabled, "72")

	// OTP: wrong code counts down, then the binding is spent; expiry on the virtual clock.
	b, err := w.c.CreateBinding(ctx, cardReq(ok))
	if err != nil || b.Status != "otp_sent" || strings.Contains(b.PhoneMasked, ok.Phone) {
		t.Fatalf("binding: %+v %v", b, err)
	}
	_, err = w.c.ConfirmBinding(ctx, b.BindingID, "000000x")
	e = wantCode(t, err, bankapi.CodeOTPInvalid, "71")
	if e.Remaining == nil || *e.Remaining != 2 {
		t.Errorf("remaining = %v, want 2", e.Remaining)
	}
	b2, _ := w.c.CreateBinding(ctx, cardReq(ok))
	if _, err := w.c.Advance(ctx, 6*time.Minute); err != nil {
		t.Fatal(err)
	}
	otp, _ := w.c.LastOTP(ctx, ok.Phone)
	_, err = w.c.ConfirmBinding(ctx, b2.BindingID, otp)
	wantCode(t, err, bankapi.CodeOTPExpired, "71")
	_, err = w.c.ConfirmBinding(ctx, "b999", "123456")
	wantCode(t, err, bankapi.CodeNotFound, "25")

	// Money.
	agr := bind(t, w.c, "ok")
	mr := func(amount int64) bankapi.MoneyRequest {
		return bankapi.MoneyRequest{Agreement: agr, Amount: amount, Currency: "CNY"}
	}
	_, err = w.c.Debit(ctx, "k-single", mr(yuan(50000)+1))
	wantCode(t, err, bankapi.CodeLimitExceeded, "61")
	if _, err := w.c.Debit(ctx, "k-d1", mr(yuan(30000))); err != nil {
		t.Fatal(err)
	}
	_, err = w.c.Debit(ctx, "k-d2", mr(yuan(30000)))
	wantCode(t, err, bankapi.CodeLimitExceeded, "81")
	_, err = w.c.Debit(ctx, "k-zero", mr(0))
	wantCode(t, err, bankapi.CodeInvalidRequest, "30")
	_, err = w.c.Debit(ctx, "k-d1", mr(yuan(1)))
	wantCode(t, err, bankapi.CodeIdempotencyMismatch, "12")
	_, err = w.c.Debit(ctx, "k-none", bankapi.MoneyRequest{Agreement: "agr_404", Amount: 1, Currency: "CNY"})
	wantCode(t, err, bankapi.CodeNotFound, "25")
	_, err = w.c.Transaction(ctx, "never-sent")
	wantCode(t, err, bankapi.CodeNotFound, "25")

	empty := bind(t, w.c, "no_funds")
	_, err = w.c.Debit(ctx, "k-empty", bankapi.MoneyRequest{Agreement: empty, Amount: 100, Currency: "CNY"})
	wantCode(t, err, bankapi.CodeInsufficientFunds, "51")
	credit := bind(t, w.c, "credit")
	if err := w.c.SetBalance(ctx, testworld.Card("credit").CardNo, 100); err != nil {
		t.Fatal(err)
	}
	_, err = w.c.Debit(ctx, "k-credit", bankapi.MoneyRequest{Agreement: credit, Amount: 200, Currency: "CNY"})
	wantCode(t, err, bankapi.CodeInsufficientFunds, "64")
	// A declined debit is stored: its query says failed, with the reason.
	tx, err := w.c.Transaction(ctx, "k-credit")
	if err != nil || tx.Status != bankapi.TxnFailed || tx.Error == nil || tx.Error.RespCode != "64" {
		t.Fatalf("failed txn query: %+v %v", tx, err)
	}

	// A garbled answer to an unbind is an unknown outcome, as in-process; the unbind happened.
	e = wantCode(t, w.c.Unbind(client.WithFault(ctx, "malformed"), empty), bankapi.CodeOutcomeUnknown, "05")
	if !strings.HasPrefix(e.Fault, "header:") {
		t.Errorf("garbled unbind: fault ref %q", e.Fault)
	}
	wantCode(t, w.c.Unbind(ctx, empty), bankapi.CodeNotFound, "25")

	// Unbind, then the agreement is gone.
	if err := w.c.Unbind(ctx, credit); err != nil {
		t.Fatal(err)
	}
	wantCode(t, w.c.Unbind(ctx, credit), bankapi.CodeNotFound, "25")
	_, err = w.c.Debit(ctx, "k-after-unbind", bankapi.MoneyRequest{Agreement: credit, Amount: 1, Currency: "CNY"})
	wantCode(t, err, bankapi.CodeNotFound, "25")
}

func TestIdempotentReplay(t *testing.T) {
	w := newWorld(t, client.Options{})
	ctx := context.Background()
	agr, card, before := w.bindOK(t)
	req := bankapi.MoneyRequest{Agreement: agr, Amount: 1234, Currency: "CNY"}
	first, err := w.c.Debit(ctx, "pay-1", req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.c.Debit(ctx, "pay-1", req)
	if err != nil {
		t.Fatal(err)
	}
	if first.TxnID != again.TxnID || !first.Time.Equal(again.Time) {
		t.Errorf("replay gave %+v, first was %+v", again, first)
	}
	if got := balance(t, w.c, card); got != before-1234 {
		t.Errorf("balance %d after a debit and its replay, want %d (debited once)", got, before-1234)
	}
	// A replay of a declined debit returns the same decline.
	empty := bind(t, w.c, "no_funds")
	req2 := bankapi.MoneyRequest{Agreement: empty, Amount: 5, Currency: "CNY"}
	_, err1 := w.c.Debit(ctx, "pay-2", req2)
	_, err2 := w.c.Debit(ctx, "pay-2", req2)
	wantCode(t, err1, bankapi.CodeInsufficientFunds, "51")
	wantCode(t, err2, bankapi.CodeInsufficientFunds, "51")
}

// TestFaultsOverHTTP: each fault kind as a client on the wire sees it.
func TestFaultsOverHTTP(t *testing.T) {
	ctx := context.Background()
	type check struct {
		spec      string
		timeout   time.Duration
		code      string // "" = success
		processed bool   // the query by key then shows it succeeded
		faultRef  bool   // the error names the fault (a response arrived)
	}
	for _, tc := range []check{
		{spec: "drop_after", code: bankapi.CodeOutcomeUnknown, processed: true},
		{spec: "refuse", code: bankapi.CodeOutcomeUnknown},
		{spec: "hang", timeout: 300 * time.Millisecond, code: bankapi.CodeOutcomeUnknown},
		{spec: "http_error", code: bankapi.CodeIssuerUnavailable, faultRef: true},
		{spec: "http_error;status=502", code: bankapi.CodeIssuerUnavailable, faultRef: true},
		{spec: "malformed", code: bankapi.CodeOutcomeUnknown, processed: true, faultRef: true},
		{spec: "delay;delay=100ms", processed: true},
		{spec: "delay;delay=2s", timeout: 300 * time.Millisecond, code: bankapi.CodeOutcomeUnknown, processed: true},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, client.Options{Timeout: tc.timeout})
			agr, card, before := w.bindOK(t)
			key := "k-" + tc.spec
			start := time.Now()
			tx, err := w.c.Debit(client.WithFault(ctx, tc.spec), key, bankapi.MoneyRequest{Agreement: agr, Amount: 500, Currency: "CNY"})
			if tc.code == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				if tx.Status != bankapi.TxnSucceeded {
					t.Fatalf("txn %+v", tx)
				}
				if time.Since(start) < 100*time.Millisecond {
					t.Errorf("delay fault answered in %v, before its delay", time.Since(start))
				}
			} else {
				e := wantCode(t, err, tc.code, "")
				if tc.code == bankapi.CodeOutcomeUnknown && e.RespCode != "05" {
					t.Errorf("sent request with no usable answer: resp %s, want 05", e.RespCode)
				}
				if tc.faultRef != (e.Fault != "") {
					t.Errorf("error fault ref %q, want present=%v", e.Fault, tc.faultRef)
				}
				if tc.faultRef && !strings.HasPrefix(e.Fault, "header:h") {
					t.Errorf("fault ref %q, want header:h<n>", e.Fault)
				}
			}
			if strings.HasPrefix(tc.spec, "delay;delay=2s") {
				// The bank processes after its delay even though the client left: wait for it.
				deadline := time.Now().Add(5 * time.Second)
				for time.Now().Before(deadline) {
					if _, err := w.c.Transaction(ctx, key); err == nil {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			got, qerr := w.c.Transaction(ctx, key)
			if tc.processed {
				if qerr != nil || got.Status != bankapi.TxnSucceeded || got.Amount != 500 {
					t.Fatalf("query after %s: %+v %v, want succeeded", tc.spec, got, qerr)
				}
				if b := balance(t, w.c, card); b != before-500 {
					t.Errorf("balance %d, want %d: the bank processed it", b, before-500)
				}
			} else {
				wantCode(t, qerr, bankapi.CodeNotFound, "25")
				if b := balance(t, w.c, card); b != before {
					t.Errorf("balance %d, want unchanged %d", b, before)
				}
			}
			// The journal records the fault.
			j, err := bankapi.AllJournal(ctx, w.c)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range j {
				if e.Op == bankapi.OpDebit && e.IdempotencyKey == key && strings.HasPrefix(e.Fault, "header:") {
					found = true
					if e.Card != "" && strings.Contains(e.Card, card) {
						t.Errorf("journal shows the full card number: %q", e.Card)
					}
				}
			}
			if !found {
				t.Errorf("journal has no debit entry with the header fault: %+v", j)
			}
		})
	}
}

func TestRuleAndMagicFaults(t *testing.T) {
	w := newWorld(t, client.Options{})
	ctx := context.Background()
	agr := bind(t, w.c, "ok")
	f, err := w.c.AddFaultSpec(ctx, "drop_after;op=debit;first=1")
	if err != nil || f.ID == "" || f.Kind != bankapi.FaultDropAfter {
		t.Fatalf("add fault: %+v %v", f, err)
	}
	req := bankapi.MoneyRequest{Agreement: agr, Amount: 100, Currency: "CNY"}
	_, err = w.c.Debit(ctx, "r1", req)
	wantCode(t, err, bankapi.CodeOutcomeUnknown, "05")
	if _, err := w.c.Debit(ctx, "r2", req); err != nil {
		t.Fatalf("second debit after first=1: %v", err)
	}
	fs, err := w.c.Faults(ctx)
	if err != nil || len(fs) != 1 || fs[0].Fired != 1 || fs[0].Matched != 2 {
		t.Fatalf("faults after two debits: %+v %v", fs, err)
	}
	if err := w.c.DeleteFault(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, w.c.DeleteFault(ctx, f.ID), bankapi.CodeNotFound, "")

	// The same rule as JSON fields.
	if _, err := w.c.AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: bankapi.OpCredit, Status: 502}); err != nil {
		t.Fatal(err)
	}
	_, err = w.c.Credit(ctx, "c1", req)
	e := wantCode(t, err, bankapi.CodeIssuerUnavailable, "96")
	if !strings.HasPrefix(e.Fault, "rule:") {
		t.Errorf("fault ref %q, want rule:<id>", e.Fault)
	}
	if err := w.c.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}
	if fs, _ := w.c.Faults(ctx); len(fs) != 0 {
		t.Errorf("faults after clear: %+v", fs)
	}

	// Magic amount: 500.03 CNY is HTTP 503.
	_, err = w.c.Debit(ctx, "m1", bankapi.MoneyRequest{Agreement: agr, Amount: 50003, Currency: "CNY"})
	e = wantCode(t, err, bankapi.CodeIssuerUnavailable, "96")
	if e.Fault != "magic:amount:50003" {
		t.Errorf("fault ref %q, want magic:amount:50003", e.Fault)
	}
	// Magic card: drop_after on every debit, yet the money moved.
	drop := bind(t, w.c, "drop_after")
	_, err = w.c.Debit(ctx, "m2", bankapi.MoneyRequest{Agreement: drop, Amount: 100, Currency: "CNY"})
	wantCode(t, err, bankapi.CodeOutcomeUnknown, "05")
	if tx, err := w.c.Transaction(ctx, "m2"); err != nil || tx.Status != bankapi.TxnSucceeded {
		t.Fatalf("magic drop_after query: %+v %v", tx, err)
	}
}

// TestRetries: debits re-sent with the same key only when asked; GETs retry on their own.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	t.Run("debit retried with the same key returns the first outcome", func(t *testing.T) {
		w := newWorld(t, client.Options{Retries: 2})
		agr, card, before := w.bindOK(t)
		if _, err := w.c.AddFaultSpec(ctx, "drop_after;op=debit;first=1"); err != nil {
			t.Fatal(err)
		}
		tx, err := w.c.Debit(ctx, "retry-1", bankapi.MoneyRequest{Agreement: agr, Amount: 700, Currency: "CNY"})
		if err != nil || tx.Status != bankapi.TxnSucceeded {
			t.Fatalf("retried debit: %+v %v", tx, err)
		}
		if b := balance(t, w.c, card); b != before-700 {
			t.Errorf("balance %d, want %d: debited exactly once", b, before-700)
		}
		j, _ := bankapi.AllJournal(ctx, w.c)
		replays := 0
		for _, e := range j {
			if e.IdempotencyKey == "retry-1" && e.Outcome == "replay" {
				replays++
			}
		}
		if replays != 1 {
			t.Errorf("journal shows %d replays of retry-1, want 1 (the retry)", replays)
		}
	})
	t.Run("debit not retried by default", func(t *testing.T) {
		w := newWorld(t, client.Options{})
		agr := bind(t, w.c, "ok")
		if _, err := w.c.AddFaultSpec(ctx, "drop_after;op=debit;first=1"); err != nil {
			t.Fatal(err)
		}
		// Warm a keep-alive connection so that net/http's own replay logic would apply if we let it.
		if _, err := w.c.Banks(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := w.c.Debit(ctx, "noretry", bankapi.MoneyRequest{Agreement: agr, Amount: 1, Currency: "CNY"})
		wantCode(t, err, bankapi.CodeOutcomeUnknown, "05")
		fs, _ := w.c.Faults(ctx)
		if fs[0].Matched != 1 {
			t.Errorf("fault matched %d times, want 1: the debit was re-sent", fs[0].Matched)
		}
	})
	t.Run("GET retried after a refused connection", func(t *testing.T) {
		w := newWorld(t, client.Options{})
		if _, err := w.c.AddFaultSpec(ctx, "refuse;op=statement;first=1"); err != nil {
			t.Fatal(err)
		}
		st, err := w.c.Statement(ctx, "2026-01-05")
		if err != nil || st.Date != "2026-01-05" {
			t.Fatalf("statement: %+v %v", st, err)
		}
	})
	t.Run("issuer unavailable retried with the same key", func(t *testing.T) {
		w := newWorld(t, client.Options{Retries: 1})
		agr := bind(t, w.c, "ok")
		if _, err := w.c.AddFaultSpec(ctx, "http_error;op=credit;first=1"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.c.Credit(ctx, "cr", bankapi.MoneyRequest{Agreement: agr, Amount: 9, Currency: "CNY"}); err != nil {
			t.Fatalf("credit after one 503: %v", err)
		}
	})
}

func TestNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the port is now (very likely) closed: connect fails
	c := client.New("http://"+addr, client.Options{Timeout: time.Second, Retries: -1})
	_, err = c.Debit(context.Background(), "k", bankapi.MoneyRequest{Agreement: "a", Amount: 1, Currency: "CNY"})
	// Nothing was sent: not processed (ISSUER_UNAVAILABLE 91), marked ErrNotSent, never an
	// unknown outcome that a wallet would keep pending.
	e := wantCode(t, err, bankapi.CodeIssuerUnavailable, "91")
	if !errors.Is(err, bankapi.ErrNotSent) {
		t.Errorf("a refused connection is not ErrNotSent: %v", err)
	}
	if !strings.Contains(e.Message, "nothing was sent") {
		t.Errorf("message %q should say nothing was sent", e.Message)
	}
}

// A retry that cannot connect after an attempt that went out unanswered is still an unknown
// outcome: the first attempt may have been processed.
func TestRefusedRetryAfterLostAnswer(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.Listener.Close() // the next attempt finds nothing listening
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // the request arrived; its answer is lost
		}
	}))
	defer srv.Close()
	c := client.New(srv.URL, client.Options{Timeout: time.Second, Retries: 2, Backoff: time.Millisecond})
	_, err := c.Debit(context.Background(), "k", bankapi.MoneyRequest{Agreement: "a", Amount: 1, Currency: "CNY"})
	wantCode(t, err, bankapi.CodeOutcomeUnknown, "")
	if errors.Is(err, bankapi.ErrNotSent) {
		t.Errorf("a retry after a lost answer claims nothing was sent: %v", err)
	}
}

func TestAdminToken(t *testing.T) {
	bank := testworld.NewBank(t, testworld.Seed(3), testworld.Customers(2), testworld.Loopback("s3cret"))
	ctx := context.Background()
	// No credentials where a token is configured, or a wrong one: 401 UNAUTHENTICATED.
	_, err := bankapi.AllCustomers(ctx, client.New(bank.URL, client.Options{}))
	wantCode(t, err, bankapi.CodeUnauthenticated, "")
	_, err = bankapi.AllCustomers(ctx, client.New(bank.URL, client.Options{AdminToken: "wrong"}))
	wantCode(t, err, bankapi.CodeUnauthenticated, "")
	// A partner key is a known caller without bank-wide rights: 403 UNAUTHORIZED on bank-wide
	// routes (the client sends it on the helpers, where it scopes the answer).
	pc, err := client.New(bank.URL, client.Options{AdminToken: "s3cret"}).CreatePartner(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bankapi.AllJournal(ctx, client.New(bank.URL, client.Options{PartnerKey: pc.Key})); err != nil {
		t.Fatalf("journal with a partner key: %v", err)
	}
	// Every partner may read the customers (the bank's test identities), with its own key; a
	// partner may not change them.
	if cs, err := bankapi.AllCustomers(ctx, client.New(bank.URL, client.Options{PartnerKey: pc.Key, AdminToken: "wrong"})); err != nil || len(cs) != len(bankmock.TestCards)+2 {
		t.Fatalf("customers with a partner key: %d %v", len(cs), err)
	}
	err = client.New(bank.URL, client.Options{PartnerKey: pc.Key}).SetBalance(ctx, bankmock.TestCards[0].Customer.CardNo, 1)
	wantCode(t, err, bankapi.CodeUnauthenticated, "")
	cs, err := bankapi.AllCustomers(ctx, client.New(bank.URL, client.Options{AdminToken: "s3cret"}))
	if err != nil || len(cs) != len(bankmock.TestCards)+2 {
		t.Fatalf("customers with the token: %d %v", len(cs), err)
	}
	// The protocol itself needs no token.
	if _, err := client.New(bank.URL, client.Options{}).Banks(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAdminOverHTTP(t *testing.T) {
	w := newWorld(t, client.Options{})
	ctx := context.Background()
	gen, err := w.c.GenerateCustomers(ctx, 3)
	if err != nil || len(gen) != 3 {
		t.Fatalf("generate: %d %v", len(gen), err)
	}
	added, err := w.c.AddCustomer(ctx, bankapi.Customer{Bank: "CMB", Balance: 4200})
	if err != nil || added.Bank != "CMB" || added.CardNo == "" || added.Balance != 4200 {
		t.Fatalf("add: %+v %v", added, err)
	}
	if err := w.c.SetCardStatus(ctx, added.CardNo, bankapi.CardFrozen); err != nil {
		t.Fatal(err)
	}
	got, err := w.c.Customer(ctx, added.CardNo)
	if err != nil || got.Status != bankapi.CardFrozen {
		t.Fatalf("after freeze: %+v %v", got, err)
	}
	wantCode(t, w.c.SetCardStatus(ctx, added.CardNo, "melted"), bankapi.CodeInvalidRequest, "")
	wantCode(t, w.c.SetBalance(ctx, "6222020000000000000", 1), bankapi.CodeNotFound, "")

	now, err := w.c.Now(ctx)
	if err != nil || !now.Equal(vclock.DefaultEpoch) {
		t.Fatalf("now %v %v, want the epoch", now, err)
	}
	later, err := w.c.Advance(ctx, 2*time.Hour)
	if err != nil || !later.Equal(vclock.DefaultEpoch.Add(2*time.Hour)) {
		t.Fatalf("advance: %v %v", later, err)
	}

	snap, err := w.c.Snapshot(ctx)
	if err != nil || len(snap) == 0 {
		t.Fatal(err)
	}
	if err := w.c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if cs, _ := bankapi.AllCustomers(ctx, w.c); len(cs) != len(bankmock.TestCards)+10 {
		t.Errorf("after reset: %d customers, want the seed's %d", len(cs), len(bankmock.TestCards)+10)
	}
	if err := w.c.Restore(ctx, snap); err != nil {
		t.Fatal(err)
	}
	snap2, _ := w.c.Snapshot(ctx)
	if string(snap) != string(snap2) {
		t.Error("snapshot after restore differs from the one restored")
	}
	wantCode(t, w.c.Restore(ctx, []byte("{not json")), bankapi.CodeInvalidRequest, "")
	_, err = w.c.LastOTP(ctx, "13000000000")
	wantCode(t, err, bankapi.CodeNotFound, "")
}

// TestParity runs one sequence against an engine in-process and against a second engine from the
// same seed through the server and client, and compares every result and the final snapshots.
func TestParity(t *testing.T) {
	local := bankmock.New(bankmock.Config{Seed: 42, Customers: 8})
	remoteBank := testworld.NewBank(t, testworld.Seed(42), testworld.Customers(8), testworld.Loopback(testAdminToken))
	remote, remoteEng := remoteBank.Client, remoteBank.Mock

	type backend interface {
		bankapi.API
		bankapi.Admin
	}
	run := func(api backend, withFault func(context.Context, string) context.Context) []string {
		ctx := context.Background()
		var out []string
		rec := func(name string, v any, err error) {
			if err != nil {
				e, ok := bankapi.AsError(err)
				if !ok {
					out = append(out, name+": plain error "+err.Error())
					return
				}
				if e.Code == bankapi.CodeOutcomeUnknown {
					// Only the code and response code are comparable: the wire cannot say which fault
					// closed the connection, nor the engine's wording.
					out = append(out, name+": "+e.Code+" "+e.RespCode)
					return
				}
				b, _ := json.Marshal(e)
				out = append(out, name+": error "+string(b))
				return
			}
			b, _ := json.Marshal(v)
			out = append(out, name+": "+string(b))
		}
		banks, err := api.Banks(ctx)
		rec("banks", banks, err)
		ok := testworld.Card("ok")
		vr, err := api.Verify(ctx, cardReq(ok))
		rec("verify", vr, err)
		bad := cardReq(ok)
		bad.Name = "李四"
		vr, err = api.Verify(ctx, bad)
		rec("verify-mismatch", vr, err)
		b, err := api.CreateBinding(ctx, cardReq(ok))
		rec("bind", b, err)
		_, err = api.ConfirmBinding(ctx, b.BindingID, "999999x")
		rec("confirm-wrong", nil, err)
		otp, err := api.LastOTP(ctx, ok.Phone)
		rec("otp", otp, err)
		agr, err := api.ConfirmBinding(ctx, b.BindingID, otp)
		rec("confirm", agr, err)
		mr := bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 2500, Currency: "CNY"}
		tx, err := api.Debit(ctx, "p1", mr)
		rec("debit", tx, err)
		tx, err = api.Debit(ctx, "p1", mr)
		rec("debit-replay", tx, err)
		_, err = api.Debit(ctx, "p1", bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 1, Currency: "CNY"})
		rec("debit-mismatch", nil, err)
		tx, err = api.Credit(ctx, "c1", bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 800, Currency: "CNY"})
		rec("credit", tx, err)
		_, err = api.Debit(ctx, "big", bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: yuan(60000), Currency: "CNY"})
		rec("debit-limit", nil, err)
		f, err := api.AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpDebit, First: 1})
		rec("add-fault", f, err)
		_, err = api.Debit(ctx, "p2", mr)
		rec("debit-dropped", nil, err)
		tx, err = api.Transaction(ctx, "p2")
		rec("query-dropped", tx, err)
		_, err = api.Debit(ctx, "p3", bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 77777, Currency: "CNY"})
		rec("debit-magic-malformed", nil, err)
		_, err = api.Debit(ctx, "p4", bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 50002, Currency: "CNY"})
		rec("debit-magic-502", nil, err)
		// Header faults: the in-process context fault and the HTTP header give the same outcome.
		tx, err = api.Credit(withFault(ctx, "drop_after;op=credit"), "c2", bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 5, Currency: "CNY"})
		rec("credit-header-drop", tx, err)
		vr, err = api.Verify(withFault(ctx, "http_error;status=502"), cardReq(ok))
		rec("verify-header-502", vr, err)
		tx, err = api.Debit(withFault(ctx, "delay;delay=20ms"), "p5", mr)
		rec("debit-header-delay", tx, err)
		tx, err = api.Transaction(ctx, "c2")
		rec("query-header-drop", tx, err)
		fs, err := api.Faults(ctx)
		rec("faults", fs, err)
		now, err := api.Advance(ctx, 26*time.Hour)
		rec("advance", now, err)
		st, err := api.Statement(ctx, "2026-01-05")
		rec("statement", st, err)
		cu, err := api.Customer(ctx, ok.CardNo)
		rec("customer", cu, err)
		gen, err := api.GenerateCustomers(ctx, 2)
		rec("generate", gen, err)
		added, err := api.AddCustomer(ctx, bankapi.Customer{Bank: "BOC"})
		rec("add-customer", added, err)
		rec("unbind", nil, api.Unbind(ctx, agr.Agreement))
		j, err := bankapi.AllJournal(ctx, api)
		rec("journal", j, err)
		snap, err := api.Snapshot(ctx)
		rec("snapshot", json.RawMessage(snap), err)
		return out
	}
	inproc := func(ctx context.Context, spec string) context.Context {
		f, err := bankapi.ParseFault(spec)
		if err != nil {
			t.Fatal(err)
		}
		return bankmock.WithFault(ctx, f)
	}
	a, b := run(local, inproc), run(remote, client.WithFault)
	if len(a) != len(b) {
		t.Fatalf("in-process gave %d results, HTTP %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("step %d differs:\n in-process: %.600s\n http:       %.600s", i, a[i], b[i])
		}
	}
	s1, _ := local.Snapshot(context.Background())
	s2, _ := remoteEng.Snapshot(context.Background())
	if string(s1) != string(s2) {
		t.Error("final snapshots differ")
	}
}

// TestConcurrentDebits exercises the server, client and engine under the race detector.
func TestConcurrentDebits(t *testing.T) {
	w := newWorld(t, client.Options{})
	ctx := context.Background()
	agr, card, before := w.bindOK(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				// Every key is sent twice: the replay must not debit again.
				key := fmt.Sprintf("g%d-%d", g, i)
				for range 2 {
					_, err := w.c.Debit(ctx, key, bankapi.MoneyRequest{Agreement: agr, Amount: 3, Currency: "CNY"})
					if err != nil {
						if e, ok := bankapi.AsError(err); ok && e.Code == bankapi.CodeDuplicate {
							continue
						}
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if b := balance(t, w.c, card); b != before-8*10*3 {
		t.Errorf("balance %d, want %d", b, before-8*10*3)
	}
}

func TestErrorIsSentinel(t *testing.T) {
	w := newWorld(t, client.Options{})
	_, err := w.c.Transaction(context.Background(), "nope")
	if !errors.Is(err, bankapi.ErrNotFound) {
		t.Errorf("errors.Is(%v, ErrNotFound) = false", err)
	}
}

// Every fault kind says what it does, once, for the spec errors, the CLI's help and completion
// and chaos's help; an unknown kind's error names them all.
func TestFaultKindsHaveHelp(t *testing.T) {
	for _, k := range bankapi.FaultKinds {
		if k.Help() == "" {
			t.Errorf("fault kind %s has no help", k)
		}
	}
	_, err := bankapi.ParseFault("explode")
	if err == nil || !strings.Contains(err.Error(), strings.Join(bankapi.FaultKindNames(), ", ")) {
		t.Errorf("unknown kind: %v", err)
	}
}
