package cli

import (
	"context"
	"sort"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/internal/cmdtree"
	"github.com/walletctl/walletctl/internal/tablefit"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
)

// NewCmdCodes is `codes`.
func NewCmdCodes(f *Factory, runF func(context.Context, *CodesOptions) error) *cobra.Command {
	return newWideCmd(f, &cobra.Command{Use: "codes", Short: "The error codes, their exit codes and hints (also: walletctl help codes)"},
		runF, func(_ context.Context, o *CodesOptions) error {
			o.Out.Codes(o.Wide)
			return nil
		})
}

// Codes lists the error codes with their exit codes, HTTP statuses and hints.
func (o *Output) Codes(wide bool) {
	rows := codeRows()
	o.Table(rows, []string{"EXIT", "CODE", "HTTP", "HINT"}, rowsOf(rows, func(r codeRow) table.Row {
		return table.Row{r.Exit, r.Code, r.Status, r.Hint}
	}), wide)
}

// helpCmd is cobra's help plus one topic: `walletctl help codes` prints the code table. It also
// makes every command's help fit the terminal (a.out.Width()): long lines wrap, flag and command
// descriptions under their column.
func (a *app) helpCmd(root *cobra.Command) *cobra.Command {
	tablefit.FitHelp(root, a.out.Width)
	return &cobra.Command{Use: "help [command | codes]", Short: "Help about any command, or the error code table (help codes)",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, sub := range root.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 && args[0] == "codes" {
				a.out.Codes(false)
				return nil
			}
			// A word that names no command is refused as the command line refuses it (exit 2,
			// with suggestions), never answered with the root's help.
			return cmdtree.ShowHelp(root, args, unknownCommand)
		},
	}
}

// codeRow is one row of `walletctl codes`: a wallet code with its exit code, the wallet API's
// HTTP status and its default hint.
type codeRow struct {
	Code   string `json:"code"`
	Exit   int    `json:"exit"`
	Status int    `json:"http_status"`
	Hint   string `json:"hint"`
}

// codeRows is the code table sorted by exit code, then code.
func codeRows() []codeRow {
	codes := walletctl.Codes()
	rows := make([]codeRow, 0, len(codes))
	for _, c := range codes {
		rows = append(rows, codeRow{c, ExitCode(c), httpapi.Status(c), walletctl.Hint(c)})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Exit < rows[j].Exit })
	return rows
}
