package cli_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// listenProcess is a running `walletctl listen`.
type listenProcess struct {
	cmd         *exec.Cmd
	out, errOut *lockedBuffer
	done        chan int // the exit code
}

// startListen starts the built binary's listen and waits for its Ready line on stderr.
func startListen(t *testing.T, env []string, args ...string) *listenProcess {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), append([]string{"NO_COLOR="}, env...)...)
	p := &listenProcess{cmd: cmd, out: &lockedBuffer{}, errOut: &lockedBuffer{}, done: make(chan int, 1)}
	cmd.Stdout, cmd.Stderr = p.out, p.errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			p.done <- ee.ExitCode()
		case err != nil:
			p.done <- -1
		default:
			p.done <- 0
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	p.waitFor(t, func() bool { return strings.Contains(p.errOut.String(), "Ready: forwarding notifications of ") }, "the Ready line")
	return p
}

// waitFor waits up to 30 s for cond, failing with the process's output.
func (p *listenProcess) waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		select {
		case code := <-p.done:
			p.done <- code
			if cond() {
				return
			}
			t.Fatalf("listen exited %d before %s\n--- stdout\n%s--- stderr\n%s", code, what, p.out, p.errOut)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen: no %s in 30 s\n--- stdout\n%s--- stderr\n%s", what, p.out, p.errOut)
		}
	}
}

// exit waits for the process to end and returns its exit code.
func (p *listenProcess) exit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-p.done:
		return code
	case <-time.After(30 * time.Second):
		t.Fatalf("listen did not stop\n--- stdout\n%s--- stderr\n%s", p.out, p.errOut)
		return -1
	}
}

// TestListenForwards runs listen as a real process on an embedded sandbox while other processes
// pay orders in the same home: the notification goes to the forward address (not the order's
// notify_url), listen prints the attempt (-o json lines) and stops by itself with --max-events;
// a second listen shows a failed attempt and the retry that `clock advance` in another process
// makes, and stops on SIGINT; after each, the forward is dropped.
func TestListenForwards(t *testing.T) {
	t.Parallel() // its own home; mostly waiting for listen's polls
	w := newMerchantWorld(t, newWorld(t, false))
	rcv := newReceiver(t)
	fwd := rcv.URL + "/forwarded"
	const nowhere = "http://127.0.0.1:9/not-listening"
	p := startListen(t, nil, "--home", w.home, "-o", "json", "listen", "--interval", "20ms", "--forward-to", fwd, "--max-events", "1", "--timeout", "60s")
	if !strings.Contains(p.errOut.String(), w.home) || !strings.Contains(p.errOut.String(), fwd+" (Ctrl-C to stop)") {
		t.Errorf("Ready line: %s", p.errOut)
	}
	o := w.order("create", "--mchid", w.mchid, "--type", "native", "--out-trade-no", "listen-1", "--amount", "3",
		"--description", "Cake", "--notify-url", nowhere)
	if r := exe(t, w.home, w.pw+"\n", "--as", w.user, "scan", o.CodeURL, "--password-stdin"); r.code != 0 {
		t.Fatal(r)
	}
	if code := p.exit(t); code != 0 {
		t.Fatalf("listen --max-events 1: exit %d\n%s\n%s", code, p.out, p.errOut)
	}
	lines := strings.Split(strings.TrimSpace(p.out.String()), "\n")
	var line struct {
		Notification string `json:"notification"`
		EventType    string `json:"event_type"`
		MchID        string `json:"mchid"`
		URL          string `json:"url"`
		Status       int    `json:"status"`
		OK           bool   `json:"ok"`
		Answer       string `json:"answer"`
	}
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &line) != nil || line.Notification != "n1" || line.EventType != walletctl.EventTransactionSuccess ||
		line.MchID != w.mchid || line.URL != fwd || line.Status != 200 || !line.OK || line.Answer != `{"code":"SUCCESS"}` {
		t.Fatalf("listen -o json printed:\n%s", p.out)
	}
	if got := rcv.got(); len(got) != 1 || got[0] != walletctl.EventTransactionSuccess {
		t.Fatalf("the receiver got %v", got)
	}
	if n := w.notification("n1"); n.Status != walletctl.NotifyDelivered || n.Attempts[0].URL != fwd || n.URL != nowhere {
		t.Fatalf("n1: %+v", n)
	}
	// Dropped on exit: the next notification goes to its own (dead) address.
	w.payOrder("listen-2", nowhere)
	if got := rcv.got(); len(got) != 1 {
		t.Fatalf("the forward outlived listen: the receiver got %v", got)
	}

	// A failed attempt, then its retry made by another process's clock advance; Ctrl-C stops it.
	p = startListen(t, nil, "--home", w.home, "listen", "--interval", "20ms", "--forward-to", fwd, "--events", "transaction.success")
	rcv.failNext(1)
	o = w.order("create", "--mchid", w.mchid, "--type", "native", "--out-trade-no", "listen-3", "--amount", "3",
		"--description", "Pie", "--notify-url", nowhere)
	if r := exe(t, w.home, w.pw+"\n", "--as", w.user, "scan", o.CodeURL, "--password-stdin"); r.code != 0 {
		t.Fatal(r)
	}
	p.waitFor(t, func() bool { return strings.Contains(p.out.String(), "TRANSACTION.SUCCESS  n3  → 500 ") }, "failed attempt")
	if r := exe(t, w.home, "", "clock", "advance", "15s"); r.code != 0 {
		t.Fatal(r)
	}
	p.waitFor(t, func() bool { return strings.Contains(p.out.String(), "TRANSACTION.SUCCESS  n3  → 200 ") }, "retry")
	first, second, _ := strings.Cut(strings.TrimSpace(p.out.String()), "\n")
	if !strings.HasPrefix(first, "2026-01-05 ") || !strings.Contains(first, `{"code":"FAIL","message":"busy"}`) ||
		!strings.Contains(second, `{"code":"SUCCESS"}`) || first[:19] == second[:19] {
		t.Errorf("listen lines:\n%s", p.out)
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	if code := p.exit(t); code != 0 {
		t.Fatalf("listen after SIGINT: exit %d\n%s", code, p.errOut)
	}
	before := len(rcv.got())
	w.payOrder("listen-4", nowhere)
	if got := rcv.got(); len(got) != before {
		t.Fatalf("the forward outlived a SIGINT: the receiver got %v", got)
	}

	// A listen that runs out of time has one outcome, with or without --max-events: TIMED_OUT
	// (exit 9), never PENDING (a lost bank answer); a bad URL is refused. The timeout is real
	// time: short, yet well above what listen takes to register.
	for _, max := range []string{"1", "0"} {
		r := exe(t, w.home, "", "listen", "--interval", "20ms", "--forward-to", fwd, "--max-events", max, "--timeout", "500ms")
		if r.code != 9 || !strings.Contains(r.errOut, "TIMED_OUT") || strings.Contains(r.errOut, "PENDING") {
			t.Fatalf("listen --max-events %s --timeout: %s", max, r)
		}
	}
	if r := exe(t, w.home, "", "listen", "--forward-to", "localhost:8080"); r.code != 2 {
		t.Fatalf("listen with a bad URL: %s", r)
	}
	if r := exe(t, w.home, "", "listen"); r.code != 2 {
		t.Fatalf("listen without --forward-to: %s", r)
	}
}

// TestListenOverServe: listen against `walletctl serve` (--backend) receives the notification of
// an event that trigger, another process, makes on the same tenant.
func TestListenOverServe(t *testing.T) {
	const key = "listen-tenant-key-0123456789"
	srv := startServe(t, []string{"WALLETCTL_ADMIN_TOKEN=listen-admin-token"}, "--data", t.TempDir(), "--tenant-key", key, "--seed", "11", "--customers", "20")
	env := []string{"WALLETCTL_BACKEND=" + srv.url, "WALLETCTL_API_KEY=" + key}
	rcv := newReceiver(t)
	p := startListen(t, env, "listen", "--interval", "20ms", "--forward-to", rcv.URL+"/hook", "--max-events", "1", "--timeout", "60s")
	if !strings.Contains(p.errOut.String(), "of "+srv.url+" to ") {
		t.Errorf("Ready line: %s", p.errOut)
	}
	var res triggered
	r := exeEnv(t, env, "", "-o", "json", "trigger", "TRANSACTION.SUCCESS")
	if r.code != 0 || json.Unmarshal([]byte(r.out), &res) != nil || res.Notification == nil {
		t.Fatalf("trigger over --backend: %s", r)
	}
	if code := p.exit(t); code != 0 {
		t.Fatalf("listen: exit %d\n%s\n%s", code, p.out, p.errOut)
	}
	if !strings.Contains(p.out.String(), "TRANSACTION.SUCCESS  "+res.Notification.ID+"  → 200 ") {
		t.Fatalf("listen printed:\n%s", p.out)
	}
	if got := rcv.got(); len(got) != 1 || got[0] != walletctl.EventTransactionSuccess {
		t.Fatalf("the receiver got %v", got)
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
}
