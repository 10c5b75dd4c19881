package bankmock

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/vclock"
)

// durableConfig is a test bank kept in a file of dir, with a cache of 3 transactions so that most
// lookups go to the file.
func durableConfig(dir string, clock *vclock.Manual) Config {
	return Config{Seed: 7, Customers: 20, Sleep: InstantSleep, Clock: clock, Path: filepath.Join(dir, "bank.db"), Create: true,
		Entropy: rand.NewChaCha8([32]byte{7}), JournalLimit: 40, TxnCacheLimit: 3}
}

// TestDurableStateIsTheLiveState runs a random workload over every kind of operation on a bank
// kept in a file and, after every operation, opens the file a second time: the bank read back
// must be the live one, byte for byte (Snapshot). A change that is not marked for the file (a
// missing touch) fails here, naming the operation.
func TestDurableStateIsTheLiveState(t *testing.T) {
	dir := t.TempDir()
	clock := vclock.NewManual(vclock.DefaultEpoch)
	cfg := durableConfig(dir, clock)
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r := rand.New(rand.NewPCG(1, 2))
	pctx := context.Background()
	cards := []bankapi.Customer{testCard(t, "ok"), testCard(t, "credit"), testCard(t, "flaky_bank")}
	var agreements []string
	var keys []string
	check := func(step int, what string) {
		t.Helper()
		live, err := e.Snapshot(bg)
		if err != nil {
			t.Fatal(err)
		}
		rcfg := cfg
		rcfg.Create, rcfg.Clock = false, vclock.NewManual(clock.Now())
		back, err := Open(rcfg)
		if err != nil {
			t.Fatalf("step %d (%s): reopen: %v", step, what, err)
		}
		got, err := back.Snapshot(bg)
		back.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(live, got) {
			t.Fatalf("step %d (%s): the file does not hold the live state:\n%s", step, what, firstDiff(live, got))
		}
	}
	for step := 0; step < 400; step++ {
		var what string
		switch n := r.IntN(20); {
		case n < 2:
			c := cards[r.IntN(len(cards))]
			what = "bind"
			b, err := e.CreateBinding(pctx, req(c))
			if err == nil {
				otp, _ := e.LastOTP(bg, c.Phone)
				if r.IntN(4) == 0 {
					otp = "000000"
				}
				if a, err := e.ConfirmBinding(pctx, b.BindingID, otp); err == nil {
					agreements = append(agreements, a.Agreement)
				}
			}
		case n < 8 && len(agreements) > 0:
			what = "debit/credit"
			key := fmt.Sprintf("k%d", r.IntN(60))
			keys = append(keys, key)
			amt := int64(r.IntN(50000) + 1)
			agr := agreements[r.IntN(len(agreements))]
			ctx := pctx
			if r.IntN(6) == 0 {
				ctx = WithFault(ctx, bankapi.Fault{Kind: []bankapi.FaultKind{bankapi.FaultDropAfter, bankapi.FaultDelay, bankapi.FaultRefuse}[r.IntN(3)], Delay: time.Second})
			}
			if r.IntN(2) == 0 {
				_, _ = e.Debit(ctx, key, cny(agr, amt))
			} else {
				_, _ = e.Credit(ctx, key, cny(agr, amt))
			}
		case n < 10 && len(keys) > 0:
			what = "query"
			_, _ = e.Transaction(pctx, keys[r.IntN(len(keys))])
			_, _ = e.Statement(pctx, vclock.Day(clock.Now()))
		case n == 10:
			what = "fault rule"
			_, _ = e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpDebit, Probability: bankapi.Chance(0.5)})
		case n == 11:
			what = "clear faults"
			_ = e.ClearFaults(bg)
		case n == 12:
			what = "customers"
			_, _ = e.AddCustomer(bg, bankapi.Customer{})
			_, _ = e.GenerateCustomers(bg, 2)
		case n == 13:
			what = "balance/status"
			c := cards[r.IntN(len(cards))]
			_ = e.SetBalance(bg, c.CardNo, int64(r.IntN(1000000)))
			if r.IntN(3) == 0 {
				_ = e.SetCardStatus(bg, c.CardNo, bankapi.CardFrozen)
			} else {
				_ = e.SetCardStatus(bg, c.CardNo, bankapi.CardActive)
			}
		case n == 14 && len(agreements) > 0:
			what = "unbind"
			_ = e.Unbind(pctx, agreements[r.IntN(len(agreements))])
		case n == 15:
			what = "partner"
			pc, err := e.CreatePartner(bg, "")
			if err == nil {
				pctx = WithPartner(context.Background(), pc.Partner.ID)
				agreements, keys = nil, nil
			}
		case n == 16:
			what = "advance"
			_, _ = e.Advance(bg, time.Duration(r.IntN(30))*time.Hour)
		case n == 17 && r.IntN(10) == 0:
			what = "reset"
			_ = e.Reset(bg)
			pctx, agreements, keys = context.Background(), nil, nil
		case n == 18 && r.IntN(5) == 0:
			what = "restore"
			snap, _ := e.Snapshot(bg)
			if err := e.Restore(bg, snap); err != nil {
				t.Fatal(err)
			}
		default:
			what = "banks"
			_, _ = e.Banks(pctx)
		}
		check(step, what)
	}
	j, _ := journalOf(bg, e)
	if len(j) > 40 {
		t.Errorf("journal kept %d entries, limit 40", len(j))
	}
}

// firstDiff shows where two JSON documents first differ.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(i-120, 0)
	return fmt.Sprintf("live: ...%s...\nfile: ...%s...", a[lo:min(i+120, len(a))], b[lo:min(i+120, len(b))])
}

// TestDurableRefusesDamagedFiles: an empty, foreign, truncated or missing file is a
// *DamagedError naming it, and nothing is written to it.
func TestDurableRefusesDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	e, err := Open(Config{Seed: 3, Path: good, Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Banks(bg); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	foreign := filepath.Join(dir, "foreign.db")
	{
		f, err := openForeign(foreign)
		if err != nil {
			t.Fatal(err)
		}
		f()
	}
	cases := map[string]string{
		"empty":     write("empty.db", nil),
		"truncated": write("truncated.db", raw[:len(raw)/3]),
		"garbage":   write("garbage.db", bytes.Repeat([]byte("not a database "), 300)),
		"foreign":   foreign,
		"missing":   filepath.Join(dir, "missing.db"),
	}
	for name, p := range cases {
		before, _ := os.ReadFile(p)
		_, err := Open(Config{Seed: 3, Path: p})
		var de *DamagedError
		if !errors.As(err, &de) || de.Path != p {
			t.Errorf("%s: got %v, want a DamagedError naming %s", name, err, p)
			continue
		}
		after, _ := os.ReadFile(p)
		if !bytes.Equal(before, after) {
			t.Errorf("%s: the file was changed", name)
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %q does not name the file", name, err)
		}
	}
}

// openForeign makes another program's SQLite database at p.
func openForeign(p string) (func(), error) {
	db, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello')`); err != nil {
		db.Close()
		return nil, err
	}
	return func() { db.Close() }, nil
}

// A state file in a folder whose name has URI characters ('#', '?', '%', a space) is that file,
// not a file named by the part of the path before them (found by the CLI's fuzz corpus).
func TestDurableOddPaths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "we#ird ?dir%20")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bank.db")
	e, err := Open(Config{Path: p, Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the file is not where it was asked for: %v", err)
	}
	e, err = Open(Config{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
}

// TestPoisonedSnapshotsAreRefused: snapshots with null entries, ids that disagree with their keys,
// dangling references, bad values or an unknown version are refused before they touch the state;
// the bank goes on answering as before (the issue: a null binding made a later request panic
// while holding the engine's lock, wedging every request).
func TestPoisonedSnapshotsAreRefused(t *testing.T) {
	for _, durable := range []bool{false, true} {
		e := openMemoryOrFile(t, durable)
		ok := testCard(t, "ok")
		agr := bind(t, e, ok)
		if _, err := e.Debit(bg, "k1", cny(agr, 100)); err != nil {
			t.Fatal(err)
		}
		good, err := e.Snapshot(bg)
		if err != nil {
			t.Fatal(err)
		}
		var binding string
		for _, j := range mustJournal(t, e) {
			if j.Op == bankapi.OpBind {
				binding = strings.Fields(j.Detail)[1]
			}
		}
		poisons := map[string]func(m map[string]any){
			"null binding":   func(m map[string]any) { m["bindings"].(map[string]any)["b_0000000000000000"] = nil },
			"null agreement": func(m map[string]any) { m["agreements"].(map[string]any)["agr_x"] = nil },
			"null transaction": func(m map[string]any) {
				m["partner_transactions"].(map[string]any)["default"].(map[string]any)["k9"] = nil
			},
			"null partner":  func(m map[string]any) { m["partners"].(map[string]any)["p9"] = nil },
			"null customer": func(m map[string]any) { m["customers"] = append(m["customers"].([]any), nil) },
			"binding id mismatch": func(m map[string]any) {
				b := m["bindings"].(map[string]any)
				b["b_other"] = b[binding]
				delete(b, binding)
			},
			"agreement id mismatch":   func(m map[string]any) { a := m["agreements"].(map[string]any); a["agr_other"] = a[agr]; delete(a, agr) },
			"confirmed, no agreement": func(m map[string]any) { delete(m["agreements"].(map[string]any), agr) },
			"negative balance":        func(m map[string]any) { m["customers"].([]any)[0].(map[string]any)["balance"] = -5 },
			"bad card status":         func(m map[string]any) { m["customers"].([]any)[0].(map[string]any)["status"] = "melted" },
			"unknown version":         func(m map[string]any) { m["version"] = 99 },
			"bad fault rule":          func(m map[string]any) { m["faults"] = []any{map[string]any{"id": "f1", "kind": "explode"}} },
			"profile of no bank":      func(m map[string]any) { m["profiles"].(map[string]any)["NOBANK"] = map[string]any{"kind": "refuse"} },
			"no seed":                 func(m map[string]any) { m["seed"] = 0 },
		}
		for name, poison := range poisons {
			var m map[string]any
			if err := json.Unmarshal(good, &m); err != nil {
				t.Fatal(err)
			}
			poison(m)
			b, _ := json.Marshal(m)
			err := e.Restore(bg, b)
			if be, ok := bankapi.AsError(err); !ok || be.Code != bankapi.CodeInvalidRequest {
				t.Errorf("durable=%v %s: Restore answered %v, want INVALID_REQUEST", durable, name, err)
			}
			// The bank goes on as before: same state, and it still answers.
			if _, err := e.Transaction(bg, "k1"); err != nil {
				t.Fatalf("durable=%v %s: the bank no longer answers: %v", durable, name, err)
			}
		}
		after, _ := e.Snapshot(bg)
		var a, g map[string]any
		json.Unmarshal(after, &a)
		json.Unmarshal(good, &g)
		delete(a, "journal")
		delete(g, "journal")
		delete(a, "counters")
		delete(g, "counters")
		if ab, gb := mustJSON(a), mustJSON(g); !bytes.Equal(ab, gb) {
			t.Errorf("durable=%v: a refused snapshot changed the state", durable)
		}
		e.Close()
	}
}

func mustJournal(t *testing.T, e *Engine) []bankapi.JournalEntry {
	t.Helper()
	j, err := journalOf(bg, e)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestPanicNeverWedgesTheBank: a panic inside a critical section releases the lock (the next
// call is answered) and, with a state file, what it half changed is discarded: the state goes
// back to the file's.
func TestPanicNeverWedgesTheBank(t *testing.T) {
	for _, durable := range []bool{false, true} {
		e := openMemoryOrFile(t, durable)
		ok := testCard(t, "ok")
		before, _ := e.Customer(bg, ok.CardNo)
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			_, _ = e.atomically(func() *bankapi.Error {
				e.st.Customers[e.cardIdx[ok.CardNo]].Balance = 1 // half made, then the bug
				e.touchCustomer(e.cardIdx[ok.CardNo])
				panic("a bug in a request")
			})
		}()
		done := make(chan error, 1)
		go func() {
			// With a file the bank may answer "recovering" for a moment; it must answer.
			var err error
			for i := 0; i < 100; i++ {
				if _, err = e.Banks(bg); err == nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("durable=%v: after a panic: %v", durable, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("durable=%v: the bank is wedged after a panic", durable)
		}
		after, _ := e.Customer(bg, ok.CardNo)
		if durable && after.Balance != before.Balance {
			t.Errorf("the panic's half-made change survived: balance %d, want %d", after.Balance, before.Balance)
		}
		e.Close()
	}
}

// TestCustomerQuota: GenerateCustomers adds at most MaxGeneratePerCall per call and the bank
// holds at most Config.MaxCustomers; a refusal adds nothing.
func TestCustomerQuota(t *testing.T) {
	e := New(Config{Seed: 1, Customers: 5, MaxCustomers: len(TestCards) + 20})
	if _, err := e.GenerateCustomers(bg, MaxGeneratePerCall+1); err == nil {
		t.Fatal("more than MaxGeneratePerCall in one call was accepted")
	}
	if _, err := e.GenerateCustomers(bg, 16); err == nil {
		t.Fatal("past the quota was accepted")
	}
	if _, err := e.GenerateCustomers(bg, 15); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddCustomer(bg, bankapi.Customer{}); err == nil {
		t.Fatal("AddCustomer past the quota was accepted")
	}
	cs, _ := customersOf(bg, e)
	if len(cs) != len(TestCards)+20 {
		t.Fatalf("%d customers, want %d", len(cs), len(TestCards)+20)
	}
}

// openMemoryOrFile is a test bank in memory, or kept in a (throwaway) file.
func openMemoryOrFile(t *testing.T, durable bool) *Engine {
	t.Helper()
	cfg := Config{Seed: 42, Customers: 5, Sleep: InstantSleep}
	if durable {
		cfg.Path, cfg.Create, cfg.NoSync = filepath.Join(t.TempDir(), "bank.db"), true, true
	}
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// BenchmarkOpenAfterHistory: opening a bank's file (what every CLI command that reaches the bank
// does) after 12,000 debits, against opening one with none, in the same run: transactions and the
// journal stay in the file until asked for, so the ratio "x_history" should stay near 1.
func BenchmarkOpenAfterHistory(b *testing.B) {
	mk := func(n int) string {
		p := filepath.Join(b.TempDir(), "bank.db")
		e, err := Open(Config{Seed: 1, Customers: 50, Path: p, Create: true, NoSync: true, Sleep: InstantSleep})
		if err != nil {
			b.Fatal(err)
		}
		agr := bind(b, e, testCard(b, "ok"))
		for i := 0; i < n; i++ {
			if _, err := e.Debit(bg, fmt.Sprint("k", i), cny(agr, 1)); err != nil {
				b.Fatal(err)
			}
		}
		if err := e.Close(); err != nil {
			b.Fatal(err)
		}
		return p
	}
	fresh, old := mk(0), mk(12000)
	open := func(p string) time.Duration {
		start := time.Now()
		e, err := Open(Config{Seed: 1, Customers: 50, Path: p})
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		e.Close()
		return d
	}
	var tf, to time.Duration
	for b.Loop() {
		tf += open(fresh)
		to += open(old)
	}
	b.ReportMetric(float64(to)/float64(tf), "x_history")
	b.ReportMetric(float64(to.Microseconds())/float64(b.N), "µs/open-after-12000")
}

// Damage inside the state file that opening it does not read (the transactions' table) is found
// by the operation that reads it: the operation is not processed and answers ISSUER_UNAVAILABLE
// on the protocol, with the *DamagedError naming the file for an in-process caller (the sandbox
// turns it into SANDBOX_DAMAGED); nothing of it is written to the file, and the bank still
// answers what does not touch the damage.
func TestDamageInsideTheStateFile(t *testing.T) {
	dir := t.TempDir()
	cfg := durableConfig(dir, vclock.NewManual(vclock.DefaultEpoch))
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ok := testCard(t, "ok")
	agr := bind(t, e, ok)
	for i := range 20 {
		if _, err := e.Debit(bg, fmt.Sprintf("k%d", i), cny(agr, 100)); err != nil {
			t.Fatal(err)
		}
	}
	before := balance(t, e, ok.CardNo)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	var root int64
	if err := db.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = 'txns'`).Scan(&root); err != nil {
		t.Fatal(err)
	}
	var size int64
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	db.Close()
	f, err := os.OpenFile(cfg.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xAB}, 3000), (root-1)*size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	raw, _ := os.ReadFile(cfg.Path)

	e, err = Open(cfg)
	if err != nil {
		t.Fatalf("the damage is past what opening reads, yet: %v", err)
	}
	for _, op := range []func() error{
		func() error { _, err := e.Debit(bg, "new", cny(agr, 100)); return err },
		func() error { _, err := e.Transaction(bg, "k3"); return err },
		func() error { _, err := e.Statement(bg, vclock.Day(vclock.DefaultEpoch)); return err },
		func() error { _, err := e.StatementRecords(bg, vclock.Day(vclock.DefaultEpoch)); return err },
	} {
		err := op()
		wantCode(t, err, bankapi.CodeIssuerUnavailable, "96")
		var de *DamagedError
		if !errors.As(err, &de) || de.Path != cfg.Path {
			t.Fatalf("got %v, want a DamagedError naming %s", err, cfg.Path)
		}
	}
	if got := balance(t, e, ok.CardNo); got != before {
		t.Fatalf("the card moved: %d, was %d", got, before)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(cfg.Path); !bytes.Equal(raw, after) {
		t.Fatal("the damaged file was written to")
	}
}
