package bankmock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/vclock"
)

// cachedTxns is how many transactions the engine holds in memory, every partner's.
func cachedTxns(e *Engine) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, m := range e.st.Txns {
		n += len(m)
	}
	return n
}

// memJournal is how many journal entries the engine holds in memory.
func memJournal(e *Engine) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.st.Journal)
}

// answer is a call's outcome as a caller sees it, for comparing two banks.
func answer(v any, err error) string {
	b, merr := json.Marshal(struct {
		V   any
		Err error
	}{v, err})
	if merr != nil {
		return fmt.Sprintf("unmarshalable %v %v", v, err)
	}
	return string(b)
}

// TestTxnCacheAnswersAsAMemoryBank drives the same random money workload through a bank in
// memory (which keeps every transaction) and a bank with a state file whose transaction cache
// holds 4: debits and credits under 150 keys (so most are replays, or mismatches, of transactions
// long evicted), status queries by key, statements of past days, header faults that answer late
// or lose the answer, two partners, and days passing. Every answer must be the same, byte for
// byte; the file bank must never hold more than its 4 transactions, nor any journal entry, in
// memory once its commits are done; and at the end the two banks' snapshots (every transaction,
// the journal) must be equal, and a reopened file bank must answer every key as before.
func TestTxnCacheAnswersAsAMemoryBank(t *testing.T) {
	const limit = 4
	start := vclock.DefaultEpoch
	memClock, fileClock := vclock.NewManual(start), vclock.NewManual(start)
	cfg := func(clock *vclock.Manual) Config {
		return Config{Seed: 11, Customers: 5, Sleep: InstantSleep, Clock: clock, Entropy: seeded(3)}
	}
	mem := New(cfg(memClock))
	fcfg := cfg(fileClock)
	fcfg.Path, fcfg.Create, fcfg.NoSync, fcfg.TxnCacheLimit = filepath.Join(t.TempDir(), "bank.db"), true, true, limit
	file, err := Open(fcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { file.Close() }()

	// Two partners, each with two agreements, made alike on both banks.
	type party struct {
		mem, file context.Context
		agr       []string
	}
	var parties []party
	for i := range 2 {
		p := party{mem: context.Background(), file: context.Background()}
		if i > 0 {
			pm, err1 := mem.CreatePartner(bg, "second")
			pf, err2 := file.CreatePartner(bg, "second")
			if err1 != nil || err2 != nil || pm.Partner.ID != pf.Partner.ID {
				t.Fatalf("partners: %v %v %v %v", pm, pf, err1, err2)
			}
			p.mem, p.file = WithPartner(bg, pm.Partner.ID), WithPartner(bg, pf.Partner.ID)
		}
		for _, key := range []string{"ok", "credit"} {
			a1, a2 := bindAs(t, p.mem, mem, testCard(t, key)), bindAs(t, p.file, file, testCard(t, key))
			if a1 != a2 {
				t.Fatalf("agreements differ: %s %s", a1, a2)
			}
			p.agr = append(p.agr, a1)
		}
		parties = append(parties, p)
	}

	r := rand.New(rand.NewPCG(5, 6))
	days := []string{vclock.Day(start)}
	kinds := []bankapi.FaultKind{bankapi.FaultDropAfter, bankapi.FaultDelay, bankapi.FaultMalformed}
	for step := range 2000 {
		p := parties[r.IntN(len(parties))]
		mctx, fctx := p.mem, p.file
		if r.IntN(8) == 0 {
			f := bankapi.Fault{Kind: kinds[r.IntN(len(kinds))], Delay: 10 * time.Second}
			mctx, fctx = WithFault(mctx, f), WithFault(fctx, f)
		}
		key := fmt.Sprintf("k%d", r.IntN(150))
		var what, got, want string
		switch n := r.IntN(20); {
		case n < 12:
			agr, amt := p.agr[r.IntN(len(p.agr))], int64(1+r.IntN(300000))
			call := file.Debit
			mcall := mem.Debit
			what = "debit " + key
			if r.IntN(3) == 0 {
				call, mcall, what = file.Credit, mem.Credit, "credit "+key
			}
			want, got = answer(mcall(mctx, key, cny(agr, amt))), answer(call(fctx, key, cny(agr, amt)))
		case n < 17:
			what = "query " + key
			want, got = answer(mem.Transaction(p.mem, key)), answer(file.Transaction(p.file, key))
		case n < 19:
			day := days[r.IntN(len(days))]
			what = "statement " + day
			want, got = answer(mem.Statement(p.mem, day)), answer(file.Statement(p.file, day))
		default:
			what = "advance"
			d := time.Duration(1+r.IntN(30)) * time.Hour
			want, got = answer(mem.Advance(bg, d)), answer(file.Advance(bg, d))
			if day := vclock.Day(memClock.Now()); day != days[len(days)-1] {
				days = append(days, day)
			}
		}
		if got != want {
			t.Fatalf("step %d (%s):\nmemory bank: %s\nfile bank:   %s", step, what, want, got)
		}
		if n := cachedTxns(file); n > limit {
			t.Fatalf("step %d (%s): the file bank holds %d transactions in memory, limit %d", step, what, n, limit)
		}
		if n := memJournal(file); n > 0 {
			t.Fatalf("step %d (%s): the file bank holds %d journal entries in memory (the file has them)", step, what, n)
		}
	}
	if n := cachedTxns(mem); n < 200 {
		t.Fatalf("the workload made only %d transactions: it tests nothing", n)
	}

	snap := func(e *Engine) []byte {
		t.Helper()
		b, err := e.Snapshot(bg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want := snap(mem)
	if got := snap(file); !bytes.Equal(got, want) {
		t.Fatalf("snapshots differ:\n%s", firstDiff(want, got))
	}
	if n := cachedTxns(file); n > limit {
		t.Fatalf("after a snapshot the file bank holds %d transactions in memory, limit %d", n, limit)
	}

	// Reopened, the file bank holds none in memory and still answers every key as before.
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	rcfg := fcfg
	rcfg.Create, rcfg.Clock = false, vclock.NewManual(fileClock.Now())
	if file, err = Open(rcfg); err != nil {
		t.Fatal(err)
	}
	if n := cachedTxns(file); n != 0 {
		t.Fatalf("a reopened bank holds %d transactions in memory", n)
	}
	for _, p := range parties {
		for k := range 150 {
			key := fmt.Sprintf("k%d", k)
			if want, got := answer(mem.Transaction(p.mem, key)), answer(file.Transaction(p.file, key)); got != want {
				t.Fatalf("after reopening, query %s:\nmemory bank: %s\nfile bank:   %s", key, want, got)
			}
		}
	}
	if n := cachedTxns(file); n > limit {
		t.Fatalf("after 300 queries the reopened bank holds %d transactions in memory, limit %d", n, limit)
	}
}

// TestTxnCacheStaysBounded makes 2,000 debits under new keys on a bank with a state file and the
// default cache: memory holds at most DefaultTxnCacheLimit transactions at the end, and the first
// debit, long evicted, still replays as itself (the same transaction, no second debit).
func TestTxnCacheStaysBounded(t *testing.T) {
	e := openMemoryOrFile(t, true)
	defer e.Close()
	agr := bind(t, e, testCard(t, "ok"))
	first, err := e.Debit(bg, "first", cny(agr, 1))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		if _, err := e.Debit(bg, fmt.Sprintf("d%d", i), cny(agr, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if n := cachedTxns(e); n > DefaultTxnCacheLimit {
		t.Fatalf("the bank holds %d transactions in memory after 2,001 debits, limit %d", n, DefaultTxnCacheLimit)
	}
	before := balance(t, e, testCard(t, "ok").CardNo)
	again, err := e.Debit(bg, "first", cny(agr, 1))
	if err != nil {
		t.Fatal(err)
	}
	// As JSON: read back from the file, its time is the same instant in a zone without a name.
	if got, want := answer(again, nil), answer(first, nil); got != want {
		t.Fatalf("replay of an evicted debit: %s, want %s", got, want)
	}
	if after := balance(t, e, testCard(t, "ok").CardNo); after != before {
		t.Fatalf("the replay moved money: %d -> %d", before, after)
	}
}

// TestTxnCacheKeepsWhatIsNotCommitted races debits under 20 keys from 8 callers on a bank with a
// state file and a cache of 1: a transaction must stay in memory until its commit is done (group
// commits keep others waiting meanwhile), or a second caller with the same key would find it
// neither in memory nor in the file and debit again. Every answer for a key must be the same
// transaction, and the card must have paid each key once.
func TestTxnCacheKeepsWhatIsNotCommitted(t *testing.T) {
	cfg := Config{Seed: 42, Customers: 5, Sleep: InstantSleep, Path: filepath.Join(t.TempDir(), "bank.db"), Create: true, NoSync: true, TxnCacheLimit: 1}
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	card := testCard(t, "ok")
	agr := bind(t, e, card)
	before := balance(t, e, card.CardNo)
	const callers, each, keys = 8, 150, 20
	type got struct {
		key int
		id  string
	}
	ids := make([][]got, callers)
	errs := make(chan error, callers)
	for c := range callers {
		go func() {
			for i := range each {
				k := (c*7 + i) % keys
				tx, err := e.Debit(bg, fmt.Sprintf("c%d", k), cny(agr, 100))
				if err != nil {
					errs <- err
					return
				}
				ids[c] = append(ids[c], got{k, tx.TxnID})
			}
			errs <- nil
		}()
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int]string{}
	for _, list := range ids {
		for _, g := range list {
			if old, ok := seen[g.key]; ok && old != g.id {
				t.Fatalf("key c%d answered as %s and as %s: debited twice", g.key, old, g.id)
			}
			seen[g.key] = g.id
		}
	}
	if paid := before - balance(t, e, card.CardNo); paid != keys*100 {
		t.Fatalf("the card paid %d fen for %d keys of 100 fen", paid, keys)
	}
}

// TestStatementReadsOneDay checks the plan of a statement's query on a bank file: a search of the
// day's index, never a scan of the partner's whole history.
func TestStatementReadsOneDay(t *testing.T) {
	e := openMemoryOrFile(t, true)
	defer e.Close()
	rows, err := e.dur.db.Query(`EXPLAIN QUERY PLAN `+statementQuery, bankapi.DefaultPartner, "2026-01-05")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if len(plan) != 1 || !strings.Contains(plan[0], "USING INDEX txns_by_day (partner=? AND day=? AND succeeded=?)") {
		t.Fatalf("a statement's plan is %q, want a search of txns_by_day", plan)
	}
}
