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

// newTable is a go-pretty table for people; colour only when a.color() says so.
func (a *app) newTable(header ...string) table.Writer {
	t := table.NewWriter()
	style := table.StyleLight
	// Headers arrive upper-cased already: go-pretty's upper-casing would mangle escape sequences.
	style.Format.Header = text.FormatDefault
	t.SetStyle(style)
	if len(header) > 0 {
		row := make(table.Row, len(header))
		for i, h := range header {
			if a.color() {
				row[i] = ansi("1;36", h)
			} else {
				row[i] = h
			}
		}
		t.AppendHeader(row)
	}
	return t
}

// width is how wide tables and help may be: the terminal's width when stdout is one, else
// $COLUMNS when set, else 80.
func (a *app) width() int { return tablefit.Width(a.ios.Out, a.ios.OutTTY, a.getenv) }

// render prints t no wider than a.width(): the widest columns wrap.
func (a *app) render(t table.Writer) {
	fmt.Fprintln(a.ios.Out, tablefit.Render(t, a.width()))
}

// wideUsage is the help of the --wide flag of the commands whose tables leave columns out.
const wideUsage = "show every column at full width (else columns are left out to fit the terminal)"

// kv is one row of a vertical (field, value) table.
type kv struct {
	k string
	v any
}

// printRecord prints a single object: JSON of v, or a two-column table of rows.
func (a *app) printRecord(v any, rows []kv) {
	if a.json() {
		writeJSON(a.ios.Out, v)
		return
	}
	t := a.newTable()
	for _, r := range rows {
		k := r.k
		if a.color() {
			k = ansi("1", k)
		}
		t.AppendRow(table.Row{k, r.v})
	}
	a.render(t)
}

// printList prints a list: JSON of v (never null), or a table with one row per item.
func (a *app) printList(v any, header []string, rows []table.Row) {
	a.printTable(v, header, rows, false)
}

// printTable is printList for a table that may leave out the optional columns, in the order
// given, while it is wider than the terminal (JSON keeps every field). With wide it shows every
// column at full width.
func (a *app) printTable(v any, header []string, rows []table.Row, wide bool, optional ...string) {
	if a.json() {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
			v = reflect.MakeSlice(rv.Type(), 0, 0).Interface()
		}
		writeJSON(a.ios.Out, v)
		return
	}
	if !wide {
		header, rows = tablefit.Drop(a.width(), header, rows, optional...)
	}
	t := a.newTable(header...)
	for _, r := range rows {
		t.AppendRow(r)
	}
	if wide {
		fmt.Fprintln(a.ios.Out, t.Render())
	} else {
		a.render(t)
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.ios.Out, "(none)")
	}
}

// printMessage prints a one-line outcome for people, or v for scripts.
func (a *app) printMessage(v any, format string, args ...any) {
	if a.json() {
		writeJSON(a.ios.Out, v)
		return
	}
	fmt.Fprintf(a.ios.Out, format+"\n", args...)
}

func yuan(fen int64) string { return walletctl.FormatAmount(fen) }

// ts renders an instant on the sandbox's calendar (China Standard Time).
func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(vclock.Shanghai).Format("2006-01-02 15:04:05")
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
