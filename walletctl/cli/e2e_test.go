package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl/sandbox"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/walletctl once per test run into a temporary folder.
func binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "walletctl-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "walletctl")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/walletctl/walletctl/cmd/walletctl").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

var (
	bankBuildOnce sync.Once
	bankBinPath   string
	bankBuildErr  error
)

// bankmockBinary builds cmd/bankmock once per test run, beside the walletctl binary's folder.
func bankmockBinary(tb testing.TB) string {
	tb.Helper()
	bankBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bankmock-bin-")
		if err != nil {
			bankBuildErr = err
			return
		}
		bankBinPath = filepath.Join(dir, "bankmock")
		out, err := exec.Command("go", "build", "-o", bankBinPath, "github.com/walletctl/walletctl/cmd/bankmock").CombinedOutput()
		if err != nil {
			bankBuildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if bankBuildErr != nil {
		tb.Fatal(bankBuildErr)
	}
	return bankBinPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range []string{binPath, bankBinPath} {
		if p != "" {
			os.RemoveAll(filepath.Dir(p))
		}
	}
	os.Exit(code)
}

// exe runs the built binary as a separate process.
func exe(tb testing.TB, home, stdin string, args ...string) result {
	tb.Helper()
	// A bound, so that a stuck process fails the test with its output instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(tb), append([]string{"--home", home}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "NO_COLOR=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1 // could not start: callers see a failure (no Fatal: this runs in goroutines too)
		errOut.WriteString("\nrun walletctl: " + err.Error())
	}
	if ctx.Err() != nil {
		code = -1
		errOut.WriteString("\nwalletctl did not finish in time")
	}
	return result{code, out.String(), errOut.String()}
}

// TestBinaryEndToEnd drives the real binary as separate processes: a short flow, exit codes as
// the shell sees them, and concurrent processes on one home.
func TestBinaryEndToEnd(t *testing.T) {
	home := t.TempDir()
	must := func(r result) result {
		t.Helper()
		if r.code != 0 {
			t.Fatal(r)
		}
		return r
	}
	must(exe(t, home, "", "sandbox", "init", "--seed", "11", "--customers", "20"))
	r := must(exe(t, home, "", "flow", "open-wallet"))
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
	must(exe(t, home, pw+"\n", "--as", "u1", "topup", "--card", "c1", "--amount", "50", "--password-stdin"))
	must(exe(t, home, pw+"\n", "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "5", "--password-stdin"))
	if r := must(exe(t, home, "", "--as", "u1", "balance")); !strings.Contains(r.out, "45.00 CNY") {
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
	if r := must(exe(t, home, "", "sandbox", "status")); !strings.Contains(r.out, "USERS               │ 5 ") {
		t.Fatalf("status after concurrent registrations:\n%s", r)
	}
}

func walletctlSandboxPasswordFromBinary(t *testing.T, home string) string {
	t.Helper()
	help := exe(t, home, "", "flow", "open-wallet", "--help").out
	i := strings.Index(help, "documented default, ")
	if i < 0 {
		t.Fatalf("flow help:\n%s", help)
	}
	return help[i+len("documented default, ") : i+len("documented default, ")+6]
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
