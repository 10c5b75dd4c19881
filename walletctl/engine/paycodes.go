package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/walletctl/walletctl/walletctl"
)

// Payment codes (付款码): a user's short-lived code, and the merchant's code payment with it.

func (e *Engine) payCodeDigits(n int64) string {
	sum := e.derive(fmt.Sprintf("paycode %d", n))
	var v uint64
	for _, b := range sum[:8] {
		v = v<<8 | uint64(b)
	}
	return fmt.Sprintf("13%016d", v%1e16)
}

// NewPayCode shows a new payment code (付款码) for the user: charged by the first merchant that
// scans it within PayCodeTTL, from source.
func (e *Engine) NewPayCode(ctx context.Context, userID, source string) (*walletctl.PayCode, error) {
	source, cardID, err := parseSource(source)
	if err != nil {
		return nil, err
	}
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var out *walletctl.PayCode
	err = e.update(ctx, func(tx walletctl.StoreTx) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		if err := checkStatus(u, movePay); err != nil {
			return err
		}
		if u.PasswordHash == "" {
			return withHint(errf(walletctl.CodePasswordNotSet, "a payment code needs a payment password"), "set one first: walletctl password set")
		}
		if cardID != "" {
			if _, err := userCard(tx, userID, cardID); err != nil {
				return err
			}
		}
		n, err := tx.NextID("paycode")
		if err != nil {
			return err
		}
		out = &walletctl.PayCode{Code: e.payCodeDigits(n), UserID: userID, Source: source, ExpiresAt: e.now().Add(e.set.PayCodeTTL.D())}
		return tx.CreatePayCode(out)
	})
	return out, err
}

// CodePay charges a user's payment code: at once up to the password-free limit; above it the
// order waits (USERPAYING) for the payer's password (ConfirmOrder).
func (e *Engine) CodePay(ctx context.Context, req walletctl.CodePayRequest) (*walletctl.Order, error) {
	if err := checkOrderFields(req.OutTradeNo, req.Description, req.Attach, req.NotifyURL, req.Amount, req.Currency); err != nil {
		return nil, err
	}
	code := strings.TrimSpace(req.AuthCode)
	if len(code) != 18 || strings.Trim(code, "0123456789") != "" {
		return nil, withDetails(errf(walletctl.CodePayCodeInvalid, "a payment code is 18 digits"), "field", "auth_code")
	}
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var o *walletctl.Order
	var pc *walletctl.PayCode
	var hash string
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		m, appID, old, err := orderMerchant(tx, req.MchID, req.AppID, req.OutTradeNo, walletctl.TradeCodePay, req.Description, req.Amount)
		if err != nil || old != nil {
			o = old // the same request again: answer with the order as it is
			return err
		}
		if pc, err = tx.GetPayCode(code); err != nil {
			return err
		}
		now := e.now()
		if pc == nil || !pc.ExpiresAt.After(now) {
			return withDetails(errf(walletctl.CodePayCodeInvalid, "payment code %s is unknown, used or expired", cnidMask(code)), "field", "auth_code")
		}
		u, err := getUser(tx, pc.UserID)
		if err != nil {
			return err
		}
		if err := checkStatus(u, movePay); err != nil {
			return err
		}
		hash = u.PasswordHash
		id, err := seqID(tx, "order", "o")
		if err != nil {
			return err
		}
		o = &walletctl.Order{ID: id, MchID: m.ID, AppID: appID, MerchantName: m.Name, OutTradeNo: req.OutTradeNo, Description: req.Description,
			Attach: req.Attach, NotifyURL: req.NotifyURL, TradeType: walletctl.TradeCodePay, TradeState: walletctl.StateNotPay, TradeStateDesc: "订单未支付",
			Amount: req.Amount, Currency: "CNY", PayerUserID: u.ID, PayerOpenID: walletctl.OpenID(appID, u.ID), Source: pc.Source,
			TimeExpire: now.Add(e.set.OrderExpiry.D()), CreatedAt: now}
		if req.Amount > e.set.CodePayPasswordFree {
			o.TradeState, o.TradeStateDesc = walletctl.StateUserPaying, "需要用户输入支付密码"
			if err := tx.DeletePayCode(code); err != nil {
				return err
			}
			pc = nil
		}
		return tx.CreateOrder(o)
	})
	if err != nil {
		return nil, err
	}
	if pc == nil || o.TradeState != walletctl.StateNotPay {
		return o, nil
	}
	_, cardID, _ := parseSource(pc.Source)
	paid, payErr := e.payOrder(ctx, o.ID, o.PayerUserID, pc.Source, cardID, hash, code)
	if payErr == nil || walletctl.ErrorCode(payErr) == walletctl.CodePending {
		return e.merchantView(ctx, o.ID, paid)
	}
	// Refused (balance, limits, the bank): the code payment failed.
	if err := e.update(context.WithoutCancel(ctx), func(tx walletctl.StoreTx) error {
		cur, err := tx.FindOrder(walletctl.OrderKey{ID: o.ID})
		if err != nil || cur == nil || cur.TradeState != walletctl.StateNotPay {
			return err
		}
		cur.TradeState, cur.TradeStateDesc = walletctl.StatePayError, "支付失败: "+walletctl.ErrorCode(payErr)
		return tx.SaveOrder(cur)
	}); err != nil {
		return nil, err
	}
	return nil, payErr
}

func cnidMask(code string) string {
	if len(code) < 6 {
		return "******"
	}
	return code[:2] + strings.Repeat("*", len(code)-6) + code[len(code)-4:]
}

// merchantView reads an order back whole (the payer's view drops the merchant's fields).
func (e *Engine) merchantView(ctx context.Context, orderID string, fallback *walletctl.Order) (*walletctl.Order, error) {
	var out *walletctl.Order
	err := e.view(context.WithoutCancel(ctx), func(tx walletctl.StoreTx) error {
		var err error
		out, err = tx.FindOrder(walletctl.OrderKey{ID: orderID})
		return err
	})
	if err != nil || out == nil {
		return fallback, err
	}
	return out, nil
}

// ConfirmOrder is the payer entering the password for a code payment above the password-free
// limit.
func (e *Engine) ConfirmOrder(ctx context.Context, userID, ref, password string) (*walletctl.Order, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var o *walletctl.Order
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		if o, err = orderByRef(tx, ref); err != nil {
			return err
		}
		if o.PayerUserID != userID || o.TradeType != walletctl.TradeCodePay {
			return errf(walletctl.CodeNotFound, "no code payment %q waiting for %s", ref, userID)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if o.TradeState == walletctl.StateSuccess {
		return payerView(o), nil
	}
	if o.TradeState != walletctl.StateUserPaying || o.TxnID != "" {
		return nil, withDetails(errf(walletctl.CodeOrderState, "order %s is %s (%s), not waiting for the password", o.ID, o.TradeState, o.TradeStateDesc),
			"trade_state", o.TradeState)
	}
	hash, err := e.authorize(ctx, userID, password, movePay)
	if err != nil {
		return nil, err
	}
	_, cardID, _ := parseSource(o.Source)
	return e.payOrder(ctx, o.ID, userID, o.Source, cardID, hash, "")
}
