package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// Merchants as parties (DESIGN.md section 8). A merchant's keys are not stored: they are derived
// from the wallet's secret key and the mchid whenever needed (and cached by wechatpay.DeriveKey),
// so each sandbox has its own keys, the same ones every time, and no file holds them unless the
// merchant writes them out (`merchant keys --out`). Ids, serials, code URLs and prepay ids are
// derived from sequence numbers and the virtual clock only, so transcripts stay deterministic.

// certValidity: certificates are checked by merchants' SDKs against the real clock, so they are
// valid over a wide real-time window rather than around the virtual clock.
var (
	certNotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	certNotAfter  = time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	platformName = "walletctl sandbox platform"
	// balanceAccount is v3's user_received_account of a refund to the wallet balance.
	balanceAccount = "支付用户零钱"
	maxRefunds     = 50 // v3: at most 50 refunds per order
	maxField       = 127
)

func (e *Engine) derive(label string) []byte {
	m := hmac.New(sha256.New, e.secret)
	m.Write([]byte("walletctl v3\x00" + label))
	return m.Sum(nil)
}

// serialOf is a deterministic certificate serial: 40 upper-case hex digits, not starting with 0.
func serialOf(label string) string {
	sum := sha256.Sum256([]byte("walletctl serial\x00" + label))
	s := strings.ToUpper(hex.EncodeToString(sum[:20]))
	return "5" + s[1:]
}

func appIDOf(mchid string) string {
	sum := sha256.Sum256([]byte("walletctl appid\x00" + mchid))
	return "wx" + hex.EncodeToString(sum[:8])
}

// PublicKeyID is the platform public key's id in public-key mode (the same in every sandbox, like
// the platform serial: what differs is the key).
const PublicKeyID = "PUB_KEY_ID_0100000000000000000000000000000001"

// Platform returns the wallet's v3 signing identity (walletctl.PlatformService).
func (e *Engine) Platform(ctx context.Context) (*walletctl.Platform, error) {
	key := wechatpay.DeriveKey(e.derive("platform key"))
	serial := serialOf("platform")
	der, err := wechatpay.Certificate(key, serial, platformName, "walletctl", certNotBefore, certNotAfter)
	if err != nil {
		return nil, internal(err)
	}
	return &walletctl.Platform{Serial: serial, PublicKeyID: PublicKeyID, PrivateKey: string(wechatpay.PrivateKeyPEM(key)),
		Cert: string(wechatpay.CertificatePEM(der)), PublicKey: string(wechatpay.PublicKeyPEM(&key.PublicKey))}, nil
}

var _ walletctl.PlatformService = (*Engine)(nil)

// apiV3Key is the merchant's 32-character APIv3 key.
func (e *Engine) apiV3Key(mchid string) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	raw := e.derive("apiv3 key " + mchid)
	raw = append(raw, e.derive("apiv3 key 2 "+mchid)...)
	out := make([]byte, 32)
	for i := range out {
		out[i] = alphabet[int(raw[i])%len(alphabet)]
	}
	return string(out)
}

// CreateMerchant makes a merchant party with v3 credentials.
func (e *Engine) CreateMerchant(ctx context.Context, spec walletctl.MerchantSpec) (*walletctl.Merchant, error) {
	if len(spec.Name) > 128 || len(spec.Category) > 64 || len(spec.AppID) > 32 {
		return nil, errf(walletctl.CodeInvalidArgument, "merchant name (128), category (64) or appid (32 bytes) too long")
	}
	// Shown in tables, payers' screens, ledger notes and the trade bill.
	for _, f := range [][2]string{{"name", spec.Name}, {"category", spec.Category}, {"appid", spec.AppID}} {
		if err := walletctl.CheckText(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	var out *walletctl.Merchant
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		n, err := tx.NextID("merchant")
		if err != nil {
			return err
		}
		mchid := fmt.Sprintf("19%08d", n)
		now := e.now()
		m := &walletctl.Merchant{ID: mchid, Name: spec.Name, Category: spec.Category, AppID: spec.AppID,
			CertSerial: serialOf("merchant " + mchid), CreatedAt: &now, PublicKeyMode: spec.PublicKeyMode}
		if m.Name == "" {
			m.Name = "Sandbox merchant " + mchid
		}
		if m.Category == "" {
			m.Category = "merchant"
		}
		if m.AppID == "" {
			m.AppID = appIDOf(mchid)
		}
		out = m
		return tx.CreateMerchant(m)
	})
	return out, err
}

func getMerchant(tx walletctl.StoreTx, id string) (*walletctl.Merchant, error) {
	if m := merchant(id); m != nil {
		return m, nil
	}
	m, err := tx.GetMerchant(id)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errf(walletctl.CodeNotFound, "no merchant %q (see: walletctl merchant list)", id)
	}
	return m, nil
}

// v3Merchant is a merchant with v3 credentials (not one of the catalogue's).
func v3Merchant(tx walletctl.StoreTx, mchid string) (*walletctl.Merchant, error) {
	m, err := tx.GetMerchant(mchid)
	if err != nil {
		return nil, err
	}
	if m == nil {
		hint := "create one: walletctl merchant create"
		if merchant(mchid) != nil {
			hint = mchid + " is a catalogue merchant without v3 credentials; create one: walletctl merchant create"
		}
		return nil, withHint(errf(walletctl.CodeNotFound, "no merchant %q", mchid), hint)
	}
	return m, nil
}

// Merchant shows a merchant with what it holds.
func (e *Engine) Merchant(ctx context.Context, id string) (*walletctl.MerchantInfo, error) {
	var out *walletctl.MerchantInfo
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		m, err := getMerchant(tx, id)
		if err != nil {
			return err
		}
		bal, err := tx.AccountBalance(merchantAcct(m.ID))
		if err != nil {
			return err
		}
		out = &walletctl.MerchantInfo{Merchant: *m, Balance: bal}
		if m.CreatedAt == nil {
			return nil
		}
		orders, err := tx.ListOrders(m.ID)
		if err != nil {
			return err
		}
		out.Orders = len(orders)
		for _, o := range orders {
			if o.SuccessTime != nil {
				out.Paid += o.Amount
			}
		}
		refunds, err := tx.ListRefunds(m.ID, "")
		if err != nil {
			return err
		}
		for _, r := range refunds {
			if r.Status == walletctl.RefundSuccess {
				out.Refunded += r.Amount
			}
		}
		return nil
	})
	return out, err
}

// merchantsCreated lists the merchants made with CreateMerchant (Merchants puts them after the
// catalogue).
func (e *Engine) merchantsCreated(ctx context.Context) ([]walletctl.Merchant, error) {
	var out []walletctl.Merchant
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		out, err = tx.ListMerchants()
		return err
	})
	return out, err
}

// MerchantCredentials derives a merchant's key, certificate and APIv3 key, with the platform's
// certificate and public key.
func (e *Engine) MerchantCredentials(ctx context.Context, mchid string) (*walletctl.MerchantCredentials, error) {
	var m *walletctl.Merchant
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		m, err = v3Merchant(tx, mchid)
		return err
	}); err != nil {
		return nil, err
	}
	key := wechatpay.DeriveKey(e.derive("merchant key " + m.ID))
	der, err := wechatpay.Certificate(key, m.CertSerial, m.ID, m.Name, certNotBefore, certNotAfter)
	if err != nil {
		return nil, internal(err)
	}
	pf, err := e.Platform(ctx)
	if err != nil {
		return nil, err
	}
	return &walletctl.MerchantCredentials{MchID: m.ID, AppID: m.AppID, CertSerial: m.CertSerial,
		PrivateKey: string(wechatpay.PrivateKeyPEM(key)), Cert: string(wechatpay.CertificatePEM(der)), APIv3Key: e.apiV3Key(m.ID),
		PlatformSerial: pf.Serial, PlatformCert: pf.Cert, PlatformPublicKey: pf.PublicKey, PublicKeyID: pf.PublicKeyID}, nil
}

// ---- orders

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
	defer e.flush(ctx)
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
func (e *Engine) Orders(ctx context.Context, mchid string) ([]walletctl.Order, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	out := []walletctl.Order{}
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		if _, err := v3Merchant(tx, mchid); err != nil {
			return err
		}
		os, err := tx.ListOrders(mchid)
		out = append(out, os...)
		return err
	})
	return out, err
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
	defer e.flush(ctx)
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

// ---- the payer's side

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
	defer e.flush(ctx)
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
		if err := e.checkLimits(tx, u, o.Amount, true); err != nil {
			return err
		}
		if err := e.needBalance(tx, u, o.Amount); err != nil {
			return err
		}
		id, err := seqID(tx, "txn", "t")
		if err != nil {
			return err
		}
		now := e.now()
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

// ---- payment codes

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
	defer e.flush(ctx)
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
	defer e.flush(ctx)
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

// ---- refunds

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
	defer e.flush(ctx)
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
	defer e.flush(ctx)
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
func (e *Engine) Refunds(ctx context.Context, mchid string) ([]walletctl.Refund, error) {
	out := []walletctl.Refund{}
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		if _, err := v3Merchant(tx, mchid); err != nil {
			return err
		}
		rs, err := tx.ListRefunds(mchid, "")
		out = append(out, rs...)
		return err
	})
	return out, err
}

// ---- bills

// billHeader is v3's trade bill header (交易账单), whose columns every reconciliation script of a
// WeChat Pay merchant parses by position.
const billHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
const billSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

// billRow is one line of the bill. v3 prefixes every value with a backquote so that
// spreadsheets keep long numbers as text, and its columns are split on commas with no quoting:
// whatever a value holds (data stored before input was checked included), a comma, a line break
// or another control character must not make another column or row, and a backquote or a quote
// must not look like the start of a value or of a quoted field to a parser. They become their
// full-width forms or a space.
func billRow(fields ...string) string {
	for i, f := range fields {
		fields[i] = "`" + billEscaper.Replace(walletctl.SanitizeText(f))
	}
	return strings.Join(fields, ",")
}

var billEscaper = strings.NewReplacer(",", "，", "`", "｀", "\"", "＂")

// TradeBill is a merchant's trade bill for a day (date "" or "today": today on the virtual
// clock): ALL (payments and refunds), SUCCESS (payments) or REFUND (refunds).
func (e *Engine) TradeBill(ctx context.Context, mchid, date, billType string) (*walletctl.Bill, error) {
	billType = strings.ToUpper(billType)
	if billType == "" {
		billType = "ALL"
	}
	if billType != "ALL" && billType != "SUCCESS" && billType != "REFUND" {
		return nil, withDetails(errf(walletctl.CodeInvalidArgument, "bill_type %q: ALL, SUCCESS or REFUND", billType), "field", "bill_type")
	}
	now := e.now()
	day := vclock.StartOfDay(now)
	if date != "" && date != "today" {
		d, err := time.ParseInLocation("2006-01-02", date, vclock.Shanghai)
		if err != nil {
			return nil, withDetails(errf(walletctl.CodeInvalidArgument, "bill_date %q: want YYYY-MM-DD", date), "field", "bill_date")
		}
		if d.After(day) {
			return nil, withDetails(errf(walletctl.CodeInvalidArgument, "bill_date %s is in the future (today is %s)", date, day.Format("2006-01-02")), "field", "bill_date")
		}
		day = d
	}
	end := day.Add(24 * time.Hour)
	in := func(t *time.Time) bool { return t != nil && !t.Before(day) && t.Before(end) }
	var lines []string
	var count int
	var paid, refunded int64
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		if _, err := v3Merchant(tx, mchid); err != nil {
			return err
		}
		orders, err := tx.ListOrders(mchid)
		if err != nil {
			return err
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
			lines = append(lines, billRow(o.SuccessTime.In(vclock.Shanghai).Format("2006-01-02 15:04:05"), o.AppID, o.MchID, "0", "", o.TransactionID,
				o.OutTradeNo, o.PayerOpenID, o.TradeType, "SUCCESS", o.BankType, "CNY", walletctl.FormatAmount(o.Amount), "0.00",
				"0", "0", "0.00", "0.00", "", "", o.Description, o.Attach, "0.00000", "0.00%", walletctl.FormatAmount(o.Amount), "0.00", ""))
		}
		if billType == "SUCCESS" {
			return nil
		}
		refunds, err := tx.ListRefunds(mchid, "")
		if err != nil {
			return err
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
			lines = append(lines, billRow(r.SuccessTime.In(vclock.Shanghai).Format("2006-01-02 15:04:05"), o.AppID, o.MchID, "0", "", o.TransactionID,
				o.OutTradeNo, o.PayerOpenID, o.TradeType, "REFUND", o.BankType, "CNY", "0.00", "0.00", r.RefundID, r.OutRefundNo,
				walletctl.FormatAmount(r.Amount), "0.00", "ORIGINAL", "SUCCESS", o.Description, o.Attach, "0.00000", "0.00%",
				walletctl.FormatAmount(o.Amount), walletctl.FormatAmount(r.Amount), ""))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(billHeader + "\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString(billSummaryHeader + "\r\n")
	b.WriteString(billRow(fmt.Sprint(count), walletctl.FormatAmount(paid), walletctl.FormatAmount(refunded), "0.00", "0.00000",
		walletctl.FormatAmount(paid), walletctl.FormatAmount(refunded)) + "\r\n")
	content := b.String()
	sum := sha1Hex(content)
	return &walletctl.Bill{MchID: mchid, Date: day.Format("2006-01-02"), Type: billType, HashType: "SHA1", HashValue: sum, Rows: len(lines), Content: content}, nil
}

// reversePrefix begins the out_refund_no of each full refund that tries to reverse a paid code
// payment ("reverse-o3-1", ...).
func reversePrefix(o *walletctl.Order) string { return "reverse-" + o.ID + "-" }

func isReversal(o *walletctl.Order, r *walletctl.Refund) bool {
	return strings.HasPrefix(r.OutRefundNo, reversePrefix(o))
}
