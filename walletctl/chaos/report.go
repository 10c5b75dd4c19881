package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
)

// WriteTable prints the report for people: operations by outcome, faults fired, the totals and
// every violation.
func (r *Report) WriteTable(out io.Writer) {
	fmt.Fprintf(out, "chaos seed %d: %d users, %d operations, fault rate %.0f%% (%s), %d worker(s)",
		r.Seed, r.Users, r.Ops, r.FaultRate*100, strings.Join(r.Kinds, ","), r.Workers)
	if r.Wallets > 1 {
		fmt.Fprintf(out, ", %d wallets on one bank", r.Wallets)
	}
	if r.KillRate > 0 {
		fmt.Fprintf(out, ", kill rate %g%%", r.KillRate*100)
	}
	if r.GiveUpRate > 0 {
		fmt.Fprintf(out, ", give-up rate %g%%", r.GiveUpRate*100)
	}
	fmt.Fprintln(out)

	t := table.NewWriter()
	t.SetOutputMirror(out)
	t.SetStyle(table.StyleLight)
	t.AppendHeader(table.Row{"operation", "outcome", "count"})
	for _, op := range r.sortedOps() {
		outs := make([]string, 0, len(r.Operations[op]))
		for o := range r.Operations[op] {
			outs = append(outs, o)
		}
		sort.Strings(outs)
		for _, o := range outs {
			t.AppendRow(table.Row{op, o, r.Operations[op][o]})
		}
	}
	t.Render()

	f := table.NewWriter()
	f.SetOutputMirror(out)
	f.SetStyle(table.StyleLight)
	f.AppendHeader(table.Row{"fault fired", "count"})
	kinds := make([]string, 0, len(r.FaultsFired))
	for k := range r.FaultsFired {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		f.AppendRow(table.Row{k, r.FaultsFired[k]})
	}
	f.AppendRow(table.Row{"retries (same idempotency key)", r.Retries})
	f.AppendRow(table.Row{"pending answers", r.PendingSeen})
	f.AppendRow(table.Row{"pending settled", r.PendingSettled})
	f.AppendRow(table.Row{"reconcile calls after the run", r.Reconciles})
	if r.KillRate > 0 || r.KillsBefore+r.KillsAfter+r.Restarts > 0 {
		f.AppendRow(table.Row{"wallet killed before / after the bank call", fmt.Sprintf("%d / %d", r.KillsBefore, r.KillsAfter)})
		f.AppendRow(table.Row{"wallet restarts", r.Restarts})
	}
	wheres := make([]string, 0, len(r.GiveUps))
	for w := range r.GiveUps {
		wheres = append(wheres, w)
	}
	sort.Strings(wheres)
	for _, w := range wheres {
		f.AppendRow(table.Row{"client gave up " + w, r.GiveUps[w]})
	}
	if r.Totals != nil {
		f.AppendRow(table.Row{"bank in / out (fen)", fmt.Sprintf("%d / %d", r.Totals.BankIn, r.Totals.BankOut)})
		f.AppendRow(table.Row{"users / merchants / in transit / fees (fen)",
			fmt.Sprintf("%d / %d / %d / %d", r.Totals.Users, r.Totals.Merchants, r.Totals.InTransit, r.Totals.Fees)})
		f.AppendRow(table.Row{"merchant orders / paid / refunds", fmt.Sprintf("%d / %d / %d", r.Totals.Orders, r.Totals.OrdersPaid, r.Totals.Refunds)})
	}
	f.AppendRow(table.Row{"violations", len(r.Violations)})
	f.Render()

	for _, v := range r.Violations {
		fmt.Fprintf(out, "VIOLATION %s\n", v)
	}
	fmt.Fprintf(out, "state hash %s\n", r.Hash)
}

// WriteJSON prints the report for scripts.
func (r *Report) WriteJSON(out io.Writer) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
