package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/notify"
	"github.com/walletctl/walletctl/walletctl/sqlite"
	_ "modernc.org/sqlite"
)

// bigTables are the tables that grow with history.
var bigTables = regexp.MustCompile(`^SCAN (txns|postings|notifications|transfers|orders|refunds|security_log)\b`)

// Every statement the wallet runs for the everyday operations reads the tables that grow with
// history through an index (SQLite's EXPLAIN QUERY PLAN says SEARCH, never SCAN), so that its
// cost does not grow with the number of operations (DESIGN.md section 12); reconcile's ledger
// audit included, which reads the postings since the last clean audit. The statements are
// the ones the store really prepared while a world ran the flows, not a list kept by hand.
func TestNoFullScanOnHistory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wallet.db")
	var mu sync.Mutex
	seen := map[string]bool{}
	st, err := sqlite.OpenTraced(path, func(q string) {
		mu.Lock()
		seen[q] = true
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mu.Lock()
	clear(seen) // the migrations' statements: run once, at open
	mu.Unlock()
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
	must(e.Transactions(ctx, payer))
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
	mu.Lock()
	defer mu.Unlock()
	checked := 0
	for q := range seen {
		head := strings.ToUpper(strings.TrimSpace(q))
		if !strings.HasPrefix(head, "SELECT") && !strings.HasPrefix(head, "UPDATE") && !strings.HasPrefix(head, "DELETE") &&
			!strings.HasPrefix(head, "INSERT") || strings.HasPrefix(head, "PRAGMA") {
			continue
		}
		rows, err := db.Query("EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
		if err != nil {
			t.Errorf("explain %q: %v", q, err)
			continue
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		checked++
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
		for _, d := range plan {
			if m := usesPartial.FindStringSubmatch(d); m != nil && partial[m[1]] {
				continue
			}
			if bigTables.MatchString(d) {
				t.Errorf("a full scan of a table that grows with history:\n  %s\n  plan: %s", oneLine(q), strings.Join(plan, " | "))
			}
		}
	}
	if checked < 40 {
		t.Fatalf("only %d statements checked: the flows did not run", checked)
	}
	t.Logf("%d statements checked", checked)
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }
