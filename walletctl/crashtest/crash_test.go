//go:build linux

package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/walletctl/walletctl/internal/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

const walletctlPkg = "github.com/walletctl/walletctl/cmd/walletctl"

// password is the payment password `flow open-wallet` sets (cli.SandboxPassword).
const password = "135790"

// killSyscalls are the kill points: every write, rename and sync a command makes.
var killSyscalls = []string{"write", "pwrite64", "fsync", "fdatasync", "rename", "renameat", "renameat2"}

// run runs walletctl in home and returns its stdout; a non-zero exit fails the test unless allowed.
func run(t *testing.T, bin, home, stdin string, allow []int, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--home", home, "--no-color"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 0 && !containsInt(allow, code) {
		t.Fatalf("walletctl %v: exit %d\n%s%s", args, code, out.String(), errOut.String())
	}
	return out.String()
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// command is one command under test, run on a fresh copy of the template home.
type command struct {
	name  string
	stdin string
	args  []string
}

// template builds a durable home where every command under test has something to do: two
// wallets with bound cards and a balance (u1, u2), a transfer awaiting u2's acceptance, a third
// user whose binding waits for its SMS code, and a top-up left pending by a lost bank answer.
func template(t *testing.T, bin string) (string, []command) {
	home := filepath.Join(t.TempDir(), "tpl")
	run(t, bin, home, "", nil, "sandbox", "init", "--seed", "1", "--customers", "5")
	run(t, bin, home, "", nil, "flow", "open-wallet")
	run(t, bin, home, "", nil, "flow", "open-wallet")
	run(t, bin, home, password+"\n", nil, "--as", "u1", "topup", "--card", "c1", "--amount", "100.00", "--password-stdin")
	var tr struct {
		Transfer struct {
			ID string `json:"id"`
		} `json:"transfer"`
	}
	out := run(t, bin, home, password+"\n", nil, "-o", "json", "--as", "u1", "transfer", "--to", "u2", "--amount", "5.00", "--password-stdin")
	if err := json.Unmarshal([]byte(out), &tr); err != nil || tr.Transfer.ID == "" {
		t.Fatalf("transfer: %v %q", err, out)
	}
	// u3: a bank customer not yet in the wallet, registered, verified, binding sent.
	var customers []struct {
		CardNo string `json:"card_no"`
		Name   string `json:"name"`
		IDNo   string `json:"id_no"`
		Phone  string `json:"phone"`
		Status string `json:"status"`
		Bank   string `json:"bank"`
		Note   string `json:"note"`
	}
	if err := json.Unmarshal([]byte(run(t, bin, home, "", nil, "-o", "json", "bank", "customers", "--all")), &customers); err != nil {
		t.Fatal(err)
	}
	users := run(t, bin, home, "", nil, "-o", "json", "user", "list")
	var u3 int = -1
	for i, c := range customers {
		// A debit card of a big bank (online binding), active, whose holder has no wallet yet.
		if c.Status == "active" && c.Note == "" && (c.Bank == "ICBC" || c.Bank == "CCB" || c.Bank == "CMB") &&
			!strings.Contains(users, c.Phone[len(c.Phone)-4:]) && !strings.HasPrefix(c.Phone, "138001380") {
			u3 = i
			break
		}
	}
	if u3 < 0 {
		t.Fatal("no customer for u3")
	}
	c := customers[u3]
	run(t, bin, home, "", nil, "user", "register", "--phone", c.Phone)
	run(t, bin, home, "", nil, "--as", "u3", "kyc", "submit", "--name", c.Name, "--id", c.IDNo)
	var b struct {
		BindingID string `json:"binding_id"`
	}
	out = run(t, bin, home, "", nil, "-o", "json", "--as", "u3", "card", "bind", "--card", c.CardNo, "--phone", c.Phone)
	if err := json.Unmarshal([]byte(out), &b); err != nil || b.BindingID == "" {
		t.Fatalf("card bind: %v %q", err, out)
	}
	otp := strings.TrimSpace(run(t, bin, home, "", nil, "bank", "otp", "--phone", c.Phone))
	// A merchant with an unpaid Native order (for the scan) and an order paid by card (for the
	// card refund, which goes through the bank).
	run(t, bin, home, "", nil, "merchant", "create", "--name", "crash shop")
	var native struct {
		CodeURL string `json:"code_url"`
	}
	out = run(t, bin, home, "", nil, "-o", "json", "merchant", "order", "create", "--mchid", "1900000001", "--type", "native",
		"--out-trade-no", "crash-native-1", "--amount", "4.00", "--description", "tea")
	if err := json.Unmarshal([]byte(out), &native); err != nil || native.CodeURL == "" {
		t.Fatalf("order create: %v %q", err, out)
	}
	var paid struct {
		CodeURL string `json:"code_url"`
	}
	out = run(t, bin, home, "", nil, "-o", "json", "merchant", "order", "create", "--mchid", "1900000001", "--type", "native",
		"--out-trade-no", "crash-paid-1", "--amount", "6.00", "--description", "cake")
	if err := json.Unmarshal([]byte(out), &paid); err != nil || paid.CodeURL == "" {
		t.Fatalf("order create: %v %q", err, out)
	}
	run(t, bin, home, password+"\n", nil, "--as", "u1", "scan", paid.CodeURL, "--source", "card:c1", "--password-stdin")
	// A top-up whose bank answer is lost: pending, for reconcile to settle.
	run(t, bin, home, "", nil, "bank", "fault", "add", "drop_after;op=debit;first=1")
	run(t, bin, home, password+"\n", []int{10}, "--as", "u1", "topup", "--card", "c1", "--amount", "7.00", "--password-stdin")
	return home, []command{
		{"scan-card", password + "\n", []string{"--as", "u1", "scan", native.CodeURL, "--source", "card:c1", "--password-stdin"}},
		{"refund-card", "", []string{"merchant", "refund", "--mchid", "1900000001", "--out-trade-no", "crash-paid-1",
			"--out-refund-no", "crash-refund-1", "--amount", "2.50"}},
		{"topup", password + "\n", []string{"--as", "u1", "topup", "--card", "c1", "--amount", "10.00", "--password-stdin"}},
		{"pay-card", password + "\n", []string{"--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "5.00", "--source", "card:c1", "--password-stdin"}},
		{"withdraw", password + "\n", []string{"--as", "u1", "withdraw", "--card", "c1", "--amount", "3.00", "--password-stdin"}},
		{"card-confirm", "", []string{"--as", "u3", "card", "confirm", "--binding", b.BindingID, "--otp", otp}},
		{"transfer-accept", "", []string{"--as", "u2", "transfer", "accept", tr.Transfer.ID}},
		{"reconcile", "", []string{"reconcile"}},
		// A day later: the unaccepted transfer is refunded, and sandbox.json is renamed into place.
		{"clock-advance", "", []string{"clock", "advance", "25h"}},
	}
}

// traced runs a command under strace on a copy of tpl: counting its kill-point syscalls (inject
// ""), or killing it with SIGKILL at the k-th call of one of them. WALLETCTL_ONE_THREAD keeps the
// command on one OS thread, whose syscall counter strace uses, so that "the k-th" is the
// command's k-th. It returns the home, the strace log and whether the command was killed.
func traced(t *testing.T, bin, tpl string, c command, inject string, k int) (home, log string, killed bool, output string) {
	home = filepath.Join(t.TempDir(), "home")
	if err := os.CopyFS(home, os.DirFS(tpl)); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "strace.log")
	args := []string{"-f", "-qq", "-o", logFile, "-e", "trace=" + strings.Join(killSyscalls, ",")}
	if inject != "" {
		args = append(args, "-e", "inject="+inject+":signal=SIGKILL:when="+strconv.Itoa(k))
	}
	args = append(args, "--", bin, "--home", home, "--no-color")
	cmd := exec.Command("strace", append(args, c.args...)...)
	cmd.Env = append(os.Environ(), "WALLETCTL_ONE_THREAD=1", "GOMAXPROCS=1")
	cmd.Stdin = strings.NewReader(c.stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && (ws.Signaled() && ws.Signal() == syscall.SIGKILL || ws.ExitStatus() == 128+int(syscall.SIGKILL)) {
			killed = true
		}
	} else if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(logFile)
	return home, string(b), killed, out.String()
}

// countCalls counts each kill-point syscall of the command's main thread: the one that made most
// of them (WALLETCTL_ONE_THREAD pins the command's work to it; the runtime's other threads make
// almost none).
func countCalls(log string) map[string]int {
	per := map[string]map[string]int{}
	total := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, ok := strings.Cut(f[1], "(")
		if !ok || strings.HasPrefix(name, "-") {
			continue
		}
		if per[f[0]] == nil {
			per[f[0]] = map[string]int{}
		}
		per[f[0]][name]++
		total[f[0]]++
	}
	best := ""
	for tid, n := range total {
		if best == "" || n > total[best] {
			best = tid
		}
	}
	if best == "" {
		return map[string]int{}
	}
	return per[best]
}

// TestKillAtEverySyscall kills each command at every write, rename and fsync it makes (with
// CRASH_ALL=1, as `make crash-ci` runs it; else at a deterministic sample of them, for the race
// run), then reopens the home, reconciles and checks every money invariant.
func TestKillAtEverySyscall(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Fatal("this test kills commands with strace's fault injection: install strace (apt-get install strace; .ci/run does)")
	}
	bin := testbin.Build(t, walletctlPkg)
	tpl, cmds := template(t, bin)
	all := os.Getenv("CRASH_ALL") == "1"
	ctx := context.Background()
	var mu sync.Mutex
	total := 0
	// The commands run two at a time (each kill run is a process of its own): the group returns
	// when all have.
	t.Run("commands", func(t *testing.T) {
		for _, c := range cmds {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				killCommand(t, ctx, bin, tpl, c, all, &mu, &total)
			})
		}
	})
	t.Logf("kill points covered: %d over %d commands (all: %v)", total, len(cmds), all)
	fmt.Fprintf(os.Stderr, "crashtest: %d kill points over %d commands\n", total, len(cmds))
}

// killCommand kills one command at each of its kill points (or the race run's sample) and
// audits the home after each.
func killCommand(t *testing.T, ctx context.Context, bin, tpl string, c command, all bool, mu *sync.Mutex, total *int) {
	_, log, killed, output := traced(t, bin, tpl, c, "", 0)
	if killed {
		t.Fatal("the counting run was killed")
	}
	calls := countCalls(log)
	if calls["fsync"] == 0 {
		t.Fatalf("the command synced nothing: it did not run as planned:\n%s", output)
	}
	points, kills := 0, 0
	for _, name := range killSyscalls {
		for k := 1; k <= calls[name]; k++ {
			// The race run's sample: every 20th write, every 3rd fsync, every rename.
			if !all && k%20 != 1 && (name != "fsync" || k%3 != 1) && !strings.HasPrefix(name, "rename") {
				continue
			}
			points++
			home, _, killed, _ := traced(t, bin, tpl, c, name, k)
			if killed {
				kills++
			}
			vs, tot, err := Audit(ctx, home)
			if err != nil {
				t.Fatalf("killed at %s #%d: %v", name, k, err)
			}
			for _, v := range vs {
				t.Errorf("killed at %s #%d: %s", name, k, v)
			}
			if tot.WalletTxns == 0 {
				t.Fatalf("killed at %s #%d: the wallet has no transactions: the audit read the wrong file", name, k)
			}
		}
	}
	t.Logf("%s: %v; %d kill points, %d killed the command (the others came after its last call of that kind)", c.name, calls, points, kills)
	if kills == 0 {
		t.Fatal("no run was killed: the injection does not work")
	}
	mu.Lock()
	*total += points
	mu.Unlock()
}
