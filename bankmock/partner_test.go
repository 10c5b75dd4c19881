package bankmock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/banktest"
	"github.com/walletctl/walletctl/vclock"
)

// seeded is a deterministic Config.Entropy.
func seeded(n uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(n)
	return rand.NewChaCha8(s)
}

func newPartnerTest(t testing.TB) *Engine {
	t.Helper()
	return New(Config{Seed: 42, Customers: 10, Sleep: InstantSleep, Entropy: seeded(1)})
}

func mustPartner(t testing.TB, e *Engine, name string) *bankapi.PartnerCredentials {
	t.Helper()
	pc, err := e.CreatePartner(bg, name)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

func notFoundErr(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, bankapi.ErrNotFound) {
		t.Errorf("%s: want NOT_FOUND, got %v", what, err)
	}
}

func TestCreatePartnerAndKeys(t *testing.T) {
	e := newPartnerTest(t)
	a := mustPartner(t, e, "  wallet A ")
	b := mustPartner(t, e, "")
	if a.ID != "p1" || a.Name != "wallet A" || b.ID != "p2" || b.Name != "p2" || !a.CreatedAt.Equal(vclock.DefaultEpoch) {
		t.Fatalf("partners %+v %+v", a, b)
	}
	if !strings.HasPrefix(a.Key, KeyPrefix) || len(a.Key) != len(KeyPrefix)+64 || a.Key == b.Key {
		t.Fatalf("keys %q %q", a.Key, b.Key)
	}
	for key, want := range map[string]string{a.Key: "p1", b.Key: "p2"} {
		if id, ok := e.PartnerByKey(key); !ok || id != want {
			t.Errorf("PartnerByKey: %q %v, want %s", id, ok, want)
		}
	}
	for _, bad := range []string{"", a.Key + "x", a.Key[:len(a.Key)-1], strings.ToUpper(a.Key), hashKey(a.Key), bankapi.DefaultPartner} {
		if id, ok := e.PartnerByKey(bad); ok {
			t.Errorf("PartnerByKey(%q) = %s", bad, id)
		}
	}
	list, err := e.Partners(bg)
	if err != nil || len(list) != 3 || list[0].ID != bankapi.DefaultPartner || list[1].ID != "p1" || list[2].ID != "p2" {
		t.Fatalf("Partners %+v %v", list, err)
	}
	for _, bad := range []string{strings.Repeat("x", 101), "a\nb"} {
		if _, err := e.CreatePartner(bg, bad); err == nil {
			t.Errorf("CreatePartner(%q) accepted", bad)
		}
	}
	// The keys are nowhere in clear: not in the snapshot, not in the journal.
	c := testCard(t, "ok")
	bind(t, e, c)
	bindAs(t, WithPartner(bg, a.ID), e, c)
	snap, _ := e.Snapshot(bg)
	jr, _ := journalOf(bg, e)
	js, _ := json.Marshal(jr)
	for _, k := range []string{a.Key, b.Key, strings.TrimPrefix(a.Key, KeyPrefix)} {
		if bytes.Contains(snap, []byte(k)) || bytes.Contains(js, []byte(k)) {
			t.Fatal("a partner key in clear in the snapshot or journal")
		}
	}
	if !bytes.Contains(snap, []byte(hashKey(a.Key))) {
		t.Error("the snapshot lacks the key's hash: a restored bank would not know the partner")
	}
	// A failing entropy source is an error, not a weak key.
	f := New(Config{Seed: 1, Customers: -1, Entropy: strings.NewReader("short")})
	if _, err := f.CreatePartner(bg, "x"); err == nil {
		t.Error("a key from 5 bytes of entropy")
	}
}

// TestPartnerScoping checks every resource DESIGN section 6 makes a partner's own.
func TestPartnerScoping(t *testing.T) {
	e := newPartnerTest(t)
	pa, pb := mustPartner(t, e, "A"), mustPartner(t, e, "B")
	A, B := WithPartner(bg, pa.ID), WithPartner(bg, pb.ID)
	c := testCard(t, "ok")

	// Bindings and OTPs.
	ba, err := e.CreateBinding(A, req(c))
	if err != nil {
		t.Fatal(err)
	}
	if !bindingIDRe.MatchString(ba.BindingID) {
		t.Fatalf("binding id %q", ba.BindingID)
	}
	_, err = e.LastOTP(B, c.Phone)
	notFoundErr(t, "B's LastOTP of A's binding", err)
	otpA, err := e.LastOTP(A, c.Phone)
	if err != nil {
		t.Fatal(err)
	}
	if all, _ := e.LastOTP(bg, c.Phone); all != otpA {
		t.Errorf("bank-wide LastOTP %s, want %s", all, otpA)
	}
	_, err = e.ConfirmBinding(B, ba.BindingID, otpA)
	notFoundErr(t, "B confirms A's binding", err)
	_, err = e.ConfirmBinding(bg, ba.BindingID, otpA)
	notFoundErr(t, "the default partner confirms A's binding", err)
	agrA, err := e.ConfirmBinding(A, ba.BindingID, otpA)
	if err != nil {
		t.Fatal(err)
	}

	// Agreements.
	_, err = e.Debit(B, "k", cny(agrA.Agreement, 100))
	notFoundErr(t, "B debits A's agreement", err)
	_, err = e.Credit(B, "k", cny(agrA.Agreement, 100))
	notFoundErr(t, "B credits A's agreement", err)
	_, err = e.Debit(bg, "k", cny(agrA.Agreement, 100))
	notFoundErr(t, "the default partner debits A's agreement", err)
	notFoundErr(t, "B unbinds A's agreement", e.Unbind(B, agrA.Agreement))
	notFound(t, e, "k") // nothing was stored for anyone

	// B binds the same card: its own binding and agreement, different from A's.
	bb, _ := e.CreateBinding(B, req(c))
	otpB, _ := e.LastOTP(B, c.Phone)
	if otpA2, _ := e.LastOTP(A, c.Phone); otpA2 != otpA {
		t.Errorf("A's LastOTP changed to B's code after B bound the card")
	}
	agrB, err := e.ConfirmBinding(B, bb.BindingID, otpB)
	if err != nil {
		t.Fatal(err)
	}
	if bb.BindingID == ba.BindingID || agrB.Agreement == agrA.Agreement {
		t.Fatal("two partners got the same binding id or agreement token")
	}

	// Idempotency keys: one key, two partners, two transactions.
	before := balance(t, e, c.CardNo)
	ta, err := e.Debit(A, "wlt-t1", cny(agrA.Agreement, 100))
	if err != nil {
		t.Fatal(err)
	}
	tb, err := e.Debit(B, "wlt-t1", cny(agrB.Agreement, 999))
	if err != nil {
		t.Fatalf("B's wlt-t1 (A used it first): %v", err)
	}
	if ta.TxnID == tb.TxnID || balance(t, e, c.CardNo) != before-1099 {
		t.Fatalf("txns %s %s, balance %d", ta.TxnID, tb.TxnID, balance(t, e, c.CardNo))
	}
	if r, err := e.Debit(A, "wlt-t1", cny(agrA.Agreement, 100)); err != nil || r.TxnID != ta.TxnID {
		t.Errorf("A's replay: %+v %v", r, err)
	}
	qa, _ := e.Transaction(A, "wlt-t1")
	qb, _ := e.Transaction(B, "wlt-t1")
	if qa == nil || qb == nil || qa.TxnID != ta.TxnID || qb.TxnID != tb.TxnID || qb.Amount != 999 {
		t.Fatalf("queries %+v %+v", qa, qb)
	}
	notFound(t, e, "wlt-t1") // the default partner never sent it

	// Statements.
	day := vclock.Day(ta.Time)
	sa, _ := e.Statement(A, day)
	sb, _ := e.Statement(B, day)
	sd, _ := e.Statement(bg, day)
	if len(sa.Transactions) != 1 || sa.Transactions[0].TxnID != ta.TxnID || sa.DebitTotal != 100 ||
		len(sb.Transactions) != 1 || sb.DebitTotal != 999 || len(sd.Transactions) != 0 {
		t.Fatalf("statements A %+v B %+v default %+v", sa, sb, sd)
	}

	// Fault rules.
	fa, err := e.AddFault(A, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: bankapi.OpDebit})
	if err != nil || fa.Partner != pa.ID {
		t.Fatalf("A's rule %+v %v", fa, err)
	}
	if _, err := e.AddFault(A, bankapi.Fault{Kind: bankapi.FaultRefuse, Partner: pb.ID}); err == nil {
		t.Error("A added a rule on B's traffic")
	}
	if _, err := e.Debit(B, "t2", cny(agrB.Agreement, 1)); err != nil {
		t.Errorf("A's rule fired on B: %v", err)
	}
	if _, err := e.Debit(A, "t2", cny(agrA.Agreement, 1)); !errors.Is(err, bankapi.ErrIssuerUnavailable) {
		t.Errorf("A's rule did not fire on A: %v", err)
	}
	if fs, _ := e.Faults(B); len(fs) != 0 {
		t.Errorf("B sees rules %+v", fs)
	}
	notFoundErr(t, "B deletes A's rule", e.DeleteFault(B, fa.ID))
	if err := e.ClearFaults(B); err != nil {
		t.Fatal(err)
	}
	if fs, _ := e.Faults(A); len(fs) != 1 {
		t.Errorf("B's clear removed A's rule: %+v", fs)
	}
	wide, _ := e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: bankapi.OpCredit})
	if wide.Partner != "" {
		t.Fatalf("a bank-wide rule names %q", wide.Partner)
	}
	if _, err := e.Credit(B, "t3", cny(agrB.Agreement, 1)); !errors.Is(err, bankapi.ErrIssuerUnavailable) {
		t.Errorf("a bank-wide rule did not fire on B: %v", err)
	}
	if fs, _ := e.Faults(A); len(fs) != 1 || fs[0].ID != fa.ID {
		t.Errorf("A lists %+v; bank-wide rules are the admin's", fs)
	}
	notFoundErr(t, "A deletes the bank-wide rule", e.DeleteFault(A, wide.ID))
	if fs, _ := e.Faults(bg); len(fs) != 2 {
		t.Errorf("the admin lists %+v", fs)
	}
	if err := e.ClearFaults(A); err != nil {
		t.Fatal(err)
	}
	if fs, _ := e.Faults(bg); len(fs) != 1 || fs[0].ID != wide.ID {
		t.Errorf("after A's clear the admin lists %+v", fs)
	}

	// Journals.
	ja, _ := journalOf(A, e)
	jb, _ := journalOf(B, e)
	jall, _ := journalOf(bg, e)
	var nDefault int
	for _, j := range jall {
		if j.Partner == "" {
			t.Fatalf("journal entry without a partner: %+v", j)
		}
		if j.Partner == bankapi.DefaultPartner {
			nDefault++
		}
	}
	if len(ja)+len(jb)+nDefault != len(jall) || len(ja) == 0 || len(jb) == 0 {
		t.Fatalf("journals A %d + B %d + default %d != %d", len(ja), len(jb), nDefault, len(jall))
	}
	for _, j := range ja {
		if j.Partner != pa.ID {
			t.Fatalf("A's journal holds %+v", j)
		}
		if strings.Contains(j.Detail, bb.BindingID) || strings.Contains(j.Detail, agrB.Agreement) {
			t.Fatalf("A's journal names B's binding or agreement: %+v", j)
		}
	}

	// Unbinding is the partner's own too.
	if err := e.Unbind(A, agrA.Agreement); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Debit(B, "t4", cny(agrB.Agreement, 1)); err != nil {
		t.Errorf("A's unbind ended B's agreement: %v", err)
	}
}

func TestBankWideAdminRefusedToPartners(t *testing.T) {
	e := newPartnerTest(t)
	p := mustPartner(t, e, "A")
	P := WithPartner(bg, p.ID)
	c := testCard(t, "ok")
	calls := map[string]func() error{
		"AddCustomer":       func() error { _, err := e.AddCustomer(P, bankapi.Customer{}); return err },
		"GenerateCustomers": func() error { _, err := e.GenerateCustomers(P, 1); return err },
		"SetBalance":        func() error { return e.SetBalance(P, c.CardNo, 1) },
		"SetCardStatus":     func() error { return e.SetCardStatus(P, c.CardNo, bankapi.CardFrozen) },
		"Reset":             func() error { return e.Reset(P) },
		"Snapshot":          func() error { _, err := e.Snapshot(P); return err },
		"Restore":           func() error { return e.Restore(P, []byte(`{}`)) },
		"CreatePartner":     func() error { _, err := e.CreatePartner(P, "x"); return err },
		"Partners":          func() error { _, err := e.Partners(P); return err },
	}
	for name, f := range calls {
		if be := wantCode(t, f(), bankapi.CodeUnauthorized, ""); be.Message == "" {
			t.Errorf("%s: no message", name)
		}
	}
	if _, err := e.Now(P); err != nil {
		t.Errorf("a partner may read the clock: %v", err)
	}
	// The customers are the bank's test identities: every partner reads them (Stripe's test cards).
	if l, err := e.Customers(P, bankapi.Page{}); err != nil || len(l.Data) == 0 {
		t.Errorf("a partner may read the customers: %v", err)
	}
	if got, err := e.Customer(P, c.CardNo); err != nil || got.CardNo != c.CardNo {
		t.Errorf("a partner may read a customer: %v", err)
	}
	// A partner the bank does not know is refused everywhere, before anything happens.
	X := WithPartner(bg, "p9")
	_, err := e.Banks(X)
	wantCode(t, err, bankapi.CodeUnauthenticated, "")
	_, err = journalOf(X, e)
	wantCode(t, err, bankapi.CodeUnauthenticated, "")
	_, err = e.AddFault(X, bankapi.Fault{Kind: bankapi.FaultRefuse})
	wantCode(t, err, bankapi.CodeUnauthenticated, "")
	if j, _ := journalOf(bg, e); len(j) != 0 {
		t.Errorf("refused calls were journaled: %+v", j)
	}
}

// TestPartnersSurviveReset: keys keep working, stale agreements and bindings are NOT_FOUND, and
// no id or token issued after the reset equals one issued before, for the same card too.
func TestPartnersSurviveReset(t *testing.T) {
	e := newPartnerTest(t)
	p := mustPartner(t, e, "A")
	c := testCard(t, "ok")
	seen := map[string]bool{}
	for _, ctx := range []struct {
		name string
		id   string
	}{{"default", ""}, {"partner", p.ID}} {
		t.Run(ctx.name, func(t *testing.T) {
			x := bg
			if ctx.id != "" {
				x = WithPartner(bg, ctx.id)
			}
			var stale []string
			for round := 0; round < 3; round++ {
				b, a := banktest.Bind(t, x, e, c)
				otp, _ := e.LastOTP(x, c.Phone) // the code b was confirmed with
				for _, id := range []string{b.BindingID, a.Agreement} {
					if seen[id] {
						t.Fatalf("round %d: %s issued twice", round, id)
					}
					seen[id] = true
				}
				for _, old := range stale {
					_, err := e.Debit(x, "s"+old, cny(old, 1))
					notFoundErr(t, "a debit quoting an agreement from before the reset", err)
				}
				stale = append(stale, a.Agreement)
				if err := e.Reset(bg); err != nil {
					t.Fatal(err)
				}
				if id, ok := e.PartnerByKey(p.Key); !ok || id != p.ID {
					t.Fatalf("the key stopped working after Reset")
				}
				_, err := e.ConfirmBinding(x, b.BindingID, otp)
				notFoundErr(t, "confirming a binding from before the reset", err)
			}
		})
	}
	if list, _ := e.Partners(bg); len(list) != 2 {
		t.Errorf("partners after resets: %+v", list)
	}
}

// TestPartnerDeterminism: same seed and same entropy, same snapshot bytes; the default partner's
// ids come from the seed alone.
func TestPartnerDeterminism(t *testing.T) {
	run := func(entropy uint64) ([]byte, string, string) {
		e := New(Config{Seed: 9, Customers: 5, Sleep: InstantSleep, Entropy: seeded(entropy)})
		p := mustPartner(t, e, "A")
		c := testCard(t, "ok")
		agrD := bind(t, e, c)
		P := WithPartner(bg, p.ID)
		e.Debit(P, "k1", cny(bindAs(t, P, e, c), 100))
		e.Debit(bg, "k1", cny(agrD, 100))
		e.AddFault(P, bankapi.Fault{Kind: bankapi.FaultRefuse, Op: bankapi.OpStatement})
		snap, err := e.Snapshot(bg)
		if err != nil {
			t.Fatal(err)
		}
		return snap, agrD, p.Key
	}
	s1, d1, k1 := run(1)
	s2, d2, k2 := run(1)
	s3, d3, k3 := run(2)
	if !bytes.Equal(s1, s2) || k1 != k2 {
		t.Fatal("same seed and entropy, different snapshots or keys")
	}
	if k1 == k3 || bytes.Equal(s1, s3) {
		t.Fatal("different entropy, same key")
	}
	if d1 != d2 || d1 != d3 {
		t.Fatalf("the default partner's agreement depends on the entropy: %s %s %s", d1, d2, d3)
	}
	// And it survives a round trip.
	r := New(Config{Seed: 1, Customers: 1})
	if err := r.Restore(bg, s1); err != nil {
		t.Fatal(err)
	}
	if again, _ := r.Snapshot(bg); !bytes.Equal(again, s1) {
		t.Fatal("Snapshot(Restore(s)) != s with partners")
	}
	if id, ok := r.PartnerByKey(k1); !ok || id != "p1" {
		t.Fatal("a restored bank does not know the partner's key")
	}
}

func TestRestoreRefusesUnknownPartners(t *testing.T) {
	e := newPartnerTest(t)
	p := mustPartner(t, e, "A")
	P := WithPartner(bg, p.ID)
	c := testCard(t, "ok")
	b, a := banktest.Bind(t, P, e, c)
	e.Debit(P, "k", cny(a.Agreement, 1))
	e.AddFault(P, bankapi.Fault{Kind: bankapi.FaultRefuse, Op: bankapi.OpStatement})
	good, _ := e.Snapshot(bg)
	tamper := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, _ := json.Marshal(m)
		return out
	}
	cases := map[string][]byte{
		"no partners": tamper(func(m map[string]any) { delete(m, "partners") }),
		"partner p1 gone": tamper(func(m map[string]any) {
			delete(m["partners"].(map[string]any), "p1")
		}),
		"binding of p7": tamper(func(m map[string]any) {
			m["bindings"].(map[string]any)[b.BindingID].(map[string]any)["partner"] = "p7"
		}),
		"agreement of p7": tamper(func(m map[string]any) {
			m["agreements"].(map[string]any)[a.Agreement].(map[string]any)["partner"] = "p7"
		}),
		"transactions of p7": tamper(func(m map[string]any) {
			tx := m["partner_transactions"].(map[string]any)
			tx["p7"] = tx["p1"]
			delete(tx, "p1")
		}),
		"fault of p7": tamper(func(m map[string]any) {
			m["faults"].([]any)[0].(map[string]any)["partner"] = "p7"
		}),
		"journal of p7": tamper(func(m map[string]any) {
			m["journal"].([]any)[0].(map[string]any)["partner"] = "p7"
		}),
		"key not a hash": tamper(func(m map[string]any) {
			m["partners"].(map[string]any)["p1"].(map[string]any)["key_sha256"] = p.Key
		}),
	}
	r := New(Config{Seed: 5, Customers: 1})
	pristine, _ := r.Snapshot(bg)
	for name, snap := range cases {
		if err := r.Restore(bg, snap); err == nil {
			t.Errorf("%s: restored", name)
		}
	}
	if now, _ := r.Snapshot(bg); !bytes.Equal(now, pristine) {
		t.Error("a refused restore changed the state")
	}
	if err := r.Restore(bg, good); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreVersion1 reads a snapshot from before partners as the default partner's state.
func TestRestoreVersion1(t *testing.T) {
	e := New(Config{Seed: 4, Customers: 3, Sleep: InstantSleep})
	agr := bind(t, e, testCard(t, "ok"))
	tx, err := e.Debit(bg, "k1", cny(agr, 100))
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := e.Snapshot(bg)
	var m map[string]any
	json.Unmarshal(snap, &m)
	m["version"] = 1
	m["transactions"] = m["partner_transactions"].(map[string]any)[bankapi.DefaultPartner]
	delete(m, "partner_transactions")
	delete(m, "partners")
	delete(m, "partner_seq")
	for _, j := range m["journal"].([]any) {
		delete(j.(map[string]any), "partner")
	}
	v1, _ := json.Marshal(m)
	r := New(Config{Seed: 1, Customers: 1})
	if err := r.Restore(bg, v1); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Transaction(bg, "k1"); err != nil || got.TxnID != tx.TxnID {
		t.Fatalf("v1 transaction: %+v %v", got, err)
	}
	if _, err := r.Debit(bg, "k2", cny(agr, 1)); err != nil {
		t.Fatalf("v1 agreement: %v", err)
	}
}

// TestDuplicateInFlightPerPartner: a delayed request holds its key for its partner only.
func TestDuplicateInFlightPerPartner(t *testing.T) {
	e := New(Config{Seed: 5, Customers: 5, Entropy: seeded(3)}) // real sleep
	pa, pb := mustPartner(t, e, "A"), mustPartner(t, e, "B")
	A, B := WithPartner(bg, pa.ID), WithPartner(bg, pb.ID)
	c := testCard(t, "ok")
	agrA, agrB := bindAs(t, A, e, c), bindAs(t, B, e, c)
	var wg sync.WaitGroup
	var errA error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, errA = e.Debit(WithFault(A, bankapi.Fault{Kind: bankapi.FaultDelay, Delay: 50 * time.Millisecond}), "dup", cny(agrA, 100))
	}()
	waitInFlight(e, pa.ID, "dup")
	if _, err := e.Debit(B, "dup", cny(agrB, 100)); err != nil {
		t.Errorf("B's key held by A's request in flight: %v", err)
	}
	_, err := e.Debit(A, "dup", cny(agrA, 100))
	wantCode(t, err, bankapi.CodeDuplicate, "94")
	wg.Wait()
	if errA != nil {
		t.Fatal(errA)
	}
}

// TestPartnerClockIsItsOwn: a partner's advance moves only its own time (DESIGN section 10).
// Partner B's code, sent before partner A jumps an hour ahead, is still good; A's own, sent at
// the same moment, has expired for A; the bank's clock, B's and the default partner's have not
// moved; A's transactions and journal carry A's time; the admin's advance moves everyone; the
// offset survives a restart of a durable bank and goes back to zero at a reset.
func TestPartnerClockIsItsOwn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	e, err := Open(Config{Seed: 42, Customers: 10, Sleep: InstantSleep, Entropy: seeded(1), Path: path, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	a, b := mustPartner(t, e, "A"), mustPartner(t, e, "B")
	A, B := WithPartner(bg, a.ID), WithPartner(bg, b.ID)
	start, _ := e.Now(bg)
	ok, other := testCard(t, "ok"), testCard(t, "credit")
	bindA, err := e.CreateBinding(A, req(other))
	if err != nil {
		t.Fatal(err)
	}
	otpA, _ := e.LastOTP(A, other.Phone)
	bindB, err := e.CreateBinding(B, req(ok))
	if err != nil {
		t.Fatal(err)
	}
	otpB, _ := e.LastOTP(B, ok.Phone)

	if now, err := e.Advance(A, time.Hour); err != nil || !now.Equal(start.Add(time.Hour)) {
		t.Fatalf("A's advance: %v %v, want %v", now, err, start.Add(time.Hour))
	}
	for name, ctx := range map[string]context.Context{"the bank": bg, "B": B, "the default partner": WithPartner(bg, bankapi.DefaultPartner)} {
		if now, _ := e.Now(ctx); !now.Equal(start) {
			t.Errorf("%s's clock moved to %v with A's advance", name, now)
		}
	}
	agr, err := e.ConfirmBinding(B, bindB.BindingID, otpB)
	if err != nil {
		t.Fatalf("B's pending code expired with A's advance: %v", err)
	}
	_, err = e.ConfirmBinding(A, bindA.BindingID, otpA)
	wantCode(t, err, bankapi.CodeOTPExpired, "")

	// A's new agreement and debit happen at A's time; B's at B's.
	agrA := bindAs(t, A, e, other)
	ta, err := e.Debit(A, "k1", bankapi.MoneyRequest{Agreement: agrA, Amount: 100, Currency: bankapi.Currency})
	if err != nil {
		t.Fatal(err)
	}
	if !ta.Time.Equal(start.Add(time.Hour)) {
		t.Fatalf("A's debit at %v, want A's time %v", ta.Time, start.Add(time.Hour))
	}
	tb, err := e.Debit(B, "k1", bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 100, Currency: bankapi.Currency})
	if err != nil {
		t.Fatal(err)
	}
	if !tb.Time.Equal(start) {
		t.Fatalf("B's debit at %v, want B's time %v", tb.Time, start)
	}
	j, _ := journalOf(A, e)
	if last := j[len(j)-1]; !last.Time.Equal(start.Add(time.Hour)) {
		t.Errorf("A's journal entry at %v, want A's time", last.Time)
	}

	// The offset is state: it survives a restart.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err = Open(Config{Seed: 42, Customers: 10, Sleep: InstantSleep, Entropy: seeded(1), Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if now, _ := e.Now(A); !now.Equal(start.Add(time.Hour)) {
		t.Errorf("A's clock after a restart: %v, want %v", now, start.Add(time.Hour))
	}
	// The admin moves the bank's clock, and every partner's with it.
	if _, err := e.Advance(bg, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if na, _ := e.Now(A); !na.Equal(start.Add(3 * time.Hour)) {
		t.Errorf("A after the bank's advance: %v", na)
	}
	if nb, _ := e.Now(B); !nb.Equal(start.Add(2 * time.Hour)) {
		t.Errorf("B after the bank's advance: %v", nb)
	}
	if err := e.Reset(bg); err != nil {
		t.Fatal(err)
	}
	if na, _ := e.Now(A); !na.Equal(start) {
		t.Errorf("A after a reset: %v, want the epoch %v", na, start)
	}
}

// TestPartnerByKeyTakesNoLock: authenticating a request never waits for the bank's lock, so a
// flood of bad keys neither waits behind the bank's work nor delays it (DESIGN section 10). The
// lock is held here for the whole test; both lookups must answer, rightly, anyway.
func TestPartnerByKeyTakesNoLock(t *testing.T) {
	e := newPartnerTest(t)
	pc := mustPartner(t, e, "A")
	e.mu.Lock()
	done := make(chan [2]bool, 1)
	go func() {
		_, bad := e.PartnerByKey(KeyPrefix + strings.Repeat("0", 64))
		id, good := e.PartnerByKey(pc.Key)
		done <- [2]bool{bad, good && id == pc.ID}
	}()
	select {
	case r := <-done:
		e.mu.Unlock()
		if r[0] || !r[1] {
			t.Fatalf("bad key known: %v, good key known as its partner: %v", r[0], r[1])
		}
	case <-time.After(5 * time.Second):
		e.mu.Unlock()
		t.Fatal("PartnerByKey waited for the engine's lock")
	}
	// A partner created later, and the partners of a restored state, are known at once.
	pb := mustPartner(t, e, "B")
	if id, ok := e.PartnerByKey(pb.Key); !ok || id != pb.ID {
		t.Fatalf("a new partner's key: %q %v", id, ok)
	}
}
