package scenario

import (
	"context"
	"errors"
	"io"
	"os/exec"
)

// envKeys are the variables a command may read; ProcessExec passes exactly these (from the
// runner's getenv) to the child, and nothing of the real environment but PATH-free basics.
var envKeys = []string{
	"WALLETCTL_HOME", "WALLETCTL_AS", "WALLETCTL_BACKEND", "WALLETCTL_BANK", "WALLETCTL_API_KEY",
	"WALLETCTL_BANK_TOKEN", "WALLETCTL_BANK_KEY", "WALLETCTL_SANDBOX_THROWAWAY", "NO_COLOR", "TZ",
}

// ProcessExec runs every command line as a real process of the walletctl binary at path, so that
// the suite checks the shipped binary end to end (flag parsing, exit codes, stdio) and not only
// the CLI package in-process.
func ProcessExec(path string) Exec {
	return func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
		cmd.Env = []string{}
		for _, k := range envKeys {
			if v := getenv(k); v != "" {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
		}
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &exit) && exit.ExitCode() >= 0:
			return exit.ExitCode()
		default: // could not start, or killed: not an exit code of the product
			io.WriteString(stderr, "scenario: running "+path+": "+err.Error()+"\n")
			return 127
		}
	}
}
