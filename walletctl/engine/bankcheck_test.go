package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/engine"
)

// liar is a bank that answers about money with someone else's record: the shape of the bug where
// two wallets shared idempotency keys at one bank and one was "settled" from the other's debit.
type liar struct {
	*bankmock.Engine
	debit func(t *bankapi.Transaction) // rewrites a debit's answer, if set
	query func(t *bankapi.Transaction) // rewrites a status query's answer, if set
	bind  func(a *bankapi.Agreement)   // rewrites a confirmed binding, if set
}

func (l *liar) Debit(ctx context.Context, key string, r bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	t, err := l.Engine.Debit(ctx, key, r)
	if err == nil && l.debit != nil {
		l.debit(t)
	}
	return t, err
}

func (l *liar) Transaction(ctx context.Context, key string) (*bankapi.Transaction, error) {
	t, err := l.Engine.Transaction(ctx, key)
	if err == nil && l.query != nil {
		l.query(t)
	}
	return t, err
}

func (l *liar) ConfirmBinding(ctx context.Context, id, otp string) (*bankapi.Agreement, error) {
	a, err := l.Engine.ConfirmBinding(ctx, id, otp)
	if err == nil && l.bind != nil {
		l.bind(a)
	}
	return a, err
}

func newLiarWorld(t *testing.T) (*world, *liar) {
	var l *liar
	w := newWorld(t, func(c *testworld.Config) {
		c.WrapAPI = func(b *testworld.Bank) bankapi.API { l = &liar{Engine: b.Mock}; return l }
	})
	return w, l
}

// Every field of a money answer is compared with what was sent; any difference leaves the txn
// pending with BANK_ANSWER_MISMATCH and moves no money in the wallet.
func TestDebitAnswerMismatchStaysPending(t *testing.T) {
	cases := map[string]func(t *bankapi.Transaction){
		"amount":          func(t *bankapi.Transaction) { t.Amount = 10000 },
		"card":            func(t *bankapi.Transaction) { t.CardLast4 = "0000" },
		"bank":            func(t *bankapi.Transaction) { t.Bank = "CCB" },
		"agreement":       func(t *bankapi.Transaction) { t.Agreement = "agr_someone_else" },
		"kind":            func(t *bankapi.Transaction) { t.Kind = bankapi.OpCredit },
		"idempotency_key": func(t *bankapi.Transaction) { t.IdempotencyKey = "wlt-t99" },
		"status":          func(t *bankapi.Transaction) { t.Status = "maybe" },
	}
	for field, lie := range cases {
		t.Run(field, func(t *testing.T) {
			w, l := newLiarWorld(t)
			c := card("ok")
			u, cid := w.OpenWallet(c).IDs()
			l.debit = lie
			tx, err := w.Engine.TopUp(w.Ctx, u, cid, 5000, pw)
			e := code(t, err, walletctl.CodeBankAnswerMismatch)
			if tx == nil || tx.Status != walletctl.TxnPending || e.Details["txn_id"] != tx.ID || !strings.Contains(e.Message, field) {
				t.Fatalf("top-up: %+v, %s %v", tx, e.Message, e.Details)
			}
			if b := must[*walletctl.Balance](t)(w.Engine.Balance(w.Ctx, u)); b.Available != 0 || b.Pending != 5000 {
				t.Fatalf("balance %+v", b)
			}
			// The bank keeps lying to the status query: reconcile reports it and settles nothing.
			l.query = lie
			rep := must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
			if rep.Checked != 1 || rep.Settled != 0 || rep.StillPending != 1 || len(rep.Mismatches) == 0 {
				t.Fatalf("report %+v", rep)
			}
			got := must[*walletctl.Txn](t)(w.Engine.Transaction(w.Ctx, u, tx.ID))
			if got.Status != walletctl.TxnPending || w.Balance(u) != 0 || !strings.Contains(got.Note, "did not match") {
				t.Fatalf("after reconcile: %+v", got)
			}
			// Once the bank answers truthfully, the same reconcile settles it.
			l.query = nil
			rep = must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
			if rep.Settled != 1 || len(rep.Mismatches) != 0 || w.Balance(u) != 5000 {
				t.Fatalf("honest report %+v, balance %d", rep, w.Balance(u))
			}
		})
	}
}

// The reported bug: a pending 999.99 top-up whose key the bank also holds for another caller's
// 100.00 debit must never be settled from that record.
func TestPendingNeverSettledFromAnotherRecord(t *testing.T) {
	w, l := newLiarWorld(t)
	c := card("ok")
	u, cid := w.OpenWallet(c).IDs()
	_, err := w.Engine.TopUp(w.Ctx, u, cid, 99999, pw) // 999.99: the magic hang, never processed
	code(t, err, walletctl.CodePending)
	// The bank answers the query with another caller's 100.00 debit under the same key.
	w.Engine = w.NewEngine(nil, 1, func(c *engine.Config) {
		c.Bank = &keyThief{liar: l, rec: bankapi.Transaction{TxnID: "T999999", IdempotencyKey: "wlt-t1", Kind: bankapi.OpDebit,
			Status: bankapi.TxnSucceeded, Amount: 10000, Currency: "CNY", Agreement: "agr_other", Bank: "ICBC", CardLast4: "0018"}}
	})
	rep := must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
	if rep.Settled != 0 || rep.StillPending != 1 || len(rep.Mismatches) == 0 || w.Balance(u) != 0 {
		t.Fatalf("report %+v, balance %d", rep, w.Balance(u))
	}
}

// keyThief answers every status query with one fixed record.
type keyThief struct {
	*liar
	rec bankapi.Transaction
}

func (k *keyThief) Transaction(ctx context.Context, key string) (*bankapi.Transaction, error) {
	r := k.rec
	return &r, nil
}

// A confirmed binding for another card than the one asked for binds nothing.
func TestConfirmForAnotherCardRefused(t *testing.T) {
	w, l := newLiarWorld(t)
	c := card("ok")
	p := w.PendingBinding(c)
	l.bind = func(a *bankapi.Agreement) { a.CardLast4 = "9999" }
	_, err := w.Engine.ConfirmCard(w.Ctx, p.User.ID, p.Binding.BindingID, p.OTP)
	code(t, err, walletctl.CodeBankAnswerMismatch)
	if cards := must[[]walletctl.Card](t)(walletctl.Items(w.Engine.Cards(w.Ctx, p.User.ID, walletctl.MaxPage))); len(cards) != 0 {
		t.Fatalf("cards %+v", cards)
	}
}
