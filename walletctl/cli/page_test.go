package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
)

// pagedTxns is a fake wallet of n transactions t1..tn that pages them as the engine does (newest
// first), and records each page it was asked for.
func pagedTxns(n int, asked *[]walletctl.Page) func(k *fake) {
	txns := make([]walletctl.Txn, n)
	for i := range txns {
		txns[i] = walletctl.Txn{ID: fmt.Sprintf("t%d", n-i), Kind: "pay", Status: "succeeded", Amount: int64(100 * (n - i))}
	}
	return func(k *fake) {
		k.svc.TransactionsFn = func(_ context.Context, _ string, p walletctl.Page) (*walletctl.List[walletctl.Txn], error) {
			*asked = append(*asked, p)
			return walletctl.PageSlice(txns, p, func(t walletctl.Txn) string { return t.ID }, "a transaction")
		}
	}
}

// TestListPaging: a list shows the newest 20 and says on standard error how to see more; --limit
// and --starting-after ask for that page; --all walks every page, and with -o json streams the
// same bytes as the whole list printed at once; bad paging flags are refused before anything runs.
func TestListPaging(t *testing.T) {
	var asked []walletctl.Page
	k := newFake("table", pagedTxns(45, &asked))
	out := k.must(t, cli.NewCmdTxList(k.f, nil))
	if strings.Count(out, "│ t") != 20 || !strings.Contains(out, "│ t45 ") || !strings.Contains(out, "│ t26 ") || strings.Contains(out, "│ t25 ") {
		t.Errorf("first page:\n%s", out)
	}
	if got, want := k.errOut.String(), "(20 shown; more follow: --starting-after t26 for the next page, or --all for every one)\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if len(asked) != 1 || asked[0] != (walletctl.Page{}) {
		t.Errorf("asked %+v: the default page is the API's default", asked)
	}

	asked = nil
	k = newFake("json", pagedTxns(45, &asked))
	var page []walletctl.Txn
	json.Unmarshal([]byte(k.must(t, cli.NewCmdTxList(k.f, nil), "--limit", "5", "--starting-after", "t26")), &page)
	if len(page) != 5 || page[0].ID != "t25" || page[4].ID != "t21" || asked[0] != (walletctl.Page{Limit: 5, StartingAfter: "t26"}) {
		t.Errorf("--limit 5 --starting-after t26: %+v (asked %+v)", page, asked)
	}
	// The last page says nothing more.
	k = newFake("table", pagedTxns(45, &asked))
	k.must(t, cli.NewCmdTxList(k.f, nil), "--starting-after", "t6")
	if k.errOut.Len() != 0 {
		t.Errorf("last page: stderr %q", k.errOut.String())
	}

	// --all -o json: every page, streamed, the same bytes as one list of all.
	asked = nil
	k = newFake("json", pagedTxns(45, &asked))
	streamed := k.must(t, cli.NewCmdTxList(k.f, nil), "--all", "--limit", "10")
	all := make([]walletctl.Txn, 0, 45)
	json.Unmarshal([]byte(streamed), &all)
	whole, _ := json.MarshalIndent(all, "", "  ")
	if len(all) != 45 || streamed != string(whole)+"\n" || len(asked) != 5 || k.errOut.Len() != 0 {
		t.Errorf("--all: %d txns in %d pages, stderr %q; the stream differs from the whole list: %v", len(all), len(asked), k.errOut.String(), streamed != string(whole)+"\n")
	}
	k = newFake("json", pagedTxns(0, &asked))
	if out := k.must(t, cli.NewCmdTxList(k.f, nil), "--all"); out != "[]\n" {
		t.Errorf("--all of nothing: %q", out)
	}
	// --all as a table: one table of all 45.
	k = newFake("table", pagedTxns(45, &asked))
	if out := k.must(t, cli.NewCmdTxList(k.f, nil), "--all"); strings.Count(out, "│ t") != 45 || strings.Count(out, "┌") != 1 {
		t.Errorf("--all table:\n%s", out)
	}

	checkFlags(t, cli.NewCmdTxList, []flagCase[*cli.TxListOptions]{
		{args: []string{"--limit", "7", "--starting-after", "t9", "--wide"}, ok: func(o *cli.TxListOptions) bool {
			return o.Limit == 7 && o.StartingAfter == "t9" && o.Wide
		}},
		{args: []string{"--all"}, ok: func(o *cli.TxListOptions) bool { return o.All && o.Limit == walletctl.DefaultPageLimit }},
		{args: []string{"--limit", "0"}, code: walletctl.CodeInvalidArgument, msg: "--limit must be 1 to 100"},
		{args: []string{"--limit", "101"}, code: walletctl.CodeInvalidArgument, msg: "--limit must be 1 to 100"},
		{args: []string{"--limit", "abc"}, code: walletctl.CodeInvalidArgument},
		{args: []string{"--all", "--ending-before", "t3"}, code: walletctl.CodeInvalidArgument, msg: "--all walks toward older items"},
		{args: []string{"--starting-after", "t3", "--ending-before", "t9"}, code: walletctl.CodeInvalidArgument, msg: "cannot be used together"},
	})
	// Every list command takes the paging flags.
	lists := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !strings.Contains(c.Short, "newest first") {
			return
		}
		lists++
		for _, f := range []string{"limit", "starting-after", "ending-before", "all"} {
			if c.Flags().Lookup(f) == nil {
				t.Errorf("%s has no --%s", c.CommandPath(), f)
			}
		}
	}
	walk(cli.CommandTree())
	if lists < 8 {
		t.Errorf("%d list commands say they list newest first", lists)
	}
}
