package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// The merchant side of the workload (issue 12): merchants created at the world's start, orders
// (NATIVE, APP, JSAPI) paid by scan from the balance or a card, sometimes twice, by another user
// or after a close; code payments below and above the password-free limit, confirmed or not,
// with expired and reused codes; refunds (partial, several, over the paid amount, to cards under
// the bank's faults); closes racing payments; reverses. What the engine must refuse is checked
// as it happens (check "merchant"); the money is checked by the checker afterwards.

// merchantOps are the merchant operation kinds of the mix (see ops).
var merchantOps = []string{"order", "order pay", "codepay", "refund", "close", "reverse"}

// wMerchant is a merchant the workload created.
type wMerchant struct {
	id, appID string
}

// wOrder is an order the workload created, with the state it last saw.
type wOrder struct {
	mchid, outTradeNo, id, ref, kind string
	payer                            string // JSAPI: the user it was made for; code pay: the payer
	source                           string // code pay: the payment code's source
	amount                           int64
	state                            string
	refunds                          int
}

// setupMerchants creates 1-3 merchants.
func (wl *workload) setupMerchants(ctx context.Context, rng *rand.Rand) error {
	n := 1 + rng.IntN(3)
	for i := 0; i < n; i++ {
		m, err := wl.w.Engine.CreateMerchant(ctx, walletctl.MerchantSpec{Name: fmt.Sprintf("chaos shop %d", i+1)})
		wl.rep.count("merchant create", outcomeOf(err))
		if err != nil {
			return fmt.Errorf("create merchant: %w", err)
		}
		wl.merchants = append(wl.merchants, wMerchant{id: m.ID, appID: m.AppID})
	}
	return nil
}

// expect records a broken rule the workload saw as it happened (the engine did what it must not).
func (wl *workload) expect(format string, args ...any) {
	mu := wl.repLock()
	mu.Lock()
	wl.rep.Violations = append(wl.rep.Violations, Violation{Check: "merchant", Detail: fmt.Sprintf(format, args...)})
	mu.Unlock()
}

func (wl *workload) mcount(op, outcome string) { wl.count("merchant "+op, outcome) }

// addOrder remembers an order; the list is bounded so that picks stay among recent ones.
func (wl *workload) addOrder(o *wOrder) {
	wl.mu.Lock()
	wl.orders = append(wl.orders, o)
	if len(wl.orders) > 64 {
		wl.orders = append(wl.orders[:0:0], wl.orders[len(wl.orders)-48:]...)
	}
	wl.mu.Unlock()
}

// pickOrder draws a remembered order that satisfies ok (by its last seen state), or nil.
func (wl *workload) pickOrder(rng *rand.Rand, ok func(o *wOrder) bool) *wOrder {
	wl.mu.Lock()
	defer wl.mu.Unlock()
	var cands []*wOrder
	for _, o := range wl.orders {
		if ok(o) {
			cands = append(cands, o)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[rng.IntN(len(cands))]
}

func (wl *workload) seen(o *wOrder, got *walletctl.Order) {
	if got == nil {
		return
	}
	wl.mu.Lock()
	o.state = got.TradeState
	if got.ID != "" {
		o.id = got.ID
	}
	wl.mu.Unlock()
}

func paid(state string) bool {
	return state == walletctl.StateSuccess || state == walletctl.StateRefund
}

// source draws where a payer pays from: the balance, or one of its cards.
func source(rng *rand.Rand, a *actor) string {
	if len(a.cards) > 0 && rng.IntN(2) == 0 {
		return "card:" + a.cards[rng.IntN(len(a.cards))]
	}
	return "balance"
}

func srcLabel(src string) string {
	if strings.HasPrefix(src, "card:") {
		return "card"
	}
	return "balance"
}

// pendingTxn notes a movement answered pending, for the status queries and the settled count.
func (wl *workload) pendingTxn(userID, txnID string) {
	mu := wl.repLock()
	mu.Lock()
	wl.rep.PendingSeen++
	mu.Unlock()
	wl.mu.Lock()
	wl.pending = append(wl.pending, userID+"/"+txnID)
	wl.everPending = append(wl.everPending, txnID)
	wl.mu.Unlock()
}

// payOrder has user a pay order o, counting the outcome under label.
func (wl *workload) payOrder(ctx context.Context, rng *rand.Rand, label string, a *actor, o *wOrder) (*walletctl.Order, error) {
	src := source(rng, a)
	got, err := wl.w.Engine.PayOrder(ctx, walletctl.PayOrderRequest{UserID: a.id, Ref: o.ref, Source: src, Password: a.password})
	wl.mcount(label+" "+srcLabel(src), outcomeOf(err))
	wl.seen(o, got)
	if walletctl.ErrorCode(err) == walletctl.CodePending && got != nil && got.TxnID != "" {
		wl.pendingTxn(a.id, got.TxnID)
	}
	return got, err
}

func (wl *workload) merchantStep(ctx context.Context, rng *rand.Rand, op string, a *actor, key string) error {
	e := wl.w.Engine
	if len(wl.merchants) == 0 {
		wl.mcount(op, "NO_MERCHANT")
		return nil
	}
	m := wl.merchants[rng.IntN(len(wl.merchants))]
	other := wl.actors[rng.IntN(len(wl.actors))]
	switch op {
	case "order":
		kinds := []string{walletctl.TradeNative, walletctl.TradeNative, walletctl.TradeApp, walletctl.TradeJSAPI}
		req := walletctl.OrderRequest{MchID: m.id, TradeType: kinds[rng.IntN(len(kinds))], OutTradeNo: key,
			Description: "chaos goods", Amount: amount(rng, 100, 50_000)}
		if req.TradeType == walletctl.TradeJSAPI {
			req.PayerOpenID = walletctl.OpenID(m.appID, a.id)
		}
		got, err := e.CreateOrder(ctx, req)
		wl.mcount("order create", outcomeOf(err))
		if err != nil {
			return nil
		}
		o := &wOrder{mchid: m.id, outTradeNo: key, id: got.ID, ref: got.CodeURL, kind: got.TradeType, amount: got.Amount, state: got.TradeState}
		if o.ref == "" {
			o.ref = got.PrepayID
		}
		if req.TradeType == walletctl.TradeJSAPI {
			o.payer = a.id
		}
		wl.addOrder(o)
		if rng.IntN(4) == 0 {
			return nil // left for a later pay, close or expiry
		}
		p, err := wl.payOrder(ctx, rng, "order pay", a, o)
		if err != nil || !paid(p.TradeState) {
			return nil
		}
		switch rng.IntN(6) {
		case 0: // the same payer again: the same answer, no second charge
			q, err := wl.payOrder(ctx, rng, "order pay again", a, o)
			if err != nil || q.TxnID != p.TxnID {
				wl.expect("order %s (%s) paid by %s as %s; paying it again answered %v, txn %v", o.id, o.outTradeNo, a.id, p.TxnID, err, txnOf(q))
			}
		case 1: // another user scans the paid code
			if other == a {
				return nil
			}
			q, err := wl.payOrder(ctx, rng, "order pay by another", other, o)
			if err == nil {
				wl.expect("order %s (%s) paid by %s was paid again by %s (txn %s)", o.id, o.outTradeNo, a.id, other.id, txnOf(q))
			}
		}
	case "order pay":
		o := wl.pickOrder(rng, func(o *wOrder) bool { return o.kind != walletctl.TradeCodePay })
		if o == nil {
			wl.mcount(op, "NOTHING_TO_DO")
			return nil
		}
		payer := a
		if o.payer != "" && rng.IntN(3) != 0 {
			payer = wl.actor(o.payer)
		}
		wl.mu.Lock()
		before := o.state
		wl.mu.Unlock()
		_, err := wl.payOrder(ctx, rng, "order pay later", payer, o)
		if err == nil && (before == walletctl.StateClosed || before == walletctl.StateRevoked) {
			wl.expect("order %s (%s) was %s and user %s paid it", o.id, o.outTradeNo, before, payer.id)
		}
	case "codepay":
		src := source(rng, a)
		pc, err := e.NewPayCode(ctx, a.id, src)
		wl.mcount("paycode", outcomeOf(err))
		if err != nil {
			return nil
		}
		amt := amount(rng, 100, e.Settings().CodePayPasswordFree)
		above := rng.IntN(3) == 0
		if above {
			amt = amount(rng, e.Settings().CodePayPasswordFree+1, 100_000)
		}
		expired := rng.IntN(10) == 0
		if expired {
			_, err := e.Advance(ctx, e.Settings().PayCodeTTL.D()+time.Second)
			wl.count("advance", outcomeOf(err))
		}
		req := walletctl.CodePayRequest{MchID: m.id, OutTradeNo: key, Description: "chaos counter", Amount: amt, AuthCode: pc.Code}
		got, err := e.CodePay(ctx, req)
		label := "codepay " + srcLabel(src)
		switch {
		case expired:
			label += " expired code"
		case above:
			label += " above password-free"
		}
		wl.mcount(label, outcomeOf(err))
		if expired {
			if err == nil {
				wl.expect("code payment %s took payment code %s after it expired (order %s)", key, pc.Code, got.ID)
			}
			return nil
		}
		if got == nil {
			return nil
		}
		o := &wOrder{mchid: m.id, outTradeNo: key, id: got.ID, ref: got.ID, kind: walletctl.TradeCodePay, payer: a.id, source: src, amount: amt, state: got.TradeState}
		wl.addOrder(o)
		if walletctl.ErrorCode(err) == walletctl.CodePending && got.TxnID != "" {
			wl.pendingTxn(a.id, got.TxnID)
		}
		used := got.TradeState == walletctl.StateSuccess || got.TradeState == walletctl.StateUserPaying
		if !above && got.TradeState == walletctl.StateUserPaying && got.TxnID == "" {
			wl.expect("code payment %s (order %s) of %d fen, within the password-free limit, waits for a password", key, got.ID, amt)
		}
		if used && rng.IntN(8) == 0 { // the same code again, for another order: refused
			again, err := e.CodePay(ctx, walletctl.CodePayRequest{MchID: m.id, OutTradeNo: key + "-again", Description: "chaos counter",
				Amount: 100, AuthCode: pc.Code})
			wl.mcount("codepay reused code", outcomeOf(err))
			if err == nil {
				wl.expect("payment code %s was charged twice: orders %s and %s", pc.Code, got.ID, again.ID)
			}
		}
		if got.TradeState == walletctl.StateUserPaying && got.TxnID == "" && rng.IntN(3) != 0 {
			c, err := e.ConfirmOrder(ctx, a.id, got.ID, a.password)
			wl.mcount("codepay confirm "+srcLabel(src), outcomeOf(err))
			wl.seen(o, c)
			if walletctl.ErrorCode(err) == walletctl.CodePending && c != nil && c.TxnID != "" {
				wl.pendingTxn(a.id, c.TxnID)
			}
		}
	case "refund":
		o := wl.pickOrder(rng, func(o *wOrder) bool { return paid(o.state) && o.refunds < 8 })
		if o == nil {
			wl.mcount(op, "NOTHING_TO_DO")
			return nil
		}
		cur, err := e.Order(ctx, walletctl.OrderQuery{MchID: o.mchid, OutTradeNo: o.outTradeNo})
		wl.mcount("order query", outcomeOf(err))
		if err != nil {
			return nil
		}
		wl.seen(o, cur)
		left := cur.Amount - cur.Refunded
		var amt int64
		label := "refund"
		switch k := rng.IntN(10); {
		case k < 5:
			label, amt = "refund partial", amount(rng, 1, max(left/2, 1))
		case k < 8:
			label, amt = "refund rest", max(left, 1)
		case k < 9:
			label, amt = "refund over what is left", left+1+rng.Int64N(cur.Amount)
		default:
			label, amt = "refund over the total", cur.Amount+1+rng.Int64N(cur.Amount)
		}
		req := walletctl.RefundRequest{MchID: o.mchid, OutTradeNo: o.outTradeNo, OutRefundNo: key, Amount: amt, Reason: "chaos"}
		if rng.IntN(2) == 0 {
			req.OutTradeNo, req.TransactionID = "", cur.TransactionID
		}
		r, err := e.Refund(ctx, req)
		src := srcLabel(cur.Source)
		wl.mcount(label+" "+src, outcomeOf(err))
		if err == nil && amt > cur.Amount {
			wl.expect("order %s (%s) of %d fen accepted refund %s of %d fen", o.id, o.outTradeNo, cur.Amount, r.RefundID, amt)
		}
		if err != nil || r == nil {
			return nil
		}
		wl.mu.Lock()
		o.refunds++
		wl.mu.Unlock()
		if r.Status == walletctl.RefundProcessing && r.TxnID != "" {
			wl.pendingTxn(r.UserID, r.TxnID)
		}
		if rng.IntN(6) == 0 { // the merchant sends it again: the same refund, nothing more moves
			again, err := e.Refund(ctx, req)
			wl.mcount("refund again "+src, outcomeOf(err))
			if err == nil && again.RefundID != r.RefundID {
				wl.expect("refund %s of order %s sent again made a second refund %s", key, o.id, again.RefundID)
			}
		}
	case "close":
		o := wl.pickOrder(rng, func(o *wOrder) bool { return o.kind != walletctl.TradeCodePay && o.state == walletctl.StateNotPay })
		if o == nil {
			wl.mcount(op, "NOTHING_TO_DO")
			return nil
		}
		payer := a
		if o.payer != "" {
			payer = wl.actor(o.payer)
		}
		q := walletctl.OrderQuery{MchID: o.mchid, OutTradeNo: o.outTradeNo}
		switch rng.IntN(3) {
		case 0: // close an unpaid order
			got, err := e.CloseOrder(ctx, q)
			wl.mcount("close", outcomeOf(err))
			wl.seen(o, got)
		case 1: // the user pays just before the merchant closes
			p, perr := wl.payOrder(ctx, rng, "order pay before close", payer, o)
			got, err := e.CloseOrder(ctx, q)
			wl.mcount("close after pay", outcomeOf(err))
			if err == nil && perr == nil && p != nil && paid(p.TradeState) {
				wl.expect("order %s (%s) paid by %s (txn %s) was then closed (%s)", o.id, o.outTradeNo, payer.id, p.TxnID, got.TradeState)
			}
			if err == nil {
				wl.seen(o, got)
			}
		case 2: // the merchant closes just before the user pays
			got, err := e.CloseOrder(ctx, q)
			wl.mcount("close before pay", outcomeOf(err))
			wl.seen(o, got)
			p, perr := wl.payOrder(ctx, rng, "order pay after close", payer, o)
			if err == nil && got.TradeState == walletctl.StateClosed && perr == nil {
				wl.expect("order %s (%s) was closed and then paid by %s (txn %s)", o.id, o.outTradeNo, payer.id, txnOf(p))
			}
		}
	case "reverse":
		o := wl.pickOrder(rng, func(o *wOrder) bool {
			return o.kind == walletctl.TradeCodePay
		})
		if o == nil {
			wl.mcount(op, "NOTHING_TO_DO")
			return nil
		}
		got, err := e.ReverseOrder(ctx, walletctl.OrderQuery{MchID: o.mchid, OutTradeNo: o.outTradeNo})
		wl.mcount("reverse", outcomeOf(err))
		wl.seen(o, got)
	}
	return nil
}

func txnOf(o *walletctl.Order) string {
	if o == nil {
		return "-"
	}
	return o.TxnID
}

func (wl *workload) actor(id string) *actor {
	for _, a := range wl.actors {
		if a.id == id {
			return a
		}
	}
	return wl.actors[0]
}
