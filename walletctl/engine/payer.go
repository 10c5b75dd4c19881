package engine

import (
	"context"
	"strings"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// The payer's side of an order: scanning a code URL or paying a prepay id, from the balance or
// a card, and what follows when the payment settles.

// orderByRef finds the order a payer means: a code_url, a prepay_id, an h5_url, or an order id.
func orderByRef(tx walletctl.StoreTx, ref string) (*walletctl.Order, error) {
	ref = strings.TrimSpace(ref)
	var k walletctl.OrderKey
	switch {
	case strings.HasPrefix(ref, codeURLPrefix):
		k.CodeURL = ref
	case strings.HasPrefix(ref, h5URLPrefix):
		p := strings.TrimPrefix(ref, h5URLPrefix)
		p, _, _ = strings.Cut(p, "&")
		k.PrepayID = p
	case strings.HasPrefix(ref, "wx"):
		k.PrepayID = ref
	case strings.HasPrefix(ref, "o"):
		k.ID = ref
	case strings.HasPrefix(ref, "4200"):
		k.TransactionID = ref
	default:
		return nil, withHint(errf(walletctl.CodeInvalidArgument, "%q is not a payment code URL, prepay id or order", ref),
			"scan what the merchant shows: a weixin://wxpay/bizpayurl?pr=… code URL, a prepay_id (wx…) or an h5_url")
	}
	o, err := tx.FindOrder(k)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, errf(walletctl.CodeNotFound, "no order for %q", ref)
	}
	return o, nil
}

// payable says why an order cannot be paid now (nil when it can).
func payable(o *walletctl.Order, userID string) error {
	switch o.TradeState {
	case walletctl.StateNotPay:
	case walletctl.StateSuccess, walletctl.StateRefund:
		if o.PayerUserID == userID {
			return nil // paid already by this payer: paying again answers the same
		}
		return withDetails(errf(walletctl.CodeOrderState, "order %s is already paid", o.ID), "trade_state", o.TradeState)
	case walletctl.StateUserPaying:
		return withDetails(errf(walletctl.CodeOrderState, "order %s is being paid; its outcome is pending", o.ID), "trade_state", o.TradeState)
	default:
		return withDetails(errf(walletctl.CodeOrderState, "order %s is %s (%s) and cannot be paid: ask the merchant for a new one", o.ID, o.TradeState, o.TradeStateDesc),
			"trade_state", o.TradeState)
	}
	if o.TradeType == walletctl.TradeCodePay {
		return withDetails(errf(walletctl.CodeOrderState, "order %s is a code payment: it is confirmed with walletctl paycode confirm", o.ID), "trade_type", o.TradeType)
	}
	if o.TradeType == walletctl.TradeJSAPI && o.PayerOpenID != walletctl.OpenID(o.AppID, userID) {
		return withDetails(errf(walletctl.CodeOrderState, "order %s was made for another payer (openid %s)", o.ID, o.PayerOpenID), "payer_openid", o.PayerOpenID)
	}
	return nil
}

// ScanOrder is what the payer sees before paying: payee, amount, description.
func (e *Engine) ScanOrder(ctx context.Context, userID, ref string) (*walletctl.Order, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var out *walletctl.Order
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		if _, err := getUser(tx, userID); err != nil {
			return err
		}
		o, err := orderByRef(tx, ref)
		if err != nil {
			return err
		}
		waiting := o.TradeType == walletctl.TradeCodePay && o.TradeState == walletctl.StateUserPaying && o.PayerUserID == userID && o.TxnID == ""
		if !waiting { // a code payment waiting for this payer's password is shown before paycode confirm
			if err := payable(o, userID); err != nil {
				return err
			}
		}
		out = payerView(o)
		return nil
	})
	return out, err
}

// payerView is what a payer may see of an order: not the merchant's notify URL or attach.
func payerView(o *walletctl.Order) *walletctl.Order {
	c := *o
	c.NotifyURL, c.Attach = "", ""
	return &c
}

func parseSource(source string) (string, string, error) {
	if source == "" || source == "balance" {
		return "balance", "", nil
	}
	if len(source) <= 5 || source[:5] != "card:" {
		return "", "", errf(walletctl.CodeInvalidArgument, "source must be balance or card:<card id>, not %q", source)
	}
	return source, source[5:], nil
}

// PayOrder pays an order from the balance or a card, with the payment password.
func (e *Engine) PayOrder(ctx context.Context, req walletctl.PayOrderRequest) (*walletctl.Order, error) {
	source, cardID, err := parseSource(req.Source)
	if err != nil {
		return nil, err
	}
	var o *walletctl.Order
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		o, err = orderByRef(tx, req.Ref)
		return err
	}); err != nil {
		return nil, err
	}
	if o.PayerUserID == req.UserID && (o.TradeState == walletctl.StateSuccess || o.TradeState == walletctl.StateRefund) {
		return payerView(o), nil
	}
	hash, err := e.authorize(ctx, req.UserID, req.Password, movePay)
	if err != nil {
		return nil, err
	}
	return e.payOrder(ctx, o.ID, req.UserID, source, cardID, hash, "")
}

// payOrder charges order orderID to the user (authorised: hash is the password hash checked, or
// the current one for a password-free code payment). paycode is consumed in the same
// transaction when set.
func (e *Engine) payOrder(ctx context.Context, orderID, userID, source, cardID, hash, paycode string) (*walletctl.Order, error) {
	// claim checks, inside the transaction that charges it, that the order is still payable and
	// the payment code unused; with consume it also uses the code up.
	claim := func(tx walletctl.StoreTx, consume bool) (*walletctl.Order, error) {
		o, err := tx.FindOrder(walletctl.OrderKey{ID: orderID})
		if err != nil {
			return nil, err
		}
		if o.TradeType == walletctl.TradeCodePay {
			if o.TradeState != walletctl.StateUserPaying && o.TradeState != walletctl.StateNotPay || o.PayerUserID != userID || o.TxnID != "" {
				return nil, withDetails(errf(walletctl.CodeOrderState, "order %s is %s", o.ID, o.TradeState), "trade_state", o.TradeState)
			}
		} else if err := payable(o, userID); err != nil {
			return nil, err
		} else if o.TradeState != walletctl.StateNotPay {
			return nil, withDetails(errf(walletctl.CodeOrderState, "order %s is %s", o.ID, o.TradeState), "trade_state", o.TradeState)
		}
		if !o.TimeExpire.After(e.now()) {
			return nil, withDetails(errf(walletctl.CodeOrderState, "order %s expired at %s", o.ID, o.TimeExpire.Format(time.RFC3339)), "trade_state", walletctl.StateClosed)
		}
		if paycode != "" {
			// Used once: another charge of it (another server, at the same moment) may have come first.
			if pc, err := tx.GetPayCode(paycode); err != nil {
				return nil, err
			} else if pc == nil {
				return nil, withDetails(errf(walletctl.CodePayCodeInvalid, "payment code %s was used meanwhile", cnidMask(paycode)), "field", "auth_code")
			}
			if consume {
				if err := tx.DeletePayCode(paycode); err != nil {
					return nil, err
				}
			}
		}
		return o, nil
	}
	if cardID != "" {
		return e.payOrderByCard(ctx, orderID, userID, source, cardID, hash, claim)
	}
	var out *walletctl.Order
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		u, err := e.recheck(tx, userID, hash, movePay)
		if err != nil {
			return err
		}
		o, err := claim(tx, true)
		if err != nil {
			return err
		}
		id, now, err := e.spendBalance(tx, u, o.Amount)
		if err != nil {
			return err
		}
		rec := &walletctl.TxnRecord{Txn: walletctl.Txn{ID: id, Kind: walletctl.KindPay, Status: walletctl.TxnSucceeded, UserID: u.ID, Amount: o.Amount,
			Counterparty: o.MchID, Source: source, IdempotencyKey: "order:" + o.ID + ":" + id, Note: o.MerchantName + ": " + o.Description,
			CreatedAt: now, SettledAt: &now}}
		if err := tx.CreateTxn(rec); err != nil {
			return err
		}
		if err := tx.Post(id, entry(p(userAcct(u.ID), -o.Amount), p(merchantAcct(o.MchID), o.Amount))); err != nil {
			return err
		}
		o.TxnID, o.Source, o.PayerUserID = id, source, u.ID
		if err := e.orderPaid(tx, o, rec, "OTHERS"); err != nil {
			return err
		}
		out = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	return payerView(out), nil
}

// payOrderByCard charges an order to a bound card through the bank, like a card payment: the
// order is linked to the pending txn in the transaction that records it, and follows it when the
// bank's answer settles it (settled).
func (e *Engine) payOrderByCard(ctx context.Context, orderID, userID, source, cardID, hash string,
	claim func(tx walletctl.StoreTx, consume bool) (*walletctl.Order, error)) (*walletctl.Order, error) {
	var o *walletctl.Order
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		o, err = tx.FindOrder(walletctl.OrderKey{ID: orderID})
		return err
	}); err != nil {
		return nil, err
	}
	_, payErr := e.runBankMove(ctx, userID, cardID, hash, movePay,
		bankMove{kind: walletctl.KindPay, source: source, counterparty: o.MchID, amount: o.Amount, note: o.MerchantName + ": " + o.Description,
			created: func(tx walletctl.StoreTx, rec *walletctl.TxnRecord) error {
				cur, err := claim(tx, true)
				if err != nil {
					return err
				}
				cur.TxnID, cur.Source, cur.PayerUserID = rec.ID, source, userID
				cur.TradeState, cur.TradeStateDesc = walletctl.StateUserPaying, "用户支付中（银行处理中）"
				return tx.SaveOrder(cur)
			}},
		func(tx walletctl.StoreTx, u *walletctl.UserRecord, _ *bankMove) error {
			if _, err := claim(tx, false); err != nil {
				return err
			}
			return e.checkLimits(tx, u, o.Amount, false)
		})
	var out *walletctl.Order
	if err := e.view(context.WithoutCancel(ctx), func(tx walletctl.StoreTx) error {
		var err error
		out, err = tx.FindOrder(walletctl.OrderKey{ID: orderID})
		return err
	}); err != nil {
		return nil, err
	}
	return payerView(out), payErr
}

// orderPaid marks an order paid by rec (in rec's settling transaction).
func (e *Engine) orderPaid(tx walletctl.StoreTx, o *walletctl.Order, rec *walletctl.TxnRecord, bankType string) error {
	n, err := tx.NextID("payment")
	if err != nil {
		return err
	}
	now := e.now()
	o.TransactionID = transactionID(now, n)
	o.TradeState, o.TradeStateDesc, o.SuccessTime, o.BankType = walletctl.StateSuccess, "支付成功", &now, bankType
	o.TxnID, o.PayerUserID = rec.ID, rec.UserID
	o.PayerOpenID = walletctl.OpenID(o.AppID, rec.UserID)
	if err := tx.SaveOrder(o); err != nil {
		return err
	}
	return e.notifyEvent(tx, walletctl.EventTransactionSuccess, o, nil)
}

// settled keeps merchant orders and refunds in step with the txn that carries their money, in
// the transaction that settles it (called by settle and settleNotFound).
func (e *Engine) settled(tx walletctl.StoreTx, rec *walletctl.TxnRecord) error {
	switch rec.Kind {
	case walletctl.KindPay:
		o, err := tx.FindOrder(walletctl.OrderKey{TxnID: rec.ID})
		if err != nil || o == nil {
			return err
		}
		if rec.Status == walletctl.TxnSucceeded {
			return e.orderPaid(tx, o, rec, bankTypeOf(tx, rec.CardID))
		}
		o.TxnID = ""
		if o.TradeType == walletctl.TradeCodePay {
			o.TradeState, o.TradeStateDesc = walletctl.StatePayError, "支付失败: "+rec.FailureCode
		} else {
			// The payer may try again (another card, the balance) until the order expires.
			o.TradeState, o.TradeStateDesc, o.Source, o.PayerUserID = walletctl.StateNotPay, "订单未支付", "", ""
		}
		return tx.SaveOrder(o)
	case walletctl.KindRefund:
		r, err := tx.FindRefund(walletctl.RefundKey{TxnID: rec.ID})
		if err != nil || r == nil {
			return err
		}
		now := e.now()
		if rec.Status == walletctl.TxnSucceeded {
			r.Status, r.SuccessTime = walletctl.RefundSuccess, &now
			if err := tx.SaveRefund(r); err != nil {
				return err
			}
			return e.notifyEvent(tx, walletctl.EventRefundSuccess, nil, r)
		}
		// The card cannot take it (restricted, not supported): v3's ABNORMAL, the merchant settles
		// with the payer another way; any other refusal closes the refund: CLOSED.
		event := walletctl.EventRefundClosed
		r.Status = walletctl.RefundClosed
		if rec.FailureCode == walletctl.CodeCardRestricted || rec.FailureCode == walletctl.CodeCardNotSupported {
			r.Status, event = walletctl.RefundAbnormal, walletctl.EventRefundAbnormal
		}
		if err := tx.SaveRefund(r); err != nil {
			return err
		}
		if err := e.unrefund(tx, r); err != nil {
			return err
		}
		return e.notifyEvent(tx, event, nil, r)
	}
	return nil
}

// unrefund gives an order back the room of a refund that did not happen.
func (e *Engine) unrefund(tx walletctl.StoreTx, r *walletctl.Refund) error {
	o, err := tx.FindOrder(walletctl.OrderKey{TransactionID: r.TransactionID})
	if err != nil || o == nil {
		return err
	}
	o.Refunded -= r.Amount
	reversal := o.TradeState == walletctl.StateRevoked && isReversal(o, r)
	if o.Refunded <= 0 && (o.TradeState == walletctl.StateRefund || reversal) {
		// A reversal whose money did not go back is undone: the order is paid, as it was.
		o.Refunded, o.TradeState, o.TradeStateDesc, o.ClosedAt = 0, walletctl.StateSuccess, "支付成功", nil
	}
	return tx.SaveOrder(o)
}

// bankTypeOf is v3's bank_type of a card payment: the bank's code and the card's kind.
func bankTypeOf(tx walletctl.StoreTx, cardID string) string {
	if cardID == "" {
		return "OTHERS"
	}
	c, err := tx.GetCard(cardID)
	if err != nil || c == nil {
		return "OTHERS"
	}
	kind := "DEBIT"
	if strings.Contains(strings.ToLower(c.CardType), "credit") {
		kind = "CREDIT"
	}
	return strings.ToUpper(c.Bank) + "_" + kind
}
