package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/postgres"
	"github.com/walletctl/walletctl/walletctl/postgres/pgtest"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// sharedWorld is a real bankmock server on loopback, shared by every wallet server of a test.
type sharedWorld struct {
	bank     *bankmock.Engine
	clock    *vclock.Manual
	url      string
	key      string          // the partner key every server of the shared tenant uses at the bank
	asTenant context.Context // a context acting as that partner, to read its statement
}

func startBank(t testing.TB, customers int) *sharedWorld {
	t.Helper()
	b := testworld.NewBank(t, testworld.Customers(customers), testworld.InstantSleep(), testworld.Loopback(""))
	pc, err := b.Mock.CreatePartner(context.Background(), "shared tenant")
	if err != nil {
		t.Fatal(err)
	}
	return &sharedWorld{bank: b.Mock, clock: b.Clock, url: b.URL, key: pc.Key,
		asTenant: bankmock.WithPartner(context.Background(), pc.ID)}
}

// pgServers starts n wallet servers, each with its own data folder, on one PostgreSQL database
// and one bank, all serving one tenant with key: the first creates it, the others join it.
func pgServers(t testing.TB, n int, w *sharedWorld, key string, settings *walletctl.Settings) (*postgres.Store, []*httptest.Server) {
	t.Helper()
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("h_%d_%d_", os.Getpid(), time.Now().UnixNano()%1e9) // tests side by side on one database
	var servers []*Server
	var sets []*tenant.Set
	var hss []*httptest.Server
	for i := range n {
		s, ts := newServer(t, Options{}, tenant.Options{Store: dsn, SchemaPrefix: prefix, Throwaway: true, Now: fixedNow,
			Settings: settings})
		sets = append(sets, ts)
		if _, err := s.Tenants().Create(ctx, walletctl.TenantSpec{Name: "shared", APIKey: key, BankURL: w.url, BankKey: w.key, Join: i > 0}); err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(s)
		servers, hss = append(servers, s), append(hss, hs)
	}
	// The test's own view of the tenant's schema: the ledger and the txns, read directly.
	st, err := postgres.OpenWith(ctx, dsn, postgres.Options{Schema: sets[0].Schema("t1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i, hs := range hss {
			hs.Close()
			if err := servers[i].Close(ctx); err != nil {
				t.Error(err)
			}
		}
		// Bounded: a session left inside a transaction would block DROP SCHEMA forever.
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := st.DropSchema(dctx); err != nil {
			t.Errorf("drop %s: %v", st.Schema(), err)
		}
		st.Close()
	})
	return st, hss
}

// Without a shared bank a tenant on PostgreSQL is refused: each server's in-process bank would
// diverge. --keep-open is refused too.
func TestPostgresTenantNeedsSharedBank(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	s, _ := newServer(t, Options{}, tenant.Options{Store: dsn, SchemaPrefix: "h_refused_", Throwaway: true})
	defer s.Close(ctx)
	_, err := s.Tenants().Create(ctx, walletctl.TenantSpec{APIKey: "pg-no-bank-key-0001"})
	if walletctl.ErrorCode(err) != walletctl.CodeInvalidArgument {
		t.Errorf("tenant without bank_url on PostgreSQL: %v; want INVALID_ARGUMENT", err)
	}
	// With a bank but no partner key, each server would register its own partner.
	_, err = s.Tenants().Create(ctx, walletctl.TenantSpec{APIKey: "pg-no-bank-key-0001", BankURL: startBank(t, 1).url})
	if walletctl.ErrorCode(err) != walletctl.CodeInvalidArgument || !strings.Contains(err.Error(), "bank_key") {
		t.Errorf("tenant without bank_key on PostgreSQL: %v; want INVALID_ARGUMENT naming bank_key", err)
	}
	if _, err := tenant.Open(ctx, tenant.Options{Data: t.TempDir(), Store: dsn, KeepOpen: true}); walletctl.ErrorCode(err) != walletctl.CodeInvalidArgument {
		t.Errorf("KeepOpen on PostgreSQL: %v; want INVALID_ARGUMENT", err)
	}
}

// Two wallet servers on one PostgreSQL database serve one tenant over one real bank server: a
// concurrent workload of top-ups, payments and transfers against both (some top-ups sent to both
// at once with the same Idempotency-Key) leaves a balanced ledger, a reconciliation without
// mismatches, one wallet txn per caller key and one bank txn per bank key; the clock advanced
// through one server is the other's.
func TestTwoServersOnePostgresTenant(t *testing.T) {
	w := startBank(t, 16)
	settings := walletctl.SandboxSettings()
	settings.VelocityMax, settings.DailyLimit = 0, 0
	const key = "shared-tenant-key-0001"
	st, hss := pgServers(t, 2, w, key, &settings)
	ctx := context.Background()
	cs := []*Client{NewClient(hss[0].URL, key, ClientOptions{}), NewClient(hss[1].URL, key, ClientOptions{})}

	// Users: the healthy test card and generated active debit cards with money.
	custs := []bankapi.Customer{testworld.Card("ok")}
	all, err := bankapi.AllCustomers(ctx, w.bank)
	if err != nil {
		t.Fatal(err)
	}
	magic := map[string]bool{}
	for _, tc := range bankmock.TestCards {
		magic[tc.Customer.CardNo] = true // faults and declines by design
	}
	for _, c := range all {
		if !magic[c.CardNo] && len(custs) < 4 && c.Type == bankapi.CardDebit && c.Status == bankapi.CardActive && c.Balance >= 5_000_00 {
			if b, ok := bankmock.BankByCode(c.Bank); !ok || !b.OnlineBinding {
				continue
			}
			custs = append(custs, c)
		}
	}
	if len(custs) < 3 {
		t.Fatalf("only %d usable customers", len(custs))
	}
	type payer struct{ id, card string }
	var ps []payer
	for i, c := range custs {
		id, card := testworld.Opener{T: t, Wallet: cs[i%2], OTPs: w.bank}.OpenWallet(c).IDs() // set up through both servers
		ps = append(ps, payer{id, card})
	}

	const workers, rounds = 8, 6
	var wg sync.WaitGroup
	var mu sync.Mutex
	sameKey := map[string][]string{} // caller key -> txn ids both servers answered
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				c := cs[(g+r)%2]
				p := ps[(g+r)%len(ps)]
				q := ps[(g+r+1)%len(ps)]
				var err error
				switch r % 3 {
				case 0:
					_, err = c.TopUp(ctx, p.id, p.card, 50_00, testworld.Password)
				case 1:
					_, err = c.Pay(ctx, walletctl.PayRequest{UserID: p.id, Merchant: "m-cafe", Amount: 3_00, Source: "card:" + p.card, Password: testworld.Password})
				case 2:
					_, err = c.Transfer(ctx, walletctl.TransferRequest{UserID: p.id, To: q.id, Amount: 1_00, Delay: "none", Password: testworld.Password})
				}
				if err != nil {
					t.Errorf("worker %d round %d: %v", g, r, err)
				}
			}
			// The same top-up sent to both servers at once under one key: one movement.
			k := fmt.Sprintf("both-%d", g)
			p := ps[g%len(ps)]
			var both sync.WaitGroup
			for _, c := range cs {
				both.Add(1)
				go func() {
					defer both.Done()
					tx, err := c.TopUp(walletctl.WithIdempotencyKey(ctx, k), p.id, p.card, 7_00, testworld.Password)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						sameKey[k] = append(sameKey[k], tx.ID)
					case walletctl.ErrorCode(err) == walletctl.CodeConflict || walletctl.ErrorCode(err) == walletctl.CodePending:
						// The twin is in flight: no second movement, and the retry below replays it.
					default:
						t.Errorf("key %s: %v", k, err)
					}
				}()
			}
			both.Wait()
			// A retry through either server now replays the one recorded txn.
			tx, err := cs[g%2].TopUp(walletctl.WithIdempotencyKey(ctx, k), p.id, p.card, 7_00, testworld.Password)
			if err != nil {
				t.Errorf("replay of %s: %v", k, err)
				return
			}
			mu.Lock()
			sameKey[k] = append(sameKey[k], tx.ID)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(sameKey) != workers {
		t.Errorf("%d shared keys answered; want %d", len(sameKey), workers)
	}
	for k, ids := range sameKey {
		if len(ids) < 2 {
			t.Errorf("key %s: only %v answered", k, ids)
			continue
		}
		for _, id := range ids[1:] {
			if id != ids[0] {
				t.Errorf("key %s gave txns %v: more than one movement", k, ids)
				break
			}
		}
	}

	// The clock is the tenant's partner clock at the bank: advanced through one server, read
	// through the other; the bank's own clock (every other partner's) stays where it was.
	baseBefore := w.clock.Now()
	before, err := cs[1].Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs[0].Advance(ctx, 26*time.Hour); err != nil {
		t.Fatal(err)
	}
	after, err := cs[1].Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	partnerNow, err := w.bank.Now(w.asTenant)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Sub(before); got != 26*time.Hour || !after.Equal(partnerNow) {
		t.Errorf("server B's clock moved %v to %v (the tenant's time at the bank %v); want 26h, the bank's", got, after, partnerNow)
	}
	if !w.clock.Now().Equal(baseBefore) {
		t.Errorf("a tenant's advance moved the shared bank's own clock to %v", w.clock.Now())
	}

	// Reconcile the first day through each server: nothing pending, no mismatch.
	day := vclock.Day(vclock.DefaultEpoch)
	for i, c := range cs {
		rep, err := c.Reconcile(ctx, day)
		if err != nil {
			t.Fatalf("reconcile via server %d: %v", i, err)
		}
		if len(rep.Mismatches) > 0 || rep.StillPending > 0 || rep.LedgerSum != 0 || rep.Matched == 0 {
			t.Errorf("reconcile via server %d: %+v", i, rep)
		}
	}

	// The ledger, and one bank txn per wallet movement.
	var txns []walletctl.TxnRecord
	if err := st.View(ctx, func(tx walletctl.StoreTx) error {
		lr, err := tx.LedgerCheck()
		if err != nil {
			return err
		}
		if lr.Sum != 0 || len(lr.UnbalancedTxns)+len(lr.DriftedAccounts)+len(lr.NegativeAccounts) > 0 {
			t.Errorf("ledger: %+v", lr)
		}
		for _, p := range ps {
			ts, err := tx.ListTxns(p.id)
			if err != nil {
				return err
			}
			txns = append(txns, ts...)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	stmt, err := w.bank.Statement(w.asTenant, day)
	if err != nil {
		t.Fatal(err)
	}
	bankByKey := map[string]int{}
	for _, l := range stmt.Transactions {
		bankByKey[l.IdempotencyKey]++
	}
	walletByKey := map[string]string{}
	for _, x := range txns {
		if x.BankKey == "" || x.Status != walletctl.TxnSucceeded {
			continue
		}
		if prev, dup := walletByKey[x.BankKey]; dup && prev != x.ID {
			t.Errorf("bank key %s used by wallet txns %s and %s", x.BankKey, prev, x.ID)
		}
		walletByKey[x.BankKey] = x.ID
		if bankByKey[x.BankKey] != 1 {
			t.Errorf("wallet txn %s: the bank settled key %s %d times; want 1", x.ID, x.BankKey, bankByKey[x.BankKey])
		}
	}
	for k, n := range bankByKey {
		if n != 1 {
			t.Errorf("bank key %s settled %d times", k, n)
		}
		if _, ok := walletByKey[k]; !ok {
			t.Errorf("bank key %s has no succeeded wallet txn", k)
		}
	}
	// Expected bank movements: workers*rounds less the transfers, plus one per shared key.
	if want := workers*rounds - workers*rounds/3 + workers; len(bankByKey) != want {
		t.Errorf("%d bank txns; want %d", len(bankByKey), want)
	}
}

// A tenant's schema: another server joining it sees its users; creating it without join empties
// it; deleting the tenant drops it.
func TestPostgresTenantSchemaLifecycle(t *testing.T) {
	w := startBank(t, 2)
	const key = "lifecycle-tenant-key-01"
	st, hss := pgServers(t, 2, w, key, nil)
	ctx := context.Background()
	users := func() int {
		t.Helper()
		var n int
		if err := st.View(ctx, func(tx walletctl.StoreTx) error {
			us, err := tx.ListUsers()
			n = len(us)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := NewClient(hss[0].URL, key, ClientOptions{}).Register(ctx, testworld.Card("ok").Phone); err != nil {
		t.Fatal(err)
	}
	if us, err := walletctl.Items(NewClient(hss[1].URL, key, ClientOptions{}).Users(ctx, walletctl.MaxPage)); err != nil || len(us) != 1 {
		t.Fatalf("the joined server lists %v, %v; want the one user", us, err)
	}
	// A third server creating the same tenant without join starts it afresh.
	prefix := strings.TrimSuffix(st.Schema(), "t1")
	s3, _ := newServer(t, Options{}, tenant.Options{Store: pgtest.DSN(t), SchemaPrefix: prefix, Throwaway: true})
	defer s3.Close(ctx)
	if _, err := s3.Tenants().Create(ctx, walletctl.TenantSpec{APIKey: key, BankURL: w.url, BankKey: w.key}); err != nil {
		t.Fatal(err)
	}
	if n := users(); n != 0 {
		t.Errorf("%d users after a create without join; want 0", n)
	}
	if _, err := NewClient(hss[1].URL, key, ClientOptions{}).Register(ctx, testworld.Card("ok").Phone); err != nil {
		t.Fatal(err)
	}
	if err := s3.Tenants().Delete(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := st.View(ctx, func(tx walletctl.StoreTx) error {
		_, err := tx.ListUsers()
		exists = err == nil
		return nil
	}); err != nil || exists {
		t.Errorf("the schema %s still answers after the tenant was deleted (%v)", st.Schema(), err)
	}
}
