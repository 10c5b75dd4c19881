package cli_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
)

// bankServer is a real bankmock server on loopback and its engine, for assertions. Its admin
// token is testBankToken.
func bankServer(t *testing.T) (string, *bankmock.Engine) {
	t.Helper()
	eng := bankmock.New(bankmock.Config{Seed: testSeed, Customers: 30, Clock: vclock.NewManual(vclock.DefaultEpoch),
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	srv := httptest.NewServer(server.New(eng, server.Options{AdminToken: testBankToken}))
	t.Cleanup(srv.Close)
	return srv.URL, eng
}

const testBankToken = "test-bank-admin"

func moneyOps(t *testing.T, eng *bankmock.Engine) int {
	t.Helper()
	j, err := bankapi.AllJournal(context.Background(), eng)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range j {
		if e.Op == bankapi.OpDebit || e.Op == bankapi.OpCredit {
			n++
		}
	}
	return n
}

// A home remembers its bank: run with another bank, or with none, it refuses before anything
// reaches a bank, and no money moves anywhere.
func TestHomeRefusesAnotherBank(t *testing.T) {
	urlX, engX := bankServer(t)
	urlY, engY := bankServer(t)
	w := &world{t: t, home: t.TempDir(), env: map[string]string{"WALLETCTL_BANK_TOKEN": testBankToken}, bankURL: urlX}
	w.ok("sandbox", "init", "--seed", itoa(testSeed), "--customers", "30")
	c := testCard(t, "ok")
	u := w.verifiedUser("13900000001", c)
	cid := w.bindCard(u, c)
	w.okIn("258147", "--as", u, "password", "set", "--password-stdin")
	w.okIn("258147", "--as", u, "topup", "--card", cid, "--amount", "200", "--password-stdin")
	debitsX, debitsY := moneyOps(t, engX), moneyOps(t, engY)
	if debitsX != 1 || debitsY != 0 {
		t.Fatalf("debits X %d, Y %d", debitsX, debitsY)
	}

	for _, bank := range []string{urlY, ""} {
		w.bankURL = bank
		r := w.fail("258147", walletctl.CodeSandboxBank, cli.ExitCode(walletctl.CodeSandboxBank),
			"--as", u, "topup", "--card", cid, "--amount", "10", "--password-stdin")
		if !strings.Contains(r.errOut, urlX) {
			t.Errorf("the error does not name the home's bank %s:\n%s", urlX, r.errOut)
		}
		w.fail("", walletctl.CodeSandboxBank, cli.ExitCode(walletctl.CodeSandboxBank), "--as", u, "balance")
	}
	// A trailing slash is the same bank.
	w.bankURL = urlX + "/"
	w.okIn("258147", "--as", u, "topup", "--card", cid, "--amount", "10", "--password-stdin")
	if got := moneyOps(t, engX); got != 2 || moneyOps(t, engY) != 0 {
		t.Fatalf("debits X %d, Y %d", got, moneyOps(t, engY))
	}

	// A home made with its in-process bank refuses a bank server.
	in := &world{t: t, home: t.TempDir(), env: map[string]string{}}
	in.ok("sandbox", "init")
	in.bankURL = urlX
	in.fail("", walletctl.CodeSandboxBank, cli.ExitCode(walletctl.CodeSandboxBank), "user", "list")
	if moneyOps(t, engX) != 2 || moneyOps(t, engY) != 0 {
		t.Fatal("money moved")
	}
}

// Two homes on one bank are two partners: the same wallet ids (u1, c1, t1) and idempotency keys
// (wlt-t1) in both, yet each top-up is its own bank transaction, each reconcile sees only its own,
// and each home's bank otp and journal are its own.
func TestTwoHomesOneBank(t *testing.T) {
	url, eng := bankServer(t)
	c := testCard(t, "ok")
	var homes []*world
	// 444.44, the refuse magic amount: home 2's top-up has an unknown outcome at once and the bank
	// never processes it (the hang amount gives the same after the client's timeout).
	for i, amount := range []string{"100", "444.44"} {
		w := &world{t: t, home: t.TempDir(), env: map[string]string{"WALLETCTL_BANK_TOKEN": testBankToken}, bankURL: url}
		w.ok("sandbox", "init", "--seed", itoa(testSeed), "--customers", "30")
		u := w.verifiedUser("1390000000"+itoa(i+1), c)
		cid := w.bindCard(u, c)
		w.okIn("258147", "--as", u, "password", "set", "--password-stdin")
		r := w.run("258147", "--as", u, "topup", "--card", cid, "--amount", amount, "--password-stdin")
		if want := []int{0, 10}[i]; r.code != want {
			t.Fatalf("home %d top-up %s: %s", i, amount, r)
		}
		homes = append(homes, w)
	}
	var rep walletctl.ReconcileReport
	homes[1].jsonOf(&rep, "", "reconcile")
	if rep.Checked != 1 || rep.Settled != 0 || rep.Failed != 1 || rep.Matched != 0 || len(rep.Mismatches) != 0 {
		t.Fatalf("home 2's reconcile settled from home 1's debit: %+v", rep)
	}
	homes[0].jsonOf(&rep, "", "reconcile")
	if rep.Checked != 0 || rep.Matched != 1 || len(rep.Mismatches) != 0 {
		t.Fatalf("home 1's reconcile: %+v", rep)
	}
	var bal struct{ Available int64 }
	for i, want := range []int64{10000, 0} {
		homes[i].jsonOf(&bal, "", "--as", "u1", "balance")
		if bal.Available != want {
			t.Errorf("home %d balance %d, want %d", i, bal.Available, want)
		}
		var j []bankapi.JournalEntry
		homes[i].jsonOf(&j, "", "bank", "journal")
		partner := ""
		for _, e := range j {
			if partner == "" {
				partner = e.Partner
			}
			if e.Partner != partner || e.Partner == "" {
				t.Fatalf("home %d sees another partner's journal entry %+v", i, e)
			}
		}
	}
	all, _ := bankapi.AllJournal(context.Background(), eng)
	parts := map[string]bool{}
	for _, e := range all {
		parts[e.Partner] = true
	}
	if len(parts) < 2 {
		t.Fatalf("the bank saw one caller: %v", parts)
	}
}

// A home deep in the file system registers too: a partner's name is at most 100 characters, and
// the home's is its path, cut to its end (docs/partners.md's walk-through runs in a temp folder).
func TestDeepHomeRegistersWithABank(t *testing.T) {
	url, eng := bankServer(t)
	home := filepath.Join(t.TempDir(), strings.Repeat("a-rather-long-folder-name/", 5), "partner-sandbox")
	w := &world{t: t, home: home, env: map[string]string{"WALLETCTL_BANK_TOKEN": testBankToken}, bankURL: url}
	w.ok("sandbox", "init", "--seed", itoa(testSeed), "--customers", "30")
	ps, err := eng.Partners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := ps[len(ps)-1]
	if n := len([]rune(p.Name)); n > 100 || !strings.HasPrefix(p.Name, "walletctl sandbox …") || !strings.HasSuffix(p.Name, "/partner-sandbox") {
		t.Fatalf("the home registered as %q (%d characters)", p.Name, n)
	}
}

// After a bank reset another card may be bound where the old agreement was: the old agreement
// must be refused, never debiting someone else.
func TestStaleAgreementNeverDebitsAnotherCustomer(t *testing.T) {
	url, eng := bankServer(t)
	ctx := context.Background()
	w := &world{t: t, home: t.TempDir(), env: map[string]string{"WALLETCTL_BANK_TOKEN": testBankToken}, bankURL: url}
	w.ok("sandbox", "init", "--seed", itoa(testSeed), "--customers", "30")
	ok, other := testCard(t, "ok"), testCard(t, "credit")
	u1 := w.verifiedUser("13900000001", ok)
	c1 := w.bindCard(u1, ok)
	w.okIn("258147", "--as", u1, "password", "set", "--password-stdin")
	if err := eng.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	// The same home (same partner) binds another person's card after the reset, and so does a
	// second home: neither may get u1's old agreement.
	u2 := w.verifiedUser("13900000002", other)
	w.bindCard(u2, other)
	w2 := &world{t: t, home: t.TempDir(), env: map[string]string{"WALLETCTL_BANK_TOKEN": testBankToken}, bankURL: url}
	w2.ok("sandbox", "init", "--seed", itoa(testSeed), "--customers", "30")
	w2.bindCard(w2.verifiedUser("13900000003", other), other)
	before, _ := eng.Customer(ctx, other.CardNo)
	r := w.run("258147", "--as", u1, "topup", "--card", c1, "--amount", "50", "--password-stdin")
	if r.code == 0 || r.code == 10 {
		t.Fatalf("a top-up on a stale agreement went through: %s", r)
	}
	after, _ := eng.Customer(ctx, other.CardNo)
	if after.Balance != before.Balance {
		t.Fatalf("another customer's card was debited: %d -> %d", before.Balance, after.Balance)
	}
	var bal struct{ Available int64 }
	w.jsonOf(&bal, "", "--as", u1, "balance")
	if bal.Available != 0 {
		t.Fatalf("balance %d", bal.Available)
	}
}

// WALLETCTL_BANK_TIMEOUT must be a positive duration: anything else is refused before any work;
// a valid one bounds each bank call.
func TestBankTimeoutSetting(t *testing.T) {
	url, _ := bankServer(t)
	for _, v := range []string{"soon", "-1s", "0", "1h"} {
		r := runIn(filepath.Join(t.TempDir(), "h"), "", map[string]string{"WALLETCTL_BANK_TOKEN": testBankToken, "WALLETCTL_BANK_TIMEOUT": v},
			"--bank", url, "sandbox", "init", "--customers", "3")
		if r.code != 2 || !strings.Contains(r.errOut, "WALLETCTL_BANK_TIMEOUT") || !strings.Contains(r.errOut, "hint:") {
			t.Errorf("WALLETCTL_BANK_TIMEOUT=%s: %s", v, r)
		}
	}
	// The hang amount (999.99) is pending once the client gives up: after 200ms, not the default 5 s.
	w := &world{t: t, home: t.TempDir(), env: map[string]string{"WALLETCTL_BANK_TOKEN": testBankToken, "WALLETCTL_BANK_TIMEOUT": "200ms"}, bankURL: url}
	w.ok("sandbox", "init", "--seed", itoa(testSeed), "--customers", "30")
	c := testCard(t, "ok")
	u := w.verifiedUser("13900000001", c)
	cid := w.bindCard(u, c)
	w.okIn("258147", "--as", u, "password", "set", "--password-stdin")
	start := time.Now()
	if r := w.run("258147", "--as", u, "topup", "--card", cid, "--amount", "999.99", "--password-stdin"); r.code != 10 {
		t.Fatalf("the hang top-up: %s", r)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the hang top-up took %s: WALLETCTL_BANK_TIMEOUT=200ms did not bound it", took)
	}
}
