package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/notify"
	_ "modernc.org/sqlite"
)

// bigTables are the tables that grow with history.
var bigTables = regexp.MustCompile(`^SCAN (txns|postings|notifications|transfers|orders|refunds|security_log)\b`)

// wholeMerchant is a search of orders or refunds by the merchant only.
var wholeMerchant = regexp.MustCompile(`^SEARCH (orders|refunds)\b.* USING (COVERING )?INDEX \w+ \(mchid=\?\)$`)

// Every statement the wallet runs for the everyday operations reads the tables that grow with
// history through an index (SQLite's EXPLAIN QUERY PLAN says SEARCH, never SCAN), so that its
// cost does not grow with the number of operations (DESIGN.md section 12); reconcile's ledger
// audit included, which reads the postings since the last clean audit. The statements are
// the ones the store really prepared while a world ran the flows, not a list kept by hand. Every
// paged list is read in its index's order, never sorted (a page costs its rows, not the history).
func TestNoFullScanOnHistory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wallet.db")
	st, prepared := tracedStore(t, path)
	w := testworld.New(t, testworld.Store(st), func(c *testworld.Config) { c.Deliverer = &notify.Sender{} })
	a := w.OpenWallet(testworld.Card("ok"), 500_00)
	payer, card := a.IDs()
	b := w.OpenWallet(testworld.Card("credit"), 100_00)
	payee, _ := b.IDs()
	e := w.Engine
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.Balance(ctx, payer))
	must(e.Transactions(ctx, payer, walletctl.MaxPage))
	must(e.Pay(ctx, walletctl.PayRequest{UserID: payer, Merchant: "m-cafe", Amount: 1_00, Source: "balance", Password: testworld.Password}))
	must(e.Pay(ctx, walletctl.PayRequest{UserID: payer, Merchant: "m-cafe", Amount: 1_00, Source: "card:" + card, Password: testworld.Password}))
	must(e.Transfer(ctx, walletctl.TransferRequest{UserID: payer, To: payee, Amount: 1_00, Password: testworld.Password, Delay: "2h", ConfirmPayee: testworld.Card("credit").Name}))
	must(e.Withdraw(ctx, payer, card, 10_00, testworld.Password))
	m, err := e.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "plan shop"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.CreateOrder(ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: "plan-000001", Description: "tea", Amount: 1_00,
		NotifyURL: "http://127.0.0.1:9/notify"})
	if err != nil {
		t.Fatal(err)
	}
	must(e.Order(ctx, walletctl.OrderQuery{MchID: m.ID, OutTradeNo: o.OutTradeNo}))
	must(e.PayOrder(ctx, walletctl.PayOrderRequest{UserID: payer, Ref: o.CodeURL, Password: testworld.Password}))
	must(e.Refund(ctx, walletctl.RefundRequest{MchID: m.ID, OutTradeNo: o.OutTradeNo, OutRefundNo: "plan-r-1", Amount: 50}))
	must(e.DeliverNotifications(ctx)) // refused at once (port 9): a failed try, rescheduled
	must(e.Advance(ctx, 3*time.Hour))
	must(e.DeliverNotifications(ctx))
	must(e.NextDueAt(ctx))
	must(e.Balance(ctx, payee))
	must(e.Reconcile(ctx, ""))
	// Every paged list, first and later pages and filters: a page seeks by its index.
	for _, user := range []string{payer, payee} {
		l, err := e.Transactions(ctx, user, walletctl.Page{Limit: 1})
		must(l, err)
		last := l.Data[len(l.Data)-1].ID
		must(e.Transactions(ctx, user, walletctl.Page{StartingAfter: last}))
		must(e.Transactions(ctx, user, walletctl.Page{EndingBefore: last}))
	}
	must(e.Users(ctx, walletctl.Page{StartingAfter: payee}))
	must(e.Cards(ctx, payer, walletctl.Page{StartingAfter: card}))
	must(e.Transfers(ctx, payer, walletctl.Page{}))
	must(e.SecurityLog(ctx, payer, walletctl.Page{StartingAfter: "3"}))
	must(e.Orders(ctx, m.ID, walletctl.Page{StartingAfter: o.ID}))
	must(e.Refunds(ctx, m.ID, walletctl.Page{}))
	must(e.Notifications(ctx, walletctl.NotificationFilter{}, walletctl.Page{StartingAfter: "n1"}))
	must(e.Notifications(ctx, walletctl.NotificationFilter{MchID: m.ID, Status: walletctl.NotifyPending, Event: walletctl.EventRefundSuccess}, walletctl.Page{}))
	// The merchant's day (its bill, every type) and its totals: the day's rows and one row.
	for _, typ := range []string{"ALL", "SUCCESS", "REFUND"} {
		must(e.TradeBill(ctx, m.ID, "", typ))
	}
	must(e.Merchant(ctx, m.ID))

	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A scan of a partial index reads only what is open (pending txns, due notifications).
	partial := map[string]bool{}
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		rows.Scan(&name)
		partial[name] = true
	}
	rows.Close()
	usesPartial := regexp.MustCompile(`USING (?:COVERING )?INDEX (\w+)`)
	checked, pages := 0, 0
	branchScan := regexp.MustCompile(`^SCAN b\d+$`)
	for _, q := range prepared() {
		head := strings.ToUpper(strings.TrimSpace(q))
		if !strings.HasPrefix(head, "SELECT") && !strings.HasPrefix(head, "UPDATE") && !strings.HasPrefix(head, "DELETE") &&
			!strings.HasPrefix(head, "INSERT") || strings.HasPrefix(head, "PRAGMA") {
			continue
		}
		plan, err := queryPlan(db, q)
		if err != nil {
			t.Errorf("explain %q: %v", q, err)
			continue
		}
		checked++
		// A page reads its rows in key order from its index: sorting is allowed only of what the
		// branches of a merged list read (each at most limit+1 rows), never of a table's rows.
		if strings.Contains(q, "page_key") {
			pages++
			for i, d := range plan {
				if strings.Contains(d, "TEMP B-TREE") && (i == 0 || !branchScan.MatchString(plan[i-1])) {
					t.Errorf("a page sorts the rows it reads instead of seeking them in order:\n  %s\n  plan: %s", oneLine(q), strings.Join(plan, " | "))
				}
			}
		}
		// What is open is read through a partial index of what is open: any other index of
		// txns reads the user's whole history of that kind.
		if strings.Contains(q, "status = 'pending'") && strings.Contains(q, "FROM txns") {
			through := false
			for _, d := range plan {
				m := usesPartial.FindStringSubmatch(d)
				through = through || m != nil && partial[m[1]]
			}
			if !through {
				t.Errorf("pending txns read through an index of the whole history:\n  %s\n  plan: %s", oneLine(q), strings.Join(plan, " | "))
			}
		}
		// A merchant's orders or refunds sought by the merchant alone are its whole history,
		// unless a page's limit stops the read.
		for _, d := range plan {
			if wholeMerchant.MatchString(d) && !strings.Contains(q, "LIMIT") {
				t.Errorf("a read of a merchant's whole history:\n  %s\n  plan: %s", oneLine(q), strings.Join(plan, " | "))
			}
		}
		for _, d := range plan {
			if m := usesPartial.FindStringSubmatch(d); m != nil && partial[m[1]] {
				continue
			}
			if bigTables.MatchString(d) {
				t.Errorf("a full scan of a table that grows with history:\n  %s\n  plan: %s", oneLine(q), strings.Join(plan, " | "))
			}
		}
	}
	if checked < 40 || pages < 12 {
		t.Fatalf("only %d statements checked, %d of them pages: the flows did not run", checked, pages)
	}
	t.Logf("%d statements checked", checked)
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }
