package chaos

import (
	"context"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
)

// merchantOpCount sums a report's merchant operations (all outcomes).
func merchantOpCount(r *Report) int {
	n := 0
	for op, outs := range r.Operations {
		if strings.HasPrefix(op, "merchant ") && op != "merchant create" {
			for _, c := range outs {
				n += c
			}
		}
	}
	return n
}

// TestChaosMerchants runs a merchant-heavy mix (orders, code payments, refunds, closes, reverses,
// with top-ups to pay from) under the bank's faults, and wants the invariants to hold with every
// kind of merchant work done: paid orders, refunds to the balance and to cards, closes, reverses.
func TestChaosMerchants(t *testing.T) {
	r, err := Run(context.Background(), Config{Seed: 21, Users: 8, Ops: 300, FaultRate: 0.2, Dir: testDir(t),
		OpKinds: []string{"topup", "merchant", "advance", "query"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range r.Violations {
		t.Errorf("%s", v)
	}
	if !r.OK() {
		t.Errorf("replay: walletctl chaos --seed 21 --users 8 --ops 300 --fault-rate 0.2 --ops-kinds topup,merchant,advance,query")
	}
	ok := func(op string) int { return r.Operations[op]["ok"] }
	for _, op := range []string{"merchant order create", "merchant paycode", "merchant reverse"} {
		if ok(op) == 0 {
			t.Errorf("no %q succeeded: %v", op, r.Operations)
		}
	}
	for _, pre := range []string{"merchant refund partial", "merchant close", "merchant codepay"} {
		n := 0
		for op, outs := range r.Operations {
			if strings.HasPrefix(op, pre) {
				n += outs["ok"]
			}
		}
		if n == 0 {
			t.Errorf("no %q succeeded: %v", pre, r.Operations)
		}
	}
	over := 0
	for op, outs := range r.Operations {
		if strings.HasPrefix(op, "merchant refund over") {
			over += outs["REFUND_LIMIT"]
		}
	}
	if over == 0 {
		t.Errorf("no over-refund was tried and refused: %v", r.Operations)
	}
	if r.Totals == nil || r.Totals.OrdersPaid == 0 || r.Totals.Refunds == 0 {
		t.Errorf("totals: %+v", r.Totals)
	}
	t.Logf("%d merchant operations, totals %+v", merchantOpCount(r), r.Totals)
}

// TestChaosMixHasMerchants checks the default mix draws merchant work, and that --ops-kinds
// restricts the mix and refuses an unknown kind.
func TestChaosMixHasMerchants(t *testing.T) {
	r, err := Run(context.Background(), Config{Seed: 4, Users: 6, Ops: 200, FaultRate: 0.2, Dir: testDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if n := merchantOpCount(r); n == 0 || n > r.Ops/3 {
		t.Errorf("%d merchant operations in %d: want a modest share", n, r.Ops)
	}
	for _, v := range r.Violations {
		t.Errorf("%s", v)
	}
	r, err = Run(context.Background(), Config{Seed: 4, Users: 6, Ops: 60, FaultRate: 0.2, Dir: testDir(t), OpKinds: []string{"topup", "refund"}})
	if err != nil {
		t.Fatal(err)
	}
	for op := range r.Operations {
		switch {
		case op == "merchant create", op == "merchant order query", strings.HasPrefix(op, "merchant refund"), strings.HasPrefix(op, "topup"),
			op == "register", op == "kyc", op == "password set", op == "card bind", op == "card confirm", strings.HasPrefix(op, "reconcile"):
		default:
			t.Errorf("operation %q outside --ops-kinds topup,refund", op)
		}
	}
	if _, err := Run(context.Background(), Config{Seed: 4, Users: 2, Ops: 1, Dir: testDir(t), OpKinds: []string{"teleport"}}); err == nil ||
		!strings.Contains(err.Error(), "teleport") {
		t.Errorf("unknown op kind: %v", err)
	}
}

// TestCheckerCatchesBrokenOrders shows the merchant invariants can fail: a clean merchant-heavy
// world is broken through the store one way at a time, and the check must name what broke.
func TestCheckerCatchesBrokenOrders(t *testing.T) {
	ctx := context.Background()
	w := runWorldWith(t, Config{Seed: 22, Users: 6, Ops: 200, FaultRate: 0.2, OpKinds: []string{"topup", "merchant"}})
	// find picks an order of the world in one of the states.
	find := func(t *testing.T, states ...string) walletctl.Order {
		t.Helper()
		var out *walletctl.Order
		err := w.Store.View(ctx, func(tx walletctl.StoreTx) error {
			ms, err := tx.ListMerchants()
			if err != nil {
				return err
			}
			for _, m := range ms {
				os, err := tx.ListOrders(m.ID)
				if err != nil {
					return err
				}
				for i := range os {
					for _, s := range states {
						if os[i].TradeState == s && out == nil && (s != walletctl.StateNotPay && s != walletctl.StateClosed || os[i].TxnID == "") {
							out = &os[i]
						}
					}
				}
			}
			return nil
		})
		if err != nil || out == nil {
			t.Fatalf("no order in %v: %v", states, err)
		}
		return *out
	}
	// breaks applies a change in one store transaction, checks, and undoes it.
	breaks := func(t *testing.T, change func(tx walletctl.StoreTx) error, undo func(tx walletctl.StoreTx) error, check string, wants ...string) {
		t.Helper()
		if err := w.Store.Update(ctx, change); err != nil {
			t.Fatal(err)
		}
		vs, _, err := Check(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !hasViolation(vs, check, want) {
				t.Errorf("no %s violation naming %q in %v", check, want, vs)
			}
		}
		if err := w.Store.Update(ctx, undo); err != nil {
			t.Fatal(err)
		}
	}
	save := func(o walletctl.Order) func(tx walletctl.StoreTx) error {
		return func(tx walletctl.StoreTx) error { return tx.SaveOrder(&o) }
	}

	t.Run("refunded bumped", func(t *testing.T) {
		o := find(t, walletctl.StateSuccess, walletctl.StateRefund)
		bad := o
		bad.Refunded += 1
		breaks(t, save(bad), save(o), "refunds", "order "+o.ID+" ", "says")
	})
	t.Run("refunds over what was paid", func(t *testing.T) {
		o := find(t, walletctl.StateRefund)
		var r walletctl.Refund
		if err := w.Store.View(ctx, func(tx walletctl.StoreTx) error {
			rs, err := tx.ListRefunds(o.MchID, o.TransactionID)
			if err != nil || len(rs) == 0 {
				t.Fatalf("order %s: refunds %v, %v", o.ID, rs, err)
			}
			r = rs[0]
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		bad, badO := r, o
		bad.Amount += o.Amount
		badO.Refunded += o.Amount
		breaks(t, func(tx walletctl.StoreTx) error {
			if err := tx.SaveRefund(&bad); err != nil {
				return err
			}
			return tx.SaveOrder(&badO)
		}, func(tx walletctl.StoreTx) error {
			if err := tx.SaveRefund(&r); err != nil {
				return err
			}
			return tx.SaveOrder(&o)
		}, "refunds", "order "+o.ID+" ", "more than was paid")
	})
	t.Run("paid order closed", func(t *testing.T) {
		o := find(t, walletctl.StateSuccess)
		bad := o
		bad.TradeState = walletctl.StateClosed
		breaks(t, save(bad), save(o), "merchant", "order "+o.ID+" ", "which succeeded")
	})
	t.Run("unpaid order marked paid", func(t *testing.T) {
		o := find(t, walletctl.StateNotPay, walletctl.StateClosed)
		bad := o
		bad.TradeState = walletctl.StateSuccess
		breaks(t, save(bad), save(o), "merchant", "order "+o.ID+" ", "links no succeeded pay txn")
	})
	t.Run("payment unlinked", func(t *testing.T) {
		o := find(t, walletctl.StateSuccess)
		bad := o
		bad.TxnID = ""
		breaks(t, save(bad), save(o), "merchant", "pay txn "+o.TxnID+" ", "no order links it")
	})
	t.Run("merchant money moved", func(t *testing.T) {
		o := find(t, walletctl.StateSuccess)
		move := func(n int64) func(tx walletctl.StoreTx) error {
			return func(tx walletctl.StoreTx) error {
				return tx.Post(o.TxnID, []walletctl.Posting{{Account: "merchant:" + o.MchID, Amount: -n}, {Account: "user:" + o.PayerUserID, Amount: n}})
			}
		}
		breaks(t, move(1), move(-1), "merchant", "merchant "+o.MchID+" holds")
	})
}

// TestChaosReverseCardCodePay replays what found an engine bug: under refuse faults, the reverse
// of a paid card code payment whose refund is refused by the bank left the order REVOKED with the
// money at the merchant and the card charged (seeds 5 and 12). ReverseOrder now revokes only
// when the refund succeeds or is processing, and a reversal refund that fails later is undone.
func TestChaosReverseCardCodePay(t *testing.T) {
	for _, seed := range []int64{5, 12} {
		r, err := Run(context.Background(), Config{Seed: seed, Users: 8, Ops: 300, FaultRate: 0.3, Dir: testDir(t),
			Kinds: []bankapi.FaultKind{bankapi.FaultRefuse}, OpKinds: []string{"topup", "codepay", "reverse", "refund"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range r.Violations {
			t.Errorf("seed %d: %s", seed, v)
		}
	}
}
