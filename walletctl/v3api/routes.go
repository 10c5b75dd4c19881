package v3api

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// Route is one v3 operation: the table that serves them and documents them (walletctl serve's
// OpenAPI document lists them under /tenants/{tenant}).
type Route struct {
	Method  string
	Path    string // /v3/pay/transactions/id/{transaction_id}
	Op      string // operationId, without walletctl serve's "V3" prefix
	Summary string
	Query   []string // query parameters; the first ones listed in Required are required
	Body    any      // a value of the request body's type; nil = none
	Result  any      // a value of the answer's type; nil = 204 No Content (or raw bytes: see Raw)
	Raw     bool     // the answer is bytes (the bill file), not JSON

	serve func(c *call, p map[string]string)
}

// Wire types, field names exactly as v3 (and the SDK's structs) have them.
type (
	// Amount is an order's amount in a request.
	Amount struct {
		Total    int64  `json:"total"`
		Currency string `json:"currency,omitempty"`
	}
	// PrepayPayer is the payer of a JSAPI order.
	PrepayPayer struct {
		OpenID string `json:"openid"`
	}
	// PrepayRequest is the body of native, jsapi, app and h5 prepay.
	PrepayRequest struct {
		AppID         string          `json:"appid"`
		MchID         string          `json:"mchid"`
		Description   string          `json:"description"`
		OutTradeNo    string          `json:"out_trade_no"`
		TimeExpire    string          `json:"time_expire,omitempty"` // RFC 3339
		Attach        string          `json:"attach,omitempty"`
		NotifyURL     string          `json:"notify_url"`
		GoodsTag      string          `json:"goods_tag,omitempty"`
		SupportFapiao bool            `json:"support_fapiao,omitempty"`
		Amount        *Amount         `json:"amount"`
		Payer         *PrepayPayer    `json:"payer,omitempty"` // JSAPI
		Detail        json.RawMessage `json:"detail,omitempty"`
		SceneInfo     json.RawMessage `json:"scene_info,omitempty"` // H5: required by v3, not checked
		SettleInfo    json.RawMessage `json:"settle_info,omitempty"`
	}
	// NativeResponse is native prepay's answer.
	NativeResponse struct {
		CodeURL string `json:"code_url"`
	}
	// PrepayResponse is jsapi and app prepay's answer.
	PrepayResponse struct {
		PrepayID string `json:"prepay_id"`
	}
	// H5Response is h5 prepay's answer.
	H5Response struct {
		H5URL string `json:"h5_url"`
	}
	// CodePayPayer carries the payment code the merchant scanned.
	CodePayPayer struct {
		AuthCode string `json:"auth_code"`
	}
	// CodePayRequest is the body of codepay.
	CodePayRequest struct {
		AppID       string          `json:"appid"`
		MchID       string          `json:"mchid"`
		Description string          `json:"description"`
		OutTradeNo  string          `json:"out_trade_no"`
		Attach      string          `json:"attach,omitempty"`
		NotifyURL   string          `json:"notify_url,omitempty"`
		GoodsTag    string          `json:"goods_tag,omitempty"`
		Amount      *Amount         `json:"amount"`
		Payer       *CodePayPayer   `json:"payer"`
		SceneInfo   json.RawMessage `json:"scene_info,omitempty"`
		Detail      json.RawMessage `json:"detail,omitempty"`
	}
	// MchIDBody is the body of close and reverse.
	MchIDBody struct {
		MchID string `json:"mchid"`
		AppID string `json:"appid,omitempty"`
	}
	// TransactionAmount is a queried order's amount.
	TransactionAmount struct {
		Total         int64  `json:"total"`
		PayerTotal    *int64 `json:"payer_total,omitempty"`
		Currency      string `json:"currency"`
		PayerCurrency string `json:"payer_currency"`
	}
	// TransactionPayer is a queried order's payer.
	TransactionPayer struct {
		OpenID string `json:"openid"`
	}
	// Transaction is an order as v3's query answers it (the SDK's payments.Transaction).
	Transaction struct {
		AppID          string             `json:"appid"`
		MchID          string             `json:"mchid"`
		OutTradeNo     string             `json:"out_trade_no"`
		TransactionID  string             `json:"transaction_id,omitempty"`
		TradeType      string             `json:"trade_type,omitempty"`
		TradeState     string             `json:"trade_state"`
		TradeStateDesc string             `json:"trade_state_desc"`
		BankType       string             `json:"bank_type,omitempty"`
		Attach         string             `json:"attach"`
		SuccessTime    string             `json:"success_time,omitempty"` // RFC 3339, +08:00
		Payer          *TransactionPayer  `json:"payer,omitempty"`
		Amount         *TransactionAmount `json:"amount"`
	}
	// RefundAmountReq is a refund request's amount.
	RefundAmountReq struct {
		Refund   int64           `json:"refund"`
		Total    int64           `json:"total"`
		Currency string          `json:"currency"`
		From     json.RawMessage `json:"from,omitempty"`
	}
	// RefundRequest is the body of POST /v3/refund/domestic/refunds.
	RefundRequest struct {
		TransactionID string           `json:"transaction_id,omitempty"`
		OutTradeNo    string           `json:"out_trade_no,omitempty"`
		OutRefundNo   string           `json:"out_refund_no"`
		Reason        string           `json:"reason,omitempty"`
		NotifyURL     string           `json:"notify_url,omitempty"`
		FundsAccount  string           `json:"funds_account,omitempty"`
		Amount        *RefundAmountReq `json:"amount"`
		GoodsDetail   json.RawMessage  `json:"goods_detail,omitempty"`
	}
	// FundsFrom is one account a refund came from.
	FundsFrom struct {
		Account string `json:"account"`
		Amount  int64  `json:"amount"`
	}
	// RefundAmount is a refund's amount as v3 answers it.
	RefundAmount struct {
		Total            int64       `json:"total"`
		Refund           int64       `json:"refund"`
		From             []FundsFrom `json:"from"`
		PayerTotal       int64       `json:"payer_total"`
		PayerRefund      int64       `json:"payer_refund"`
		SettlementRefund int64       `json:"settlement_refund"`
		SettlementTotal  int64       `json:"settlement_total"`
		DiscountRefund   int64       `json:"discount_refund"`
		Currency         string      `json:"currency"`
	}
	// Refund is a refund as v3 answers it (the SDK's refunddomestic.Refund).
	Refund struct {
		RefundID            string       `json:"refund_id"`
		OutRefundNo         string       `json:"out_refund_no"`
		TransactionID       string       `json:"transaction_id"`
		OutTradeNo          string       `json:"out_trade_no"`
		Channel             string       `json:"channel"`
		UserReceivedAccount string       `json:"user_received_account"`
		SuccessTime         string       `json:"success_time,omitempty"`
		CreateTime          string       `json:"create_time"`
		Status              string       `json:"status"`
		FundsAccount        string       `json:"funds_account"`
		Amount              RefundAmount `json:"amount"`
		PromotionDetail     []any        `json:"promotion_detail"`
	}
	// BillResponse is GET /v3/bill/tradebill's answer.
	BillResponse struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	// CertificatesResponse is GET /v3/certificates' answer.
	CertificatesResponse struct {
		Data []CertificateEntry `json:"data"`
	}
	// CertificateEntry is one platform certificate, sealed with the APIv3 key.
	CertificateEntry struct {
		SerialNo           string             `json:"serial_no"`
		EffectiveTime      string             `json:"effective_time"`
		ExpireTime         string             `json:"expire_time"`
		EncryptCertificate EncryptCertificate `json:"encrypt_certificate"`
	}
	// EncryptCertificate is a platform certificate's PEM sealed with AEAD_AES_256_GCM
	// (associated_data "certificate").
	EncryptCertificate struct {
		Algorithm      string `json:"algorithm"`
		Nonce          string `json:"nonce"`
		AssociatedData string `json:"associated_data"`
		Ciphertext     string `json:"ciphertext"`
	}
)

// Routes is the v3 API.
var Routes = []Route{
	{Method: "GET", Path: "/v3/certificates", Op: "DownloadCertificates", Summary: "The platform certificates, each sealed (AEAD_AES_256_GCM) with the caller's APIv3 key",
		Result: CertificatesResponse{}, serve: serveCertificates},
	{Method: "POST", Path: "/v3/pay/transactions/native", Op: "NativePrepay", Summary: "Create a Native order: a code_url for the payer to scan",
		Body: PrepayRequest{}, Result: NativeResponse{}, serve: servePrepay(walletctl.TradeNative)},
	{Method: "POST", Path: "/v3/pay/transactions/jsapi", Op: "JSAPIPrepay", Summary: "Create a JSAPI order for payer.openid: a prepay_id",
		Body: PrepayRequest{}, Result: PrepayResponse{}, serve: servePrepay(walletctl.TradeJSAPI)},
	{Method: "POST", Path: "/v3/pay/transactions/app", Op: "AppPrepay", Summary: "Create an App order: a prepay_id",
		Body: PrepayRequest{}, Result: PrepayResponse{}, serve: servePrepay(walletctl.TradeApp)},
	{Method: "POST", Path: "/v3/pay/transactions/h5", Op: "H5Prepay", Summary: "Create an H5 order: an h5_url",
		Body: PrepayRequest{}, Result: H5Response{}, serve: servePrepay(walletctl.TradeH5)},
	{Method: "POST", Path: "/v3/pay/transactions/codepay", Op: "CodePay", Summary: "Charge the payer's payment code (payer.auth_code); 202 USERPAYING while the payer must enter the password",
		Body: CodePayRequest{}, Result: Transaction{}, serve: serveCodePay},
	{Method: "GET", Path: "/v3/pay/transactions/id/{transaction_id}", Op: "QueryOrderByID", Summary: "Query an order by transaction_id",
		Query: []string{"mchid"}, Result: Transaction{}, serve: serveQuery("transaction_id")},
	{Method: "GET", Path: "/v3/pay/transactions/out-trade-no/{out_trade_no}", Op: "QueryOrderByOutTradeNo", Summary: "Query an order by out_trade_no",
		Query: []string{"mchid"}, Result: Transaction{}, serve: serveQuery("out_trade_no")},
	{Method: "POST", Path: "/v3/pay/transactions/out-trade-no/{out_trade_no}/close", Op: "CloseOrder", Summary: "Close an unpaid order",
		Body: MchIDBody{}, serve: serveClose},
	{Method: "POST", Path: "/v3/pay/transactions/out-trade-no/{out_trade_no}/reverse", Op: "ReverseOrder", Summary: "Reverse a code payment (refunded if paid)",
		Body: MchIDBody{}, Result: Transaction{}, serve: serveReverse},
	{Method: "POST", Path: "/v3/refund/domestic/refunds", Op: "CreateRefund", Summary: "Refund (part of) a paid order to where the money came from",
		Body: RefundRequest{}, Result: Refund{}, serve: serveRefund},
	{Method: "GET", Path: "/v3/refund/domestic/refunds/{out_refund_no}", Op: "QueryRefund", Summary: "Query a refund by out_refund_no",
		Result: Refund{}, serve: serveRefundQuery},
	{Method: "GET", Path: "/v3/bill/tradebill", Op: "TradeBill", Summary: "The trade bill of a day (bill_date YYYY-MM-DD, bill_type ALL|SUCCESS|REFUND): its SHA1 and a download_url",
		Query: []string{"bill_date", "bill_type", "tar_type"}, Result: BillResponse{}, serve: serveTradeBill},
	{Method: "GET", Path: "/v3/billdownload/file", Op: "DownloadBill", Summary: "Download a bill (the download_url of /v3/bill/tradebill; a signed request)",
		Query: []string{"token"}, Raw: true, serve: serveBillDownload},
}

// match finds the route of method and path and its path parameters.
func match(method, path string) (*Route, map[string]string) {
	segs := strings.Split(path, "/")
	for i := range Routes {
		rt := &Routes[i]
		if rt.Method != method {
			continue
		}
		ps := strings.Split(rt.Path, "/")
		if len(ps) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for j, p := range ps {
			if strings.HasPrefix(p, "{") {
				if segs[j] == "" {
					ok = false
					break
				}
				params[strings.Trim(p, "{}")] = segs[j]
			} else if p != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return rt, params
		}
	}
	return nil, nil
}

// decode reads the JSON body into v; a bad one is PARAM_ERROR.
func (c *call) decode(v any) bool {
	if len(c.body) == 0 {
		c.fail(paramError.with("a JSON request body is required", "location", "body"))
		return false
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		c.fail(paramError.with("the body is not valid JSON for this request: "+err.Error(), "location", "body"))
		return false
	}
	return true
}

// sameMerchant checks a body's or query's mchid (and appid) against the signature's.
func (c *call) sameMerchant(mchid, appid, location string) bool {
	if mchid == "" {
		c.fail(paramError.with("mchid is required", "field", "mchid", "location", location))
		return false
	}
	if mchid != c.mchid {
		c.fail(paramError.with("mchid "+mchid+" is not the mchid of the request's signature ("+c.mchid+")", "field", "mchid", "value", mchid, "location", location))
		return false
	}
	if appid != "" && appid != c.creds.AppID {
		c.fail(appidMismatch.with("appid "+appid+" is not merchant "+c.mchid+"'s", "field", "appid", "value", appid, "location", location))
		return false
	}
	return true
}

func required(fields ...string) string {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			return fields[i]
		}
	}
	return ""
}

func v3Time(t time.Time) string { return t.In(wechatpay.ChinaStandardTime).Format(time.RFC3339) }

func servePrepay(tradeType string) func(c *call, p map[string]string) {
	return func(c *call, p map[string]string) {
		var req PrepayRequest
		if !c.decode(&req) || !c.sameMerchant(req.MchID, req.AppID, "body") {
			return
		}
		if f := required("appid", req.AppID, "description", req.Description, "out_trade_no", req.OutTradeNo); f != "" {
			c.fail(paramError.with(f+" is required", "field", f, "location", "body"))
			return
		}
		if req.Amount == nil {
			c.fail(paramError.with("amount is required", "field", "amount", "location", "body"))
			return
		}
		or := walletctl.OrderRequest{MchID: req.MchID, AppID: req.AppID, TradeType: tradeType, OutTradeNo: req.OutTradeNo,
			Description: req.Description, Attach: req.Attach, NotifyURL: req.NotifyURL, Amount: req.Amount.Total, Currency: req.Amount.Currency}
		if req.Payer != nil {
			or.PayerOpenID = req.Payer.OpenID
		}
		if tradeType == walletctl.TradeJSAPI && or.PayerOpenID == "" {
			c.fail(paramError.with("payer.openid is required for a JSAPI order", "field", "payer.openid", "location", "body"))
			return
		}
		if req.TimeExpire != "" {
			t, err := time.Parse(time.RFC3339, req.TimeExpire)
			if err != nil {
				c.fail(paramError.with("time_expire is not RFC 3339 (yyyy-MM-DDTHH:mm:ss+TIMEZONE)", "field", "time_expire", "value", req.TimeExpire, "location", "body"))
				return
			}
			or.TimeExpire = t
		}
		o, err := c.svc.CreateOrder(c.r.Context(), or)
		if err != nil {
			c.orderFail(err, walletctl.OrderQuery{MchID: c.mchid, OutTradeNo: req.OutTradeNo})
			return
		}
		switch tradeType {
		case walletctl.TradeNative:
			c.ok(http.StatusOK, NativeResponse{CodeURL: o.CodeURL})
		case walletctl.TradeH5:
			c.ok(http.StatusOK, H5Response{H5URL: o.H5URL})
		default:
			c.ok(http.StatusOK, PrepayResponse{PrepayID: o.PrepayID})
		}
	}
}

// orderFail answers an order operation's error: ORDER_STATE by the order's state.
func (c *call) orderFail(err error, q walletctl.OrderQuery) {
	e := fromError(err, kindOrder)
	var we *walletctl.Error
	if errors.As(err, &we) && we.Code == walletctl.CodeOrderState {
		if o, oerr := c.svc.Order(c.r.Context(), q); oerr == nil {
			var code v3Code
			switch o.TradeState {
			case walletctl.StateSuccess, walletctl.StateRefund:
				code = orderPaid
			case walletctl.StateClosed, walletctl.StateRevoked:
				code = orderClosed
			}
			if code.Code != "" {
				e.Status, e.Code, e.Message = code.Status, code.Code, code.Message
			}
			e.Detail["trade_state"] = o.TradeState
		}
	}
	c.fail(e)
}

// transaction is an order as v3's query shows it.
func transaction(o *walletctl.Order) Transaction {
	t := Transaction{AppID: o.AppID, MchID: o.MchID, OutTradeNo: o.OutTradeNo, TransactionID: o.TransactionID,
		TradeType: o.TradeType, TradeState: o.TradeState, TradeStateDesc: o.TradeStateDesc, BankType: o.BankType, Attach: o.Attach,
		Amount: &TransactionAmount{Total: o.Amount, Currency: o.Currency, PayerCurrency: o.Currency}}
	if t.Amount.Currency == "" {
		t.Amount.Currency, t.Amount.PayerCurrency = "CNY", "CNY"
	}
	if o.PayerOpenID != "" {
		t.Payer = &TransactionPayer{OpenID: o.PayerOpenID}
	}
	if o.SuccessTime != nil {
		t.SuccessTime = v3Time(*o.SuccessTime)
		paid := o.Amount
		t.Amount.PayerTotal = &paid
	}
	return t
}

func serveCodePay(c *call, p map[string]string) {
	var req CodePayRequest
	if !c.decode(&req) || !c.sameMerchant(req.MchID, req.AppID, "body") {
		return
	}
	if f := required("appid", req.AppID, "description", req.Description, "out_trade_no", req.OutTradeNo); f != "" {
		c.fail(paramError.with(f+" is required", "field", f, "location", "body"))
		return
	}
	if req.Amount == nil {
		c.fail(paramError.with("amount is required", "field", "amount", "location", "body"))
		return
	}
	if req.Payer == nil || req.Payer.AuthCode == "" {
		c.fail(paramError.with("payer.auth_code is required", "field", "payer.auth_code", "location", "body"))
		return
	}
	o, err := c.svc.CodePay(c.r.Context(), walletctl.CodePayRequest{MchID: req.MchID, AppID: req.AppID, OutTradeNo: req.OutTradeNo,
		Description: req.Description, Attach: req.Attach, NotifyURL: req.NotifyURL, Amount: req.Amount.Total,
		Currency: req.Amount.Currency, AuthCode: req.Payer.AuthCode})
	if o != nil && o.TradeState == walletctl.StateUserPaying {
		e := userPaying.with("the payer must confirm the payment (password), or the bank's answer is awaited: query the order",
			"out_trade_no", o.OutTradeNo, "transaction_id", o.TransactionID)
		c.fail(e)
		return
	}
	if err != nil {
		c.orderFail(err, walletctl.OrderQuery{MchID: c.mchid, OutTradeNo: req.OutTradeNo})
		return
	}
	c.ok(http.StatusOK, transaction(o))
}

func serveQuery(by string) func(c *call, p map[string]string) {
	return func(c *call, p map[string]string) {
		if !c.sameMerchant(c.r.URL.Query().Get("mchid"), "", "query") {
			return
		}
		q := walletctl.OrderQuery{MchID: c.mchid}
		if by == "transaction_id" {
			q.TransactionID = p[by]
		} else {
			q.OutTradeNo = p[by]
		}
		o, err := c.svc.Order(c.r.Context(), q)
		if err != nil {
			c.orderFail(err, q)
			return
		}
		c.ok(http.StatusOK, transaction(o))
	}
}

func serveClose(c *call, p map[string]string) {
	var req MchIDBody
	if !c.decode(&req) || !c.sameMerchant(req.MchID, req.AppID, "body") {
		return
	}
	q := walletctl.OrderQuery{MchID: c.mchid, OutTradeNo: p["out_trade_no"]}
	if _, err := c.svc.CloseOrder(c.r.Context(), q); err != nil {
		c.orderFail(err, q)
		return
	}
	c.reply(http.StatusNoContent, "", nil)
}

func serveReverse(c *call, p map[string]string) {
	var req MchIDBody
	if !c.decode(&req) || !c.sameMerchant(req.MchID, req.AppID, "body") {
		return
	}
	q := walletctl.OrderQuery{MchID: c.mchid, OutTradeNo: p["out_trade_no"]}
	o, err := c.svc.ReverseOrder(c.r.Context(), q)
	if err != nil {
		c.orderFail(err, q)
		return
	}
	c.ok(http.StatusOK, transaction(o))
}

// refund is a refund as v3 shows it.
func refund(r *walletctl.Refund) Refund {
	cur := r.Currency
	if cur == "" {
		cur = "CNY"
	}
	out := Refund{RefundID: r.RefundID, OutRefundNo: r.OutRefundNo, TransactionID: r.TransactionID, OutTradeNo: r.OutTradeNo,
		Channel: r.Channel, UserReceivedAccount: r.UserReceivedAccount, CreateTime: v3Time(r.CreatedAt), Status: r.Status,
		FundsAccount: "AVAILABLE", PromotionDetail: []any{},
		Amount: RefundAmount{Total: r.Total, Refund: r.Amount, From: []FundsFrom{}, PayerTotal: r.Total, PayerRefund: r.Amount,
			SettlementRefund: r.Amount, SettlementTotal: r.Total, Currency: cur}}
	if out.Channel == "" {
		out.Channel = "ORIGINAL"
	}
	if r.SuccessTime != nil {
		out.SuccessTime = v3Time(*r.SuccessTime)
	}
	return out
}

func serveRefund(c *call, p map[string]string) {
	var req RefundRequest
	if !c.decode(&req) {
		return
	}
	if req.TransactionID == "" && req.OutTradeNo == "" {
		c.fail(paramError.with("transaction_id or out_trade_no is required", "field", "out_trade_no", "location", "body"))
		return
	}
	if req.OutRefundNo == "" {
		c.fail(paramError.with("out_refund_no is required", "field", "out_refund_no", "location", "body"))
		return
	}
	if req.Amount == nil {
		c.fail(paramError.with("amount is required", "field", "amount", "location", "body"))
		return
	}
	r, err := c.svc.Refund(c.r.Context(), walletctl.RefundRequest{MchID: c.mchid, TransactionID: req.TransactionID,
		OutTradeNo: req.OutTradeNo, OutRefundNo: req.OutRefundNo, Reason: req.Reason, NotifyURL: req.NotifyURL,
		Amount: req.Amount.Refund, Total: req.Amount.Total, Currency: req.Amount.Currency})
	if err != nil {
		if we := (*walletctl.Error)(nil); r != nil && errors.As(err, &we) && we.Code == walletctl.CodePending {
			c.ok(http.StatusOK, refund(r)) // PROCESSING: the bank's outcome comes later
			return
		}
		c.orderFail(err, walletctl.OrderQuery{MchID: c.mchid, TransactionID: req.TransactionID, OutTradeNo: req.OutTradeNo})
		return
	}
	c.ok(http.StatusOK, refund(r))
}

func serveRefundQuery(c *call, p map[string]string) {
	r, err := c.svc.RefundByOutNo(c.r.Context(), c.mchid, p["out_refund_no"])
	if err != nil {
		c.fail(fromError(err, kindOther))
		return
	}
	c.ok(http.StatusOK, refund(r))
}

var billDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func serveTradeBill(c *call, p map[string]string) {
	q := c.r.URL.Query()
	date, typ := q.Get("bill_date"), q.Get("bill_type")
	if !billDate.MatchString(date) {
		c.fail(paramError.with("bill_date must be YYYY-MM-DD", "field", "bill_date", "value", date, "location", "query"))
		return
	}
	if typ == "" {
		typ = "ALL"
	}
	if typ != "ALL" && typ != "SUCCESS" && typ != "REFUND" {
		c.fail(paramError.with("bill_type must be ALL, SUCCESS or REFUND", "field", "bill_type", "value", typ, "location", "query"))
		return
	}
	if t := q.Get("tar_type"); t != "" {
		c.fail(paramError.with("tar_type is not supported here: bills are served uncompressed", "field", "tar_type", "value", t, "location", "query"))
		return
	}
	// The hash of what the download serves, taken as the bill is written: no content is held.
	sum := sha1.New()
	if _, err := c.svc.WriteTradeBill(c.r.Context(), sum, c.mchid, date, typ); err != nil {
		c.fail(fromError(err, kindOther))
		return
	}
	token := base64.RawURLEncoding.EncodeToString([]byte(c.mchid + "|" + date + "|" + typ))
	c.ok(http.StatusOK, BillResponse{HashType: "SHA1", HashValue: hex.EncodeToString(sum.Sum(nil)), DownloadURL: c.baseURL() + "/v3/billdownload/file?token=" + token})
}

func serveBillDownload(c *call, p map[string]string) {
	raw, err := base64.RawURLEncoding.DecodeString(c.r.URL.Query().Get("token"))
	parts := strings.Split(string(raw), "|")
	if err != nil || len(parts) != 3 {
		c.fail(paramError.with("token is not a download token of /v3/bill/tradebill", "field", "token", "location", "query"))
		return
	}
	if parts[0] != c.mchid {
		c.fail(noAuth.with("this bill is another merchant's"))
		return
	}
	// Streamed, signed over what it streams (replyStream).
	if err := c.replyStream(http.StatusOK, "application/octet-stream", func(w io.Writer) error {
		_, err := c.svc.WriteTradeBill(c.r.Context(), w, c.mchid, parts[1], parts[2])
		return err
	}); err != nil {
		c.fail(fromError(err, kindOther))
	}
}

// baseURL is the URL the client reached this handler's root at: scheme, host and the prefix it
// is mounted under.
func (c *call) baseURL() string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	if p := c.r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	prefix := ""
	if orig, _, _ := strings.Cut(c.r.RequestURI, "?"); strings.HasSuffix(orig, c.r.URL.EscapedPath()) {
		prefix = strings.TrimSuffix(orig, c.r.URL.EscapedPath())
	}
	return scheme + "://" + c.r.Host + prefix
}

func serveCertificates(c *call, p map[string]string) {
	cert, err := wechatpay.ParseCertificate(c.platform.Cert)
	if err != nil {
		c.fail(systemError.with("the platform certificate cannot be read: " + err.Error()))
		return
	}
	body, err := wechatpay.CertificatesBody([]wechatpay.PlatformCert{{SerialNo: c.platform.Serial, EffectiveTime: cert.NotBefore,
		ExpireTime: cert.NotAfter, PEM: []byte(c.platform.Cert)}}, c.creds.APIv3Key, nil)
	if err != nil {
		c.fail(systemError.with(err.Error()))
		return
	}
	c.reply(http.StatusOK, "application/json", body)
}
