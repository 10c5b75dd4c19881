//go:build !linux

package ptytest

import (
	"os/exec"
	"testing"
	"time"
)

// Term is one process on its own pseudo-terminal (Linux only).
type Term struct{}

// Start skips the test: pseudo-terminals are driven on Linux only.
func Start(t testing.TB, cmd *exec.Cmd, cols, rows int) *Term {
	t.Skip("pseudo-terminal tests run on Linux")
	return nil
}

// Output is what the terminal showed so far.
func (p *Term) Output() string { return "" }

// Type writes s to the terminal.
func (p *Term) Type(s string) {}

// WaitFor waits for one of texts.
func (p *Term) WaitFor(limit time.Duration, texts ...string) string { return "" }

// WaitNoEcho waits for echo off.
func (p *Term) WaitNoEcho(limit time.Duration) {}

// Wait waits for the process to end.
func (p *Term) Wait(limit time.Duration) (string, int) { return "", 0 }

// Run runs cmd on a terminal.
func Run(t testing.TB, cmd *exec.Cmd, cols int) (string, int) {
	Start(t, cmd, cols, 40)
	return "", 0
}
