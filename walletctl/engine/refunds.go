package engine

import (
	"context"
	"strings"

	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/walletctl"
)

// Refunds: full and partial, several per order, to the original source.

func sameRefund(r *walletctl.Refund, o *walletctl.Order, amount int64) string {
	var diffs []string
	if r.TransactionID != o.TransactionID {
		diffs = append(diffs, "order "+r.OutTradeNo)
	}
	if r.Amount != amount {
		diffs = append(diffs, "amount "+walletctl.FormatAmount(r.Amount))
	}
	return strings.Join(diffs, ", ")
}

// Refund refunds (part of) a paid order to where its money came from: the balance at once, a
// card through the bank (PROCESSING until the bank's answer is known; ABNORMAL when the card is
// gone or the bank refuses it, and the money then stays with the merchant).
func (e *Engine) Refund(ctx context.Context, req walletctl.RefundRequest) (*walletctl.Refund, error) {
	if err := checkOutNo("out_refund_no", req.OutRefundNo); err != nil {
		return nil, err
	}
	if err := checkAmount(req.Amount); err != nil {
		return nil, err
	}
	if err := checkCurrency(req.Currency); err != nil {
		return nil, err
	}
	if len(req.Reason) > 80*3 {
		return nil, withDetails(errf(walletctl.CodeInvalidArgument, "reason is at most 80 characters"), "field", "reason")
	}
	if err := walletctl.CheckText("reason", req.Reason); err != nil {
		return nil, err
	}
	if req.NotifyURL != "" {
		if err := walletctl.CheckNotifyURL("notify_url", req.NotifyURL); err != nil {
			return nil, err
		}
	}
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	if err := e.bankReady(ctx); err != nil { // a refund to a card records it before the bank is called
		return nil, err
	}
	var r *walletctl.Refund
	var rec *walletctl.TxnRecord
	var card *walletctl.CardRecord
	replayed := false
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		if _, err := v3Merchant(tx, req.MchID); err != nil {
			return err
		}
		o, err := findOrder(tx, walletctl.OrderQuery{MchID: req.MchID, TransactionID: req.TransactionID, OutTradeNo: req.OutTradeNo})
		if err != nil {
			return err
		}
		if old, err := tx.FindRefund(walletctl.RefundKey{MchID: req.MchID, OutRefundNo: req.OutRefundNo}); err != nil {
			return err
		} else if old != nil {
			if d := sameRefund(old, o, req.Amount); d != "" {
				return withDetails(errf(walletctl.CodeConflict, "out_refund_no %s was used for refund %s with a different %s", req.OutRefundNo, old.RefundID, d),
					"refund_id", old.RefundID, "differs", d)
			}
			r, replayed = old, true
			return nil
		}
		if o.TradeState != walletctl.StateSuccess && o.TradeState != walletctl.StateRefund {
			return withDetails(errf(walletctl.CodeOrderState, "order %s is %s: only a paid order is refunded", o.ID, o.TradeState), "trade_state", o.TradeState)
		}
		if req.Total != 0 && req.Total != o.Amount {
			return withDetails(errf(walletctl.CodeInvalidArgument, "amount.total %s is not the order's total %s", walletctl.FormatAmount(req.Total), walletctl.FormatAmount(o.Amount)),
				"field", "amount.total")
		}
		refunds, err := tx.ListRefunds(o.MchID, o.TransactionID)
		if err != nil {
			return err
		}
		if len(refunds) >= maxRefunds {
			return withDetails(errf(walletctl.CodeRefundLimit, "order %s already has %d refunds, the most an order may have", o.ID, len(refunds)), "refunds", len(refunds))
		}
		if left := o.Amount - o.Refunded; req.Amount > left {
			return withDetails(errf(walletctl.CodeRefundLimit, "order %s has %s CNY left to refund (paid %s, refunded %s)", o.ID,
				walletctl.FormatAmount(left), walletctl.FormatAmount(o.Amount), walletctl.FormatAmount(o.Refunded)),
				"refundable", left, "paid", o.Amount, "refunded", o.Refunded)
		}
		bal, err := tx.AccountBalance(merchantAcct(o.MchID))
		if err != nil {
			return err
		}
		if bal < req.Amount {
			return withDetails(errf(walletctl.CodeMerchantFunds, "merchant %s holds %s CNY, less than the refund", o.MchID, walletctl.FormatAmount(bal)),
				"balance", bal)
		}
		n, err := tx.NextID("refund")
		if err != nil {
			return err
		}
		now := e.now()
		r = &walletctl.Refund{RefundID: refundID(now, n), OutRefundNo: req.OutRefundNo, TransactionID: o.TransactionID, OutTradeNo: o.OutTradeNo,
			MchID: o.MchID, Channel: "ORIGINAL", Status: walletctl.RefundProcessing, Amount: req.Amount, Total: o.Amount, Currency: "CNY",
			Reason: req.Reason, NotifyURL: req.NotifyURL, UserID: o.PayerUserID, Source: o.Source, CreatedAt: now}
		_, cardID, _ := parseSource(o.Source)
		if cardID != "" {
			if card, err = tx.GetCard(cardID); err != nil {
				return err
			}
			if card == nil || card.UserID != o.PayerUserID {
				// The card was unbound since: v3's ABNORMAL; nothing moves, the merchant keeps the
				// money and settles with the payer another way.
				r.UserReceivedAccount, r.Status = "原支付银行卡（已解绑）", walletctl.RefundAbnormal
				card = nil
				if err := tx.CreateRefund(r); err != nil {
					return err
				}
				return e.notifyEvent(tx, walletctl.EventRefundAbnormal, nil, r)
			}
			r.UserReceivedAccount = card.BankName + " " + last4(card.CardNoMasked)
		} else {
			r.UserReceivedAccount = balanceAccount
		}
		id, err := seqID(tx, "txn", "t")
		if err != nil {
			return err
		}
		rec = &walletctl.TxnRecord{Txn: walletctl.Txn{ID: id, Kind: walletctl.KindRefund, Status: walletctl.TxnSucceeded, UserID: o.PayerUserID,
			Amount: req.Amount, Counterparty: o.MchID, Source: o.Source, IdempotencyKey: "refund:" + r.RefundID,
			Note: "refund " + r.OutRefundNo + " of " + o.MerchantName + ": " + o.Description, CreatedAt: now}}
		r.TxnID = id
		if card != nil {
			rec.Status, rec.CardID, rec.BankKey, rec.CardMasked = walletctl.TxnPending, card.ID, e.prefix+id, cnid.MaskCardGrouped(card.CardNoMasked)
		} else {
			rec.SettledAt = &now
			r.Status, r.SuccessTime = walletctl.RefundSuccess, &now
		}
		if err := tx.CreateTxn(rec); err != nil {
			return err
		}
		if card != nil {
			if err := tx.Post(id, holdEntry(rec)); err != nil {
				return err
			}
		} else if err := tx.Post(id, entry(p(merchantAcct(o.MchID), -req.Amount), p(userAcct(o.PayerUserID), req.Amount))); err != nil {
			return err
		}
		if err := tx.CreateRefund(r); err != nil {
			return err
		}
		if card == nil {
			if err := e.notifyEvent(tx, walletctl.EventRefundSuccess, nil, r); err != nil {
				return err
			}
		}
		o.Refunded += req.Amount
		o.TradeState, o.TradeStateDesc = walletctl.StateRefund, "转入退款"
		return tx.SaveOrder(o)
	})
	if err != nil {
		return nil, err
	}
	if replayed {
		return e.refundNow(ctx, r)
	}
	if card == nil || rec == nil {
		return r, nil
	}
	bctx := context.WithoutCancel(ctx)
	m := bankMove{kind: walletctl.KindRefund, amount: rec.Amount, credit: true}
	bt, done, callErr := e.callBank(bctx, rec, card, m)
	if done == nil {
		e.settle(bctx, rec, card.Bank, sentFor(rec, card), bt, callErr) // its outcome is the refund's status
	}
	return e.refundNow(bctx, r)
}

// refundNow reads a refund again; one still PROCESSING asks the bank first.
func (e *Engine) refundNow(ctx context.Context, r *walletctl.Refund) (*walletctl.Refund, error) {
	if r.Status == walletctl.RefundProcessing && r.TxnID != "" {
		e.query(ctx, r.TxnID)
	}
	var out *walletctl.Refund
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		out, err = tx.FindRefund(walletctl.RefundKey{RefundID: r.RefundID})
		return err
	})
	return out, err
}

// RefundByOutNo finds a merchant's refund by its out_refund_no.
func (e *Engine) RefundByOutNo(ctx context.Context, mchid, outRefundNo string) (*walletctl.Refund, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var r *walletctl.Refund
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		if _, err := v3Merchant(tx, mchid); err != nil {
			return err
		}
		var err error
		if r, err = tx.FindRefund(walletctl.RefundKey{MchID: mchid, OutRefundNo: outRefundNo}); err != nil {
			return err
		}
		if r == nil {
			return withHint(errf(walletctl.CodeNotFound, "merchant %s has no refund %q", mchid, outRefundNo), "list them: walletctl merchant refund list --mchid "+mchid)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return e.refundNow(ctx, r)
}

// Refunds lists a merchant's refunds, oldest first.
func (e *Engine) Refunds(ctx context.Context, mchid string, p walletctl.Page) (*walletctl.List[walletctl.Refund], error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	out := &walletctl.List[walletctl.Refund]{}
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		if _, err := v3Merchant(tx, mchid); err != nil {
			return err
		}
		rs, more, err := tx.PageRefunds(mchid, p)
		out.Data, out.HasMore = append([]walletctl.Refund{}, rs...), more
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// reversePrefix begins the out_refund_no of each full refund that tries to reverse a paid code
// payment ("reverse-o3-1", ...).
func reversePrefix(o *walletctl.Order) string { return "reverse-" + o.ID + "-" }

func isReversal(o *walletctl.Order, r *walletctl.Refund) bool {
	return strings.HasPrefix(r.OutRefundNo, reversePrefix(o))
}
