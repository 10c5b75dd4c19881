package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/engine"
)

const pw = testworld.Password

func ok[T any](t testing.TB) func(T, error) T { return testworld.Must[T](t) }

// customer adds a bank customer with a debit card and money on it.
func customer(w *testworld.World, name string) bankapi.Customer {
	return w.AddCustomer(bankapi.Customer{Bank: "ICBC", Name: name, Type: bankapi.CardDebit, Balance: 1_000_000_00})
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
	w := testworld.New(t, testworld.Store(openTest(t, Options{})), testworld.Customers(2))
	e, bank := w.Engine, w.Mock

	a, ca := w.OpenWallet(customer(w, "张三")).IDs()
	b, _ := w.OpenWallet(customer(w, "李四")).IDs()
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
	w.CheckLedger()
}

// processes is a wallet served by two processes on one schema (stA's, and stB opened on it with
// its own pool), each with its own engine and its own client of one bank, a real bankmock server
// on loopback.
type processes struct {
	*testworld.World
	stB     *Store
	engines [2]*engine.Engine
}

func twoProcesses(t *testing.T, stA *Store, optsB Options, opts ...testworld.Option) *processes {
	t.Helper()
	opts = append([]testworld.Option{testworld.Store(stA), testworld.Customers(2), testworld.Loopback(""),
		testworld.Client(client.Options{Timeout: 5 * time.Second, Retries: -1})}, opts...)
	w := testworld.New(t, opts...)
	optsB.Schema = stA.Schema()
	stB, err := OpenWith(context.Background(), dsn(t), optsB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stB.Close() })
	clB := client.New(w.URL, client.Options{Timeout: 5 * time.Second, Retries: -1})
	return &processes{World: w, stB: stB, engines: [2]*engine.Engine{w.Engine, w.NewEngine(stB, 2, testworld.Via(clB, clB))}}
}

// Two wallet processes (two engines, each with its own connection pool and bank client) serve
// one schema and one bank (a real bankmock server on loopback) under a concurrent workload of
// payments, transfers, top-ups and withdrawals, with some requests sent to both at once under one
// idempotency key and a reconciler running beside them. Afterwards the ledger invariant holds,
// reconcile finds the bank and the wallet in agreement, and no idempotency key was settled twice.
func TestTwoEnginesOneDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second) // a hang fails, with the calls' errors
	defer cancel()
	stA := openTest(t, Options{MaxConns: 16})
	w := twoProcesses(t, stA, Options{MaxConns: 16, Seed: 2}, testworld.Settings(func(s *walletctl.Settings) {
		s.VelocityMax, s.DailyLimit = 0, 0 // the workload pays far more often than a person does
	}))
	w.Ctx = ctx
	clock, bank, stB, engines := w.Clock, w.Mock, w.stB, w.engines

	const nUsers = 6
	users, cards := make([]string, nUsers), make([]string, nUsers)
	for i := range users {
		users[i], cards[i] = w.Through(engines[i%2]).OpenWallet(customer(w.World, fmt.Sprintf("用户%c", '甲'+rune(i)))).IDs()
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
	w.CheckLedger()
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
	w := twoProcesses(t, openTest(t, Options{}), Options{})
	w.Ctx = ctx
	bank, stB, engines := w.Mock, w.stB, w.engines
	u, c := w.OpenWallet(customer(w.World, "张三")).IDs()
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
		stB.View(ctx, func(tx walletctl.StoreTx) (err error) { pending, err = tx.PendingBankTxns(); return err })
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
	w.CheckLedger()
}
