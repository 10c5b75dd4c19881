package bankmock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/vclock"
)

// TestFaultKindsInProcess stages each kind as an admin rule on debits and checks what the caller
// sees, whether the bank processed the debit, and what the query by key says afterwards.
func TestFaultKindsInProcess(t *testing.T) {
	tests := []struct {
		fault     bankapi.Fault
		code      string // "" = normal success
		resp      string
		processed bool
	}{
		{bankapi.Fault{Kind: bankapi.FaultRefuse}, bankapi.CodeOutcomeUnknown, "03", false},
		{bankapi.Fault{Kind: bankapi.FaultHang}, bankapi.CodeOutcomeUnknown, "03", false},
		{bankapi.Fault{Kind: bankapi.FaultDropAfter}, bankapi.CodeOutcomeUnknown, "05", true},
		{bankapi.Fault{Kind: bankapi.FaultMalformed}, bankapi.CodeOutcomeUnknown, "05", true},
		{bankapi.Fault{Kind: bankapi.FaultHTTPError, Status: 502}, bankapi.CodeIssuerUnavailable, "96", false},
		{bankapi.Fault{Kind: bankapi.FaultDelay, Delay: 2 * time.Second}, "", "", true},
		{bankapi.Fault{Kind: bankapi.FaultDelay, Delay: 6 * time.Second}, bankapi.CodeOutcomeUnknown, "04", true},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			var slept []time.Duration
			e := New(Config{Seed: 5, Customers: 5, Sleep: func(ctx context.Context, d time.Duration) error {
				slept = append(slept, d)
				return nil
			}})
			c := testCard(t, "ok")
			agr := bind(t, e, c)
			tt.fault.Op = bankapi.OpDebit
			f, err := e.AddFault(bg, tt.fault)
			if err != nil || f.ID != "f1" || f.Source != bankapi.SourceRule {
				t.Fatalf("AddFault %+v %v", f, err)
			}
			before := balance(t, e, c.CardNo)
			tx, err := e.Debit(bg, "key", cny(agr, 250))
			if tt.code == "" {
				if err != nil || tx.Status != bankapi.TxnSucceeded {
					t.Fatalf("%+v %v", tx, err)
				}
			} else {
				be := wantCode(t, err, tt.code, tt.resp)
				if be.Fault != "rule:f1" || (tt.code == bankapi.CodeOutcomeUnknown && be.Processed != tt.processed) {
					t.Fatalf("error %+v", be)
				}
			}
			switch tt.fault.Kind {
			case bankapi.FaultHang:
				if len(slept) != 1 || slept[0] != 5*time.Second {
					t.Fatalf("hang waited %v, want the 5s client timeout", slept)
				}
			case bankapi.FaultDelay:
				want := min(tt.fault.Delay, 5*time.Second)
				if len(slept) != 1 || slept[0] != want {
					t.Fatalf("delay waited %v, want %v", slept, want)
				}
			}
			got, qerr := e.Transaction(bg, "key")
			if tt.processed {
				if qerr != nil || got.Status != bankapi.TxnSucceeded || balance(t, e, c.CardNo) != before-250 {
					t.Fatalf("processed debit: %+v %v, balance %d", got, qerr, balance(t, e, c.CardNo))
				}
			} else {
				notFound(t, e, "key")
				if balance(t, e, c.CardNo) != before {
					t.Fatal("an unprocessed debit moved money")
				}
			}
			faults, _ := e.Faults(bg)
			if faults[0].Matched != 1 || faults[0].Fired != 1 {
				t.Fatalf("counters %+v", faults[0])
			}
			j, _ := journalOf(bg, e)
			last := j[2] // bind, confirm, then the debit
			if last.Op != bankapi.OpDebit || last.Fault != "rule:f1" || last.FaultKind != string(tt.fault.Kind) || last.Processed != tt.processed {
				t.Fatalf("journal %+v", last)
			}
		})
	}
}

// TestServerMode checks the contract the HTTP server relies on: with a Report on the context the
// engine reports the fault and returns the real outcome instead of synthesizing transport errors.
func TestServerMode(t *testing.T) {
	tests := []struct {
		kind      bankapi.FaultKind
		wantTxn   bool
		wantCode  string
		processed bool
	}{
		{bankapi.FaultRefuse, false, "", false},
		{bankapi.FaultHang, false, "", false},
		{bankapi.FaultDropAfter, true, "", true},
		{bankapi.FaultMalformed, true, "", true},
		{bankapi.FaultHTTPError, false, bankapi.CodeIssuerUnavailable, false},
		{bankapi.FaultDelay, true, "", true},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			// A real sleep that would fail the test's time budget if hang waited in server mode.
			e := New(Config{Seed: 5, Customers: 5, ClientTimeout: time.Hour})
			agr := bind(t, e, testCard(t, "ok"))
			var rep Report
			ctx := WithReport(WithFault(bg, bankapi.Fault{Kind: tt.kind, Delay: time.Millisecond}), &rep)
			start := time.Now()
			tx, err := e.Debit(ctx, "k", cny(agr, 10))
			if time.Since(start) > 2*time.Second {
				t.Fatal("server mode waited")
			}
			if rep.Fault == nil || rep.Fault.Ref() != "header:h1" || rep.Fault.Kind != tt.kind {
				t.Fatalf("report %+v", rep.Fault)
			}
			if tt.wantCode != "" {
				be := wantCode(t, err, tt.wantCode, "96")
				if be.Fault != "header:h1" {
					t.Fatalf("%+v", be)
				}
			} else if err != nil {
				t.Fatalf("server mode returned an error: %v", err)
			}
			if (tx != nil) != tt.wantTxn {
				t.Fatalf("result %+v", tx)
			}
			_, qerr := e.Transaction(bg, "k")
			if (qerr == nil) != tt.processed {
				t.Fatalf("processed: %v", qerr)
			}
			// No fault: the report stays empty.
			var quiet Report
			if _, err := e.Transaction(WithReport(bg, &quiet), "k"); quiet.Fault != nil {
				t.Fatalf("report without a fault: %+v %v", quiet.Fault, err)
			}
		})
	}
}

func TestConcurrentDuplicateIsAConflict(t *testing.T) {
	e := New(Config{Seed: 5, Customers: 5}) // real sleep
	c := testCard(t, "ok")
	agr := bind(t, e, c)
	ctx := WithFault(bg, bankapi.Fault{Kind: bankapi.FaultDelay, Delay: 50 * time.Millisecond})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(1)
	go func() { defer wg.Done(); _, errs[0] = e.Debit(ctx, "dup", cny(agr, 100)) }()
	// Wait until the first request holds the key, then send the duplicate without a delay.
	waitInFlight(e, bankapi.DefaultPartner, "dup")
	notFound(t, e, "dup") // in flight is not processed yet
	_, errs[1] = e.Debit(bg, "dup", cny(agr, 100))
	// Other keys are not blocked by the delay: the lock is not held while waiting.
	if _, err := e.Debit(bg, "other", cny(agr, 1)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if errs[0] != nil {
		t.Fatalf("first: %v", errs[0])
	}
	wantCode(t, errs[1], bankapi.CodeDuplicate, "94")
	if got := balance(t, e, c.CardNo); got != 1000000*yuan-101 {
		t.Fatalf("balance %d", got)
	}
	// Once done, the key replays.
	if tx, err := e.Debit(bg, "dup", cny(agr, 100)); err != nil || tx.TxnID != "T000002" {
		t.Fatalf("replay %+v %v", tx, err)
	}
}

func TestCtxDeadlineShortensDelay(t *testing.T) {
	e := New(Config{Seed: 5, Customers: 5})
	agr := bind(t, e, testCard(t, "ok"))
	ctx, cancel := context.WithTimeout(WithFault(bg, bankapi.Fault{Kind: bankapi.FaultDelay, Delay: time.Hour}), 30*time.Millisecond)
	defer cancel()
	_, err := e.Debit(ctx, "k", cny(agr, 1))
	if be := wantCode(t, err, bankapi.CodeOutcomeUnknown, "04"); !be.Processed {
		t.Fatal("not processed")
	}
	if tx, err := e.Transaction(bg, "k"); err != nil || tx.Status != bankapi.TxnSucceeded {
		t.Fatalf("%+v %v", tx, err)
	}
}

func TestFirstFiresThenPasses(t *testing.T) {
	e := newTest(t)
	agr := bind(t, e, testCard(t, "ok"))
	e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: bankapi.OpDebit, First: 2})
	for i, want := range []string{bankapi.CodeIssuerUnavailable, bankapi.CodeIssuerUnavailable, "", ""} {
		_, err := e.Debit(bg, "same-key", cny(agr, 100)) // a retrying client
		if want == "" {
			if err != nil {
				t.Fatalf("attempt %d: %v", i, err)
			}
		} else {
			wantCode(t, err, want, "96")
		}
	}
	fs, _ := e.Faults(bg)
	if fs[0].Matched != 4 || fs[0].Fired != 2 {
		t.Fatalf("%+v", fs[0])
	}
}

func TestFaultMatchers(t *testing.T) {
	e := newTest(t)
	ok := bind(t, e, testCard(t, "ok"))          // ICBC
	other := bind(t, e, testCard(t, "no_funds")) // CCB
	e.SetBalance(bg, testCard(t, "no_funds").CardNo, 1000000)
	e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: bankapi.OpCredit})
	e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultHTTPError, Bank: "CCB", MinAmount: 100, MaxAmount: 200})
	e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultRefuse, CardNo: testCard(t, "ok").CardNo, Op: bankapi.OpDebit, MinAmount: 5000})
	cases := []struct {
		agr    string
		amount int64
		credit bool
		fired  string
	}{
		{ok, 100, true, "rule:f1"},
		{ok, 100, false, ""},
		{other, 99, false, ""},
		{other, 100, false, "rule:f2"},
		{other, 200, false, "rule:f2"},
		{other, 201, false, ""},
		{ok, 4999, false, ""},
		{ok, 5000, false, "rule:f3"},
	}
	for i, c := range cases {
		var err error
		key := "m" + string(rune('a'+i))
		if c.credit {
			_, err = e.Credit(bg, key, cny(c.agr, c.amount))
		} else {
			_, err = e.Debit(bg, key, cny(c.agr, c.amount))
		}
		be, _ := bankapi.AsError(err)
		got := ""
		if be != nil {
			got = be.Fault
		}
		if got != c.fired {
			t.Errorf("case %d: fired %q, want %q (%v)", i, got, c.fired, err)
		}
	}
	// A rule with an amount bound never matches a request without one.
	e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultHTTPError, MinAmount: 1})
	if _, err := e.Statement(bg, "2026-01-05"); err != nil {
		t.Fatal(err)
	}
	_, err := e.Debit(bg, "mz", cny(ok, 1))
	if be := wantCode(t, err, bankapi.CodeIssuerUnavailable, "96"); be.Fault != "rule:f4" {
		t.Fatalf("%+v", be)
	}
}

// p=0 never fires, while a rule without p always does: in the header spec, in a rule added
// from its spec or as JSON (what POST /admin/faults decodes), and in a restored snapshot.
func TestProbabilityZeroNeverFires(t *testing.T) {
	zero, err := bankapi.ParseFault("http_error;op=debit;p=0")
	if err != nil {
		t.Fatal(err)
	}
	if zero.Probability == nil || *zero.Probability != 0 || zero.String() != "http_error;op=debit;p=0" {
		t.Fatalf("p=0 parsed as %+v (%q)", zero, zero.String())
	}
	if always, _ := bankapi.ParseFault("http_error;op=debit"); always.Probability != nil {
		t.Fatalf("no p parsed as %+v", always)
	}
	var fromJSON bankapi.Fault
	if err := json.Unmarshal([]byte(`{"kind":"http_error","op":"debit","probability":0}`), &fromJSON); err != nil ||
		fromJSON.Probability == nil || *fromJSON.Probability != 0 {
		t.Fatalf("JSON probability 0 decoded as %+v (%v)", fromJSON, err)
	}

	e := newTest(t)
	agr := bind(t, e, testCard(t, "ok"))
	for i := 0; i < 50; i++ {
		if _, err := e.Debit(WithFault(bg, zero), "hz"+strconv.Itoa(i), cny(agr, 1)); err != nil {
			t.Fatalf("header p=0 fired on debit %d: %v", i, err)
		}
	}
	e.AddFault(bg, zero)
	e.AddFault(bg, fromJSON)
	if n := countFired(probabilitySequence(t, e, agr, 0, 50)); n != 0 {
		t.Fatalf("p=0 rules fired %d of 50", n)
	}
	snap, err := e.Snapshot(bg)
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{Seed: 1000, Customers: 1, Sleep: InstantSleep})
	if err := r.Restore(bg, snap); err != nil {
		t.Fatal(err)
	}
	if n := countFired(probabilitySequence(t, r, agr, 50, 50)); n != 0 {
		t.Fatalf("p=0 rules fired %d of 50 after a restore", n)
	}
	always, _ := bankapi.ParseFault("http_error;op=debit")
	r.AddFault(bg, always)
	if n := countFired(probabilitySequence(t, r, agr, 100, 10)); n != 10 {
		t.Fatalf("a rule without p fired %d of 10", n)
	}
}

func countFired(seq []bool) (n int) {
	for _, f := range seq {
		if f {
			n++
		}
	}
	return n
}

// probabilitySequence runs n debits under a p=0.3 rule and returns which ones fired.
func probabilitySequence(t *testing.T, e *Engine, agr string, from, n int) []bool {
	var out []bool
	for i := from; i < from+n; i++ {
		_, err := e.Debit(bg, "p"+strconv.Itoa(i), cny(agr, 1))
		out = append(out, err != nil)
	}
	return out
}

func TestProbabilityIsSeededAndSurvivesSnapshots(t *testing.T) {
	mk := func() (*Engine, string) {
		e := newTest(t)
		agr := bind(t, e, testCard(t, "ok"))
		e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: bankapi.OpDebit, Probability: bankapi.Chance(0.3)})
		return e, agr
	}
	a, agrA := mk()
	b, agrB := mk()
	sa := probabilitySequence(t, a, agrA, 0, 100)
	snap, _ := a.Snapshot(bg)
	sb := probabilitySequence(t, b, agrB, 0, 100)
	fired := 0
	for i := range sa {
		if sa[i] != sb[i] {
			t.Fatalf("draw %d differs between engines of one seed", i)
		}
		if sa[i] {
			fired++
		}
	}
	if fired < 15 || fired > 45 {
		t.Fatalf("p=0.3 fired %d of 100", fired)
	}
	// A restored snapshot continues exactly where the original goes on.
	c := New(Config{Seed: 1000, Customers: 1, Sleep: InstantSleep})
	if err := c.Restore(bg, snap); err != nil {
		t.Fatal(err)
	}
	na := probabilitySequence(t, a, agrA, 100, 50)
	nc := probabilitySequence(t, c, agrA, 100, 50)
	for i := range na {
		if na[i] != nc[i] {
			t.Fatalf("draw %d after restore differs", 100+i)
		}
	}
	// Another seed draws another sequence.
	d := New(Config{Seed: 43, Customers: 30, Sleep: InstantSleep})
	agrD := bind(t, d, testCard(t, "ok"))
	d.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: bankapi.OpDebit, Probability: bankapi.Chance(0.3)})
	if sd := probabilitySequence(t, d, agrD, 0, 100); equalBools(sd, sa) {
		t.Fatal("seed 43 drew seed 42's sequence")
	}
}

func equalBools(a, b []bool) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestPrecedenceHeaderRuleMagicProfile(t *testing.T) {
	e := newTest(t)
	agr := bind(t, e, testCard(t, "ok"))
	const magic = 66666 // drop_after
	header := WithFault(bg, bankapi.Fault{Kind: bankapi.FaultHTTPError, Status: 500})

	_, err := e.Debit(bg, "1", cny(agr, magic))
	if be := wantCode(t, err, bankapi.CodeOutcomeUnknown, "05"); be.Fault != "magic:amount:66666" {
		t.Fatalf("magic: %+v", be)
	}
	e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultRefuse, Op: bankapi.OpDebit})
	_, err = e.Debit(bg, "2", cny(agr, magic))
	if be := wantCode(t, err, bankapi.CodeOutcomeUnknown, "03"); be.Fault != "rule:f1" {
		t.Fatalf("rule over magic: %+v", be)
	}
	_, err = e.Debit(header, "3", cny(agr, magic))
	if be := wantCode(t, err, bankapi.CodeIssuerUnavailable, "96"); be.Fault != "header:h1" {
		t.Fatalf("header over rule: %+v", be)
	}
	_, err = e.Debit(header, "4", cny(agr, 5))
	if be := wantCode(t, err, bankapi.CodeIssuerUnavailable, "96"); be.Fault != "header:h2" {
		t.Fatalf("header ids count: %+v", be)
	}
	// A header fault that does not match the request leaves the rule in charge.
	_, err = e.Debit(WithFault(bg, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: bankapi.OpCredit}), "5", cny(agr, 5))
	if be := wantCode(t, err, bankapi.CodeOutcomeUnknown, "03"); be.Fault != "rule:f1" {
		t.Fatalf("non-matching header: %+v", be)
	}
	// A magic card beats a magic amount.
	e.ClearFaults(bg)
	drop := testCard(t, "unavailable")
	agrU := bind(t, e, drop)
	_, err = e.Debit(bg, "6", cny(agrU, 99999))
	if be := wantCode(t, err, bankapi.CodeIssuerUnavailable, "96"); be.Fault != "magic:card:unavailable" {
		t.Fatalf("card over amount: %+v", be)
	}
}

func TestMagicCardsAndProfile(t *testing.T) {
	tests := []struct {
		key       string
		code      string
		resp      string
		processed bool
	}{
		{"drop_after", bankapi.CodeOutcomeUnknown, "05", true},
		{"hang", bankapi.CodeOutcomeUnknown, "03", false},
		{"unavailable", bankapi.CodeIssuerUnavailable, "96", false},
		{"malformed", bankapi.CodeOutcomeUnknown, "05", true},
		{"refuse", bankapi.CodeOutcomeUnknown, "03", false},
		{"slow", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			e := newTest(t)
			agr := bind(t, e, testCard(t, tt.key)) // binding is never faulted
			_, err := e.Debit(bg, "k", cny(agr, 100))
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if be := wantCode(t, err, tt.code, tt.resp); be.Fault != "magic:card:"+tt.key {
				t.Fatalf("%+v", be)
			}
			_, qerr := e.Transaction(bg, "k")
			if (qerr == nil) != tt.processed {
				t.Fatalf("processed? %v", qerr)
			}
		})
	}
	for _, m := range MagicAmounts {
		e := newTest(t)
		agr := bind(t, e, testCard(t, "ok"))
		_, err := e.Credit(bg, "k", cny(agr, m.Amount))
		be, _ := bankapi.AsError(err)
		if be == nil || be.Fault != "magic:amount:"+itoa(m.Amount) {
			t.Errorf("amount %d: %v", m.Amount, err)
		}
	}
	// The flaky bank's profile refuses about one debit in ten, by seed.
	e := newTest(t)
	agr := bind(t, e, testCard(t, "flaky_bank"))
	refused := 0
	for i := 0; i < 200; i++ {
		_, err := e.Debit(bg, "f"+itoa(int64(i)), cny(agr, 1))
		if err != nil {
			if be := wantCode(t, err, bankapi.CodeOutcomeUnknown, "03"); be.Fault != "profile:WJRCB" {
				t.Fatalf("%+v", be)
			}
			refused++
		}
	}
	if refused < 5 || refused > 40 {
		t.Fatalf("flaky bank refused %d of 200", refused)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestSnapshotRoundTripAndReset(t *testing.T) {
	e := New(Config{Seed: 11, Customers: 100, Sleep: InstantSleep})
	pristine, _ := e.Snapshot(bg)
	c := testCard(t, "ok")
	agr := bind(t, e, c)
	e.CreateBinding(bg, req(testCard(t, "credit"))) // pending binding with an OTP
	e.Debit(bg, "a", cny(agr, 500))
	e.Debit(bg, "b", cny(agr, 66666))
	e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultDelay, Delay: time.Second, Probability: bankapi.Chance(0.5)})
	e.AddCustomer(bg, bankapi.Customer{Bank: "ABC"})
	e.GenerateCustomers(bg, 3)
	e.Advance(bg, 90*time.Minute)
	s1, err := e.Snapshot(bg)
	if err != nil {
		t.Fatal(err)
	}
	clock := vclock.NewManual(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	r := New(Config{Seed: 999, Customers: 1, Clock: clock, Sleep: InstantSleep})
	if err := r.Restore(bg, s1); err != nil {
		t.Fatal(err)
	}
	s2, _ := r.Snapshot(bg)
	if !bytes.Equal(s1, s2) {
		t.Fatal("Snapshot(Restore(Snapshot(x))) != Snapshot(x)")
	}
	if now, _ := r.Now(bg); !now.Equal(vclock.DefaultEpoch.Add(90 * time.Minute)) {
		t.Fatalf("clock %v", now)
	}
	// Both continue identically.
	for _, x := range []*Engine{e, r} {
		x.Debit(bg, "c", cny(agr, 7))
		x.AddCustomer(bg, bankapi.Customer{})
	}
	s3, _ := e.Snapshot(bg)
	s4, _ := r.Snapshot(bg)
	if !bytes.Equal(s3, s4) {
		t.Fatal("restored engine diverged")
	}
	// Reset goes back to the seed's world and epoch.
	if err := r.Reset(bg); err != nil {
		t.Fatal(err)
	}
	// Partners (and their counters) survive it: they are credentials, not state.
	s5, _ := r.Snapshot(bg)
	if !bytes.Equal(withoutPartners(t, s5), withoutPartners(t, pristine)) {
		t.Fatal("Reset is not the seed's world")
	}
	if bytes.Equal(s5, pristine) {
		t.Fatal("Reset forgot the default partner's counter")
	}
	for _, bad := range [][]byte{[]byte("{"), []byte(`{"version":99}`), []byte(`{"version":1,"customers":[{"card_no":"1","bank":"X"}]}`)} {
		if err := r.Restore(bg, bad); err == nil {
			t.Errorf("Restore(%s) accepted", bad)
		}
	}
	if s6, _ := r.Snapshot(bg); !bytes.Equal(s6, s5) {
		t.Fatal("a refused Restore changed the state")
	}
}

func TestAdminFaultsAndClock(t *testing.T) {
	e := newTest(t)
	for _, bad := range []bankapi.Fault{{Kind: "explode"}, {Kind: bankapi.FaultRefuse, Probability: bankapi.Chance(1.5)}, {Kind: bankapi.FaultRefuse, Op: "pay"},
		{Kind: bankapi.FaultHTTPError, Status: 200}, {Kind: bankapi.FaultRefuse, MinAmount: 10, MaxAmount: 5}, {Kind: bankapi.FaultDelay, Delay: -1}} {
		if _, err := e.AddFault(bg, bad); err == nil {
			t.Errorf("AddFault(%+v) accepted", bad)
		}
	}
	f1, _ := e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultRefuse})
	f2, _ := e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultHang})
	if f1.ID != "f1" || f2.ID != "f2" {
		t.Fatal(f1.ID, f2.ID)
	}
	if err := e.DeleteFault(bg, "f1"); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteFault(bg, "f1"); !errors.Is(err, bankapi.ErrNotFound) {
		t.Fatal(err)
	}
	fs, _ := e.Faults(bg)
	if len(fs) != 1 || fs[0].ID != "f2" {
		t.Fatalf("%+v", fs)
	}
	e.ClearFaults(bg)
	f3, _ := e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultRefuse})
	if fs, _ := e.Faults(bg); len(fs) != 1 || f3.ID != "f3" {
		t.Fatalf("ids reused or clear failed: %+v", fs)
	}
	if _, err := e.Advance(bg, -time.Second); err == nil {
		t.Fatal("clock went backwards")
	}
	if now, _ := e.Advance(bg, time.Hour); !now.Equal(vclock.DefaultEpoch.Add(time.Hour)) {
		t.Fatal(now)
	}
	if _, err := e.LastOTP(bg, "13900000000"); !errors.Is(err, bankapi.ErrNotFound) {
		t.Fatal(err)
	}
}
