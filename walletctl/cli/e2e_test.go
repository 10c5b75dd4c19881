package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testbin"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// binary builds cmd/walletctl once per test run (testbin), for tests that run it as a process.
func binary(tb testing.TB) string {
	tb.Helper()
	return testbin.Build(tb, "github.com/walletctl/walletctl/cmd/walletctl")
}

// bankmockBinary builds cmd/bankmock once per test run.
func bankmockBinary(tb testing.TB) string {
	tb.Helper()
	return testbin.Build(tb, "github.com/walletctl/walletctl/cmd/bankmock")
}

func TestMain(m *testing.M) {
	// Built while the unit tests run, which need no process.
	testbin.Start("github.com/walletctl/walletctl/cmd/walletctl", "github.com/walletctl/walletctl/cmd/bankmock")
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// shellEnv is the test's environment as a shell would give walletctl (no colour), and extra.
func shellEnv(extra ...string) []string {
	return append(append(os.Environ(), "NO_COLOR="), extra...)
}

// process runs the built binary as a separate process with args: in dir ("" for the test's),
// with env, reading stdin. One that runs past limit is killed: code -1, and errOut says so. err
// is why it could not start (code -1 too); process never fails tb, as it runs in goroutines too.
func process(tb testing.TB, limit time.Duration, dir string, env []string, stdin string, args ...string) (r result, err error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(tb), args...)
	cmd.Dir, cmd.Env, cmd.Stdin = dir, env, strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); cmd.ProcessState == nil {
		return result{-1, out.String(), errOut.String() + "\nrun walletctl: " + err.Error()}, err
	}
	r = result{cmd.ProcessState.ExitCode(), out.String(), errOut.String()}
	if ctx.Err() != nil {
		r.code, r.errOut = -1, r.errOut+"\nwalletctl did not finish in time"
	}
	return r, nil
}

// exe runs the built binary as a separate process on home. A bound, so that a stuck process
// fails the test with its output instead of hanging it.
func exe(tb testing.TB, home, stdin string, args ...string) result {
	tb.Helper()
	r, _ := process(tb, 60*time.Second, "", shellEnv(), stdin, append([]string{"--home", home}, args...)...)
	return r
}

// TestBinaryEndToEnd drives the real binary as separate processes: a short flow, exit codes as
// the shell sees them, and concurrent processes on one home.
func TestBinaryEndToEnd(t *testing.T) {
	home := t.TempDir()
	succeeded(t, exe(t, home, "", "sandbox", "init", "--seed", "11", "--customers", "20"))
	r := succeeded(t, exe(t, home, "", "flow", "open-wallet"))
	if !strings.Contains(r.out, "3.6 done: first payment") {
		t.Fatalf("flow:\n%s", r)
	}
	pw := walletctlSandboxPasswordFromBinary(t, home)
	// Exit codes reach the shell: 6 for a declined payment, 2 for no password.
	if r := exe(t, home, pw+"\n", "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "5", "--password-stdin"); r.code != 6 ||
		!strings.Contains(r.errOut, "INSUFFICIENT_BALANCE") {
		t.Fatalf("pay from an empty balance: %s", r)
	}
	if r := exe(t, home, "", "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "5", "--source", "card:c1"); r.code != 2 || !strings.Contains(r.errOut, "PASSWORD_REQUIRED") {
		t.Fatalf("pay without a password: %s", r)
	}
	succeeded(t, exe(t, home, pw+"\n", "--as", "u1", "topup", "--card", "c1", "--amount", "50", "--password-stdin"))
	succeeded(t, exe(t, home, pw+"\n", "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "5", "--password-stdin"))
	if r := succeeded(t, exe(t, home, "", "--as", "u1", "balance")); !strings.Contains(r.out, "45.00 CNY") {
		t.Fatalf("balance:\n%s", r)
	}

	// Four processes at once on one home.
	var wg sync.WaitGroup
	results := make([]result, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = exe(t, home, "", "user", "register", "--phone", fmt.Sprintf("1370000000%d", i))
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.code != 0 {
			t.Fatal(r)
		}
	}
	if r := succeeded(t, exe(t, home, "", "sandbox", "status")); !strings.Contains(r.out, "USERS               │ 5 ") {
		t.Fatalf("status after concurrent registrations:\n%s", r)
	}
}

func walletctlSandboxPasswordFromBinary(t *testing.T, home string) string {
	t.Helper()
	return documentedPassword(t, exe(t, home, "", "flow", "open-wallet", "--help").out)
}

// benchHome is a sandbox with 1,000 registered users, made through the sandbox package directly.
func benchHome(b *testing.B) string {
	b.Helper()
	home := b.TempDir()
	ctx := context.Background()
	sb, err := sandbox.Init(ctx, sandbox.Options{Home: home}, sandbox.InitOptions{Seed: 1, Customers: 1000})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if _, err := sb.Service().Register(ctx, fmt.Sprintf("137%08d", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := sb.Close(ctx); err != nil {
		b.Fatal(err)
	}
	return home
}

func timeExe(b *testing.B, home string, n int, args ...string) time.Duration {
	start := time.Now()
	for i := 0; i < n; i++ {
		if r := exe(b, home, "", args...); r.code != 0 {
			b.Fatal(r)
		}
	}
	return time.Since(start)
}

// BenchmarkCLIBalance: `walletctl balance --as u1` on a 1,000-user sandbox, as a process; it also
// times `walletctl version` the same number of times in the same run and reports the ratio
// (issue 3's goal: at most 2x).
func BenchmarkCLIBalance(b *testing.B) {
	home := benchHome(b)
	binary(b)
	b.ResetTimer()
	bal := timeExe(b, home, b.N, "--as", "u1", "balance")
	b.StopTimer()
	ver := timeExe(b, home, b.N, "version")
	b.ReportMetric(float64(bal)/float64(ver), "x_version")
	b.ReportMetric(float64(ver.Microseconds())/float64(b.N), "version_us/op")
}

// BenchmarkCLIVersion: the floor of any invocation (process start, no sandbox).
func BenchmarkCLIVersion(b *testing.B) {
	home := b.TempDir()
	binary(b)
	b.ResetTimer()
	timeExe(b, home, b.N, "version")
}
