package tenant_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/tenant/tenanttest"
)

// opener opens wallets through the tenant's wallet API, the OTPs read through the tenant's own
// bank under /v1/bank/.
func opener(t *testing.T, svc *httpapi.Client) testworld.Opener {
	return testworld.Opener{T: t, Wallet: svc, OTPs: svc.Bank(5 * time.Second)}
}

// sharedBank is a bank that the tenants of a server share: a real bankmock server on loopback
// with the operator's admin token ("": the bank makes one), its handler wrapped by wrap.
func sharedBank(t *testing.T, token string, wrap func(http.Handler) http.Handler) *testworld.Bank {
	return testworld.NewBank(t, testworld.Seed(11), testworld.Customers(3), testworld.InstantSleep(), testworld.Loopback(token),
		testworld.WrapHandler(wrap))
}

// payer opens a wallet for customer c through the tenant's wallet API and tops up each amount;
// it returns the top-ups.
func payer(t *testing.T, url, key string, c bankapi.Customer, amounts ...int64) []*walletctl.Txn {
	t.Helper()
	return opener(t, httpapi.NewClient(url, key, httpapi.ClientOptions{})).OpenWallet(c, amounts...).TopUps
}

// A tenant with a private in-process bank keeps full rights on it through /v1/bank/: customers,
// bank-wide faults, the clock, snapshot and reset.
func TestPrivateBankFullRights(t *testing.T) {
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 3, Customers: 4})
	bank := srv.URL + "/v1/bank"
	k := ct.APIKey
	ok := testworld.Card("ok")
	payer(t, srv.URL, k, ok, 1000)

	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/admin/customers", "", 200},
		{"POST", "/admin/customers", `{"bank":"CMB","balance":500000}`, 201},
		{"PATCH", "/admin/customers/" + ok.CardNo, `{"balance":100}`, 200},
		{"POST", "/admin/faults", `{"spec":"refuse;op=debit;first=1"}`, 201},
		{"GET", "/admin/faults", "", 200},
		{"DELETE", "/admin/faults", "", 204},
		{"GET", "/admin/journal", "", 200},
		{"GET", "/admin/otp?phone=" + ok.Phone, "", 200},
		{"POST", "/admin/clock", `{"advance":"1h"}`, 200},
		{"GET", "/admin/snapshot", "", 200},
		{"POST", "/admin/reset", "", 204},
	} {
		st, body := testworld.Call(t, c.method, bank+c.path, k, c.body)
		if st != c.want {
			t.Errorf("%s %s on a private bank: %d %s; want %d", c.method, c.path, st, body, c.want)
		}
	}
	// The journal is the whole bank's: the wallet's own calls are in it.
	st, body := testworld.Call(t, "GET", bank+"/admin/journal", k, "")
	if st != 200 {
		t.Fatalf("journal after reset: %d %s", st, body)
	}
	// Without the tenant's key nothing of it is served.
	if st, _ := testworld.Call(t, "GET", bank+"/admin/customers", "wk_not-a-tenant-key", ""); st != http.StatusUnauthorized {
		t.Errorf("customers without a tenant key: %d", st)
	}
}

// recorder keeps the headers of the bank requests whose query has probe=1, and the
// Authorization header of every request since the last reset.
type recorder struct {
	mu   sync.Mutex
	seen []http.Header
	auth []string
}

func (r *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		if req.URL.Query().Get("probe") == "1" {
			r.seen = append(r.seen, req.Header.Clone())
		}
		r.auth = append(r.auth, req.Method+" "+req.URL.Path+" "+req.Header.Get("Authorization"))
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.auth = nil
}

func (r *recorder) auths() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auth...)
}

// metaOf reads tenant id's sandbox.json.
func metaOf(t *testing.T, data, id string) sandbox.Meta {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "tenants", id, sandbox.MetaFile))
	if err != nil {
		t.Fatal(err)
	}
	var m sandbox.Meta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// partnerOf reads the partner a tenant's home registered as at its bank.
func partnerOf(t *testing.T, data, id string) sandbox.BankRef {
	t.Helper()
	m := metaOf(t, data, id)
	if m.Bank.PartnerID == "" || m.Bank.PartnerKey == "" {
		t.Fatalf("tenant %s is no partner of its bank: %+v", id, m.Bank)
	}
	return m.Bank
}

// Two tenants of one walletctl serve share one real bank server on loopback. Through /v1/bank/
// each acts as its own partner only: it sees and changes only its own things, and bank-wide admin
// is 403. Both with a token the bank made and with one the operator chose; the server's operator
// holds it (to register tenants), and the proxy must never send it.
func TestSharedBankTenantIsolation(t *testing.T) {
	t.Run("made-token", func(t *testing.T) { testSharedBankTenantIsolation(t, "") })
	t.Run("admin-token", func(t *testing.T) { testSharedBankTenantIsolation(t, "operator-bank-token-0001") })
}

func testSharedBankTenantIsolation(t *testing.T, adminToken string) {
	ctx := context.Background()
	rec := &recorder{}
	bank := sharedBank(t, adminToken, rec.wrap)
	eng, clock := bank.Mock, bank.Clock

	data := t.TempDir()
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{Data: data, BankToken: bank.AdminToken})
	a := srv.Create(t, walletctl.TenantSpec{Name: "a", Seed: 11, Customers: 3, BankURL: bank.URL})
	b := srv.Create(t, walletctl.TenantSpec{Name: "b", Seed: 11, Customers: 3, BankURL: bank.URL})
	pa, pb := partnerOf(t, data, a.ID), partnerOf(t, data, b.ID)
	if pa.PartnerID == pb.PartnerID {
		t.Fatalf("two tenants are one partner %s", pa.PartnerID)
	}

	newCustomer := func() bankapi.Customer { return bank.AddCustomer(bankapi.Customer{Bank: "ICBC", Balance: 10_000_00}) }
	ca, cb := newCustomer(), newCustomer()
	payer(t, srv.URL, a.APIKey, ca, 100_00)
	txnsB := payer(t, srv.URL, b.APIKey, cb, 200_00, 300_00)

	bankA, bankB := srv.URL+"/v1/bank", srv.URL+"/v1/bank"
	get := func(url, key string, out any) int {
		t.Helper()
		st, body := testworld.Call(t, "GET", url, key, "")
		if st == 200 && out != nil {
			if err := json.Unmarshal([]byte(body), out); err != nil {
				t.Fatalf("GET %s: %v in %s", url, err, body)
			}
		}
		return st
	}

	// B's journal as B sees it: the keys B used at the bank.
	var pageB bankapi.List[bankapi.JournalEntry] // one page holds it all (has_more false)
	if st := get(bankB+"/admin/journal?limit=100", b.APIKey, &pageB); st != 200 || len(pageB.Data) == 0 || pageB.HasMore {
		t.Fatalf("B's own journal: %d, %d entries (more: %v)", st, len(pageB.Data), pageB.HasMore)
	}
	keysB := map[string]bool{}
	for _, e := range pageB.Data {
		if e.Partner != pb.PartnerID {
			t.Errorf("B's journal holds an entry of partner %q: %+v", e.Partner, e)
		}
		if e.IdempotencyKey != "" {
			keysB[e.IdempotencyKey] = true
		}
	}

	// A's journal: only A's entries, none of B's.
	var pageA bankapi.List[bankapi.JournalEntry] // one page holds it all (has_more false)
	if st := get(bankA+"/admin/journal?limit=100", a.APIKey, &pageA); st != 200 || len(pageA.Data) == 0 || pageA.HasMore {
		t.Fatalf("A's own journal: %d, %d entries (more: %v)", st, len(pageA.Data), pageA.HasMore)
	}
	keysA := map[string]bool{}
	for _, e := range pageA.Data {
		if e.Partner != pa.PartnerID {
			t.Errorf("A reads a journal entry of partner %q: %+v", e.Partner, e)
		}
		keysA[e.IdempotencyKey] = true
	}

	// B's transactions: a key only B used is 404 for A; a key both used answers A's own record.
	onlyB := 0
	for k := range keysB {
		var tx bankapi.Transaction
		st := get(bankA+"/v1/transactions/"+k, a.APIKey, &tx)
		switch {
		case !keysA[k]:
			onlyB++
			if st != http.StatusNotFound {
				t.Errorf("A reads B's transaction %s: %d %+v", k, st, tx)
			}
		case st == 200 && (tx.Amount == 200_00 || tx.Amount == 300_00):
			t.Errorf("A's query of the key %s answers B's transaction %+v", k, tx)
		}
	}
	if onlyB == 0 {
		t.Fatalf("no key of B's is unknown to A (A %v, B %v): the check proves nothing", keysA, keysB)
	}
	for _, txn := range txnsB {
		if txn.IdempotencyKey != "" && !keysA[txn.IdempotencyKey] {
			if st := get(bankA+"/v1/transactions/"+txn.IdempotencyKey, a.APIKey, nil); st != http.StatusNotFound {
				t.Errorf("A reads B's top-up %s: %d", txn.IdempotencyKey, st)
			}
		}
	}
	// The statement of the day: A's money only.
	day := clock.Now().In(vclock.Shanghai).Format("2006-01-02")
	var stmt bankapi.Statement
	if st := get(bankA+"/v1/statements/"+day, a.APIKey, &stmt); st != 200 || stmt.DebitTotal != 100_00 || stmt.DebitCount != 1 {
		t.Errorf("A's statement %s: %d %+v; want A's one debit of 100.00", day, st, stmt)
	}

	// B's OTP: absent for A.
	var otp struct{ OTP string }
	if st := get(bankA+"/admin/otp?phone="+cb.Phone, a.APIKey, &otp); st != http.StatusNotFound && otp.OTP != "" {
		t.Errorf("A reads B's OTP: %d %q", st, otp.OTP)
	}

	// Faults: A's rule is A's (never bank-wide, whatever it names), B neither sees it nor meets it.
	st, body := testworld.Call(t, "POST", bankA+"/admin/faults", a.APIKey, `{"kind":"refuse","op":"debit","partner":"`+pb.PartnerID+`"}`)
	var fa bankapi.Fault
	switch {
	case st == http.StatusCreated:
		json.Unmarshal([]byte(body), &fa)
		if fa.Partner != pa.PartnerID {
			t.Errorf("A's fault rule naming B is %+v; want it scoped to A (%s)", fa, pa.PartnerID)
		}
	case st != http.StatusForbidden && st != http.StatusBadRequest:
		t.Errorf("A adding a fault rule for B: %d %s", st, body)
	}
	st, body = testworld.Call(t, "POST", bankA+"/admin/faults", a.APIKey, `{"spec":"http_error;op=credit;status=503"}`)
	if st != http.StatusCreated {
		t.Fatalf("A's own fault rule: %d %s", st, body)
	}
	json.Unmarshal([]byte(body), &fa)
	if fa.Partner != pa.PartnerID {
		t.Errorf("A's own fault rule is %+v; want partner %s (a bank-wide rule needs the bank's admin token)", fa, pa.PartnerID)
	}
	var faultsB []bankapi.Fault
	if st := get(bankB+"/admin/faults", b.APIKey, &faultsB); st != 200 {
		t.Errorf("B's faults: %d", st)
	}
	for _, f := range faultsB {
		if f.Partner != pb.PartnerID {
			t.Errorf("B sees a fault rule of partner %q: %+v", f.Partner, f)
		}
	}
	if st, _ := testworld.Call(t, "DELETE", bankB+"/admin/faults/"+fa.ID, b.APIKey, ""); st != http.StatusNotFound {
		t.Errorf("B deletes A's fault rule %s: %d; want 404", fa.ID, st)
	}
	if txns := payer(t, srv.URL, b.APIKey, newCustomer(), 50_00); txns[0].Status != walletctl.TxnSucceeded {
		t.Errorf("B's top-up under A's fault rule: %+v", txns[0])
	}
	if st, _ := testworld.Call(t, "DELETE", bankA+"/admin/faults", a.APIKey, ""); st != http.StatusNoContent {
		t.Errorf("A clears its own fault rules: %d", st)
	}

	// Reading the customers (the bank's test identities) is every partner's, so a tenant's flow
	// open-wallet can pick one; changing them is bank-wide admin.
	for _, path := range []string{"/admin/customers", "/admin/customers/" + cb.CardNo} {
		if st, body := testworld.Call(t, "GET", bankA+path, a.APIKey, ""); st != http.StatusOK || !strings.Contains(body, cb.CardNo) {
			t.Errorf("tenant A GET %s on the shared bank: %d %s; want 200", path, st, body)
		}
	}
	// Bank-wide admin: 403 (the proxy sends the tenant's partner key, never the operator's token).
	before, _ := eng.Now(ctx)
	custBefore, _ := bankapi.AllCustomers(ctx, eng)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/admin/customers", `{"bank":"CMB","balance":500000}`},
		{"PATCH", "/admin/customers/" + cb.CardNo, `{"balance":1}`},
		{"POST", "/admin/reset", ""},
		{"GET", "/admin/snapshot", ""},
		{"PUT", "/admin/snapshot", `{}`},
		{"GET", "/admin/partners", ""},
		{"POST", "/admin/partners", `{"name":"mine"}`},
	} {
		if st, body := testworld.Call(t, c.method, bankA+c.path, a.APIKey, c.body); st != http.StatusForbidden {
			t.Errorf("tenant A %s %s on the shared bank: %d %s; want 403", c.method, c.path, st, body)
		} else if strings.Contains(body, cb.CardNo) {
			t.Errorf("%s %s: the refusal shows a card number: %s", c.method, c.path, body)
		}
	}
	// The clock is a partner's own, and moves with the wallet's: through the proxy alone it is
	// refused (POST /v1/clock/advance moves both; TestSharedBankTenantClockIsItsOwn).
	if st, body := testworld.Call(t, "POST", bankA+"/admin/clock", a.APIKey, `{"advance":"24h"}`); st != http.StatusForbidden || !strings.Contains(body, "/v1/clock/advance") {
		t.Errorf("tenant A moves its bank clock alone: %d %s; want 403 naming /v1/clock/advance", st, body)
	}
	if after, _ := eng.Now(ctx); !after.Equal(before) {
		t.Errorf("the bank's clock moved from %s to %s", before, after)
	}
	if after, _ := eng.Now(bankmock.WithPartner(ctx, pb.PartnerID)); !after.Equal(before) {
		t.Errorf("B's clock moved from %s to %s", before, after)
	}
	if custAfter, _ := bankapi.AllCustomers(ctx, eng); len(custAfter) != len(custBefore) {
		t.Errorf("the bank's customers went from %d to %d", len(custBefore), len(custAfter))
	}
	if c, err := eng.Customer(ctx, cb.CardNo); err != nil || c.Balance == 1 {
		t.Errorf("B's card after A's attempts: %+v %v", c, err)
	}

	// What crosses the proxy: only the tenant's partner key and the protocol's headers.
	st, _ = testworld.Call(t, "GET", bankA+"/admin/journal?probe=1", a.APIKey, "", "Cookie", "session=x",
		"X-Forwarded-For", "10.0.0.1", "X-Bankmock-Fault", "delay;delay=1ms", "X-Other", "y")
	if st != 200 {
		t.Fatalf("probe: %d", st)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) != 1 {
		t.Fatalf("the bank saw %d probe requests", len(rec.seen))
	}
	h := rec.seen[0]
	if got := h.Get("Authorization"); got != "Bearer "+pa.PartnerKey {
		t.Errorf("the bank got Authorization %q; want A's partner key only", got)
	}
	if h.Get("Cookie") != "" || h.Get("X-Other") != "" || strings.Contains(strings.Join(h.Values("X-Forwarded-For"), ","), "10.0.0.1") {
		t.Errorf("the proxy forwarded the caller's headers: %v", h)
	}
	if h.Get(bankapi.HeaderFault) != "delay;delay=1ms" {
		t.Errorf("X-Bankmock-Fault did not pass: %v", h)
	}
}

// TestSharedBankTenantClockIsItsOwn is attack 3 of issue 18: two tenants of one server on one
// shared bank. Tenant B starts binding a card (the bank sends an SMS code, valid 5 minutes); tenant
// A moves its clock an hour (walletctl --backend ... clock advance 1h); B's code is still good.
// Only A's partner clock moved at the bank, never the bank's own, and the operator's bank token
// was never sent by a tenant's request.
func TestSharedBankTenantClockIsItsOwn(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	const token = "operator-bank-token-0002"
	bank := sharedBank(t, token, rec.wrap)
	eng := bank.Mock
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{Data: t.TempDir(), BankToken: token})
	a := srv.Create(t, walletctl.TenantSpec{Name: "a", Seed: 11, Customers: 3, BankURL: bank.URL})
	b := srv.Create(t, walletctl.TenantSpec{Name: "b", Seed: 11, Customers: 3, BankURL: bank.URL})

	c := bank.AddCustomer(bankapi.Customer{Bank: "ICBC", Balance: 10_000_00})
	svcB := httpapi.NewClient(srv.URL, b.APIKey, httpapi.ClientOptions{})
	pending := opener(t, svcB).PendingBinding(c)
	rec.reset()
	now, err := httpapi.NewClient(srv.URL, a.APIKey, httpapi.ClientOptions{}).Advance(ctx, time.Hour)
	if err != nil || !now.Equal(vclock.DefaultEpoch.Add(time.Hour)) {
		t.Fatalf("tenant A's clock advance: %v %v", now, err)
	}
	for _, h := range rec.auths() {
		if strings.Contains(h, token) {
			t.Fatalf("tenant A's clock advance reached the bank with the operator's token")
		}
	}
	if got, _ := eng.Now(ctx); !got.Equal(vclock.DefaultEpoch) {
		t.Fatalf("tenant A's clock advance moved the shared bank's clock to %v", got)
	}
	if _, err := svcB.ConfirmCard(ctx, pending.User.ID, pending.Binding.BindingID, pending.OTP); err != nil {
		t.Fatalf("tenant B's pending SMS code no longer works after tenant A's clock advance: %v", err)
	}
	// A's own time did move, at the bank too.
	if got, err := httpapi.NewClient(srv.URL, a.APIKey, httpapi.ClientOptions{}).Bank(5 * time.Second).Now(ctx); err != nil || !got.Equal(vclock.DefaultEpoch.Add(time.Hour)) {
		t.Fatalf("tenant A's time at the bank: %v %v", got, err)
	}
}
