package conformance

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/notify"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// Merchant check names (conformance merchant: a merchant's notification receiver), in order.
const (
	CheckMAcceptsValid        = "merchant.accepts-valid"
	CheckMDuplicate           = "merchant.duplicate"
	CheckMBadSignature        = "merchant.bad-signature"
	CheckMStaleTimestamp      = "merchant.stale-timestamp"
	CheckMWrongSerial         = "merchant.wrong-serial"
	CheckMSignatureProbe      = "merchant.signature-probe"
	CheckMAnswersInTime       = "merchant.answers-in-time"
	CheckMRefundBeforePayment = "merchant.refund-before-payment"
)

// MerchantChecks lists every merchant check name in report order.
var MerchantChecks = []string{CheckMAcceptsValid, CheckMDuplicate, CheckMBadSignature, CheckMStaleTimestamp,
	CheckMWrongSerial, CheckMSignatureProbe, CheckMAnswersInTime, CheckMRefundBeforePayment}

// MerchantBackend is what the merchant kit needs of a wallet: the merchant's credentials (its
// APIv3 key encrypts the resources) and the platform's identity (its private key signs them).
type MerchantBackend interface {
	Merchants(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Merchant], error)
	Merchant(ctx context.Context, id string) (*walletctl.MerchantInfo, error)
	MerchantCredentials(ctx context.Context, mchid string) (*walletctl.MerchantCredentials, error)
	walletctl.PlatformService
}

// MerchantConfig says which receiver to check, as which merchant.
type MerchantConfig struct {
	NotifyURL string // the receiver under test
	MchID     string // the merchant whose receiver it is; "" = the first v3 merchant of the wallet
	// Deadline is how long the receiver has to answer (v3's 5 s by default); a request waits
	// this long before it counts as unanswered.
	Deadline time.Duration
	RunID    string // prefixes the out_trade_no and event ids the run makes up (default random)
	// HTTPClient, if set, sends the notifications (tests; proxies); it follows no redirect either.
	// Without it they go through Fence, as the wallet's own sender's do.
	HTTPClient *http.Client
	Fence      notify.Fence
}

// ErrNoMerchant means the wallet has no v3 merchant to act as (walletctl merchant create).
var ErrNoMerchant = errors.New("no v3 merchant")

type sent struct {
	status  int
	answer  string
	latency time.Duration
	err     error
}

func (s sent) ok() bool { return s.err == nil && s.status >= 200 && s.status < 300 }

func (s sent) String() string {
	if s.err != nil {
		return "no answer: " + s.err.Error()
	}
	a := strings.TrimSpace(s.answer)
	if a == "" {
		return fmt.Sprintf("HTTP %d in %s", s.status, s.latency.Round(time.Millisecond))
	}
	return fmt.Sprintf("HTTP %d %.100q in %s", s.status, a, s.latency.Round(time.Millisecond))
}

type merchantRun struct {
	cfg      MerchantConfig
	hc       *http.Client
	creds    *walletctl.MerchantCredentials
	platform *walletctl.Platform
	pubKeyID bool
	seq      int
	slowest  sent
	answered int
	valid    []byte // the accepted notification, sent again as the duplicate
	validHdr http.Header
}

// RunMerchant checks the receiver at cfg.NotifyURL with notifications built as walletctl/notify
// delivers them (the same envelope, AEAD_AES_256_GCM resource under the merchant's APIv3 key and
// platform signature), and variations of them. The orders and refunds they carry are made up
// (out_trade_no and ids prefixed with the run ID): the receiver is checked on its answers alone.
// The error is for a setup that cannot run at all (no merchant, no platform key).
func RunMerchant(ctx context.Context, b MerchantBackend, cfg MerchantConfig) (*Report, error) {
	if cfg.Deadline <= 0 {
		cfg.Deadline = walletctl.NotifyTimeout
	}
	if cfg.RunID == "" {
		cfg.RunID = "cf" + strings.ToLower(wechatpay.Nonce(4))
	}
	// The wallet's own sender's client: the same fence, and no redirect followed.
	hc := cfg.Fence.Client(cfg.Deadline)
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		c.Timeout = cfg.Deadline
		c.CheckRedirect = notify.NoRedirect
		hc = &c
	}
	r := &merchantRun{cfg: cfg, hc: hc}
	if cfg.MchID == "" {
		ms, err := walletctl.All(ctx, b.Merchants, func(m walletctl.Merchant) string { return m.ID })
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.CertSerial != "" { // a v3 merchant (the catalogue's m-cinema, ... have no credentials)
				cfg.MchID = m.ID
				break
			}
		}
		if cfg.MchID == "" {
			return nil, ErrNoMerchant
		}
		r.cfg.MchID = cfg.MchID
	}
	info, err := b.Merchant(ctx, cfg.MchID)
	if err != nil {
		return nil, err
	}
	if r.creds, err = b.MerchantCredentials(ctx, cfg.MchID); err != nil {
		return nil, err
	}
	if r.platform, err = b.Platform(ctx); err != nil {
		return nil, err
	}
	if r.platform.PrivateKey == "" {
		return nil, errors.New("the platform's signing key is not available here")
	}
	r.pubKeyID = info.PublicKeyMode
	mode := "certificate mode, Wechatpay-Serial " + r.platform.Serial
	if r.pubKeyID {
		mode = "public-key mode, Wechatpay-Serial " + r.platform.PublicKeyID
	}
	// The report's URL says which merchant the run acted as, and in which mode.
	rep := &Report{Suite: "merchant", URL: cfg.NotifyURL + " (mchid " + cfg.MchID + ", " + mode + ")", RunID: cfg.RunID}
	steps := []struct {
		name string
		fn   func(context.Context) (Status, string)
	}{
		{CheckMAcceptsValid, r.acceptsValid}, {CheckMDuplicate, r.duplicate}, {CheckMBadSignature, r.badSignature},
		{CheckMStaleTimestamp, r.staleTimestamp}, {CheckMWrongSerial, r.wrongSerial}, {CheckMSignatureProbe, r.signatureProbe},
		{CheckMAnswersInTime, r.answersInTime}, {CheckMRefundBeforePayment, r.refundBeforePayment},
	}
	for _, s := range steps {
		if ctx.Err() != nil {
			rep.add(s.name, Fail, "not run: "+ctx.Err().Error())
			continue
		}
		st, d := s.fn(ctx)
		rep.add(s.name, st, d)
	}
	return rep, nil
}

// paidOrder is a made-up order as a TRANSACTION.SUCCESS notification carries it.
func (r *merchantRun) paidOrder(outTradeNo string, at time.Time) *walletctl.Order {
	r.seq++
	return &walletctl.Order{ID: "o-" + outTradeNo, TransactionID: fmt.Sprintf("42000%015d", r.seq), MchID: r.creds.MchID, AppID: r.creds.AppID,
		MerchantName: "conformance", OutTradeNo: outTradeNo, Description: "conformance " + outTradeNo,
		TradeType: walletctl.TradeNative, TradeState: walletctl.StateSuccess, TradeStateDesc: "支付成功",
		Amount: 12_34, Currency: "CNY", PayerOpenID: walletctl.OpenID(r.creds.AppID, "u-conformance"), BankType: "OTHERS",
		Source: "balance", CreatedAt: at, TimeExpire: at.Add(2 * time.Hour), SuccessTime: &at}
}

func (r *merchantRun) notification(eventID, eventType string, o *walletctl.Order, rf *walletctl.Refund, at time.Time) *walletctl.Notification {
	summary := "支付成功"
	if rf != nil {
		summary = "退款成功"
	}
	return &walletctl.Notification{ID: "n-" + eventID, EventID: eventID, MchID: r.creds.MchID, EventType: eventType, Summary: summary,
		URL: r.cfg.NotifyURL, Order: o, Refund: rf, CreatedAt: at}
}

func (r *merchantRun) refundOf(o *walletctl.Order, at time.Time) *walletctl.Refund {
	r.seq++
	return &walletctl.Refund{RefundID: fmt.Sprintf("50300%015d", r.seq), OutRefundNo: o.OutTradeNo + "-r1", TransactionID: o.TransactionID,
		OutTradeNo: o.OutTradeNo, MchID: o.MchID, Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱", Status: walletctl.RefundSuccess,
		Amount: 3_00, Total: o.Amount, Currency: "CNY", Source: "balance", CreatedAt: at, SuccessTime: &at}
}

// build makes a notification's body and headers with walletctl/notify's Sender, signed at now.
func (r *merchantRun) build(n *walletctl.Notification, now time.Time, probe bool) ([]byte, http.Header, error) {
	s := &notify.Sender{Now: func() time.Time { return now }}
	return s.Build(walletctl.Delivery{Notification: n, URL: r.cfg.NotifyURL, APIv3Key: r.creds.APIv3Key, Platform: r.platform,
		PublicKeyID: r.pubKeyID, Probe: probe})
}

func (r *merchantRun) post(ctx context.Context, body []byte, h http.Header) sent {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.NotifyURL, bytes.NewReader(body))
	if err != nil {
		return sent{err: err}
	}
	req.Header = h.Clone()
	start := time.Now()
	resp, err := r.hc.Do(req)
	s := sent{latency: time.Since(start)}
	if err != nil {
		s.err = err
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
			s.err = fmt.Errorf("no answer within %s", r.cfg.Deadline)
		}
	} else {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		s.status, s.answer = resp.StatusCode, string(head)
	}
	r.answered++
	if r.slowest.err == nil && (s.err != nil || s.latency > r.slowest.latency) {
		r.slowest = s
	}
	return s
}

// send builds a fresh TRANSACTION.SUCCESS (its own event id and order), lets edit spoil it, and
// posts it.
func (r *merchantRun) sendVariant(ctx context.Context, name string, now time.Time, probe bool, edit func(body []byte, h http.Header) []byte) (sent, error) {
	at := time.Now()
	o := r.paidOrder(r.cfg.RunID+"-"+name, at)
	body, h, err := r.build(r.notification(r.cfg.RunID+"-ev-"+name, walletctl.EventTransactionSuccess, o, nil, at), now, probe)
	if err != nil {
		return sent{}, err
	}
	if edit != nil {
		body = edit(body, h)
	}
	return r.post(ctx, body, h), nil
}

func (r *merchantRun) acceptsValid(ctx context.Context) (Status, string) {
	at := time.Now()
	o := r.paidOrder(r.cfg.RunID+"-valid", at)
	body, h, err := r.build(r.notification(r.cfg.RunID+"-ev-valid", walletctl.EventTransactionSuccess, o, nil, at), time.Now(), false)
	if err != nil {
		return fail("building the notification: %v", err)
	}
	r.valid, r.validHdr = body, h
	s := r.post(ctx, body, h)
	if !s.ok() {
		return fail("a valid TRANSACTION.SUCCESS for %s: %s; want 2xx", o.OutTradeNo, s)
	}
	return pass("a valid TRANSACTION.SUCCESS (event %s, out_trade_no %s): %s", r.cfg.RunID+"-ev-valid", o.OutTradeNo, s)
}

func (r *merchantRun) duplicate(ctx context.Context) (Status, string) {
	if r.valid == nil {
		return na("needs %s", CheckMAcceptsValid)
	}
	s := r.post(ctx, r.valid, r.validHdr)
	if !s.ok() {
		return fail("the same notification again (same id, body and signature): %s; want 2xx (already handled)", s)
	}
	return pass("the same notification again: %s (that it was not handled twice only the receiver can tell)", s)
}

// refused is the verdict of a notification the receiver must refuse.
func refused(s sent, err error, what string) (Status, string) {
	if err != nil {
		return fail("building the notification: %v", err)
	}
	if s.err != nil {
		return fail("%s: %s; want a non-2xx answer within the deadline", what, s)
	}
	if s.ok() {
		return fail("%s was accepted (%s): the receiver must refuse what it cannot verify, non-2xx", what, s)
	}
	return pass("%s: refused, %s", what, s)
}

func (r *merchantRun) badSignature(ctx context.Context) (Status, string) {
	s, err := r.sendVariant(ctx, "badsig", time.Now(), false, func(body []byte, h http.Header) []byte {
		sig, _ := base64.StdEncoding.DecodeString(h.Get(wechatpay.HeaderSignature))
		if len(sig) > 0 {
			sig[len(sig)/2] ^= 0x5a
		}
		h.Set(wechatpay.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
		return body
	})
	return refused(s, err, "a notification whose Wechatpay-Signature does not verify (one byte changed)")
}

func (r *merchantRun) staleTimestamp(ctx context.Context) (Status, string) {
	s, err := r.sendVariant(ctx, "stale", time.Now().Add(-10*time.Minute), false, nil)
	return refused(s, err, "a notification signed correctly with a Wechatpay-Timestamp 10 minutes old")
}

func (r *merchantRun) wrongSerial(ctx context.Context) (Status, string) {
	unknown := "7" + strings.ToUpper(wechatpay.Nonce(20))[1:]
	s, err := r.sendVariant(ctx, "serial", time.Now(), false, func(body []byte, h http.Header) []byte {
		h.Set(wechatpay.HeaderSerial, unknown)
		return body
	})
	return refused(s, err, "a notification signed correctly under Wechatpay-Serial "+unknown+", a serial the merchant was never given")
}

func (r *merchantRun) signatureProbe(ctx context.Context) (Status, string) {
	s, err := r.sendVariant(ctx, "probe", time.Now(), true, nil)
	return refused(s, err, "a signature probe (Wechatpay-Signature WECHATPAY/SIGNTEST/…)")
}

func (r *merchantRun) answersInTime(ctx context.Context) (Status, string) {
	if r.answered == 0 {
		return na("no notification was sent")
	}
	if r.slowest.err != nil || r.slowest.latency >= r.cfg.Deadline {
		return fail("the slowest of %d notifications: %s; the deadline is %s", r.answered, r.slowest, r.cfg.Deadline)
	}
	return pass("all %d notifications answered within %s; the slowest in %s", r.answered, r.cfg.Deadline, r.slowest.latency.Round(time.Millisecond))
}

func (r *merchantRun) refundBeforePayment(ctx context.Context) (Status, string) {
	at := time.Now()
	o := r.paidOrder(r.cfg.RunID+"-ooo", at)
	rf := r.refundOf(o, at)
	refundEv := r.cfg.RunID + "-ev-ooo-refund"
	send := func(n *walletctl.Notification) (sent, error) {
		body, h, err := r.build(n, time.Now(), false)
		if err != nil {
			return sent{}, err
		}
		return r.post(ctx, body, h), nil
	}
	bad := func(s sent) bool { return s.err != nil || s.status >= 500 }
	s1, err := send(r.notification(refundEv, walletctl.EventRefundSuccess, nil, rf, at))
	if err != nil {
		return fail("building the notification: %v", err)
	}
	if bad(s1) {
		return fail("REFUND.SUCCESS for %s before its payment: %s; want an answer without 5xx (2xx, or 4xx to have it sent again)", o.OutTradeNo, s1)
	}
	s2, err := send(r.notification(r.cfg.RunID+"-ev-ooo-pay", walletctl.EventTransactionSuccess, o, nil, at))
	if err != nil {
		return fail("building the notification: %v", err)
	}
	if !s2.ok() {
		return fail("the refund first (%s), then its TRANSACTION.SUCCESS: %s; want 2xx", s1, s2)
	}
	s3, err := send(r.notification(refundEv, walletctl.EventRefundSuccess, nil, rf, at))
	if err != nil {
		return fail("building the notification: %v", err)
	}
	if !s3.ok() {
		return fail("REFUND.SUCCESS (%s), TRANSACTION.SUCCESS (%s), the refund again: %s; want 2xx", s1, s2, s3)
	}
	return pass("REFUND.SUCCESS before its payment: %s; then TRANSACTION.SUCCESS: %s; the refund again (same event id): %s", s1, s2, s3)
}
