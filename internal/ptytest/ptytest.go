//go:build linux

// Package ptytest runs the project's binaries on a pseudo-terminal of a given size, as a person
// at a terminal runs them: their standard streams are the terminal, term.GetSize answers its
// width, and what they print comes back as the terminal showed it. Linux only (Start skips the
// test elsewhere).
package ptytest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Term is one process on its own pseudo-terminal.
type Term struct {
	t      testing.TB
	master *os.File
	cmd    *exec.Cmd

	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced whenever output arrives or the process ends
	exited  bool
	code    int
}

// Start runs cmd with its standard input, output and error on a new pseudo-terminal cols
// columns wide and rows high, as its controlling terminal. The process is killed when the test
// ends if it still runs.
func Start(t testing.TB, cmd *exec.Cmd, cols, rows int) *Term {
	t.Helper()
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	master := os.NewFile(uintptr(mfd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		t.Fatalf("ptsname: %v", err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Fatalf("open the terminal: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(cols), Row: uint16(rows)}); err != nil {
		master.Close()
		slave.Close()
		t.Fatalf("set the terminal's size: %v", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		master.Close()
		slave.Close()
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	slave.Close() // the child holds it now: reads of master end (EIO) when the child is gone
	p := &Term{t: t, master: master, cmd: cmd, changed: make(chan struct{})}
	var reading sync.WaitGroup
	reading.Add(1)
	go func() {
		defer reading.Done()
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			if n > 0 {
				p.mu.Lock()
				p.buf.Write(b[:n])
				p.signal()
				p.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		reading.Wait() // everything the process printed is in buf
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		p.mu.Lock()
		p.exited, p.code = true, code
		p.signal()
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		p.mu.Lock()
		done := p.exited
		p.mu.Unlock()
		if !done {
			_ = cmd.Process.Kill()
		}
		master.Close()
	})
	return p
}

// signal wakes the waiters; p.mu is held.
func (p *Term) signal() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Output is what the terminal showed so far, its line endings as "\n".
func (p *Term) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.ReplaceAll(p.buf.String(), "\r\n", "\n")
}

// Type writes s to the terminal as if typed ("\n" is Enter).
func (p *Term) Type(s string) {
	p.t.Helper()
	if _, err := p.master.Write([]byte(strings.ReplaceAll(s, "\n", "\r"))); err != nil {
		p.t.Fatalf("type on the terminal: %v", err)
	}
}

// WaitNoEcho waits until the process has switched the terminal's echo off (a password prompt
// reading), so that what is typed next is not shown whatever the timing; after limit it fails
// the test.
func (p *Term) WaitNoEcho(limit time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		tio, err := unix.IoctlGetTermios(int(p.master.Fd()), unix.TCGETS)
		if err != nil {
			p.t.Fatalf("read the terminal's settings: %v", err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: echo still on after %s; the terminal shows:\n%s", p.cmd.Path, limit, p.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// WaitFor waits until the output contains one of texts or the process has ended, whichever
// comes first, and returns the text seen ("" when the process ended first). After limit (a
// bound for a hung process, never reached by a passing test) it fails the test.
func (p *Term) WaitFor(limit time.Duration, texts ...string) string {
	p.t.Helper()
	deadline := time.After(limit)
	for {
		p.mu.Lock()
		out := strings.ReplaceAll(p.buf.String(), "\r\n", "\n")
		exited, ch := p.exited, p.changed
		p.mu.Unlock()
		for _, s := range texts {
			if strings.Contains(out, s) {
				return s
			}
		}
		if exited {
			return ""
		}
		select {
		case <-ch:
		case <-deadline:
			_ = p.cmd.Process.Kill()
			p.t.Fatalf("%s: none of %q after %s; the terminal shows:\n%s", p.cmd.Path, texts, limit, out)
		}
	}
}

// Wait waits for the process to end (killing it after limit, which fails the test) and returns
// what the terminal showed and the exit code.
func (p *Term) Wait(limit time.Duration) (string, int) {
	p.t.Helper()
	p.WaitFor(limit)
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.ReplaceAll(p.buf.String(), "\r\n", "\n"), p.code
}

// Run runs cmd on a terminal cols columns wide with nothing typed, and returns what the terminal
// showed and the exit code.
func Run(t testing.TB, cmd *exec.Cmd, cols int) (string, int) {
	t.Helper()
	return Start(t, cmd, cols, 40).Wait(2 * time.Minute)
}
