package engine_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/engine"
)

// Input that cannot be written safely is refused with INVALID_ARGUMENT naming the field: notify
// URLs the sender must not be given, and control characters in text that ends up in a bill, a
// table or a log (DESIGN.md section 10). The engine is the one place every way in (CLI, /v1, v3)
// goes through.
func TestUnsafeInputRefused(t *testing.T) {
	w := newWorld(t)
	u := w.OpenWallet(card("ok"), 100_00).User.ID
	m := w.merchant()
	paid := w.native(m.ID, "input-paid-1", 10_00)
	must[*walletctl.Order](t)(w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: u, Ref: paid.CodeURL, Password: pw}))

	field := func(t *testing.T, err error, want string) {
		t.Helper()
		e := code(t, err, walletctl.CodeInvalidArgument)
		if e != nil && e.Details["field"] != want {
			t.Errorf("details %v; want field=%s", e.Details, want)
		}
	}
	long := "http://127.0.0.1:8090/" + strings.Repeat("a", walletctl.MaxNotifyURL-len("http://127.0.0.1:8090/")+1)
	for _, bad := range []string{"http://a b/c", "http://", "ftp://x", long, "http://x/\n", "http://x/\x00", "https:///path",
		"http:opaque", "//no-scheme/x", "http://user:pw@127.0.0.1/x", "http://127.0.0.1:99999/x", "notify"} {
		t.Run(fmt.Sprintf("notify_url %.30q", bad), func(t *testing.T) {
			order := walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: "input-url-1", Description: "tea", Amount: 1_00, NotifyURL: bad}
			_, err := w.Engine.CreateOrder(w.Ctx, order)
			field(t, err, "notify_url")
			for _, tt := range []string{"JSAPI", "APP", "MWEB"} {
				o := order
				o.TradeType, o.PayerOpenID = tt, "o-any"
				_, err := w.Engine.CreateOrder(w.Ctx, o)
				field(t, err, "notify_url")
			}
			_, err = w.Engine.CodePay(w.Ctx, walletctl.CodePayRequest{MchID: m.ID, OutTradeNo: "input-url-2", Description: "tea", Amount: 1_00,
				NotifyURL: bad, AuthCode: "134567890123456789"})
			field(t, err, "notify_url")
			_, err = w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: m.ID, OutTradeNo: "input-paid-1", OutRefundNo: "input-refund-1", Amount: 1_00,
				NotifyURL: bad})
			field(t, err, "notify_url")
			field(t, w.Engine.ForwardNotifications(w.Ctx, bad, time.Minute), "url")
		})
	}
	// Exactly 256 bytes is v3's limit, and allowed.
	ok := long[:walletctl.MaxNotifyURL]
	must[*walletctl.Order](t)(w.Engine.CreateOrder(w.Ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: "input-url-ok",
		Description: "tea", Amount: 1_00, NotifyURL: ok}))

	for _, bad := range []string{"line\nforged", "cr\r", "tab\there", "nul\x00", "esc\x1b[31m", "del\x7f", "c1\u0085", "ls\u2028",
		"ps\u2029", "bidi\u202e", "bad utf-8 \xff"} {
		t.Run(fmt.Sprintf("text %q", bad), func(t *testing.T) {
			_, err := w.Engine.CreateOrder(w.Ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: "input-text-1",
				Description: bad, Amount: 1_00})
			field(t, err, "description")
			_, err = w.Engine.CreateOrder(w.Ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: "input-text-1",
				Description: "tea", Attach: bad, Amount: 1_00})
			field(t, err, "attach")
			_, err = w.Engine.CodePay(w.Ctx, walletctl.CodePayRequest{MchID: m.ID, OutTradeNo: "input-text-2", Description: bad, Amount: 1_00,
				AuthCode: "134567890123456789"})
			field(t, err, "description")
			_, err = w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: m.ID, OutTradeNo: "input-paid-1", OutRefundNo: "input-refund-2",
				Amount: 1_00, Reason: bad})
			field(t, err, "reason")
			_, err = w.Engine.CreateMerchant(w.Ctx, walletctl.MerchantSpec{Name: bad})
			field(t, err, "name")
			_, err = w.Engine.CreateMerchant(w.Ctx, walletctl.MerchantSpec{Name: "ok", Category: bad})
			field(t, err, "category")
		})
	}
	// Nothing of it was made, and ordinary text (CJK, emoji, punctuation) still is.
	if orders := must[[]walletctl.Order](t)(walletctl.Items(w.Engine.Orders(w.Ctx, m.ID, walletctl.MaxPage))); len(orders) != 2 {
		t.Fatalf("%d orders; want the 2 good ones", len(orders))
	}
	must[*walletctl.Merchant](t)(w.Engine.CreateMerchant(w.Ctx, walletctl.MerchantSpec{Name: "腾大QQ公仔店 «Café» 🧸, \"x\" `y`"}))
}

// billRow escapes whatever a field holds: a comma, a quote, a backquote, a line break or any
// other control character (data stored before input was checked) never makes another column or
// row. It used to replace commas only, so a newline in a description forged a row.
func TestBillRowEscapes(t *testing.T) {
	for _, f := range []string{"plain", "a,b", "`lead", "in`side", "\"quoted\"", "line\r\nforged,`x", "tab\tnul\x00esc\x1b", "\u2028", "bad \xff"} {
		row := engine.BillRow("`first", f, "last")
		cols := strings.Split(row, ",")
		if len(cols) != 3 || strings.ContainsAny(row, "\r\n\t\x00\x1b\"\u2028") || strings.Count(row, "`") != 3 || !strings.HasPrefix(cols[1], "`") {
			t.Errorf("engine.BillRow(%q) = %q: want 3 columns, each one backquote at its start, no control characters or quotes", f, row)
		}
	}
}

// A paid order whose description and attach hold commas, backquotes and quotes (allowed), and
// one whose stored description holds a line break (legacy data): the bill has exactly one row per
// payment, each with the header's column count.
func TestTradeBillRowsCannotBeForged(t *testing.T) {
	w := newWorld(t)
	u := w.OpenWallet(card("ok"), 100_00).User.ID
	m := w.merchant()
	for i, desc := range []string{"tea, `green` \"jasmine\", 2 bags", "legacy"} {
		out := []string{"bill-forge-1", "bill-forge-2"}[i]
		o := must[*walletctl.Order](t)(w.Engine.CreateOrder(w.Ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: out,
			Description: desc, Attach: "k=v, `x`", Amount: 1_00}))
		must[*walletctl.Order](t)(w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Password: pw}))
	}
	// As a store written before the check would hold it.
	if err := w.Store.Update(w.Ctx, func(tx walletctl.StoreTx) error {
		o, err := tx.FindOrder(walletctl.OrderKey{MchID: m.ID, OutTradeNo: "bill-forge-2"})
		if err != nil {
			return err
		}
		o.Description = "legacy\r\n`2026-01-01 00:00:00,`wx,`forged row"
		return tx.SaveOrder(o)
	}); err != nil {
		t.Fatal(err)
	}
	bill := must[*walletctl.Bill](t)(w.Engine.TradeBill(w.Ctx, m.ID, "", "ALL"))
	lines := strings.Split(strings.TrimSuffix(bill.Content, "\r\n"), "\r\n")
	// header, 2 rows, summary header, summary
	if len(lines) != 5 || bill.Rows != 2 || strings.ContainsAny(strings.ReplaceAll(bill.Content, "\r\n", ""), "\r\n") {
		t.Fatalf("bill of %d rows, %d lines:\n%s", bill.Rows, len(lines), bill.Content)
	}
	want := strings.Count(engine.BillHeader, ",") + 1
	for _, l := range lines[1:3] {
		cols := strings.Split(l, ",")
		if len(cols) != want {
			t.Errorf("a row of %d columns, want %d: %q", len(cols), want, l)
		}
		for i, col := range cols {
			if !strings.HasPrefix(col, "`") || strings.Count(col, "`") != 1 {
				t.Errorf("column %d is %q: want one backquote, at its start", i+1, col)
			}
		}
	}
	if !strings.Contains(lines[1], "`tea， ｀green｀ ＂jasmine＂， 2 bags,`k=v， ｀x｀,") {
		t.Errorf("the description is not kept readable: %q", lines[1])
	}
}
