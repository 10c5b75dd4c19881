package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/bankadapter"
	"github.com/walletctl/walletctl/walletctl/engine"
)

const pw = "385926"

// newEngine is one wallet process: its own store pool, bank client and engine.
func newEngine(t testing.TB, st walletctl.Store, api bankapi.API, admin bankapi.Admin, clock walletctl.Clock, seed byte, set walletctl.Settings) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{Store: st, Bank: bankadapter.New(api), Identity: bankadapter.NewRegistry(admin), Clock: clock,
		Settings: set, Entropy: rand.NewChaCha8([32]byte{seed}),
		SecretKey: st.(interface{ SecretKey() []byte }).SecretKey()}) // the schema's: one key for every process
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ledgerOK(t testing.TB, st walletctl.Store) {
	t.Helper()
	var r *walletctl.LedgerReport
	if err := st.View(context.Background(), func(tx walletctl.StoreTx) error {
		var err error
		r, err = tx.LedgerCheck()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, &walletctl.LedgerReport{}) {
		t.Errorf("ledger invariant broken: %+v", r)
	}
}

func ok[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// ready registers, verifies and binds a new bank customer and sets the password.
func ready(t testing.TB, ctx context.Context, e *engine.Engine, admin bankapi.Admin, c bankapi.Customer) (string, string) {
	t.Helper()
	u := ok[*walletctl.User](t)(e.Register(ctx, c.Phone))
	ok[*walletctl.KYC](t)(e.SubmitKYC(ctx, u.ID, c.Name, c.IDNo))
	b := ok[*walletctl.CardBinding](t)(e.BindCard(ctx, u.ID, c.CardNo, c.Phone))
	otp := ok[string](t)(admin.LastOTP(ctx, c.Phone))
	cd := ok[*walletctl.Card](t)(e.ConfirmCard(ctx, u.ID, b.BindingID, otp))
	if err := e.SetPassword(ctx, u.ID, pw); err != nil {
		t.Fatal(err)
	}
	return u.ID, cd.ID
}

func customer(t testing.TB, ctx context.Context, admin bankapi.Admin, name string) bankapi.Customer {
	t.Helper()
	return *ok[*bankapi.Customer](t)(admin.AddCustomer(ctx, bankapi.Customer{Bank: "ICBC", Name: name, Type: bankapi.CardDebit,
		Status: bankapi.CardActive, Balance: 1_000_000_00}))
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if we, isWE := err.(*walletctl.Error); !isWE || we.Code != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

// The engine's flows on the PostgreSQL store: bind, top-up, a lost answer left pending and
// settled by reconcile, transfer and accept, withdraw; the ledger invariant holds throughout.
func TestEngineFlows(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{})
	clock := vclock.NewManual(vclock.DefaultEpoch)
	bank := bankmock.New(bankmock.Config{Seed: 7, Customers: 2, Clock: clock})
	e := newEngine(t, st, bank, bank, clock, 1, walletctl.SandboxSettings())

	a, ca := ready(t, ctx, e, bank, customer(t, ctx, bank, "张三"))
	b, _ := ready(t, ctx, e, bank, customer(t, ctx, bank, "李四"))
	if tx := ok[*walletctl.Txn](t)(e.TopUp(ctx, a, ca, 10_000, pw)); tx.Status != walletctl.TxnSucceeded {
		t.Fatalf("top-up %+v", tx)
	}
	ok[*bankapi.Fault](t)(bank.AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpDebit, First: 1}))
	_, err := e.TopUp(ctx, a, ca, 2_000, pw)
	wantCode(t, err, walletctl.CodePending)
	rep := ok[*walletctl.ReconcileReport](t)(e.Reconcile(ctx, ""))
	if rep.Settled != 1 || rep.Matched != 2 || len(rep.Mismatches) != 0 || rep.LedgerSum != 0 {
		t.Fatalf("reconcile %+v", rep)
	}
	tr := ok[*walletctl.Transfer](t)(e.Transfer(ctx, walletctl.TransferRequest{UserID: a, To: b, Amount: 3_000, Password: pw}))
	if tr.Status != walletctl.TransferArrived {
		t.Fatalf("transfer %+v", tr)
	}
	ok[*walletctl.Transfer](t)(e.AcceptTransfer(ctx, b, tr.ID))
	ok[*walletctl.Txn](t)(e.Withdraw(ctx, a, ca, 1_000, pw))
	for u, want := range map[string]int64{a: 8_000, b: 3_000} {
		if got := ok[*walletctl.Balance](t)(e.Balance(ctx, u)).Available; got != want {
			t.Errorf("balance of %s %d, want %d", u, got, want)
		}
	}
	_, err = e.Pay(ctx, walletctl.PayRequest{UserID: b, Merchant: "m-cafe", Amount: 5_000, Source: "balance", Password: pw})
	wantCode(t, err, walletctl.CodeInsufficientBalance)
	ledgerOK(t, st)
}

// Two wallet processes (two engines, each with its own connection pool and bank client) serve
// one schema and one bank (a real bankmock server on loopback) under a concurrent workload of
// payments, transfers, top-ups and withdrawals, with some requests sent to both at once under one
// idempotency key and a reconciler running beside them. Afterwards the ledger invariant holds,
// reconcile finds the bank and the wallet in agreement, and no idempotency key was settled twice.
func TestTwoEnginesOneDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second) // a hang fails, with the calls' errors
	defer cancel()
	clock := vclock.NewManual(vclock.DefaultEpoch)
	bank := bankmock.New(bankmock.Config{Seed: 7, Customers: 2, Clock: clock})
	srv := server.New(bank, server.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { srv.ReleaseHangs(); ts.Close() })

	set := walletctl.SandboxSettings()
	set.VelocityMax, set.DailyLimit = 0, 0 // the workload pays far more often than a person does
	stA := openTest(t, Options{MaxConns: 16})
	stB, err := OpenWith(ctx, dsn(t), Options{Schema: stA.Schema(), MaxConns: 16, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stB.Close() })
	var engines [2]*engine.Engine
	for i, st := range []walletctl.Store{stA, stB} {
		cl := client.New(ts.URL, client.Options{Timeout: 5 * time.Second, Retries: -1})
		engines[i] = newEngine(t, st, cl, cl, clock, byte(i+1), set)
	}

	const nUsers = 6
	users, cards := make([]string, nUsers), make([]string, nUsers)
	for i := range users {
		users[i], cards[i] = ready(t, ctx, engines[i%2], bank, customer(t, ctx, bank, fmt.Sprintf("用户%c", '甲'+rune(i))))
		ok[*walletctl.Txn](t)(engines[(i+1)%2].TopUp(ctx, users[i], cards[i], 5_000_00, pw))
	}

	const workers, ops = 4, 12 // per engine
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var reconciles int
	wg.Add(1)
	go func() { // a reconciler on B, racing the bank calls of both
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := engines[1].Reconcile(ctx, ""); err != nil {
				t.Errorf("reconcile: %v", err)
				return
			}
			reconciles++
		}
	}()
	var mu sync.Mutex
	counts := map[string]int{}
	var work sync.WaitGroup
	for w := 0; w < workers; w++ {
		for ei, e := range engines {
			work.Add(1)
			go func(w, ei int, e *engine.Engine) {
				defer work.Done()
				rng := rand.New(rand.NewPCG(uint64(w), uint64(ei))) // the twin workers differ but share dup keys
				for i := 0; i < ops; i++ {
					u := rng.IntN(nUsers)
					c := ctx
					op := rng.IntN(5)
					if i%4 == 0 { // both engines get this one at once under one key: settled once
						u, op = (w+i)%nUsers, i%3
						c = walletctl.WithIdempotencyKey(ctx, fmt.Sprintf("dup-%d-%d", w, i))
					}
					amount := int64(1 + rng.IntN(50_00))
					if i%4 == 0 {
						amount = int64(100 + w*10 + i)
					}
					var err error
					var kind string
					switch op {
					case 0:
						kind = "pay-card"
						_, err = e.Pay(c, walletctl.PayRequest{UserID: users[u], Merchant: "m-cafe", Amount: amount, Source: "card:" + cards[u], Password: pw})
					case 1:
						kind = "pay-balance"
						_, err = e.Pay(c, walletctl.PayRequest{UserID: users[u], Merchant: "m-rail", Amount: amount, Source: "balance", Password: pw})
					case 2:
						kind = "top-up"
						_, err = e.TopUp(c, users[u], cards[u], amount, pw)
					case 3:
						kind = "transfer"
						_, err = e.Transfer(c, walletctl.TransferRequest{UserID: users[u], To: users[(u+1)%nUsers], Amount: amount, Password: pw})
					case 4:
						kind = "withdraw"
						_, err = e.Withdraw(c, users[u], cards[u], amount, pw)
					}
					outcome := "ok"
					if err != nil {
						we, isWE := err.(*walletctl.Error)
						if !isWE || we.Code == walletctl.CodeInternal {
							t.Errorf("%s: %v", kind, err)
							continue
						}
						outcome = we.Code
					}
					mu.Lock()
					counts[kind+" "+outcome]++
					mu.Unlock()
				}
			}(w, ei, e)
		}
	}
	work.Wait()
	close(stop)
	wg.Wait()
	t.Logf("outcomes %v; %d reconciles alongside; retries A %d, B %d", counts, reconciles, stA.Retries(), stB.Retries())
	if counts["pay-card ok"] == 0 || counts["transfer ok"] == 0 || counts["top-up ok"] == 0 {
		t.Errorf("the workload did too little: %v", counts)
	}

	rep := ok[*walletctl.ReconcileReport](t)(engines[0].Reconcile(ctx, ""))
	if rep.StillPending != 0 || len(rep.Mismatches) != 0 || rep.LedgerSum != 0 {
		t.Errorf("final reconcile %+v", rep)
	}
	ledgerOK(t, stA)
	// Each idempotency key: at most one wallet txn (the unique index), and at most one settled
	// bank transaction per bank key in the bank's statement.
	st := ok[*bankapi.Statement](t)(bank.Statement(ctx, vclock.Day(clock.Now())))
	seen := map[string]int{}
	for _, l := range st.Transactions {
		seen[l.IdempotencyKey]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("bank key %s settled %d times", k, n)
		}
	}
	dups := map[string]bool{}
	if err := stA.View(ctx, func(tx walletctl.StoreTx) error {
		for _, u := range users {
			list, err := tx.ListTxns(u)
			if err != nil {
				return err
			}
			for _, r := range list {
				if len(r.IdempotencyKey) > len(u)+5 && r.IdempotencyKey[len(u)+1:len(u)+5] == "dup-" {
					dups[r.ID] = true
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := workers * ((ops + 3) / 4); len(dups) > want || len(dups) == 0 {
		t.Errorf("%d wallet txns under shared keys, want 1 to %d", len(dups), want)
	}
}

// A status query in one process must not read the bank's "not found yet" as "never happened"
// while another process's call for that txn is still on its way: the bank would then charge a
// txn the wallet had failed. Process A's top-up is delayed at the bank; process B reconciles
// meanwhile and must leave it pending; A then settles it succeeded.
func TestStatusQueryWhileAnotherProcessCalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clock := vclock.NewManual(vclock.DefaultEpoch)
	bank := bankmock.New(bankmock.Config{Seed: 7, Customers: 2, Clock: clock})
	srv := server.New(bank, server.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { srv.ReleaseHangs(); ts.Close() })
	stA := openTest(t, Options{})
	stB, err := OpenWith(ctx, dsn(t), Options{Schema: stA.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stB.Close() })
	var engines [2]*engine.Engine
	for i, st := range []walletctl.Store{stA, stB} {
		cl := client.New(ts.URL, client.Options{Timeout: 5 * time.Second, Retries: -1})
		engines[i] = newEngine(t, st, cl, cl, clock, byte(i+1), walletctl.SandboxSettings())
	}
	u, c := ready(t, ctx, engines[0], bank, customer(t, ctx, bank, "张三"))
	ok[*bankapi.Fault](t)(bank.AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultDelay, Op: bankapi.OpDebit, First: 1, Delay: 700 * time.Millisecond}))
	done := make(chan error, 1)
	var got *walletctl.Txn
	go func() {
		var err error
		got, err = engines[0].TopUp(ctx, u, c, 1_000, pw)
		done <- err
	}()
	// Wait until A has committed the pending txn and is calling the bank.
	for deadline := time.Now().Add(5 * time.Second); ; {
		var pending []walletctl.TxnRecord
		stB.View(ctx, func(tx walletctl.StoreTx) error { pending, err = tx.PendingBankTxns(); return err })
		if len(pending) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the top-up never became pending")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the request is at the bank, inside its delay
	rep := ok[*walletctl.ReconcileReport](t)(engines[1].Reconcile(ctx, ""))
	if rep.StillPending != 1 || rep.Failed != 0 {
		t.Errorf("B's reconcile during A's call: %+v (want the txn still pending)", rep)
	}
	if err := <-done; err != nil || got.Status != walletctl.TxnSucceeded {
		t.Fatalf("A's top-up: %+v, %v", got, err)
	}
	rep = ok[*walletctl.ReconcileReport](t)(engines[1].Reconcile(ctx, ""))
	if len(rep.Mismatches) != 0 || rep.StillPending != 0 {
		t.Fatalf("final reconcile %+v", rep)
	}
	ledgerOK(t, stA)
}
