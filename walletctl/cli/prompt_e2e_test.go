//go:build linux

package cli_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/walletctl/walletctl/internal/testbin"

	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// openPTY opens a pseudo-terminal pair (Linux: /dev/ptmx), so that a real walletctl process sees
// a terminal on its standard input and asks at a prompt, echo off, as it does for a person.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlock the pseudo-terminal: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("name the pseudo-terminal: %v", e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pseudo-terminal's slave: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// syncBuffer is an output a test reads while the process still writes it.
type syncBuffer = testbin.Buffer

// proc is a walletctl process started in the background.
type proc struct {
	cmd         *exec.Cmd
	out, errOut *syncBuffer
	done        chan struct{} // closed when it has ended, with err set
	err         error
}

func startWalletctl(t *testing.T, home string, stdin *os.File, args ...string) *proc {
	t.Helper()
	p := &proc{out: &syncBuffer{}, errOut: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), append([]string{"--home", home}, args...)...)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = stdin, p.out, p.errOut
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill() // an error when it has ended already
		<-p.done
	})
	return p
}

// waitStderr waits until the process has written want on stderr.
func (p *proc) waitStderr(t *testing.T, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.errOut.String(), want) {
		select {
		case <-p.done:
			t.Fatalf("walletctl %v ended (%v) before writing %q:\n--- stdout\n%s--- stderr\n%s", p.cmd.Args[1:], p.err, want, p.out, p.errOut)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("walletctl %v did not write %q within %s:\n--- stderr\n%s", p.cmd.Args[1:], want, within, p.errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait waits for the process to end and requires exit 0.
func (p *proc) wait(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("walletctl %v: %v\n--- stdout\n%s--- stderr\n%s", p.cmd.Args[1:], p.err, p.out, p.errOut)
		}
	case <-time.After(within):
		t.Fatalf("walletctl %v still runs after %s (waiting for a lock?):\n--- stderr\n%s", p.cmd.Args[1:], within, p.errOut)
	}
}

// walletctlOK runs a second walletctl, with no terminal, that must finish quickly and succeed.
func walletctlOK(t *testing.T, home string, args ...string) string {
	t.Helper()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	r, err := process(t, 20*time.Second, "", env, "", append([]string{"--home", home}, args...)...)
	if err != nil || r.code != 0 {
		t.Fatalf("walletctl %v (while another waits at a prompt): %v\n%s", args, err, r)
	}
	if strings.Contains(r.errOut, "waiting for another walletctl") {
		t.Fatalf("walletctl %v waited for the one at the prompt:\n%s", args, r.errOut)
	}
	return r.out
}

// A person at a prompt holds no lock. The interactive password reset asks for the SMS code the
// bank has just sent; from a second terminal, `walletctl bank otp --phone P` fetches it at once
// (before, it waited for the sandbox lock the prompt held: a deadlock), then the first completes.
// The same for the payment password prompt: another command runs while it waits.
func TestPromptsHoldNoLock(t *testing.T) {
	w := newWorld(t, false)
	c := testCard(t, "ok")
	u := w.verifiedUser("13900000001", c)
	cid := w.bindCard(u, c)
	w.okIn("258147", "--as", u, "password", "set", "--password-stdin")

	master, slave := openPTY(t)
	reset := startWalletctl(t, w.home, slave, "--as", u, "password", "reset", "--name", c.Name, "--id", c.IDNo, "--card", c.CardNo)
	reset.waitStderr(t, "SMS code: ", 20*time.Second)
	otp := strings.TrimSpace(walletctlOK(t, w.home, "bank", "otp", "--phone", c.Phone))
	if len(otp) != 6 {
		t.Fatalf("bank otp printed %q", otp)
	}
	fmt.Fprintf(master, "%s\n", otp)
	reset.waitStderr(t, "New 6-digit payment password: ", 10*time.Second)
	fmt.Fprintf(master, "369258\n")
	reset.waitStderr(t, "Repeat it: ", 10*time.Second)
	fmt.Fprintf(master, "369258\n")
	reset.wait(t, 20*time.Second)
	if !strings.Contains(reset.out.String(), "payment password reset for "+u) {
		t.Fatalf("password reset: %s", reset.out)
	}

	pay := startWalletctl(t, w.home, slave, "--as", u, "topup", "--card", cid, "--amount", "12.50")
	pay.waitStderr(t, "Payment password: ", 20*time.Second)
	if got := walletctlOK(t, w.home, "--as", u, "balance"); !strings.Contains(got, "0.00") {
		t.Fatalf("balance while the top-up waits for its password: %s", got)
	}
	fmt.Fprintf(master, "369258\n") // the new password
	pay.wait(t, 20*time.Second)
	if !strings.Contains(pay.out.String(), "succeeded") {
		t.Fatalf("top-up: %s", pay.out)
	}
	if got := walletctlOK(t, w.home, "--as", u, "balance"); !strings.Contains(got, "12.50") {
		t.Fatalf("balance after the top-up: %s", got)
	}
}

// A command that waits for the home's lock says so on stderr after a second, naming the holder's
// pid, and goes on when the holder lets go.
func TestWaitingForTheLockIsShown(t *testing.T) {
	t.Parallel() // its own home; a second of waiting is what it checks
	w := newWorld(t, false)
	w.ok("user", "register", "--phone", "13900000001")
	holder, _, err := sandbox.Open(context.Background(), sandbox.Options{Home: w.home}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())

	start := time.Now()
	p := startWalletctl(t, w.home, nil, "user", "list")
	want := fmt.Sprintf("walletctl: waiting for another walletctl using %s (pid %d)…\n", w.home, os.Getpid())
	p.waitStderr(t, want, 20*time.Second)
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Fatalf("the message came after %s, before a second of waiting", waited)
	}
	select {
	case <-p.done:
		t.Fatalf("user list ended (%v) while the lock was held:\n%s", p.err, p.out)
	case <-time.After(200 * time.Millisecond):
	}
	if err := holder.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 20*time.Second)
	if !strings.Contains(p.out.String(), "13900000001") {
		t.Fatalf("user list after the wait: %s", p.out)
	}
	if n := strings.Count(p.errOut.String(), "waiting for another walletctl"); n != 1 {
		t.Fatalf("said %d times that it waits:\n%s", n, p.errOut)
	}
	// A command that finds the home free says nothing of the kind.
	if got := walletctlOK(t, w.home, "user", "list"); !strings.Contains(got, "13900000001") {
		t.Fatalf("user list: %s", got)
	}
}

// echoOn reads the terminal's ECHO flag.
func echoOn(t *testing.T, f *os.File) bool {
	t.Helper()
	var tio syscall.Termios
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&tio))); e != 0 {
		t.Fatalf("read the terminal's settings: %v", e)
	}
	return tio.Lflag&syscall.ECHO != 0
}

// Ctrl-C (SIGINT) or SIGTERM at a no-echo prompt puts echo back before the process ends, which
// ends as the signal would: killed by it, or exit 128+n. Before, the shell was left typing blind.
func TestInterruptAtPromptRestoresEcho(t *testing.T) {
	w := newWorld(t, false)
	user, card := w.openWallet(1)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			_, slave := openPTY(t)
			if !echoOn(t, slave) {
				t.Fatal("a new pseudo-terminal has echo off")
			}
			p := startWalletctl(t, w.home, slave, "--as", user, "topup", "--card", card, "--amount", "1")
			p.waitStderr(t, "Payment password: ", 20*time.Second)
			deadline := time.Now().Add(5 * time.Second)
			for echoOn(t, slave) { // the prompt switches echo off just after it is written
				if time.Now().After(deadline) {
					t.Fatal("echo still on at the password prompt")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Fatalf("still running after %v", sig)
			}
			var ee *exec.ExitError
			if !errors.As(p.err, &ee) {
				t.Fatalf("walletctl ended with %v after %v, want it to end by the signal", p.err, sig)
			}
			ws := ee.Sys().(syscall.WaitStatus)
			if !(ws.Signaled() && ws.Signal() == sig) && ws.ExitStatus() != 128+int(sig) {
				t.Fatalf("walletctl ended with %v after %v", ee, sig)
			}
			if !echoOn(t, slave) {
				t.Fatalf("echo is off after walletctl ended by %v", sig)
			}
		})
	}
	// Nothing moved.
	if got := walletctlOK(t, w.home, "--as", user, "-o", "json", "balance"); !strings.Contains(got, `"available": 0`) {
		t.Fatalf("balance after interrupted top-ups: %s", got)
	}
}
