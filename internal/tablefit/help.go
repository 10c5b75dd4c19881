package tablefit

import (
	"bytes"
	"io"
	"strings"

	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/spf13/cobra"
)

// FitHelp makes every help page of root's command tree fit width(): the long description's
// paragraphs are filled again to the width when a line of theirs is wider, the examples' command
// lines break with a shell continuation (" \") so that they still paste, and cobra's help is
// rendered to a buffer whose long lines then wrap with descriptions kept under their column.
func FitHelp(root *cobra.Command, width func() int) {
	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		w := width()
		out := c.OutOrStdout()
		long, example := c.Long, c.Example
		c.Long, c.Example = Reflow(long, w), WrapCommands(example, w)
		var buf bytes.Buffer
		c.SetOut(&buf)
		help(c, args)
		c.SetOut(out)
		c.Long, c.Example = long, example
		io.WriteString(out, WrapText(buf.String(), w))
	})
}

// Reflow fills the paragraphs of prose in s to width: a paragraph (lines between blank lines)
// with a line wider than width has its lines of prose joined and wrapped again at spaces, so that
// a text written at 100 columns reads as one on 80 and not as long and short lines in turn. A
// line of prose starts at column 0 and has no column of its own (no run of two spaces after its
// text); indented lines, list items and "Label:  value" lines stay as written (WrapText wraps
// them with their hanging indent). A paragraph that fits is left as written.
func Reflow(s string, width int) string {
	if width <= 0 || LineWidth(s) <= width {
		return s
	}
	lines := strings.Split(s, "\n")
	var out []string
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && strings.TrimSpace(lines[j]) != "" {
			j++
		}
		out = append(out, reflowParagraph(lines[i:j], width)...)
		if j < len(lines) {
			out = append(out, lines[j])
		}
		i = j + 1
	}
	return strings.Join(out, "\n")
}

func reflowParagraph(para []string, width int) []string {
	wide := false
	for _, l := range para {
		wide = wide || text.StringWidthWithoutEscSequences(l) > width
	}
	if !wide {
		return para
	}
	var out []string
	for _, l := range para {
		if n := len(out); n > 0 && isProse(l) && isProse(out[n-1]) && !strings.HasSuffix(out[n-1], ":") {
			out[n-1] += " " + l
			continue
		}
		out = append(out, l)
	}
	for i, l := range out {
		if isProse(l) {
			out[i] = WrapHanging(l, width, 0)
		}
	}
	return out
}

// isProse tells whether l is a line of running text: it starts at column 0, is no list item and
// has no column of its own.
func isProse(l string) bool {
	if l == "" || l[0] == ' ' || l[0] == '\t' || strings.Contains(strings.TrimRight(l, " "), "  ") {
		return false
	}
	if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "$ ") {
		return false
	}
	// "1. " and "12) ": a numbered item.
	k := 0
	for k < len(l) && l[k] >= '0' && l[k] <= '9' {
		k++
	}
	return k == 0 || k+1 >= len(l) || (l[k] != '.' && l[k] != ')') || l[k+1] != ' '
}

// WrapCommands wraps the command lines of an example wider than width as a shell would read them:
// at a space outside quotes, with " \" at the end and the rest indented two more spaces, so that
// the lines still paste as one command. A comment line (# ...) wraps as text under its "# ".
func WrapCommands(s string, width int) string {
	if width <= 0 || LineWidth(s) <= width {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if text.StringWidthWithoutEscSequences(l) <= width {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		if strings.HasPrefix(l[indent:], "#") {
			lines[i] = strings.ReplaceAll(WrapHanging(l, width, indent+2), "\n"+strings.Repeat(" ", indent+2),
				"\n"+strings.Repeat(" ", indent)+"# ")
			continue
		}
		lines[i] = wrapCommand(l, width, indent)
	}
	return strings.Join(lines, "\n")
}

// wrapCommand breaks the shell command l at spaces outside quotes so that each line with its " \"
// fits width where a break allows it; continuation lines are indented by indent+2.
func wrapCommand(l string, width, indent int) string {
	// The places a shell would split words: spaces outside quotes.
	var cuts []int
	quote := byte(0)
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == ' ' && i > indent && l[i-1] != ' ':
			cuts = append(cuts, i)
		}
	}
	pad := strings.Repeat(" ", indent+2)
	var out []string
	start, prefix := 0, ""
	for {
		rest := prefix + l[start:]
		if text.StringWidthWithoutEscSequences(rest) <= width {
			out = append(out, rest)
			break
		}
		// The last cut that leaves the line with " \" within width, else the first one after
		// start (a word longer than the line is never broken).
		best := -1
		for _, c := range cuts {
			if c <= start {
				continue
			}
			fits := text.StringWidthWithoutEscSequences(prefix+l[start:c])+2 <= width
			if best < 0 || fits {
				best = c
			}
			if !fits {
				break
			}
		}
		if best < 0 {
			out = append(out, rest)
			break
		}
		out = append(out, prefix+l[start:best]+" \\")
		start = best + 1
		for start < len(l) && l[start] == ' ' {
			start++
		}
		prefix = pad
	}
	return strings.Join(out, "\n")
}
