package engine

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// Orders (DESIGN.md section 8): creation with its checks, queries, close, reverse and expiry.

func checkOutNo(field, v string) error {
	if len(v) < 6 || len(v) > 32 {
		return withDetails(errf(walletctl.CodeInvalidArgument, "%s must be 6 to 32 characters, not %d", field, len(v)), "field", field)
	}
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '|' || c == '*') {
			return withDetails(errf(walletctl.CodeInvalidArgument, "%s may hold only letters, digits and _-|*", field), "field", field)
		}
	}
	return nil
}

func checkCurrency(c string) error {
	if c != "" && c != "CNY" {
		return withDetails(errf(walletctl.CodeInvalidArgument, "currency %q: only CNY", c), "field", "currency")
	}
	return nil
}

func transactionID(now time.Time, n int64) string {
	return "4200" + now.In(vclock.Shanghai).Format("20060102") + fmt.Sprintf("%016d", n)
}

func refundID(now time.Time, n int64) string {
	return "5030" + now.In(vclock.Shanghai).Format("20060102") + fmt.Sprintf("%017d", n)
}

func codeToken(orderID, mchid string) string {
	sum := sha256.Sum256([]byte("walletctl code_url\x00" + mchid + "\x00" + orderID))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])[:12]
}

const codeURLPrefix = "weixin://wxpay/bizpayurl?pr="
const h5URLPrefix = "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id="

func prepayID(now time.Time, orderID, mchid string) string {
	sum := sha256.Sum256([]byte("walletctl prepay\x00" + mchid + "\x00" + orderID))
	return "wx" + now.In(vclock.Shanghai).Format("20060102150405") + hex.EncodeToString(sum[:10])
}

var tradeTypes = map[string]string{"NATIVE": walletctl.TradeNative, "JSAPI": walletctl.TradeJSAPI, "APP": walletctl.TradeApp,
	"MWEB": walletctl.TradeH5, "H5": walletctl.TradeH5}

// sameOrder says what differs between an existing order and a repeated request with its
// out_trade_no ("" when nothing does: v3 then answers with the first order again).
func sameOrder(o *walletctl.Order, tradeType, appID, desc string, amount int64) string {
	var diffs []string
	if o.TradeType != tradeType {
		diffs = append(diffs, "trade_type "+o.TradeType)
	}
	if o.AppID != appID {
		diffs = append(diffs, "appid "+o.AppID)
	}
	if o.Description != desc {
		diffs = append(diffs, "description")
	}
	if o.Amount != amount {
		diffs = append(diffs, "amount "+walletctl.FormatAmount(o.Amount))
	}
	return strings.Join(diffs, ", ")
}

// orderConflict is the answer to an out_trade_no used again: the first order when it is still
// payable and asked for alike; ORDER_STATE when it was paid or closed; CONFLICT when it differs.
func orderConflict(o *walletctl.Order, diff string) error {
	switch o.TradeState {
	case walletctl.StateSuccess, walletctl.StateRefund:
		return withDetails(errf(walletctl.CodeOrderState, "order %s (out_trade_no %s) is already paid", o.ID, o.OutTradeNo),
			"order_id", o.ID, "trade_state", o.TradeState)
	case walletctl.StateClosed, walletctl.StateRevoked, walletctl.StatePayError:
		return withDetails(errf(walletctl.CodeOrderState, "order %s (out_trade_no %s) is %s: use a new out_trade_no", o.ID, o.OutTradeNo, o.TradeState),
			"order_id", o.ID, "trade_state", o.TradeState)
	}
	if diff != "" {
		return withDetails(errf(walletctl.CodeConflict, "out_trade_no %s was used for order %s with a different %s", o.OutTradeNo, o.ID, diff),
			"order_id", o.ID, "differs", diff)
	}
	return nil
}

// orderMerchant finds the merchant of a new order, its app id, and an earlier order with the same
// out_trade_no: that one is the answer when asked for alike and still payable (v3's rule), an
// error when not.
func orderMerchant(tx walletctl.StoreTx, mchid, appID, outTradeNo, tradeType, desc string, amount int64) (*walletctl.Merchant, string, *walletctl.Order, error) {
	m, err := v3Merchant(tx, mchid)
	if err != nil {
		return nil, "", nil, err
	}
	if appID, err = appOf(m, appID); err != nil {
		return nil, "", nil, err
	}
	old, err := tx.FindOrder(walletctl.OrderKey{MchID: m.ID, OutTradeNo: outTradeNo})
	if err != nil {
		return nil, "", nil, err
	}
	if old != nil {
		if err := orderConflict(old, sameOrder(old, tradeType, appID, desc, amount)); err != nil {
			return nil, "", nil, err
		}
	}
	return m, appID, old, nil
}

func checkOrderFields(outTradeNo, desc, attach, notifyURL string, amount int64, currency string) error {
	if err := checkOutNo("out_trade_no", outTradeNo); err != nil {
		return err
	}
	if desc == "" || len(desc) > maxField {
		return withDetails(errf(walletctl.CodeInvalidArgument, "description is required, at most %d bytes", maxField), "field", "description")
	}
	if len(attach) > maxField {
		return withDetails(errf(walletctl.CodeInvalidArgument, "attach is at most %d bytes", maxField), "field", "attach")
	}
	// Both end up in the trade bill, tables and logs.
	if err := walletctl.CheckText("description", desc); err != nil {
		return err
	}
	if err := walletctl.CheckText("attach", attach); err != nil {
		return err
	}
	if notifyURL != "" {
		if err := walletctl.CheckNotifyURL("notify_url", notifyURL); err != nil {
			return err
		}
	}
	if err := checkCurrency(currency); err != nil {
		return err
	}
	return checkAmount(amount)
}

func appOf(m *walletctl.Merchant, appID string) (string, error) {
	if appID == "" {
		return m.AppID, nil
	}
	if appID != m.AppID {
		return "", withDetails(errf(walletctl.CodeInvalidArgument, "appid %s is not merchant %s's (%s)", appID, m.ID, m.AppID), "field", "appid")
	}
	return appID, nil
}

// CreateOrder makes an order a user can pay: a Native code_url, or a prepay_id (JSAPI, APP, H5).
func (e *Engine) CreateOrder(ctx context.Context, req walletctl.OrderRequest) (*walletctl.Order, error) {
	tt, ok := tradeTypes[strings.ToUpper(req.TradeType)]
	if !ok {
		return nil, withDetails(errf(walletctl.CodeInvalidArgument, "trade type %q: NATIVE, JSAPI, APP or MWEB (h5)", req.TradeType), "field", "trade_type")
	}
	if err := checkOrderFields(req.OutTradeNo, req.Description, req.Attach, req.NotifyURL, req.Amount, req.Currency); err != nil {
		return nil, err
	}
	if tt == walletctl.TradeJSAPI && req.PayerOpenID == "" {
		return nil, withDetails(errf(walletctl.CodeInvalidArgument, "a JSAPI order needs payer.openid (walletctl --as U user openid --appid APPID)"), "field", "payer.openid")
	}
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	now := e.now()
	expire := now.Add(e.set.OrderExpiry.D())
	if !req.TimeExpire.IsZero() {
		if !req.TimeExpire.After(now) {
			return nil, withDetails(errf(walletctl.CodeInvalidArgument, "time_expire %s is not after now (%s)",
				req.TimeExpire.In(vclock.Shanghai).Format(time.RFC3339), now.Format(time.RFC3339)), "field", "time_expire")
		}
		expire = req.TimeExpire.In(vclock.Shanghai)
	}
	var out *walletctl.Order
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		m, appID, old, err := orderMerchant(tx, req.MchID, req.AppID, req.OutTradeNo, tt, req.Description, req.Amount)
		if err != nil || old != nil {
			out = old
			return err
		}
		id, err := seqID(tx, "order", "o")
		if err != nil {
			return err
		}
		o := &walletctl.Order{ID: id, MchID: m.ID, AppID: appID, MerchantName: m.Name, OutTradeNo: req.OutTradeNo, Description: req.Description,
			Attach: req.Attach, NotifyURL: req.NotifyURL, TradeType: tt, TradeState: walletctl.StateNotPay, TradeStateDesc: "订单未支付",
			Amount: req.Amount, Currency: "CNY", PayerOpenID: req.PayerOpenID, TimeExpire: expire, CreatedAt: now}
		switch tt {
		case walletctl.TradeNative:
			o.CodeURL = codeURLPrefix + codeToken(id, m.ID)
		default:
			o.PrepayID = prepayID(now, id, m.ID)
			if tt == walletctl.TradeH5 {
				o.H5URL = h5URLPrefix + o.PrepayID + "&package=" + fmt.Sprintf("%010d", sqlNum(id))
			}
		}
		out = o
		return tx.CreateOrder(o)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func sqlNum(id string) int64 {
	var n int64
	for _, c := range id {
		if c >= '0' && c <= '9' {
			n = n*10 + int64(c-'0')
		}
	}
	return n
}

func findOrder(tx walletctl.StoreTx, q walletctl.OrderQuery) (*walletctl.Order, error) {
	if q.TransactionID == "" && q.OutTradeNo == "" {
		return nil, errf(walletctl.CodeInvalidArgument, "name the order by transaction_id or out_trade_no")
	}
	o, err := tx.FindOrder(walletctl.OrderKey{MchID: q.MchID, TransactionID: q.TransactionID, OutTradeNo: q.OutTradeNo})
	if err != nil {
		return nil, err
	}
	if o == nil || o.MchID != q.MchID {
		what := "out_trade_no " + q.OutTradeNo
		if q.TransactionID != "" {
			what = "transaction_id " + q.TransactionID
		}
		return nil, withHint(errf(walletctl.CodeNotFound, "merchant %s has no order with %s", q.MchID, what), "list the merchant's orders: walletctl merchant order list --mchid "+q.MchID)
	}
	return o, nil
}

// Order finds a merchant's order.
func (e *Engine) Order(ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var out *walletctl.Order
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		if _, err := v3Merchant(tx, q.MchID); err != nil {
			return err
		}
		var err error
		out, err = findOrder(tx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	if out.TxnID != "" && out.TradeState == walletctl.StateUserPaying {
		// A card payment whose bank answer was lost: ask the bank, as the merchant's query would.
		e.query(ctx, out.TxnID)
		err = e.view(ctx, func(tx walletctl.StoreTx) error {
			var err error
			out, err = findOrder(tx, q)
			return err
		})
	}
	return out, err
}

// Orders lists a merchant's orders, oldest first.
func (e *Engine) Orders(ctx context.Context, mchid string, p walletctl.Page) (*walletctl.List[walletctl.Order], error) {
	return pageOf(e, ctx, func(tx walletctl.StoreTx) ([]walletctl.Order, bool, error) {
		if _, err := v3Merchant(tx, mchid); err != nil {
			return nil, false, err
		}
		return tx.PageOrders(mchid, p)
	})
}

// CloseOrder closes an unpaid order: it can no longer be paid.
func (e *Engine) CloseOrder(ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var out *walletctl.Order
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		if _, err := v3Merchant(tx, q.MchID); err != nil {
			return err
		}
		o, err := findOrder(tx, q)
		if err != nil {
			return err
		}
		out = o
		switch {
		case o.TradeState == walletctl.StateClosed:
			return nil // v3 closes a closed order again without complaint
		case o.TradeState == walletctl.StateNotPay, o.TradeState == walletctl.StatePayError,
			o.TradeState == walletctl.StateUserPaying && o.TxnID == "":
			return e.closeOrder(tx, o, walletctl.StateClosed, "已关闭")
		case o.TradeState == walletctl.StateUserPaying:
			return withDetails(errf(walletctl.CodeOrderState, "order %s is being paid (its bank answer is pending); query it again later", o.ID),
				"trade_state", o.TradeState)
		}
		return withDetails(errf(walletctl.CodeOrderState, "order %s is %s and cannot be closed", o.ID, o.TradeState), "trade_state", o.TradeState)
	})
	return out, err
}

func (e *Engine) closeOrder(tx walletctl.StoreTx, o *walletctl.Order, state, desc string) error {
	now := e.now()
	o.TradeState, o.TradeStateDesc, o.ClosedAt = state, desc, &now
	return tx.SaveOrder(o)
}

// ReverseOrder cancels a code payment: an unpaid one is revoked; a paid one is refunded in full
// to where it came from, then revoked.
func (e *Engine) ReverseOrder(ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
	var o *walletctl.Order
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		if _, err := v3Merchant(tx, q.MchID); err != nil {
			return err
		}
		var err error
		o, err = findOrder(tx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	if o.TradeType != walletctl.TradeCodePay {
		return nil, withDetails(errf(walletctl.CodeOrderState, "only code payments (MICROPAY) are reversed; close or refund a %s order", o.TradeType), "trade_type", o.TradeType)
	}
	var reversal *walletctl.Refund
	switch o.TradeState {
	case walletctl.StateRevoked:
		return o, nil
	case walletctl.StateSuccess:
		// Each try has its own out_refund_no: one the bank refused stays closed.
		tries := 0
		if err := e.view(ctx, func(tx walletctl.StoreTx) error {
			rs, err := tx.ListRefunds(o.MchID, o.TransactionID)
			for _, r := range rs {
				if isReversal(o, &r) {
					tries++
				}
			}
			return err
		}); err != nil {
			return nil, err
		}
		r, err := e.Refund(ctx, walletctl.RefundRequest{MchID: o.MchID, OutTradeNo: o.OutTradeNo, OutRefundNo: fmt.Sprintf("%s%d", reversePrefix(o), tries+1),
			Reason: "reversed", Amount: o.Amount})
		if err != nil {
			return nil, err
		}
		reversal = r
		if r.Status != walletctl.RefundSuccess && r.Status != walletctl.RefundProcessing {
			// The money could not go back (the card is gone, the bank refused): not revoked.
			return nil, withDetails(errf(walletctl.CodeOrderState, "order %s could not be reversed: its refund %s is %s", o.ID, r.RefundID, r.Status),
				"refund_id", r.RefundID, "refund_status", r.Status)
		}
	case walletctl.StateRefund:
		return nil, withDetails(errf(walletctl.CodeOrderState, "order %s was already refunded in part; refund the rest instead", o.ID), "trade_state", o.TradeState)
	case walletctl.StateUserPaying:
		if o.TxnID != "" {
			return nil, withDetails(errf(walletctl.CodeOrderState, "order %s is being paid (its bank answer is pending); reverse it once it settles", o.ID), "trade_state", o.TradeState)
		}
	}
	err = e.update(ctx, func(tx walletctl.StoreTx) error {
		cur, err := findOrder(tx, q)
		if err != nil {
			return err
		}
		o = cur
		if cur.TradeState == walletctl.StateRevoked {
			return nil
		}
		if reversal != nil {
			// Its refund may have failed meanwhile (settled by another process): then not revoked.
			r, err := tx.FindRefund(walletctl.RefundKey{RefundID: reversal.RefundID})
			if err != nil {
				return err
			}
			if r == nil || r.Status != walletctl.RefundSuccess && r.Status != walletctl.RefundProcessing {
				return withDetails(errf(walletctl.CodeOrderState, "order %s could not be reversed: its refund %s failed", cur.ID, reversal.RefundID),
					"refund_id", reversal.RefundID)
			}
		}
		return e.closeOrder(tx, cur, walletctl.StateRevoked, "已撤销")
	})
	return o, err
}

// expireOrders closes the orders whose time_expire passed (run with the other due work).
func (e *Engine) expireOrders(tx walletctl.StoreTx, now time.Time) error {
	due, err := tx.OrdersDue(now)
	if err != nil {
		return err
	}
	for i := range due {
		o := &due[i]
		if o.TradeType == walletctl.TradeCodePay {
			// a code payment the payer never confirmed: v3 reports it as failed
			if err := e.closeOrder(tx, o, walletctl.StatePayError, "支付失败，用户未确认"); err != nil {
				return err
			}
			continue
		}
		if err := e.closeOrder(tx, o, walletctl.StateClosed, "订单已过期关闭"); err != nil {
			return err
		}
	}
	return nil
}
