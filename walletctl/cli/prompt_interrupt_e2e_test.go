//go:build linux

package cli_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

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
