package cli

import "github.com/spf13/cobra"

// CommandTree is the command tree one invocation builds, for tests that walk it.
func CommandTree() *cobra.Command {
	a := &app{ios: &IOStreams{}, getenv: func(string) string { return "" }}
	return a.newRoot()
}
