package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
)

// runIn runs one command line in home with no bank server and no terminal.
func runIn(home, stdin string, env map[string]string, args ...string) result {
	return runCLI(&cli.IOStreams{In: strings.NewReader(stdin)}, env, append([]string{"--home", home}, args...)...)
}

func TestSandboxLifecycle(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	// No sandbox: status and reset say so, with the hint.
	for _, args := range [][]string{{"sandbox", "status"}, {"sandbox", "reset"}} {
		r := runIn(home, "", nil, args...)
		if r.code != 5 || !strings.Contains(r.errOut, "error: NO_SANDBOX: ") || !strings.Contains(r.errOut, "hint: create one first: walletctl sandbox init") {
			t.Fatalf("%v without a sandbox: %s", args, r)
		}
	}
	// Commands that need none work without one and create none.
	for _, args := range [][]string{{"version"}, {"codes"}, {"help", "codes"}, {"completion", "bash"}, {"help"}} {
		if r := runIn(home, "", nil, args...); r.code != 0 || r.out == "" {
			t.Fatalf("%v: %s", args, r)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "sandbox.json")); err == nil {
		t.Fatal("a sandbox was created by a command that needs none")
	}
	// Any other command creates one with the default seed (zero set-up) and says so on stderr.
	r := runIn(home, "", nil, "user", "register", "--phone", "13900000001")
	if r.code != 0 || strings.TrimSpace(r.out) != "u1" || !strings.Contains(r.errOut, "created a new sandbox") {
		t.Fatalf("first command: %s", r)
	}
	for _, f := range []string{"sandbox.json", "wallet.db", "bank.db", "lock"} {
		if _, err := os.Stat(filepath.Join(home, f)); err != nil {
			t.Errorf("home lacks %s: %v", f, err)
		}
	}
	// init refuses to overwrite; --force does.
	r = runIn(home, "", nil, "sandbox", "init", "--seed", "9")
	if r.code != 4 || !strings.Contains(r.errOut, "ALREADY_EXISTS") || !strings.Contains(r.errOut, "--force") {
		t.Fatalf("init over a sandbox: %s", r)
	}
	if r := runIn(home, "", nil, "user", "list"); !strings.Contains(r.out, "u1") {
		t.Fatalf("the refused init lost data: %s", r)
	}
	if r := runIn(home, "", nil, "sandbox", "init", "--seed", "9", "--customers", "5", "--force"); r.code != 0 {
		t.Fatalf("init --force: %s", r)
	}
	var st struct {
		Seed          int64  `json:"seed"`
		Users         int    `json:"users"`
		BankCustomers int    `json:"bank_customers"`
		Clock         string `json:"clock"`
		Home          string `json:"home"`
	}
	r = runIn(home, "", nil, "-o", "json", "sandbox", "status")
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || st.Seed != 9 || st.Users != 0 || st.Home != home {
		t.Fatalf("status after init --force: %v %+v", err, st)
	}
	// reset: back to the seed's fresh state, clock included.
	runIn(home, "", nil, "user", "register", "--phone", "13900000002")
	runIn(home, "", nil, "clock", "advance", "1d2h")
	if r := runIn(home, "", nil, "clock", "show"); strings.TrimSpace(r.out) != "2026-01-06 11:00:00" {
		t.Fatalf("clock after 1d2h: %s", r)
	}
	if r := runIn(home, "", nil, "sandbox", "reset", "--force"); r.code != 0 {
		t.Fatalf("reset: %s", r)
	}
	r = runIn(home, "", nil, "-o", "json", "sandbox", "status")
	var st2 = st
	if err := json.Unmarshal([]byte(r.out), &st2); err != nil || st2.Seed != 9 || st2.Users != 0 || st2.BankCustomers != st.BankCustomers || st2.Clock != st.Clock {
		t.Fatalf("status after reset: %v %+v, want like %+v", err, st2, st)
	}
}

// The same seed gives the same bank; a different seed a different one.
func TestSandboxSeedDeterminism(t *testing.T) {
	list := func(seed string) string {
		home := t.TempDir()
		runIn(home, "", nil, "sandbox", "init", "--seed", seed, "--customers", "10")
		return runIn(home, "", nil, "-o", "json", "bank", "customers").out
	}
	a, b, c := list("5"), list("5"), list("6")
	if a != b || a == c || len(a) < 100 {
		t.Fatalf("seed determinism: same=%v different=%v", a == b, a != c)
	}
}

func TestArgumentErrors(t *testing.T) {
	home := t.TempDir()
	runIn(home, "", nil, "sandbox", "init")
	cases := []struct {
		args []string
		code string
	}{
		{[]string{"nonsense"}, walletctl.CodeInvalidArgument},
		{[]string{"balance", "--bogus"}, walletctl.CodeInvalidArgument},
		{[]string{"balance"}, walletctl.CodeInvalidArgument}, // no --as
		{[]string{"-o", "yaml", "version"}, walletctl.CodeInvalidArgument},
		{[]string{"--as", "u9", "balance"}, walletctl.CodeNotFound},
		{[]string{"--backend", "http://127.0.0.1:1", "balance"}, walletctl.CodeInvalidArgument},
		{[]string{"user", "register", "--phone", "12345"}, walletctl.CodeInvalidPhone},
		{[]string{"clock", "advance", "-2h"}, walletctl.CodeInvalidArgument},
		{[]string{"clock", "advance", "soon"}, walletctl.CodeInvalidArgument},
		{[]string{"bank", "fault", "add", "explode"}, walletctl.CodeInvalidArgument},
		{[]string{"bank", "otp", "--phone", "13999999999"}, walletctl.CodeNotFound},
	}
	for _, c := range cases {
		r := runIn(home, "", nil, c.args...)
		if r.code != cli.ExitCode(c.code) || !strings.Contains(r.errOut, "error: "+c.code+": ") || !strings.Contains(r.errOut, "hint: ") || r.out != "" {
			t.Errorf("%v: want %s (exit %d), got %s", c.args, c.code, cli.ExitCode(c.code), r)
		}
	}
	// --as is required with a hint naming the flag and the variable; WALLETCTL_AS stands in.
	r := runIn(home, "", nil, "balance")
	if !strings.Contains(r.errOut, "--as") || !strings.Contains(r.errOut, "WALLETCTL_AS") {
		t.Errorf("missing --as hint: %s", r)
	}
	runIn(home, "", nil, "user", "register", "--phone", "13900000001")
	if r := runIn(home, "", map[string]string{"WALLETCTL_AS": "13900000001"}, "balance"); r.code != 0 || !strings.Contains(r.out, "u1") {
		t.Errorf("WALLETCTL_AS by phone: %s", r)
	}
	// Amounts: TestAmountsRefusedBeforeThePassword (money_test.go).
	// -o json errors: one JSON object on stderr, nothing on stdout.
	r = runIn(home, "", nil, "-o", "json", "--as", "u7", "balance")
	var body struct {
		Error struct {
			Code, Message, Hint string
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.errOut), &body); err != nil || body.Error.Code != "NOT_FOUND" || body.Error.Message == "" || body.Error.Hint == "" || r.out != "" {
		t.Errorf("json error: %v %s", err, r)
	}
}

// WALLETCTL_HOME stands in for --home.
func TestEnvHome(t *testing.T) {
	home := t.TempDir()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), []string{"user", "register", "--phone", "13900000001"},
		&cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		func(k string) string {
			if k == "WALLETCTL_HOME" {
				return home
			}
			return ""
		})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if r := runIn(home, "", nil, "user", "list"); !strings.Contains(r.out, "13900000001") {
		t.Fatalf("WALLETCTL_HOME not used: %s", r)
	}
}

func TestPasswordPrompt(t *testing.T) {
	home := t.TempDir()
	runIn(home, "", nil, "sandbox", "init")
	runIn(home, "", nil, "user", "register", "--phone", "13900000001")
	ok := testCard(t, "ok")
	if r := runIn(home, "", nil, "--as", "u1", "kyc", "submit", "--name", ok.Name, "--id", ok.IDNo); r.code != 0 {
		t.Fatal(r)
	}
	tty := func(stdin string, args ...string) result {
		var out, errOut bytes.Buffer
		ios := &cli.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut, InTTY: true}
		code := cli.Run(context.Background(), append([]string{"--home", home, "--as", "u1"}, args...), ios, nil)
		return result{code, out.String(), errOut.String()}
	}
	// No terminal, no --password-stdin: PASSWORD_REQUIRED.
	if r := runIn(home, "258036\n", nil, "--as", "u1", "password", "set"); r.code != 2 || !strings.Contains(r.errOut, "PASSWORD_REQUIRED") {
		t.Fatalf("password set without a terminal: %s", r)
	}
	// On a terminal it asks twice; different answers are refused.
	r := tty("258036\n258037\n", "password", "set")
	if r.code != 2 || !strings.Contains(r.errOut, "differ") {
		t.Fatalf("two different passwords: %s", r)
	}
	// Weak passwords are refused with the engine's code.
	if r := runIn(home, "123456\n", nil, "--as", "u1", "password", "set", "--password-stdin"); r.code != 2 || !strings.Contains(r.errOut, "PASSWORD_WEAK") {
		t.Fatalf("weak password: %s", r)
	}
	if r := runIn(home, "12345\n", nil, "--as", "u1", "password", "set", "--password-stdin"); r.code != 2 || !strings.Contains(r.errOut, "PASSWORD_FORMAT") {
		t.Fatalf("short password: %s", r)
	}
	// --password-stdin with nothing on stdin.
	if r := runIn(home, "", nil, "--as", "u1", "password", "set", "--password-stdin"); r.code != 2 || !strings.Contains(r.errOut, "PASSWORD_REQUIRED") {
		t.Fatalf("empty stdin: %s", r)
	}
	r = tty("258036\n258036\n", "password", "set")
	if r.code != 0 || !strings.Contains(r.errOut, "New 6-digit payment password: ") || !strings.Contains(r.errOut, "Repeat it: ") {
		t.Fatalf("password set on a terminal: %s", r)
	}
	if strings.Contains(r.out+r.errOut, "258036") {
		t.Fatalf("the password was echoed: %s", r)
	}
}

func TestColor(t *testing.T) {
	home := t.TempDir()
	runIn(home, "", nil, "sandbox", "init")
	run := func(outTTY bool, env map[string]string, args ...string) string {
		var out, errOut bytes.Buffer
		ios := &cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, OutTTY: outTTY, ErrTTY: outTTY}
		cli.Run(context.Background(), append([]string{"--home", home}, args...), ios, func(k string) string { return env[k] })
		return out.String() + errOut.String()
	}
	if got := run(true, nil, "merchant", "list"); !strings.Contains(got, "\x1b[") {
		t.Errorf("no colour on a terminal:\n%q", got)
	}
	for name, got := range map[string]string{
		"no tty":     run(false, nil, "merchant", "list"),
		"--no-color": run(true, nil, "--no-color", "merchant", "list"),
		"NO_COLOR":   run(true, map[string]string{"NO_COLOR": "1"}, "merchant", "list"),
		"error":      run(false, nil, "--as", "u5", "balance"),
	} {
		if strings.Contains(got, "\x1b[") {
			t.Errorf("%s: colour escape in output:\n%q", name, got)
		}
	}
	if got := run(true, nil, "--as", "u5", "balance"); !strings.Contains(got, "\x1b[1;31merror:") {
		t.Errorf("no colour on a terminal's error:\n%q", got)
	}
}

// -o json carries the same data as the table.
func TestJSONMatchesTable(t *testing.T) {
	w := newWorld(t, false)
	user, card := w.openWallet(0)
	w.okIn(walletctlSandboxPassword(t, w), "--as", user, "topup", "--card", card, "--amount", "12.34", "--password-stdin")

	var u walletctl.User
	w.jsonOf(&u, "", "--as", user, "user", "show")
	table := w.ok("--as", user, "user", "show").out
	for _, v := range []string{u.ID, u.Phone, string(u.Status), u.NameMasked, u.IDMasked} {
		if v == "" || !strings.Contains(table, v) {
			t.Errorf("user show table lacks %q:\n%s", v, table)
		}
	}
	var cards []walletctl.Card
	w.jsonOf(&cards, "", "--as", user, "card", "list")
	table = w.ok("--as", user, "card", "list").out
	if len(cards) != 1 || !strings.Contains(table, cards[0].CardMasked) || !strings.Contains(table, cards[0].ID) {
		t.Errorf("card list: %+v\n%s", cards, table)
	}
	var txns []walletctl.Txn
	w.jsonOf(&txns, "", "--as", user, "tx", "list")
	table = w.ok("--as", user, "tx", "list").out
	if len(txns) != 2 {
		t.Fatalf("tx list: %+v", txns)
	}
	for _, tx := range txns {
		if !strings.Contains(table, tx.ID) || !strings.Contains(table, walletctl.FormatAmount(tx.Amount)) || !strings.Contains(table, tx.Status) {
			t.Errorf("tx list table lacks %+v:\n%s", tx, table)
		}
	}
	var shown walletctl.Txn
	w.jsonOf(&shown, "", "--as", user, "tx", "show", txns[1].ID)
	var sum int64
	for _, p := range shown.Postings {
		sum += p.Amount
	}
	if len(shown.Postings) < 2 || sum != 0 {
		t.Errorf("tx show postings: %+v", shown.Postings)
	}
	table = w.ok("--as", user, "tx", "show", txns[1].ID).out
	for _, p := range shown.Postings {
		if !strings.Contains(table, p.Account) {
			t.Errorf("tx show table lacks posting %s:\n%s", p.Account, table)
		}
	}
	// codes and version: TestCodes, TestVersion (codes_test.go).
	assertNoSecrets(t, w.outputs, w.customers())
}

// The fault rules round trip through the bank, their card numbers masked. (bank customers,
// cards, otp and journal: bank_test.go.)
func TestBankCommands(t *testing.T) {
	w := newWorld(t, false)
	ok := testCard(t, "ok")
	w.ok("bank", "fault", "add", "drop_after;op=debit;card="+ok.CardNo, "--first", "2", "--min-amount", "1.50")
	var faults []struct {
		ID        string `json:"id"`
		Kind      string `json:"kind"`
		CardNo    string `json:"card_no"`
		First     int    `json:"first"`
		MinAmount int64  `json:"min_amount"`
	}
	w.jsonOf(&faults, "", "bank", "fault", "list")
	if len(faults) != 1 || faults[0].Kind != "drop_after" || faults[0].First != 2 || faults[0].MinAmount != 150 || strings.Contains(faults[0].CardNo, ok.CardNo) {
		t.Errorf("fault list: %+v", faults)
	}
	w.ok("bank", "fault", "delete", faults[0].ID)
	w.ok("bank", "fault", "add", "--kind", "http_error", "--status", "502", "--bank", "ICBC")
	w.ok("bank", "fault", "clear")
	w.jsonOf(&faults, "", "bank", "fault", "list")
	if len(faults) != 0 {
		t.Errorf("faults after clear: %+v", faults)
	}
	assertNoSecrets(t, w.outputs, w.customers())
}

func TestCompletion(t *testing.T) {
	w := newWorld(t, false)
	user, _ := w.openWallet(0)
	complete := func(args ...string) string {
		return w.ok(append([]string{"__complete"}, args...)...).out
	}
	if out := complete("--as", user, "card", "unbind", ""); !strings.Contains(out, "c1\t") {
		t.Errorf("card ids:\n%s", out)
	}
	if out := complete("--as", ""); !strings.Contains(out, "u1\t") {
		t.Errorf("user ids:\n%s", out)
	}
	if out := complete("pay", "--merchant", ""); !strings.Contains(out, "m-cinema") {
		t.Errorf("merchants:\n%s", out)
	}
	if out := complete("--as", user, "tx", "show", ""); !strings.Contains(out, "t1\t") {
		t.Errorf("txn ids:\n%s", out)
	}
	if out := complete("bank", "fault", "add", ""); !strings.Contains(out, "drop_after") {
		t.Errorf("fault kinds:\n%s", out)
	}
	if out := complete("--as", user, "pay", "--source", ""); !strings.Contains(out, "card:c1") {
		t.Errorf("sources:\n%s", out)
	}
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		if out := w.ok("completion", sh).out; len(out) < 100 {
			t.Errorf("completion %s: %q", sh, out)
		}
	}
}

// Concurrent invocations on one home neither corrupt nor lose anything: every registration,
// every bank fault (bank.db) and every clock step (sandbox.json) survives.
func TestConcurrentInvocations(t *testing.T) {
	home := t.TempDir()
	if r := runIn(home, "", nil, "sandbox", "init"); r.code != 0 {
		t.Fatal(r)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan string, 3*n)
	for i := 0; i < n; i++ {
		wg.Add(3)
		go func() {
			defer wg.Done()
			if r := runIn(home, "", nil, "user", "register", "--phone", fmt.Sprintf("139000000%02d", i)); r.code != 0 {
				errs <- r.String()
			}
		}()
		go func() {
			defer wg.Done()
			if r := runIn(home, "", nil, "bank", "fault", "add", "refuse", "--op", "statement", "--first", "1"); r.code != 0 {
				errs <- r.String()
			}
		}()
		go func() {
			defer wg.Done()
			if r := runIn(home, "", nil, "clock", "advance", "1h"); r.code != 0 {
				errs <- r.String()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	var users []walletctl.User
	json.Unmarshal([]byte(runIn(home, "", nil, "-o", "json", "user", "list").out), &users)
	var faults []any
	json.Unmarshal([]byte(runIn(home, "", nil, "-o", "json", "bank", "fault", "list").out), &faults)
	clock := strings.TrimSpace(runIn(home, "", nil, "clock", "show").out)
	if len(users) != n || len(faults) != n || clock != "2026-01-05 17:00:00" {
		t.Fatalf("after %d concurrent rounds: %d users, %d faults, clock %s", n, len(users), len(faults), clock)
	}
}
