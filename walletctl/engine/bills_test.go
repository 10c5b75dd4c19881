package engine_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// wholeHistoryBill is the trade bill as it was built before it read one day: from every order
// and refund of the merchant, filtered by day in memory. It is the reference the bill of one day
// must equal, byte for byte.
func wholeHistoryBill(tx walletctl.StoreTx, mchid, date, billType string) (*walletctl.Bill, error) {
	day, err := time.ParseInLocation("2006-01-02", date, vclock.Shanghai)
	if err != nil {
		return nil, err
	}
	end := day.Add(24 * time.Hour)
	in := func(t *time.Time) bool { return t != nil && !t.Before(day) && t.Before(end) }
	row := func(fields ...string) string {
		esc := strings.NewReplacer(",", "，", "`", "｀", "\"", "＂")
		for i, f := range fields {
			fields[i] = "`" + esc.Replace(walletctl.SanitizeText(f))
		}
		return strings.Join(fields, ",")
	}
	var lines []string
	var count int
	var paid, refunded int64
	orders, err := tx.ListOrders(mchid)
	if err != nil {
		return nil, err
	}
	byTxn := map[string]*walletctl.Order{}
	for i := range orders {
		o := &orders[i]
		byTxn[o.TransactionID] = o
		if billType == "REFUND" || !in(o.SuccessTime) {
			continue
		}
		count++
		paid += o.Amount
		lines = append(lines, row(o.SuccessTime.In(vclock.Shanghai).Format("2006-01-02 15:04:05"), o.AppID, o.MchID, "0", "", o.TransactionID,
			o.OutTradeNo, o.PayerOpenID, o.TradeType, "SUCCESS", o.BankType, "CNY", walletctl.FormatAmount(o.Amount), "0.00",
			"0", "0", "0.00", "0.00", "", "", o.Description, o.Attach, "0.00000", "0.00%", walletctl.FormatAmount(o.Amount), "0.00", ""))
	}
	if billType != "SUCCESS" {
		refunds, err := tx.ListRefunds(mchid, "")
		if err != nil {
			return nil, err
		}
		for _, r := range refunds {
			if r.Status != walletctl.RefundSuccess || !in(r.SuccessTime) {
				continue
			}
			o := byTxn[r.TransactionID]
			if o == nil {
				continue
			}
			count++
			refunded += r.Amount
			lines = append(lines, row(r.SuccessTime.In(vclock.Shanghai).Format("2006-01-02 15:04:05"), o.AppID, o.MchID, "0", "", o.TransactionID,
				o.OutTradeNo, o.PayerOpenID, o.TradeType, "REFUND", o.BankType, "CNY", "0.00", "0.00", r.RefundID, r.OutRefundNo,
				walletctl.FormatAmount(r.Amount), "0.00", "ORIGINAL", "SUCCESS", o.Description, o.Attach, "0.00000", "0.00%",
				walletctl.FormatAmount(o.Amount), walletctl.FormatAmount(r.Amount), ""))
		}
	}
	var b strings.Builder
	b.WriteString("\ufeff交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n")
	b.WriteString(row(fmt.Sprint(count), walletctl.FormatAmount(paid), walletctl.FormatAmount(refunded), "0.00", "0.00000",
		walletctl.FormatAmount(paid), walletctl.FormatAmount(refunded)) + "\r\n")
	sum := sha1.Sum([]byte(b.String()))
	return &walletctl.Bill{MchID: mchid, Date: date, Type: billType, HashType: "SHA1", HashValue: hex.EncodeToString(sum[:]), Rows: len(lines), Content: b.String()}, nil
}

// historyStats count what a history has that a bill of one day could get wrong: refunds of
// orders paid on an earlier day, refunds settled by the bank (a card's), payments at the edges of
// a day.
type historyStats struct{ earlierDay, card, edge int }

// wholeHistoryTotals is what `merchant show` summed over every order and refund before the
// totals were kept.
func wholeHistoryTotals(tx walletctl.StoreTx, mchid string) (orders int, paid, refunded int64, err error) {
	os, err := tx.ListOrders(mchid)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, o := range os {
		if o.SuccessTime != nil {
			paid += o.Amount
		}
	}
	rs, err := tx.ListRefunds(mchid, "")
	if err != nil {
		return 0, 0, 0, err
	}
	for _, r := range rs {
		if r.Status == walletctl.RefundSuccess {
			refunded += r.Amount
		}
	}
	return len(os), paid, refunded, nil
}

// billHistory is a seeded random history of two merchants over several days: orders paid from
// the balance and by card (whose refunds settle through the bank), left unpaid or closed, paid at
// the last instant of a day and the first of the next, and partial refunds, many of orders paid
// on an earlier day. check runs after every step with the merchants' ids.
func billHistory(w *world, seed uint64, steps int, check func(mchids ...string)) (m, other *walletctl.Merchant, first time.Time, st historyStats) {
	t := w.T
	rng := rand.New(rand.NewPCG(seed, 21))
	type payer struct{ user, card string }
	var payers []payer
	for _, c := range []string{"ok", "credit"} {
		u, cid := w.OpenWallet(card(c), 500_00).IDs()
		payers = append(payers, payer{u, cid})
	}
	m, other = w.merchant(), w.merchant()
	type paidOrder struct {
		o    *walletctl.Order
		left int64
	}
	var paid []*paidOrder
	first = w.Clock.Now()
	for i := range steps {
		switch rng.IntN(6) {
		case 0: // to the last instant of the day
			now := w.Clock.Now()
			must[time.Time](t)(w.Engine.Advance(w.Ctx, vclock.StartOfDay(now).Add(24*time.Hour-time.Nanosecond).Sub(now)))
		case 1: // to midnight exactly
			now := w.Clock.Now()
			must[time.Time](t)(w.Engine.Advance(w.Ctx, vclock.StartOfDay(now).Add(24*time.Hour).Sub(now)))
		default:
			must[time.Time](t)(w.Engine.Advance(w.Ctx, time.Duration(rng.IntN(7*60))*time.Minute))
		}
		mch := m
		if rng.IntN(4) == 0 {
			mch = other
		}
		o := must[*walletctl.Order](t)(w.Engine.CreateOrder(w.Ctx, walletctl.OrderRequest{MchID: mch.ID, TradeType: "NATIVE",
			OutTradeNo: fmt.Sprintf("bill-%04d", i), Description: fmt.Sprintf("item %d, with a comma", i), Attach: "a`b", Amount: int64(100 + rng.IntN(900))}))
		switch k := rng.IntN(10); {
		case k == 0: // left unpaid
		case k == 1:
			must[*walletctl.Order](t)(w.Engine.CloseOrder(w.Ctx, walletctl.OrderQuery{MchID: mch.ID, OutTradeNo: o.OutTradeNo}))
		default:
			p := payers[rng.IntN(len(payers))]
			source := "balance"
			if k >= 7 {
				source = "card:" + p.card
			}
			o = must[*walletctl.Order](t)(w.Engine.PayOrder(w.Ctx, walletctl.PayOrderRequest{UserID: p.user, Ref: o.CodeURL, Source: source, Password: pw}))
			o = must[*walletctl.Order](t)(w.Engine.Order(w.Ctx, walletctl.OrderQuery{MchID: mch.ID, OutTradeNo: o.OutTradeNo}))
			if o.SuccessTime == nil {
				t.Fatalf("order %s not paid: %+v", o.OutTradeNo, o)
			}
			if c := o.SuccessTime.In(vclock.Shanghai).Format("15:04:05.999999999"); c == "23:59:59.999999999" || c == "00:00:00" {
				st.edge++
			}
			paid = append(paid, &paidOrder{o, o.Amount})
		}
		if len(paid) > 0 && rng.IntN(3) == 0 {
			p := paid[rng.IntN(len(paid))]
			if p.left > 0 {
				amount := 1 + rng.Int64N(p.left)
				r := must[*walletctl.Refund](t)(w.Engine.Refund(w.Ctx, walletctl.RefundRequest{MchID: p.o.MchID, OutTradeNo: p.o.OutTradeNo,
					OutRefundNo: fmt.Sprintf("r-%04d", i), Amount: amount}))
				p.left -= amount
				if r.Status != walletctl.RefundSuccess {
					t.Fatalf("refund %+v", r)
				}
				if vclock.Day(*r.SuccessTime) != vclock.Day(*p.o.SuccessTime) {
					st.earlierDay++
				}
				if strings.HasPrefix(p.o.Source, "card:") {
					st.card++
				}
			}
		}
		check(m.ID, other.ID)
	}
	return m, other, first, st
}

// A day's bill, read from the day's rows, is the bill the whole history gave, byte for byte and
// hash for hash, for every day of a random history of several days (and the days around it),
// every type and both merchants; and WriteTradeBill streams the same bytes with the same hash.
func TestTradeBillOfADayIsTheWholeHistorysBill(t *testing.T) {
	w := newWorld(t)
	m, other, first, st := billHistory(w, 1, 120, func(...string) {})
	if st.earlierDay < 5 || st.card < 3 || st.edge < 4 {
		t.Fatalf("the history has too few refunds of an earlier day's orders, card refunds or payments at a day's edge: %+v", st)
	}
	last := vclock.StartOfDay(w.Clock.Now())
	if days := int(last.Sub(vclock.StartOfDay(first)) / (24 * time.Hour)); days < 4 {
		t.Fatalf("the history spans %d days: too few to tell days apart", days)
	}
	rows := 0
	for day := vclock.StartOfDay(first).Add(-24 * time.Hour); !day.After(last); day = day.Add(24 * time.Hour) {
		date := day.Format("2006-01-02")
		for _, mch := range []string{m.ID, other.ID} {
			for _, typ := range []string{"ALL", "SUCCESS", "REFUND"} {
				var want *walletctl.Bill
				if err := w.Store.View(w.Ctx, func(tx walletctl.StoreTx) error {
					var err error
					want, err = wholeHistoryBill(tx, mch, date, typ)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				got := must[*walletctl.Bill](t)(w.Engine.TradeBill(w.Ctx, mch, date, typ))
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s bill of %s for %s:\n got %d rows %s\n%s\nwant %d rows %s\n%s", typ, mch, date, got.Rows, got.HashValue, got.Content,
						want.Rows, want.HashValue, want.Content)
				}
				var buf bytes.Buffer
				streamed := must[*walletctl.Bill](t)(w.Engine.WriteTradeBill(w.Ctx, &buf, mch, date, typ))
				want.Content = ""
				if buf.String() != got.Content || !reflect.DeepEqual(streamed, want) {
					t.Fatalf("%s bill of %s for %s streamed %+v:\n%s", typ, mch, date, streamed, buf.String())
				}
				if typ == "ALL" {
					rows += got.Rows
				}
			}
		}
	}
	// Today's bill by default.
	today := must[*walletctl.Bill](t)(w.Engine.TradeBill(w.Ctx, m.ID, "", "ALL"))
	if dated := must[*walletctl.Bill](t)(w.Engine.TradeBill(w.Ctx, m.ID, last.Format("2006-01-02"), "ALL")); !reflect.DeepEqual(today, dated) {
		t.Fatalf("today's bill %+v, the bill of %s %+v", today, last.Format("2006-01-02"), dated)
	}
	if rows < 60 {
		t.Fatalf("only %d rows in all the bills: the history is too thin to compare", rows)
	}
	t.Logf("%d days, %d rows; %+v", int(last.Sub(vclock.StartOfDay(first))/(24*time.Hour))+1, rows, st)
}

// The totals `merchant show` gives are kept as orders and refunds are written, and stay what a
// sum over the whole history gives, after every step of a random history.
func TestMerchantTotalsAreTheWholeHistorysSums(t *testing.T) {
	w := newWorld(t)
	checks := 0
	billHistory(w, 2, 80, func(mchids ...string) {
		for _, id := range mchids {
			var orders int
			var paid, refunded int64
			if err := w.Store.View(w.Ctx, func(tx walletctl.StoreTx) error {
				var err error
				orders, paid, refunded, err = wholeHistoryTotals(tx, id)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			got := must[*walletctl.MerchantInfo](t)(w.Engine.Merchant(w.Ctx, id))
			if got.Orders != orders || got.Paid != paid || got.Refunded != refunded {
				t.Fatalf("merchant %s: %d orders, paid %d, refunded %d; the history says %d, %d, %d", id, got.Orders, got.Paid, got.Refunded,
					orders, paid, refunded)
			}
			checks++
		}
	})
	if checks < 100 {
		t.Fatalf("%d checks", checks)
	}
}

// countingStore records the reads of a merchant's orders and refunds (lists, pages, days).
type countingStore struct {
	walletctl.Store
	reads *[]string
}

func (s countingStore) View(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	return s.Store.View(ctx, func(tx walletctl.StoreTx) error { return fn(countingTx{tx, s.reads}) })
}

func (s countingStore) Update(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	return s.Store.Update(ctx, func(tx walletctl.StoreTx) error { return fn(countingTx{tx, s.reads}) })
}

type countingTx struct {
	walletctl.StoreTx
	reads *[]string
}

func (t countingTx) ListOrders(mchid string) ([]walletctl.Order, error) {
	*t.reads = append(*t.reads, "ListOrders")
	return t.StoreTx.ListOrders(mchid)
}

func (t countingTx) ListRefunds(mchid, transactionID string) ([]walletctl.Refund, error) {
	*t.reads = append(*t.reads, "ListRefunds "+transactionID)
	return t.StoreTx.ListRefunds(mchid, transactionID)
}

func (t countingTx) PageOrders(mchid string, p walletctl.Page) ([]walletctl.Order, bool, error) {
	*t.reads = append(*t.reads, "PageOrders")
	return t.StoreTx.PageOrders(mchid, p)
}

func (t countingTx) PageRefunds(mchid string, p walletctl.Page) ([]walletctl.Refund, bool, error) {
	*t.reads = append(*t.reads, "PageRefunds")
	return t.StoreTx.PageRefunds(mchid, p)
}

func (t countingTx) EachOrderSucceeded(mchid, day string, fn func(*walletctl.Order) error) error {
	*t.reads = append(*t.reads, "EachOrderSucceeded "+day)
	return t.StoreTx.EachOrderSucceeded(mchid, day, fn)
}

func (t countingTx) EachRefundSucceeded(mchid, day string, fn func(*walletctl.Refund, *walletctl.Order) error) error {
	*t.reads = append(*t.reads, "EachRefundSucceeded "+day)
	return t.StoreTx.EachRefundSucceeded(mchid, day, fn)
}

// `merchant show` reads no list of the merchant's orders or refunds, and a bill reads only its
// own day's.
func TestMerchantInfoAndBillReadNoHistory(t *testing.T) {
	var reads []string
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "wallet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := newWorld(t, testworld.Store(countingStore{st, &reads}))
	m, _, _, _ := billHistory(w, 3, 20, func(...string) {})
	reads = nil
	info := must[*walletctl.MerchantInfo](t)(w.Engine.Merchant(w.Ctx, m.ID))
	if len(reads) != 0 || info.Orders == 0 {
		t.Fatalf("merchant show read %q (%d orders)", reads, info.Orders)
	}
	today := vclock.Day(w.Clock.Now())
	must[*walletctl.Bill](t)(w.Engine.WriteTradeBill(w.Ctx, &bytes.Buffer{}, m.ID, today, "ALL"))
	if want := []string{"EachOrderSucceeded " + today, "EachRefundSucceeded " + today}; !reflect.DeepEqual(reads, want) {
		t.Fatalf("the bill read %q, want %q", reads, want)
	}
}

// A writer that fails ends the bill with its error.
func TestWriteTradeBillStopsAtAFailedWriter(t *testing.T) {
	w := newWorld(t)
	m, _, _, _ := billHistory(w, 4, 40, func(...string) {})
	boom := errors.New("disk full")
	for _, date := range []string{vclock.Day(w.Clock.Now()), vclock.Day(w.Clock.Now().Add(-24 * time.Hour))} {
		full := must[*walletctl.Bill](t)(w.Engine.TradeBill(w.Ctx, m.ID, date, "ALL"))
		fw := &failingWriter{room: len(full.Content) / 2, err: boom}
		if _, err := w.Engine.WriteTradeBill(w.Ctx, fw, m.ID, date, "ALL"); err == nil {
			t.Fatalf("a bill of %d bytes written into %d bytes of room", len(full.Content), len(full.Content)/2)
		}
	}
}

type failingWriter struct {
	room int
	err  error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.room {
		n := f.room
		f.room = 0
		return n, f.err
	}
	f.room -= len(p)
	return len(p), nil
}
