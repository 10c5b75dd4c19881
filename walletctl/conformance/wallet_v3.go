package conformance

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/v3api"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// The v3 checks of the wallet suite: a merchant created through the wallet API calls its
// tenant's WeChat Pay v3-shaped API (<server>/tenants/<id>/v3/...) with signed requests, and
// the payer of the wallet checks pays its Native order through the wallet API. Every answer's
// signature is checked with the platform certificate of the merchant's credentials.
const (
	CheckV3Merchant     = "v3.merchant"
	CheckV3Unsigned     = "v3.unsigned"
	CheckV3BadSignature = "v3.bad-signature"
	CheckV3Native       = "v3.native"
	CheckV3Pay          = "v3.pay"
	CheckV3Query        = "v3.query"
	CheckV3Refund       = "v3.refund"
	CheckV3Close        = "v3.close"
	CheckV3ClosePaid    = "v3.close-paid"
	CheckV3Certificates = "v3.certificates"
	CheckV3Bill         = "v3.bill"
)

// V3Checks lists the v3 check names in report order (they follow the other wallet checks).
var V3Checks = []string{CheckV3Merchant, CheckV3Unsigned, CheckV3BadSignature, CheckV3Native, CheckV3Pay,
	CheckV3Query, CheckV3Refund, CheckV3Close, CheckV3ClosePaid, CheckV3Certificates, CheckV3Bill,
	CheckV3NotifyNoRedirect, CheckV3NotifyLinkLocal, CheckV3UnauthNoDelay}

const (
	v3PayAmount    = 12_34
	v3RefundAmount = 3_00
)

// v3State is the v3 part of a wallet run.
type v3State struct {
	why        string // why the v3 flow stopped
	tenant     string
	mchid      string
	creds      *walletctl.MerchantCredentials
	c          *v3Client
	outTradeNo string
	codeURL    string
	txnID      string
	paidDate   string // YYYY-MM-DD of success_time (+08:00): the bill's day
}

func (r *walletRun) v3Stopped() (Status, string, bool) {
	if r.v3.why != "" {
		return NA, "the v3 flow stopped earlier: " + r.v3.why, true
	}
	return "", "", false
}

func sigNote(a *v3Answer) string {
	if a.SigErr != nil {
		return "; the answer's signature does not verify with the platform certificate: " + a.SigErr.Error()
	}
	return ""
}

func (r *walletRun) v3Merchant(ctx context.Context) (Status, string) {
	if r.why == "the API key given is not accepted" {
		r.v3.why = r.why
		return na("%s", r.why)
	}
	r.v3.tenant = r.cfg.TenantID
	how := "--tenant"
	if r.v3.tenant == "" {
		how = "GET /v1/tenant"
		st, body, err := r.bare.raw(ctx, "GET", "/v1/tenant", nil, map[string]string{"Authorization": "Bearer " + r.cfg.APIKey})
		var who struct {
			ID string `json:"id"`
		}
		if err != nil || st != http.StatusOK || json.Unmarshal(body, &who) != nil || who.ID == "" {
			r.v3.why = "the tenant's id is unknown"
			return na("GET /v1/tenant (the API key's tenant) answered HTTP %d %v: give the tenant's id with --tenant ID", st, err)
		}
		r.v3.tenant = who.ID
	}
	m, err := r.w.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "Conformance " + r.cfg.RunID, Category: "conformance"})
	if err != nil {
		r.v3.why = "no merchant"
		return fail("POST /v1/merchants: %v", err)
	}
	creds, err := r.w.MerchantCredentials(ctx, m.ID)
	if err != nil {
		r.v3.why = "no credentials"
		return fail("GET /v1/merchants/%s/credentials: %v", m.ID, err)
	}
	if creds.MchID != m.ID || creds.CertSerial == "" || len(creds.APIv3Key) != 32 || creds.PlatformSerial == "" {
		r.v3.why = "bad credentials"
		return fail("the credentials of %s: mchid %q, cert serial %q, APIv3 key of %d characters, platform serial %q; want all set, a 32-character APIv3 key",
			m.ID, creds.MchID, creds.CertSerial, len(creds.APIv3Key), creds.PlatformSerial)
	}
	c, err := newV3Client(r.cfg.URL+"/tenants/"+url.PathEscape(r.v3.tenant), r.bare.hc, r.cfg.Timeout, creds)
	if err != nil {
		r.v3.why = "unusable credentials"
		return fail("the credentials of %s: %v", m.ID, err)
	}
	r.v3.mchid, r.v3.creds, r.v3.c = m.ID, creds, c
	return pass("created merchant %s through the wallet API; tenant %s (%s), v3 base %s", m.ID, r.v3.tenant, how, c.base)
}

func (r *walletRun) nativeBody(outTradeNo string, amount int64) map[string]any {
	return map[string]any{"appid": r.v3.creds.AppID, "mchid": r.v3.mchid, "description": "conformance " + outTradeNo,
		"out_trade_no": outTradeNo, "notify_url": "http://127.0.0.1:9/conformance-notify",
		"amount": map[string]any{"total": amount, "currency": "CNY"}}
}

func (r *walletRun) v3SignErr(ctx context.Context, sign v3Sign, what string) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	a, err := r.v3.c.do(ctx, "POST", "/v3/pay/transactions/native", r.nativeBody(r.cfg.RunID+"-unsigned", 1_00), sign)
	if err != nil {
		return fail("POST /v3/pay/transactions/native %s: %v", what, err)
	}
	if a.Status != http.StatusUnauthorized || a.Env.Code != "SIGN_ERROR" {
		return fail("POST /v3/pay/transactions/native %s: %s; want 401 SIGN_ERROR", what, a)
	}
	if a.SigErr != nil {
		return fail("401 SIGN_ERROR as it should%s", sigNote(a))
	}
	return pass("%s: 401 SIGN_ERROR, the error answer signed too", what)
}

func (r *walletRun) v3Unsigned(ctx context.Context) (Status, string) {
	return r.v3SignErr(ctx, v3Unsigned, "without Authorization")
}

func (r *walletRun) v3BadSignature(ctx context.Context) (Status, string) {
	return r.v3SignErr(ctx, v3OtherKey, "signed with a key that is not the merchant's")
}

func (r *walletRun) v3Native(ctx context.Context) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	r.v3.outTradeNo = r.cfg.RunID + "-v3-paid"
	a, err := r.v3.c.do(ctx, "POST", "/v3/pay/transactions/native", r.nativeBody(r.v3.outTradeNo, v3PayAmount), v3Signed)
	if err != nil {
		r.v3.why = "no Native order"
		return fail("POST /v3/pay/transactions/native: %v", err)
	}
	var nr v3api.NativeResponse
	if a.Status != http.StatusOK || json.Unmarshal(a.Body, &nr) != nil || nr.CodeURL == "" {
		r.v3.why = "no Native order"
		return fail("POST /v3/pay/transactions/native: %s; want 200 with a code_url", a)
	}
	r.v3.codeURL = nr.CodeURL
	if a.SigErr != nil {
		return fail("code_url %s%s", nr.CodeURL, sigNote(a))
	}
	return pass("Native prepay of %d fen: code_url %s; the answer's signature verifies with platform certificate %s",
		v3PayAmount, nr.CodeURL, r.v3.creds.PlatformSerial)
}

func (r *walletRun) v3Pay(ctx context.Context) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	if st, d, stop := r.stopped(); stop {
		r.v3.why = "no payer"
		return st, d
	}
	seen, err := r.w.ScanOrder(ctx, r.user.ID, r.v3.codeURL)
	if err != nil {
		r.v3.why = "the payer cannot scan"
		return fail("POST /v1/users/{id}/scan %s: %v", r.v3.codeURL, err)
	}
	if seen.MchID != r.v3.mchid || seen.Amount != v3PayAmount || seen.TradeState != walletctl.StateNotPay {
		r.v3.why = "the scan shows another order"
		return fail("the scan shows %s %d fen %s; want %s %d fen NOTPAY", seen.MchID, seen.Amount, seen.TradeState, r.v3.mchid, v3PayAmount)
	}
	o, err := r.w.PayOrder(ctx, walletctl.PayOrderRequest{UserID: r.user.ID, Ref: r.v3.codeURL, Source: "balance", Password: r.password})
	if err != nil {
		r.v3.why = "the payer cannot pay"
		return fail("POST /v1/order-payments: %v", err)
	}
	if o.TradeState != walletctl.StateSuccess || o.TransactionID == "" {
		r.v3.why = "the order is not paid"
		return fail("paying answered %s (transaction %q); want SUCCESS with a transaction_id", o.TradeState, o.TransactionID)
	}
	r.balance -= v3PayAmount
	if msg := r.checkBalance(ctx, r.balance); msg != "" {
		return fail("after paying the order: %s", msg)
	}
	r.v3.txnID = o.TransactionID
	return pass("the payer scanned (%s, %d fen) and paid from the balance: transaction %s", seen.MerchantName, seen.Amount, o.TransactionID)
}

func (r *walletRun) v3Query(ctx context.Context) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	for _, p := range []string{
		"/v3/pay/transactions/out-trade-no/" + pathEscape(r.v3.outTradeNo) + "?mchid=" + r.v3.mchid,
		"/v3/pay/transactions/id/" + pathEscape(r.v3.txnID) + "?mchid=" + r.v3.mchid,
	} {
		a, err := r.v3.c.do(ctx, "GET", p, nil, v3Signed)
		if err != nil {
			return fail("GET %s: %v", p, err)
		}
		var t v3api.Transaction
		if a.Status != http.StatusOK || json.Unmarshal(a.Body, &t) != nil {
			return fail("GET %s: %s; want 200 with the order", p, a)
		}
		if t.TradeState != walletctl.StateSuccess || t.OutTradeNo != r.v3.outTradeNo || t.TransactionID != r.v3.txnID || t.MchID != r.v3.mchid || t.Amount == nil || t.Amount.Total != v3PayAmount {
			total := int64(-1)
			if t.Amount != nil {
				total = t.Amount.Total
			}
			return fail("GET %s answered %s %s/%s %d fen; want SUCCESS %s/%s %d fen", p, t.TradeState, t.OutTradeNo, t.TransactionID, total,
				r.v3.outTradeNo, r.v3.txnID, v3PayAmount)
		}
		if a.SigErr != nil {
			return fail("GET %s%s", p, sigNote(a))
		}
		if len(t.SuccessTime) >= 10 {
			r.v3.paidDate = t.SuccessTime[:10]
		}
	}
	return pass("by out_trade_no and by transaction_id: SUCCESS, %d fen; both answers' signatures verify", v3PayAmount)
}

func (r *walletRun) v3Refund(ctx context.Context) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	no := r.cfg.RunID + "-v3-refund"
	a, err := r.v3.c.do(ctx, "POST", "/v3/refund/domestic/refunds", map[string]any{"out_trade_no": r.v3.outTradeNo, "out_refund_no": no,
		"reason": "conformance", "amount": map[string]any{"refund": v3RefundAmount, "total": v3PayAmount, "currency": "CNY"}}, v3Signed)
	if err != nil {
		return fail("POST /v3/refund/domestic/refunds: %v", err)
	}
	var rf v3api.Refund
	if a.Status != http.StatusOK || json.Unmarshal(a.Body, &rf) != nil || rf.OutRefundNo != no || rf.Amount.Refund != v3RefundAmount ||
		(rf.Status != walletctl.RefundSuccess && rf.Status != walletctl.RefundProcessing) {
		return fail("POST /v3/refund/domestic/refunds of %d fen: %s; want 200, SUCCESS or PROCESSING, amount.refund %d", v3RefundAmount, a, v3RefundAmount)
	}
	if a.SigErr != nil {
		return fail("the refund%s", sigNote(a))
	}
	q, err := r.v3.c.do(ctx, "GET", "/v3/refund/domestic/refunds/"+pathEscape(no), nil, v3Signed)
	if err != nil {
		return fail("GET the refund: %v", err)
	}
	var got v3api.Refund
	if q.Status != http.StatusOK || json.Unmarshal(q.Body, &got) != nil || got.RefundID != rf.RefundID || got.Amount.Refund != v3RefundAmount || got.Status != walletctl.RefundSuccess {
		return fail("GET /v3/refund/domestic/refunds/%s: %s; want refund %s of %d fen, SUCCESS (a balance refund is immediate)", no, q, rf.RefundID, v3RefundAmount)
	}
	if q.SigErr != nil {
		return fail("the refund query%s", sigNote(q))
	}
	r.balance += v3RefundAmount
	if msg := r.checkBalance(ctx, r.balance); msg != "" {
		return fail("the payer after the refund: %s", msg)
	}
	return pass("refunded %d of %d fen (%s, %s); the query agrees; the payer's balance follows", v3RefundAmount, v3PayAmount, rf.RefundID, got.Status)
}

func (r *walletRun) v3Close(ctx context.Context) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	no := r.cfg.RunID + "-v3-closed"
	a, err := r.v3.c.do(ctx, "POST", "/v3/pay/transactions/native", r.nativeBody(no, 5_00), v3Signed)
	if err != nil || a.Status != http.StatusOK {
		return fail("a second Native order: %v %v", a, err)
	}
	a, err = r.v3.c.do(ctx, "POST", "/v3/pay/transactions/out-trade-no/"+pathEscape(no)+"/close", map[string]any{"mchid": r.v3.mchid}, v3Signed)
	if err != nil {
		return fail("POST .../close: %v", err)
	}
	if a.Status != http.StatusNoContent {
		return fail("closing an unpaid order: %s; want 204", a)
	}
	if a.SigErr != nil {
		return fail("204%s", sigNote(a))
	}
	q, err := r.v3.c.do(ctx, "GET", "/v3/pay/transactions/out-trade-no/"+pathEscape(no)+"?mchid="+r.v3.mchid, nil, v3Signed)
	var t v3api.Transaction
	if err != nil || q.Status != http.StatusOK || json.Unmarshal(q.Body, &t) != nil || t.TradeState != walletctl.StateClosed {
		return fail("the closed order queried: %v %v (state %q); want CLOSED", q, err, t.TradeState)
	}
	return pass("a second order closed: 204, then queried CLOSED")
}

func (r *walletRun) v3ClosePaid(ctx context.Context) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	a, err := r.v3.c.do(ctx, "POST", "/v3/pay/transactions/out-trade-no/"+pathEscape(r.v3.outTradeNo)+"/close", map[string]any{"mchid": r.v3.mchid}, v3Signed)
	if err != nil {
		return fail("POST .../close: %v", err)
	}
	if a.Status != http.StatusBadRequest || a.Env.Code != "ORDERPAID" {
		return fail("closing the paid order: %s; want 400 ORDERPAID", a)
	}
	if a.SigErr != nil {
		return fail("400 ORDERPAID%s", sigNote(a))
	}
	return pass("closing the paid order: 400 ORDERPAID")
}

func (r *walletRun) v3Certificates(ctx context.Context) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	a, err := r.v3.c.do(ctx, "GET", "/v3/certificates", nil, v3Signed)
	if err != nil {
		return fail("GET /v3/certificates: %v", err)
	}
	var cr v3api.CertificatesResponse
	if a.Status != http.StatusOK || json.Unmarshal(a.Body, &cr) != nil || len(cr.Data) == 0 {
		return fail("GET /v3/certificates: %s; want 200 with data", a)
	}
	if a.SigErr != nil {
		return fail("GET /v3/certificates%s", sigNote(a))
	}
	want, err := wechatpay.ParseCertificate(r.v3.creds.PlatformCert)
	if err != nil {
		return fail("the credentials' platform certificate: %v", err)
	}
	for _, e := range cr.Data {
		ec := e.EncryptCertificate
		plain, err := wechatpay.DecryptAESGCM(r.v3.creds.APIv3Key, ec.AssociatedData, ec.Nonce, ec.Ciphertext)
		if err != nil {
			return fail("certificate %s does not decrypt with the merchant's APIv3 key (%s): %v", e.SerialNo, ec.Algorithm, err)
		}
		got, err := wechatpay.ParseCertificate(string(plain))
		if err != nil {
			return fail("certificate %s decrypts to something that is not a PEM certificate: %v", e.SerialNo, err)
		}
		if e.SerialNo == r.v3.creds.PlatformSerial {
			if !got.Equal(want) || wechatpay.SerialHex(got) != e.SerialNo {
				return fail("certificate %s decrypts to another certificate than the credentials' platform certificate", e.SerialNo)
			}
			return pass("%d certificate(s), decrypted with the APIv3 key; %s is the credentials' platform certificate", len(cr.Data), e.SerialNo)
		}
	}
	return fail("no certificate with the credentials' platform serial %s among %d", r.v3.creds.PlatformSerial, len(cr.Data))
}

func (r *walletRun) v3Bill(ctx context.Context) (Status, string) {
	if st, d, stop := r.v3Stopped(); stop {
		return st, d
	}
	if r.v3.paidDate == "" {
		return na("needs %s (the day of the payment)", CheckV3Query)
	}
	p := "/v3/bill/tradebill?bill_date=" + r.v3.paidDate
	a, err := r.v3.c.do(ctx, "GET", p, nil, v3Signed)
	if err != nil {
		return fail("GET %s: %v", p, err)
	}
	var br v3api.BillResponse
	if a.Status != http.StatusOK || json.Unmarshal(a.Body, &br) != nil || br.DownloadURL == "" || !strings.EqualFold(br.HashType, "SHA1") {
		return fail("GET %s: %s; want 200 with hash_type SHA1 and a download_url", p, a)
	}
	if a.SigErr != nil {
		return fail("GET %s%s", p, sigNote(a))
	}
	f, err := r.v3.c.do(ctx, "GET", br.DownloadURL, nil, v3Signed)
	if err != nil {
		return fail("GET the download_url %s: %v", br.DownloadURL, err)
	}
	if f.Status != http.StatusOK {
		return fail("GET the download_url: %s", f)
	}
	sum := sha1.Sum(f.Body)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, br.HashValue) {
		return fail("the downloaded bill's SHA-1 is %s; hash_value says %s", got, br.HashValue)
	}
	if !strings.Contains(string(f.Body), r.v3.txnID) {
		return fail("the bill of %s (%d bytes) does not list transaction %s", r.v3.paidDate, len(f.Body), r.v3.txnID)
	}
	return pass("the trade bill of %s: %d bytes, SHA-1 equals hash_value, lists %s", r.v3.paidDate, len(f.Body), r.v3.txnID)
}
