package cli_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testbin"
)

// servedProcess is a running `walletctl serve`.
type servedProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
	done   chan error
}

// lockedBuffer is an output a test reads while the process still writes it.
type lockedBuffer = testbin.Buffer

// startServe starts the real binary and reads the URL from the first line of its stdout.
func startServe(t *testing.T, env []string, args ...string) *servedProcess {
	t.Helper()
	return startServer(t, binary(t), env, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
}

// startServer starts a server binary (walletctl serve, bankmock serve) that prints its URL as the
// first line of standard output, and reads it.
func startServer(t *testing.T, bin string, env []string, args ...string) *servedProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &servedProcess{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- strings.TrimSpace(line)
		io.Copy(io.Discard, out)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.url = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s printed no URL; stderr:\n%s", filepath.Base(bin), p.stderr)
	}
	if !strings.HasPrefix(p.url, "http://127.0.0.1:") {
		t.Fatalf("first line %q; stderr:\n%s", p.url, p.stderr)
	}
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *servedProcess) stop(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("walletctl serve did not stop on SIGTERM; stderr:\n%s", p.stderr)
		return -1
	}
}

// exeEnv runs the binary as a separate process with extra environment.
func exeEnv(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	dir := t.TempDir() // so that an embedded sandbox, if one were opened by mistake, shows up here
	r, err := process(t, 60*time.Second, dir, shellEnv(env...), stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".walletctl")); err == nil {
		t.Errorf("%v opened an embedded sandbox with --backend", args)
	}
	return r
}

// TestServeEndToEnd starts the real `walletctl serve`, drives it with `walletctl --backend` as
// separate processes, checks that the same flow gives the same output as the embedded sandbox,
// stops it with SIGTERM (exit 0) and restarts it on the same data.
func TestServeEndToEnd(t *testing.T) {
	data := t.TempDir()
	const key = "e2e-tenant-key-0123456789"
	srvEnv := []string{"WALLETCTL_ADMIN_TOKEN=e2e-admin-token"}
	p := startServe(t, srvEnv, "--data", data, "--tenant-key", key, "--seed", "11", "--customers", "20")
	env := []string{"WALLETCTL_BACKEND=" + p.url, "WALLETCTL_API_KEY=" + key}

	// The same flow, remote and embedded, prints the same thing.
	remote := succeeded(t, exeEnv(t, env, "", "flow", "open-wallet", "-o", "json"))
	home := t.TempDir()
	succeeded(t, exe(t, home, "", "sandbox", "init", "--seed", "11", "--customers", "20"))
	local := succeeded(t, exe(t, home, "", "flow", "open-wallet", "-o", "json"))
	if remote.out != local.out {
		t.Fatalf("flow open-wallet differs:\n--- remote\n%s\n--- embedded\n%s", remote.out, local.out)
	}
	pw := walletctlSandboxPasswordFromBinary(t, home)

	// Exit codes and error codes cross the wire.
	if r := exeEnv(t, env, pw+"\n", "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "5", "--password-stdin"); r.code != 6 ||
		!strings.Contains(r.errOut, "INSUFFICIENT_BALANCE") {
		t.Fatalf("pay from an empty balance: %s", r)
	}
	if r := exeEnv(t, env, "000000\n", "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "5", "--source", "card:c1", "--password-stdin"); r.code != 7 ||
		!strings.Contains(r.errOut, "PASSWORD_WRONG") {
		t.Fatalf("pay with a wrong password: %s", r)
	}
	succeeded(t, exeEnv(t, env, pw+"\n", "--as", "u1", "topup", "--card", "c1", "--amount", "50", "--password-stdin"))
	succeeded(t, exeEnv(t, env, pw+"\n", "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "5", "--password-stdin"))
	if r := succeeded(t, exeEnv(t, env, "", "--as", "u1", "balance")); !strings.Contains(r.out, "45.00 CNY") {
		t.Fatalf("balance:\n%s", r)
	}
	// Bank commands reach the tenant's bank through the server.
	if r := succeeded(t, exeEnv(t, env, "", "bank", "journal", "-o", "json")); !strings.Contains(r.out, `"debit"`) {
		t.Fatalf("bank journal:\n%s", r)
	}
	clock := func() time.Time {
		var v struct{ Now time.Time }
		if err := json.Unmarshal([]byte(succeeded(t, exeEnv(t, env, "", "clock", "show", "-o", "json")).out), &v); err != nil {
			t.Fatal(err)
		}
		return v.Now
	}
	before := clock()
	succeeded(t, exeEnv(t, env, "", "clock", "advance", "2h"))
	if d := clock().Sub(before); d != 2*time.Hour {
		t.Fatalf("clock advance 2h moved the tenant's clock by %s", d)
	}
	// Sandbox commands are the embedded sandbox's; a wrong key is refused.
	if r := exeEnv(t, env, "", "sandbox", "init"); r.code != 2 {
		t.Fatalf("sandbox init with --backend: %s", r)
	}
	if r := exeEnv(t, []string{"WALLETCTL_BACKEND=" + p.url, "WALLETCTL_API_KEY=wrong-key-0123456789"}, "", "user", "list"); r.code != 7 || // authentication
		!strings.Contains(r.errOut, "UNAUTHENTICATED") ||
		!strings.Contains(r.errOut, "API key") {
		t.Fatalf("wrong key: %s", r)
	}
	if r := exeEnv(t, []string{"WALLETCTL_BACKEND=" + p.url}, "", "user", "list"); r.code != 2 {
		t.Fatalf("no key: %s", r)
	}

	// The admin API wants the token.
	req, _ := http.NewRequest("GET", p.url+"/admin/tenants", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("admin without token: %d", resp.StatusCode)
	}

	if code := p.stop(t); code != 0 {
		t.Fatalf("serve exit %d after SIGTERM; stderr:\n%s", code, p.stderr)
	}
	logs := p.stderr.String()
	if !strings.Contains(logs, "msg=request method=GET path=/v1/users/u1/balance ") {
		t.Fatalf("access log lacks requests:\n%s", logs)
	}
	for _, secret := range []string{pw, key, "e2e-admin-token"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("server log holds a secret %q", secret)
		}
	}

	// A restart on the same data keeps the tenant, its key, its wallet and its clock.
	p2 := startServe(t, srvEnv, "--data", data, "--tenant-key", key)
	env2 := []string{"WALLETCTL_BACKEND=" + p2.url, "WALLETCTL_API_KEY=" + key}
	if r := succeeded(t, exeEnv(t, env2, "", "--as", "u1", "balance")); !strings.Contains(r.out, "45.00 CNY") {
		t.Fatalf("balance after restart:\n%s", r)
	}
	if r := succeeded(t, exeEnv(t, env2, "", "bank", "journal", "-o", "json")); !strings.Contains(r.out, `"debit"`) {
		t.Fatalf("the bank's state was not kept across the restart:\n%s", r)
	}
	if code := p2.stop(t); code != 0 {
		t.Fatalf("second serve exit %d", code)
	}
}
