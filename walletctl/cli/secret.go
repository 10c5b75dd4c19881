package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/walletctl/walletctl/walletctl"
)

// passwordFlagVar adds --password-stdin to a command, its value landing in p.
func passwordFlagVar(cmd *cobra.Command, p *bool) {
	cmd.Flags().BoolVar(p, "password-stdin", false, "read the payment password as one line from standard input")
}

func passwordRequired(msg string) *walletctl.Error {
	return &walletctl.Error{Code: walletctl.CodePasswordMissing, Message: msg, Hint: walletctl.Hint(walletctl.CodePasswordMissing)}
}

// readStdinLine reads one line of standard input, without its line ending. Standard input may be
// a person too, so the sandbox is released first (releaseSandbox): open it again after.
func (a *app) readStdinLine(ctx context.Context, what string) (string, error) {
	if err := a.releaseSandbox(ctx); err != nil {
		return "", err
	}
	line, err := a.reader().ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" && errors.Is(err, io.EOF) {
		return "", passwordRequired("--password-stdin given but standard input has no " + what)
	}
	return line, nil
}

// readSecret reads a secret: from stdin when fromStdin, else from a prompt on the terminal
// without echo. With neither it fails with PASSWORD_REQUIRED. The secret is never written back.
// It releases the sandbox before it reads (releaseSandbox): callers open it again after.
func (a *app) readSecret(ctx context.Context, prompt string, fromStdin bool) (string, error) {
	if fromStdin {
		return a.readStdinLine(ctx, "line to read")
	}
	if !a.ios.InTTY {
		return "", passwordRequired("a payment password is needed and standard input is not a terminal")
	}
	if err := a.releaseSandbox(ctx); err != nil {
		return "", err
	}
	fmt.Fprint(a.ios.ErrOut, prompt)
	defer fmt.Fprintln(a.ios.ErrOut)
	if f, ok := a.ios.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b, err := a.readNoEcho(int(f.Fd()))
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	// A terminal we cannot switch off echo on (tests drive Run with InTTY set on a buffer):
	// read a line; nothing is written back either way.
	line, err := a.reader().ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// newPassword reads a new payment password: once from stdin, or twice at a prompt. At a prompt
// the first entry meets the domain's rule (walletctl.CheckPassword, the engine's) before it is
// asked again: a person learns that 12 or 111111 is refused before typing it twice. idNo is the
// holder's ID number when the command has it ("" checks all but the birth date; the engine
// checks that).
func (f *Factory) newPassword(ctx context.Context, fromStdin bool, idNo string) (string, error) {
	p, err := f.Secret(ctx, "New 6-digit payment password: ", fromStdin)
	if err != nil || fromStdin {
		return p, err
	}
	if err := walletctl.CheckPassword(p, idNo); err != nil {
		return "", err
	}
	again, err := f.Secret(ctx, "Repeat it: ", false)
	if err != nil {
		return "", err
	}
	if again != p {
		return "", invalidArg("run the command again and type the same password twice", "the two passwords differ")
	}
	return p, nil
}

// readNoEcho reads a line from the terminal fd with echo off. An interrupt (Ctrl-C) or a
// termination while it waits puts the terminal back as it was (echo on) and ends the process as
// that signal would (exit 130 for Ctrl-C): without this, the shell is left typing blind. The
// sandbox is released during every prompt, so nothing is lost by ending here.
func (a *app) readNoEcho(fd int) ([]byte, error) {
	st, err := term.GetState(fd)
	if err != nil {
		return term.ReadPassword(fd)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	defer func() {
		signal.Stop(sigs)
		close(done)
	}()
	go func() {
		select {
		case sig := <-sigs:
			_ = term.Restore(fd, st)
			fmt.Fprintln(a.ios.ErrOut)
			signal.Reset(sig)
			// Die of the signal itself, as the shell expects of an interrupted command; where a
			// process cannot signal itself (Windows), exit as a shell reports it: 128 + signal.
			if p, err := os.FindProcess(os.Getpid()); err == nil && p.Signal(sig) == nil {
				time.Sleep(time.Second)
			}
			code := 130
			if sig == syscall.SIGTERM {
				code = 143
			}
			os.Exit(code)
		case <-done:
		}
	}()
	return term.ReadPassword(fd)
}
