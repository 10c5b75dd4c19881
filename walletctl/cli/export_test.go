package cli

import "github.com/spf13/cobra"

// CommandTree is the command tree one invocation builds, for tests that walk it.
func CommandTree() *cobra.Command {
	a := newApp(&IOStreams{}, func(string) string { return "" })
	return a.newRoot()
}

// ErrorCode is the code walletctl would report for err.
func ErrorCode(err error) string { return asWalletError(err).Code }

// Typed gives a command built alone (NewCmdX) the typed flag and argument errors the root gives
// every command.
func Typed(c *cobra.Command) *cobra.Command {
	c.SetFlagErrorFunc(flagError)
	typedArgs(c)
	return c
}
