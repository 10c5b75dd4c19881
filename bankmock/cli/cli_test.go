package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testbin"
	"github.com/walletctl/walletctl/internal/testworld"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/banktest"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock"
)

func TestVersionAndCards(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "bankmock ") {
		t.Fatalf("version: exit %d, %q %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := Run(context.Background(), []string{"cards"}, &out, &errb); code != 0 {
		t.Fatalf("cards: exit %d %s", code, errb.String())
	}
	for _, tc := range bankmock.TestCards {
		if !strings.Contains(out.String(), tc.Customer.CardNo) {
			t.Errorf("cards output lacks test card %s", tc.Key)
		}
	}
	if !strings.Contains(out.String(), "666.66") {
		t.Error("cards output lacks the magic amounts")
	}
	out.Reset()
	if code := Run(context.Background(), []string{"cards", "--json"}, &out, &errb); code != 0 {
		t.Fatal(code)
	}
	var v struct {
		TestCards    []bankmock.TestCard    `json:"test_cards"`
		MagicAmounts []bankmock.MagicAmount `json:"magic_amounts"`
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || len(v.TestCards) != len(bankmock.TestCards) || len(v.MagicAmounts) != len(bankmock.MagicAmounts) {
		t.Fatalf("cards --json: %v %d %d", err, len(v.TestCards), len(v.MagicAmounts))
	}
	if code := Run(context.Background(), []string{"serve", "--no-such-flag"}, &out, &errb); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
}

// syncBuffer collects a child's stderr while the test reads it.
type syncBuffer = testbin.Buffer

const bankmockPkg = "github.com/walletctl/walletctl/cmd/bankmock"

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// TestServeBinary builds the real bankmock binary, starts it on a free port, talks to it, and
// stops it with SIGTERM while a slow request and a hung one are in flight.
func TestServeBinary(t *testing.T) {
	cmd, url, stderr := startServe(t, testbin.Build(t, bankmockPkg), "--seed", "5", "--customers", "3")
	if !strings.HasPrefix(url, "http://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("first stdout line %q, want http://127.0.0.1:PORT", url)
	}

	ctx := context.Background()
	// Loopback is not a credential: without --admin-token the bank made one and said so on stderr,
	// with the export line that hands it to walletctl; nothing bank-wide works without it.
	token := tokenFromStderr(t, stderr)
	if !strings.Contains(stderr.String(), "export BANKMOCK_ADMIN_TOKEN="+token+" WALLETCTL_BANK_TOKEN="+token) {
		t.Errorf("stderr lacks the export line:\n%s", stderr.String())
	}
	if _, err := bankapi.AllCustomers(ctx, client.New(url, client.Options{Timeout: 5 * time.Second})); err == nil {
		t.Fatal("customers without the admin token, from loopback: answered")
	}
	c := client.New(url, client.Options{Timeout: 5 * time.Second, AdminToken: token})
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	cs, err := bankapi.AllCustomers(ctx, c)
	if err != nil || len(cs) != len(bankmock.TestCards)+3 {
		t.Fatalf("customers: %d %v", len(cs), err)
	}
	ok := bankmock.TestCards[0].Customer
	if _, err := c.Customer(ctx, ok.CardNo); err != nil {
		t.Fatal(err)
	}
	_, agr := banktest.Bind(t, ctx, c, ok)
	_, err = c.Debit(ctx, "e2e-1", bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 100, Currency: "CNY"})
	if err != nil {
		t.Fatal(err)
	}

	// In flight at SIGTERM: a slow debit (must finish) and a hung one (must be let go).
	var wg sync.WaitGroup
	var slowErr, hangErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, slowErr = c.Debit(client.WithFault(ctx, "delay;delay=700ms"), "e2e-slow", bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 5, Currency: "CNY"})
	}()
	go func() {
		defer wg.Done()
		_, hangErr = c.Debit(client.WithFault(ctx, "hang"), "e2e-hang", bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 6, Currency: "CNY"})
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("shutdown took %v; a hung request should not hold it", d)
	}
	if slowErr != nil {
		t.Errorf("in-flight slow debit: %v, want it finished before exit", slowErr)
	}
	if e, ok := bankapi.AsError(hangErr); !ok || e.Code != bankapi.CodeOutcomeUnknown {
		t.Errorf("hung debit: %v, want OUTCOME_UNKNOWN", hangErr)
	}
	log := stderr.String()
	if strings.Contains(log, ok.CardNo) || strings.Contains(log, ok.IDNo) {
		t.Errorf("stderr shows a full card or ID number:\n%s", log)
	}
	if !strings.Contains(log, "path=/admin/customers/622202") || !strings.Contains(log, "shutting down") {
		t.Errorf("stderr lacks the request log or the shutdown line:\n%s", log)
	}
}

func TestPartnerCommands(t *testing.T) {
	bank := testworld.NewBank(t, testworld.Seed(2), testworld.Customers(1), testworld.Loopback("adm"))
	eng := bank.Mock
	ctx := context.Background()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(ctx, args, &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := run("partner", "create", "--name", "ci wallet", "--url", bank.URL, "--admin-token", "adm", "--json")
	if code != 0 {
		t.Fatalf("create: exit %d %s", code, errs)
	}
	var pc bankapi.PartnerCredentials
	if err := json.Unmarshal([]byte(out), &pc); err != nil || pc.ID != "p1" || pc.Name != "ci wallet" || pc.Key == "" {
		t.Fatalf("create --json: %q %v", out, err)
	}
	if id, ok := eng.PartnerByKey(pc.Key); !ok || id != "p1" {
		t.Fatal("the printed key is not the partner's")
	}
	code, out, errs = run("partner", "create", "--url", bank.URL, "--admin-token", "adm")
	if code != 0 || !strings.Contains(out, "p2") || !strings.Contains(out, "key         "+bankmock.KeyPrefix) || !strings.Contains(out, "Authorization: Bearer") {
		t.Fatalf("create (table): exit %d %q %s", code, out, errs)
	}
	code, out, _ = run("partner", "list", "--url", bank.URL, "--admin-token", "adm")
	if code != 0 || !strings.Contains(out, "ci wallet") || !strings.Contains(out, "p2") || strings.Contains(out, pc.Key) {
		t.Fatalf("list: exit %d %q", code, out)
	}
	// Times as walletctl's tables write them (YYYY-MM-DD HH:MM:SS), not RFC 3339.
	if !regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`).MatchString(out) || regexp.MustCompile(`\d\dT\d\d:`).MatchString(out) {
		t.Errorf("list times: %q", out)
	}
	code, out, _ = run("partner", "list", "--url", bank.URL, "--admin-token", "adm", "-o", "json")
	var ps []bankapi.Partner
	if err := json.Unmarshal([]byte(out), &ps); code != 0 || err != nil || len(ps) != 3 {
		t.Fatalf("list -o json: exit %d %q %v", code, out, err)
	}
	// Without the token, or with a wrong one: exit 1, with a hint.
	for _, tok := range []string{"", "nope"} {
		code, _, errs = run("partner", "create", "--url", bank.URL, "--admin-token", tok)
		if code != 1 || !strings.Contains(errs, "UNAUTHENTICATED") || !strings.Contains(errs, "hint:") {
			t.Errorf("token %q: exit %d %q", tok, code, errs)
		}
	}
	if code, _, _ = run("partner", "list", "--url", bank.URL, "-o", "yaml"); code != 2 {
		t.Errorf("-o yaml: exit %d, want 2", code)
	}
}

// tokenFromStderr waits for the admin token bankmock serve shows on stderr when it made one.
func tokenFromStderr(t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	re := regexp.MustCompile(`admin token \([^)]*\): (bmk_[A-Z2-7]{26})\n`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no admin token on stderr:\n%s", stderr.String())
	return ""
}

// startServe starts the bankmock binary with args and returns its URL.
func startServe(t *testing.T, bin string, args ...string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the URL: %v (stderr %s)", err, stderr.String())
	}
	return cmd, strings.TrimSpace(line), &stderr
}

// TestServeDataSurvivesSIGKILL: with --data, what the bank answered is on disk before the answer
// (a debit, an agreement, a partner, a clock step), so SIGKILL and a restart lose none of it; the
// restarted bank replays the debit's key instead of debiting again. Without --data a restart is a
// new world.
func TestServeDataSurvivesSIGKILL(t *testing.T) {
	bin := testbin.Build(t, bankmockPkg)
	data := t.TempDir()
	ctx := context.Background()
	cmd, url, _ := startServe(t, bin, "--quiet", "--seed", "5", "--customers", "3", "--data", data)
	// A second server on the same folder is refused: it would answer from another state.
	second := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--quiet", "--data", data)
	if out, err := second.CombinedOutput(); err == nil || !strings.Contains(string(out), "in use by another bankmock serve") {
		t.Fatalf("a second server on the same --data: %v\n%s", err, out)
	}
	// With --data the token it made is kept there, 0600, and is the same after a restart.
	tokenFile := filepath.Join(data, "admin-token")
	raw, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(tokenFile); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("%s is %v, want 0600", tokenFile, fi.Mode().Perm())
	}
	token := strings.TrimSpace(string(raw))
	admin := client.New(url, client.Options{Timeout: 5 * time.Second, AdminToken: token})
	pc, err := admin.CreatePartner(ctx, "wallet")
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(url, client.Options{Timeout: 5 * time.Second, PartnerKey: pc.Key})
	ok := bankmock.TestCards[0].Customer
	_, agr := banktest.Bind(t, ctx, c, ok)
	before, err := admin.Customer(ctx, ok.CardNo)
	if err != nil {
		t.Fatal(err)
	}
	debit := bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 12345, Currency: "CNY"}
	t1, err := c.Debit(ctx, "kill-1", debit)
	if err != nil {
		t.Fatal(err)
	}
	now, err := admin.Advance(ctx, 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	_, url, stderr := startServe(t, bin, "--quiet", "--seed", "5", "--customers", "3", "--data", data)
	if got := tokenFromStderr(t, stderr); got != token {
		t.Fatalf("the restarted bank's admin token is %q, want the kept %q", got, token)
	}
	admin = client.New(url, client.Options{Timeout: 5 * time.Second, AdminToken: token})
	c = client.New(url, client.Options{Timeout: 5 * time.Second, PartnerKey: pc.Key})
	after, err := admin.Customer(ctx, ok.CardNo)
	if err != nil {
		t.Fatal(err)
	}
	if after.Balance != before.Balance-12345 {
		t.Fatalf("balance after restart %d, want %d", after.Balance, before.Balance-12345)
	}
	t2, err := c.Debit(ctx, "kill-1", debit) // the partner key and the agreement survived
	if err != nil {
		t.Fatal(err)
	}
	if t2.TxnID != t1.TxnID {
		t.Fatalf("the retried debit is %s, want the replay of %s", t2.TxnID, t1.TxnID)
	}
	if again, _ := admin.Customer(ctx, ok.CardNo); again.Balance != after.Balance {
		t.Fatal("the retried debit moved money again")
	}
	if got, _ := admin.Now(ctx); !got.Equal(now) {
		t.Fatalf("clock after restart %v, want %v", got, now)
	}

	// Without --data the bank is in memory: a restart forgets the partner.
	cmd, url, _ = startServe(t, bin, "--quiet", "--seed", "5", "--customers", "3")
	c = client.New(url, client.Options{Timeout: 5 * time.Second, PartnerKey: pc.Key})
	if _, err := c.Transaction(ctx, "kill-1"); err == nil {
		t.Fatal("an in-memory bank remembered another process's transaction")
	}
	_ = cmd
}

// TestUnknownCommandExits2 (issue 22 item 3): bankmock follows walletctl's convention: a word
// that names no command, at any level or after help, exits 2 with cobra's message and "Did you
// mean this?" on stderr, nothing on stdout.
func TestUnknownCommandExits2(t *testing.T) {
	for _, c := range []struct {
		args      []string
		msg, want string
	}{
		{[]string{"nosuch"}, `unknown command "nosuch" for "bankmock"`, ""},
		{[]string{"serv"}, `unknown command "serv" for "bankmock"`, "serve"},
		{[]string{"partner", "lst"}, `unknown command "lst" for "bankmock partner"`, "list"},
		{[]string{"help", "nosuch"}, `unknown command "nosuch" for "bankmock"`, ""},
		{[]string{"help", "partner", "lst"}, `unknown command "lst" for "bankmock partner"`, "list"},
		{[]string{"cards", "extra"}, `unknown command "extra" for "bankmock cards"`, ""},
		{[]string{"completion", "tcsh"}, `unknown command "tcsh" for "bankmock completion"`, ""},
	} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), c.args, &out, &errb)
		if code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), c.msg) {
			t.Errorf("%v: exit %d, want 2 with %s\nstdout %q\nstderr %q", c.args, code, c.msg, out.String(), errb.String())
		}
		if c.want != "" && !strings.Contains(errb.String(), "Did you mean this?\n\t"+c.want) {
			t.Errorf("%v: no suggestion of %s: %q", c.args, c.want, errb.String())
		}
	}
	for _, args := range [][]string{{}, {"help"}, {"partner"}, {"help", "partner"}, {"help", "partner", "list"}} {
		var out, errb bytes.Buffer
		if code := Run(context.Background(), args, &out, &errb); code != 0 || !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out.String(), errb.String())
		}
	}
}
