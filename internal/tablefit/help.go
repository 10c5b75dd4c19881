package tablefit

import (
	"bytes"
	"io"

	"github.com/spf13/cobra"
)

// FitHelp makes every help page of root's command tree fit width(): cobra's help is rendered
// to a buffer, then its long lines wrap with descriptions kept under their column.
func FitHelp(root *cobra.Command, width func() int) {
	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		out := c.OutOrStdout()
		var buf bytes.Buffer
		c.SetOut(&buf)
		help(c, args)
		c.SetOut(out)
		io.WriteString(out, WrapText(buf.String(), width()))
	})
}
