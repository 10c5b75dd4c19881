// Package tablefit renders go-pretty tables no wider than a terminal: the widest columns wrap
// (at spaces where they can) until every line fits, and Width says how wide the terminal is.
package tablefit

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
	"golang.org/x/term"
)

// Default is the width when stdout is not a terminal and $COLUMNS is unset.
const Default = 80

// Width is the width to fit: the terminal's when out is one, else $COLUMNS when set, else 80.
func Width(out any, isTTY bool, getenv func(string) string) int {
	if f, ok := out.(interface{ Fd() uintptr }); ok && isTTY {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	if getenv != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(getenv("COLUMNS"))); err == nil && n > 0 {
			return n
		}
	}
	return Default
}

// Of is Width for out, a terminal when it is an *os.File on one.
func Of(out any, getenv func(string) string) int {
	f, ok := out.(*os.File)
	return Width(out, ok && term.IsTerminal(int(f.Fd())), getenv)
}

// LineWidth is the widest line of s in terminal columns (East Asian wide characters take two,
// escape sequences none).
func LineWidth(s string) int {
	max := 0
	for _, l := range strings.Split(s, "\n") {
		if w := text.StringWidthWithoutEscSequences(l); w > max {
			max = w
		}
	}
	return max
}

// Render renders t at most width columns wide: when its natural rendering is wider, the widest
// columns are capped and wrap (soft, at spaces where possible). A table whose borders alone are
// wider than width is rendered as narrow as it goes.
func Render(t table.Writer, width int) string {
	s := t.Render()
	if width <= 0 || LineWidth(s) <= width {
		return s
	}
	widths := columnWidths(s)
	if len(widths) == 0 {
		return s
	}
	avail := width - (3*len(widths) + 1) // "│ " before each column, " " after, the closing "│"
	for try := 0; try < 8; try++ {
		c := capFor(widths, avail-try)
		cfgs := make([]table.ColumnConfig, 0, len(widths))
		for i, w := range widths {
			if w > c {
				cfgs = append(cfgs, table.ColumnConfig{Number: i + 1, WidthMax: c, WidthMaxEnforcer: text.WrapSoft})
			}
		}
		t.SetColumnConfigs(cfgs)
		s = t.Render()
		if LineWidth(s) <= width || c <= 1 {
			break
		}
	}
	return s
}

// capFor is the largest cap c ≥ 1 with sum(min(w, c)) ≤ avail: the widest columns shrink first,
// to the same width, and the narrow ones keep theirs.
func capFor(widths []int, avail int) int {
	ws := append([]int(nil), widths...)
	sort.Ints(ws)
	sum := 0
	for i, w := range ws {
		rest := len(ws) - i
		// every column from i on is capped at c ≥ ws[i-1]: c = (avail - sum) / rest
		if sum+w*rest > avail {
			c := (avail - sum) / rest
			if c < 1 {
				c = 1
			}
			return c
		}
		sum += w
	}
	return ws[len(ws)-1]
}

// columnWidths reads the content width of each column from the first border line with column
// separators (the top border, or the line under a title).
func columnWidths(s string) []int {
	for _, l := range strings.Split(s, "\n") {
		r := []rune(l)
		if len(r) < 3 || !strings.ContainsAny(l, "┬┼") {
			continue
		}
		var ws []int
		n := 0
		for _, c := range r[1 : len(r)-1] {
			if c == '┬' || c == '┼' {
				ws = append(ws, n-2)
				n = 0
				continue
			}
			n++
		}
		return append(ws, n-2)
	}
	// One column: the top border's width.
	if l := strings.SplitN(s, "\n", 2)[0]; len([]rune(l)) >= 4 {
		return []int{len([]rune(l)) - 4}
	}
	return nil
}

// proseWidth is how wide a column of prose (cells with spaces) counts when Drop decides: it wraps
// at its spaces, so it need not be left out for being long.
const proseWidth = 24

// Drop leaves out optional columns, in the order given, while the table of header and rows is
// wider than width (a prose column counting as at most proseWidth, since Render wraps it); the
// columns not named are always kept. It returns the header and rows kept.
func Drop(width int, header []string, rows []table.Row, optional ...string) ([]string, []table.Row) {
	keep := make([]bool, len(header))
	for i := range keep {
		keep[i] = true
	}
	natural := func() int {
		total, n := 1, 0
		for i, h := range header {
			if !keep[i] {
				continue
			}
			w, prose := text.StringWidthWithoutEscSequences(h), false
			for _, r := range rows {
				if i < len(r) {
					s := cellString(r[i])
					if cw := LineWidth(s); cw > w {
						w = cw
					}
					prose = prose || strings.Count(s, " ") >= 2
				}
			}
			if prose && w > proseWidth {
				w = proseWidth
			}
			total += w + 3
			n++
		}
		return total
	}
	for _, name := range optional {
		if natural() <= width {
			break
		}
		for i, h := range header {
			if h == name {
				keep[i] = false
			}
		}
	}
	var h []string
	for i, x := range header {
		if keep[i] {
			h = append(h, x)
		}
	}
	out := make([]table.Row, len(rows))
	for j, r := range rows {
		for i, c := range r {
			if i >= len(keep) || keep[i] {
				out[j] = append(out[j], c)
			}
		}
	}
	return h, out
}

func cellString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// WrapText wraps every line of s wider than width at spaces. A continuation line is indented
// to where the line's text column starts: after the first run of two or more spaces that follows
// text (the description column of a flag or command list), else the column of the lines around it
// in its block when the line has a space just before it (a command name as long as the column,
// followed by one space), else the line's own indent.
func WrapText(s string, width int) string {
	lines := strings.Split(s, "\n")
	cols := make([]int, len(lines))
	for i, l := range lines {
		cols[i] = textColumn(l)
	}
	var out []string
	for i, l := range lines {
		if width <= 0 || text.StringWidthWithoutEscSequences(l) <= width {
			out = append(out, l)
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		col := cols[i]
		if col < 0 {
			col = blockColumn(lines, cols, i, indent)
		}
		if col > 0 && (col < width/2 || width-col >= 24) { // room for words under the column
			indent = col
		}
		out = append(out, wrapHanging(l, width, indent, true))
	}
	return strings.Join(out, "\n")
}

// textColumn is the column where l's text column starts (after the first run of two or more
// spaces that follows text), or -1.
func textColumn(l string) int {
	indent := len(l) - len(strings.TrimLeft(l, " "))
	i := strings.Index(l[indent:], "  ")
	if i <= 0 {
		return -1
	}
	j := indent + i
	for j < len(l) && l[j] == ' ' {
		j++
	}
	if j >= len(l) {
		return -1
	}
	return text.StringWidth(l[:j])
}

// blockColumn is the text column of the nearest line above or below line i in its block (the
// lines around it, up to a blank line, with the same indent) when line i has a space just before
// that column and text at it, or -1.
func blockColumn(lines []string, cols []int, i, indent int) int {
	l := lines[i]
	fits := func(c int) bool {
		return c > indent+1 && c < len(l) && l[c-1] == ' ' && l[c] != ' ' && text.StringWidth(l[:c]) == c
	}
	for _, step := range []int{-1, 1} {
		for j := i + step; j >= 0 && j < len(lines); j += step {
			o := lines[j]
			if strings.TrimSpace(o) == "" || len(o)-len(strings.TrimLeft(o, " ")) != indent {
				break
			}
			if c := cols[j]; c > 0 {
				if fits(c) {
					return c
				}
				break
			}
		}
	}
	return -1
}

// WrapHanging wraps the line l at spaces to width columns, continuation lines indented by
// indent spaces. A word is never broken: one longer than the room (a URL, a path) stays whole on a
// line of its own, wider than width.
func WrapHanging(l string, width, indent int) string { return wrapHanging(l, width, indent, false) }

// wrapHanging is WrapHanging; with commas, a word longer than the room that is a list (a,b,c)
// breaks after a comma.
func wrapHanging(l string, width, indent int, commas bool) string {
	if width <= indent+10 {
		return l
	}
	pad := strings.Repeat(" ", indent)
	var out []string
	head := l
	for text.StringWidthWithoutEscSequences(head) > width {
		cut := breakAt(head, width, indent, commas)
		if cut <= 0 {
			break
		}
		out = append(out, strings.TrimRight(head[:cut], " "))
		rest := strings.TrimLeft(head[cut:], " ")
		if rest == "" {
			head = ""
			break
		}
		head = pad + rest
	}
	if head == "" {
		return strings.Join(out, "\n")
	}
	return strings.Join(append(out, head), "\n")
}

// breakAt is the byte offset to break l at: the last space after the indent with the text
// before it within width columns; else, with commas, just after the last comma within width
// columns; else the first space after the indent (the word before it is wider than the room and
// stays whole); else 0, no break.
func breakAt(l string, width, indent int, commas bool) int {
	w, last, comma, first := 0, 0, 0, 0
	for i, r := range l {
		rw := text.RuneWidth(r)
		switch {
		case r == ' ' && w > indent:
			if first == 0 {
				first = i
			}
			if w < width { // as it always broke: a wrapped line ends before the last column
				last = i
			}
		case r == ',' && w > indent && w+rw < width && i+1 < len(l):
			comma = i + 1
		}
		w += rw
	}
	switch {
	case last > 0:
		return last
	case commas && comma > 0:
		return comma
	}
	return first
}
