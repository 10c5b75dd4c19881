package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/walletctl/walletctl/internal/tablefit"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// writeJSON prints v indented by two spaces: structs keep their field order, so the output is
// stable for scripts and goldens.
func writeJSON(w io.Writer, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(w, "{\"error\":{\"code\":\"INTERNAL\",\"message\":%q}}\n", err.Error())
		return
	}
	w.Write(append(b, '\n'))
}

func ansi(code, s string) string { return "\x1b[" + code + "m" + s + "\x1b[0m" }

// Output is where every command's answer goes, in one place: a table for people or JSON for
// scripts (-o), no wider than the terminal, coloured only on one. It owns the output flags.
type Output struct {
	IO      *IOStreams
	Format  string // -o: "table" or "json"
	NoColor bool   // --no-color
	Getenv  func(string) string
}

// JSON tells whether scripts asked for JSON (-o json).
func (o *Output) JSON() bool { return o.Format == "json" }

func (o *Output) getenv(k string) string {
	if o.Getenv == nil {
		return ""
	}
	return o.Getenv(k)
}

// Color is on only for a terminal, and never with --no-color or NO_COLOR (go-pretty checks
// neither our flag nor our getenv, so we decide and hand it plain or coloured text).
func (o *Output) Color() bool {
	return o.IO.OutTTY && !o.NoColor && o.getenv("NO_COLOR") == ""
}

// ErrColor is Color for standard error.
func (o *Output) ErrColor() bool {
	return o.IO.ErrTTY && !o.NoColor && o.getenv("NO_COLOR") == ""
}

// NewTable is a go-pretty table for people; colour only when o.Color() says so.
func (o *Output) NewTable(header ...string) table.Writer {
	t := table.NewWriter()
	style := table.StyleLight
	// Headers arrive upper-cased already: go-pretty's upper-casing would mangle escape sequences.
	style.Format.Header = text.FormatDefault
	t.SetStyle(style)
	if len(header) > 0 {
		row := make(table.Row, len(header))
		for i, h := range header {
			if o.Color() {
				row[i] = ansi("1;36", h)
			} else {
				row[i] = h
			}
		}
		t.AppendHeader(row)
	}
	return t
}

// Width is how wide tables and help may be: the terminal's width when stdout is one, else
// $COLUMNS when set, else 80.
func (o *Output) Width() int { return tablefit.Width(o.IO.Out, o.IO.OutTTY, o.getenv) }

// ErrWidth is Width for standard error: the terminal's width when it is one, else $COLUMNS when
// set, else 80.
func (o *Output) ErrWidth() int { return tablefit.Width(o.IO.ErrOut, o.IO.ErrTTY, o.getenv) }

// Render prints t no wider than o.Width(): the widest columns wrap.
func (o *Output) Render(t table.Writer) {
	fmt.Fprintln(o.IO.Out, tablefit.Render(t, o.Width()))
}

// wideUsage is the help of the --wide flag of the commands whose tables leave columns out.
const wideUsage = "show every column at full width (else columns are left out to fit the terminal)"

// kv is one row of a vertical (field, value) table.
type kv struct {
	k string
	v any
}

// Record prints a single object: JSON of v, or a two-column table of rows. A value meant to be
// copied whole (one word: a URL, an id, a key) is never wrapped inside its cell: when the table
// would be wider than the terminal with it, it leaves the table for a line of its own below,
// "KEY: value" (the value alone on the next line when even that is too wide), so that a copy
// from the terminal gives it whole.
func (o *Output) Record(v any, rows []kv) {
	if o.JSON() {
		writeJSON(o.IO.Out, v)
		return
	}
	width := o.Width()
	var below []kv
	if room := width - 7 - recordKeyWidth(rows); room > 0 {
		var kept []kv
		for _, r := range rows {
			if s, ok := r.v.(string); ok && isWord(s) && text.StringWidthWithoutEscSequences(s) > room {
				below = append(below, r)
				continue
			}
			kept = append(kept, r)
		}
		rows = kept
	}
	t := o.NewTable()
	for _, r := range rows {
		k := r.k
		if o.Color() {
			k = ansi("1", k)
		}
		t.AppendRow(table.Row{k, r.v})
	}
	o.Render(t)
	for _, r := range below {
		s := r.v.(string)
		if len(r.k)+2+text.StringWidthWithoutEscSequences(s) <= width {
			fmt.Fprintf(o.IO.Out, "%s: %s\n", r.k, s)
		} else {
			fmt.Fprintf(o.IO.Out, "%s:\n%s\n", r.k, s)
		}
	}
}

// recordKeyWidth is the width of the key column of a Record's rows.
func recordKeyWidth(rows []kv) int {
	w := 0
	for _, r := range rows {
		w = max(w, text.StringWidthWithoutEscSequences(r.k))
	}
	return w
}

// isWord tells whether s is one word: no space, tab or line break (a URL, an id, a key).
func isWord(s string) bool { return s != "" && !strings.ContainsAny(s, " \t\n") }

// rowsOf is one table row per item.
func rowsOf[T any](items []T, row func(T) table.Row) []table.Row {
	rows := make([]table.Row, len(items))
	for i, it := range items {
		rows[i] = row(it)
	}
	return rows
}

// List prints a list: JSON of v (never null), or a table with one row per item.
func (o *Output) List(v any, header []string, rows []table.Row) {
	o.Table(v, header, rows, false)
}

// Table is List for a table that may leave out the optional columns, in the order given, while
// it is wider than the terminal (JSON keeps every field). With wide it shows every column at
// full width.
func (o *Output) Table(v any, header []string, rows []table.Row, wide bool, optional ...string) {
	if o.JSON() {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
			v = reflect.MakeSlice(rv.Type(), 0, 0).Interface()
		}
		writeJSON(o.IO.Out, v)
		return
	}
	all := header
	if !wide {
		header, rows = tablefit.Drop(o.Width(), header, rows, optional...)
	}
	t := o.NewTable(header...)
	for _, r := range rows {
		t.AppendRow(r)
	}
	if wide {
		fmt.Fprintln(o.IO.Out, t.Render())
	} else {
		o.Render(t)
	}
	if len(rows) == 0 {
		fmt.Fprintln(o.IO.Out, "(none)")
	}
	o.noteHidden(all, header)
}

// noteHidden says on a terminal's stderr which columns of all a table left out to fit (kept are
// those it shows), and that --wide shows them; never in pipes, goldens or -o json.
func (o *Output) noteHidden(all, kept []string) {
	if !o.IO.ErrTTY || len(kept) == len(all) {
		return
	}
	shown := map[string]bool{}
	for _, h := range kept {
		shown[h] = true
	}
	var hidden []string
	for _, h := range all {
		if !shown[h] {
			hidden = append(hidden, h)
		}
	}
	fmt.Fprintf(o.IO.ErrOut, "(%s hidden at %d columns: --wide shows them)\n", strings.Join(hidden, ", "), o.Width())
}

// Message prints a one-line outcome for people, or v for scripts.
func (o *Output) Message(v any, format string, args ...any) {
	if o.JSON() {
		writeJSON(o.IO.Out, v)
		return
	}
	fmt.Fprintf(o.IO.Out, format+"\n", args...)
}

func yuan(fen int64) string { return walletctl.FormatAmount(fen) }

// dayLayout writes a day of the sandbox's calendar: --date, bills.
const dayLayout = "2006-01-02"

// ts renders an instant on the sandbox's calendar (China Standard Time).
func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(vclock.Shanghai).Format(dayLayout + " 15:04:05")
}

// shortTime is a virtual time without its year (tables of notifications; -o json has it all).
func shortTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.In(vclock.Shanghai).Format("01-02 15:04:05")
}

// day is the day of t on the sandbox's calendar.
func day(t time.Time) string { return t.In(vclock.Shanghai).Format(dayLayout) }

// isDay tells whether s is a day as --date takes it.
func isDay(s string) bool {
	_, err := time.Parse(dayLayout, s)
	return err == nil
}

func tsp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return ts(*t)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// formatDetails renders error details as "k=v, k=v" in key order.
func formatDetails(d map[string]any) string {
	if len(d) == 0 {
		return ""
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+detailValue(d[k]))
	}
	return strings.Join(parts, ", ")
}

func detailValue(v any) string {
	switch x := v.(type) {
	case time.Time:
		return ts(x)
	case *time.Time:
		return tsp(x)
	case []string:
		return strings.Join(x, ",")
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = detailValue(e)
		}
		return strings.Join(s, ",")
	case string:
		if t, err := time.Parse(time.RFC3339, x); err == nil {
			return ts(t)
		}
		return x
	}
	return fmt.Sprint(v)
}

// yuanIfAny is an amount for a table cell: empty when there is none.
func yuanIfAny(fen int64) string {
	if fen == 0 {
		return ""
	}
	return yuan(fen)
}
