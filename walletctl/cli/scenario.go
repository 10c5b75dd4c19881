package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl/scenario"
)

// scenarioCmd is `walletctl scenario run|list|coverage` (package walletctl/scenario). Each
// scenario command line runs through Run in-process, with its own home and streams.
func (a *app) scenarioCmd() *cobra.Command {
	return scenario.NewCommand(scenarioExec)
}

func scenarioExec(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return Run(ctx, args, &IOStreams{In: stdin, Out: stdout, ErrOut: stderr}, getenv)
}
