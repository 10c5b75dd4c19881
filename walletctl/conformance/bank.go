package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/vclock"
)

// Bank check names, in the order they run. Tests and partners' CI can rely on them.
const (
	CheckHealthz             = "healthz"
	CheckOpenAPI             = "openapi"
	CheckBanks               = "banks"
	CheckAdmin               = "admin-api"
	CheckVerifyCardUnknown   = "verify.card-unknown"
	CheckVerifyMatch         = "verify.match"
	CheckVerifyMismatch      = "verify.mismatch"
	CheckVerifyCardStatus    = "verify.card-status"
	CheckBindNotSupported    = "bind.not-supported"
	CheckBindOTPInvalid      = "bind.otp-invalid"
	CheckBindConfirm         = "bind.confirm"
	CheckBindUnknown         = "bind.confirm-unknown"
	CheckBindCNP             = "bind.cnp-disabled"
	CheckBindOTPExpired      = "bind.otp-expired"
	CheckDebit               = "debit.succeeded"
	CheckDebitReplay         = "debit.replay"
	CheckIdempotencyMismatch = "debit.idempotency-mismatch"
	CheckInsufficientFunds   = "debit.insufficient-funds"
	CheckDeclineReplay       = "debit.decline-replay"
	CheckCreditLine          = "debit.credit-line"
	CheckLimitSingle         = "debit.limit-single"
	CheckLimitDaily          = "debit.limit-daily"
	CheckDebitUnknownAgr     = "debit.unknown-agreement"
	CheckCredit              = "credit.succeeded"
	CheckCreditReplay        = "credit.replay"
	CheckTxnQuery            = "transaction.query"
	CheckTxnUnknown          = "transaction.unknown"
	CheckLostResponse        = "transaction.lost-response"
	CheckIssuerUnavailable   = "debit.issuer-unavailable"
	CheckInvalidRequest      = "invalid-request"
	CheckUnbind              = "unbind"
	CheckStatement           = "statement.totals"
)

// BankChecks lists every bank check name in report order.
var BankChecks = []string{
	CheckHealthz, CheckOpenAPI, CheckBanks, CheckAdmin, CheckVerifyCardUnknown, CheckVerifyMatch,
	CheckVerifyMismatch, CheckVerifyCardStatus, CheckBindNotSupported, CheckBindOTPInvalid, CheckBindConfirm,
	CheckBindUnknown, CheckBindCNP, CheckBindOTPExpired,
	CheckDebit, CheckDebitReplay, CheckIdempotencyMismatch, CheckInsufficientFunds, CheckDeclineReplay,
	CheckCreditLine, CheckLimitSingle, CheckLimitDaily, CheckDebitUnknownAgr, CheckCredit, CheckCreditReplay,
	CheckTxnQuery, CheckTxnUnknown, CheckLostResponse, CheckIssuerUnavailable, CheckInvalidRequest,
	CheckUnbind, CheckStatement,
	CheckPartnerWrongKey, CheckPartnerIdempotency, CheckPartnerAgreement, CheckPartnerQueries, CheckPartnerAdminRefused,
}

// bankRun is the state of one RunBank: what earlier checks staged for later ones.
type bankRun struct {
	cfg   Config
	c     *client.Client
	hc    *http.Client
	rec   *statusRecorder
	rep   *Report
	keyNo int

	banks    []bankapi.BankInfo
	admin    bool
	adminWhy string

	main     *bankapi.Customer // staged healthy card, small balance
	agr      string            // its agreement, once bound
	mainWhy  string            // why main/agr is missing
	debitTxn *bankapi.Transaction
	debitKey string
	pb       *pendingBinding
	// keys of this run's money requests: succeeded ones must be in the statement, declined ones not.
	okKeys, declinedKeys []string
	ps                   *partners // the partner checks' partners, once set up
}

// RunBank runs every bank-protocol check against the implementation at cfg.URL.
func RunBank(ctx context.Context, cfg Config) *Report {
	cfg.defaults()
	base := http.DefaultTransport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		base = cfg.HTTPClient.Transport
	}
	rec := &statusRecorder{next: base}
	hc := &http.Client{Transport: rec}
	r := &bankRun{
		cfg: cfg, rec: rec, hc: hc,
		// Retries -1: a conformance kit must see every answer as it is, never a retried one.
		c:   client.New(cfg.URL, client.Options{HTTPClient: hc, Timeout: cfg.Timeout, AdminToken: cfg.AdminToken, Retries: -1}),
		rep: &Report{Suite: "bank", URL: cfg.URL, RunID: cfg.RunID},
	}
	steps := []struct {
		name string
		fn   func(context.Context) (Status, string)
	}{
		{CheckHealthz, r.healthz}, {CheckOpenAPI, r.openapi}, {CheckBanks, r.checkBanks}, {CheckAdmin, r.checkAdmin},
		{CheckVerifyCardUnknown, r.verifyCardUnknown}, {CheckVerifyMatch, r.verifyMatch},
		{CheckVerifyMismatch, r.verifyMismatch}, {CheckVerifyCardStatus, r.verifyCardStatus},
		{CheckBindNotSupported, r.bindNotSupported}, {CheckBindOTPInvalid, r.bindOTPInvalid},
		{CheckBindConfirm, r.bindConfirm}, {CheckBindUnknown, r.bindUnknown}, {CheckBindCNP, r.bindCNP},
		{CheckBindOTPExpired, r.bindOTPExpired},
		{CheckDebit, r.debit}, {CheckDebitReplay, r.debitReplay}, {CheckIdempotencyMismatch, r.idemMismatch},
		{CheckInsufficientFunds, nil}, {CheckDeclineReplay, nil}, // both filled by insufficient()
		{CheckCreditLine, r.creditLine},
		{CheckLimitSingle, nil}, {CheckLimitDaily, nil}, // both filled by limits()
		{CheckDebitUnknownAgr, r.debitUnknownAgreement}, {CheckCredit, nil}, {CheckCreditReplay, nil},
		{CheckTxnQuery, r.txnQuery}, {CheckTxnUnknown, r.txnUnknown}, {CheckLostResponse, r.lostResponse},
		{CheckIssuerUnavailable, r.issuerUnavailable},
		{CheckInvalidRequest, r.invalidRequest}, {CheckUnbind, r.unbind}, {CheckStatement, r.statement},
		{CheckPartnerWrongKey, r.partnerWrongKey}, {CheckPartnerIdempotency, r.partnerIdempotency},
		{CheckPartnerAgreement, r.partnerAgreement}, {CheckPartnerQueries, r.partnerQueries},
		{CheckPartnerAdminRefused, r.partnerAdminRefused},
	}
	pairs := map[string]func(context.Context) (Status, string, Status, string){
		CheckInsufficientFunds: r.insufficient, CheckLimitSingle: r.limits, CheckCredit: r.credit,
	}
	unreachable := ""
	for i := 0; i < len(steps); i++ {
		s := steps[i]
		if ctx.Err() != nil {
			r.rep.add(s.name, Fail, "not run: "+ctx.Err().Error())
			continue
		}
		if unreachable != "" {
			r.rep.add(s.name, Fail, "not run: "+unreachable)
			continue
		}
		if pf, ok := pairs[s.name]; ok {
			// Two checks from one sequence of requests: the second one is the next step.
			s1, d1, s2, d2 := pf(ctx)
			r.rep.add(s.name, s1, d1)
			i++
			r.rep.add(steps[i].name, s2, d2)
			continue
		}
		st, d := s.fn(ctx)
		r.rep.add(s.name, st, d)
		if s.name == CheckHealthz && st == Fail && r.rec.last == 0 {
			// Nothing answered at all (no HTTP status): every other check would only repeat it.
			unreachable = "nothing answers at " + r.cfg.URL
		}
	}
	return r.rep
}

func pass(format string, a ...any) (Status, string) { return Pass, fmt.Sprintf(format, a...) }
func fail(format string, a ...any) (Status, string) { return Fail, fmt.Sprintf(format, a...) }
func na(format string, a ...any) (Status, string)   { return NA, fmt.Sprintf(format, a...) }

func (r *bankRun) key(what string) string {
	r.keyNo++
	return r.cfg.RunID + "-" + what + "-" + strconv.Itoa(r.keyNo)
}

// expectErr checks that err is the protocol error code with resp code resp (any of them), with a
// message and the HTTP status the protocol documents for the code. It returns "" when all holds.
func (r *bankRun) expectErr(err error, code string, resp ...string) string {
	if err == nil {
		return "succeeded; want " + code
	}
	e, ok := bankapi.AsError(err)
	if !ok {
		return "unexpected error: " + err.Error()
	}
	if e.Code != code {
		return fmt.Sprintf("got %s; want %s", e.Error(), code)
	}
	if len(resp) > 0 && !slices.Contains(resp, e.RespCode) {
		return fmt.Sprintf("%s with resp_code %q; want %s", code, e.RespCode, strings.Join(resp, " or "))
	}
	if e.Message == "" {
		return code + " without a message"
	}
	if want := bankapi.HTTPStatus(code); r.rec.last != want {
		return fmt.Sprintf("%s with HTTP %d; the protocol documents %d", code, r.rec.last, want)
	}
	return ""
}

func needAdmin(r *bankRun) (Status, string, bool) {
	if !r.admin {
		return NA, "needs the admin API to stage customers and read OTPs (" + r.adminWhy + ")", false
	}
	return "", "", true
}

func (r *bankRun) needAgreement() (Status, string, bool) {
	if st, d, ok := needAdmin(r); !ok {
		return st, d, false
	}
	if r.agr == "" {
		return NA, "no agreement to use: " + r.mainWhy, false
	}
	return "", "", true
}

// raw sends one request outside the client (for what the client refuses to send) and returns the
// status and body.
func (r *bankRun) raw(ctx context.Context, method, path string, body []byte, hdr map[string]string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.cfg.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, data, err
}

// rawErr checks a raw answer: status as documented for code and the protocol's error body.
func rawErr(status int, body []byte, code string) string {
	var eb struct {
		Error *bankapi.Error `json:"error"`
	}
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error == nil {
		return fmt.Sprintf("HTTP %d without the protocol's error body {\"error\":{...}}", status)
	}
	if eb.Error.Code != code {
		return fmt.Sprintf("got %s; want %s", eb.Error.Error(), code)
	}
	if eb.Error.RespCode == "" || eb.Error.Message == "" {
		return code + " without resp_code or message"
	}
	if want := bankapi.HTTPStatus(code); status != want {
		return fmt.Sprintf("%s with HTTP %d; the protocol documents %d", code, status, want)
	}
	return ""
}

func (r *bankRun) healthz(ctx context.Context) (Status, string) {
	if err := r.c.Health(ctx); err != nil {
		return fail("GET /healthz: %v", err)
	}
	return pass("GET /healthz answers 2xx")
}

func (r *bankRun) openapi(ctx context.Context) (Status, string) {
	st, body, err := r.raw(ctx, "GET", "/openapi.json", nil, nil)
	if err != nil {
		return fail("GET /openapi.json: %v", err)
	}
	if st != http.StatusOK {
		return fail("GET /openapi.json: HTTP %d", st)
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return fail("GET /openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		return fail("openapi is %q; want 3.x", doc.OpenAPI)
	}
	var missing []string
	for _, p := range []string{"/v1/banks", "/v1/cards/verify", "/v1/bindings", "/v1/bindings/{id}/confirm",
		"/v1/agreements/{agreement}", "/v1/debits", "/v1/credits", "/v1/statements/{date}"} {
		if _, ok := doc.Paths[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fail("the document lacks %s", strings.Join(missing, ", "))
	}
	return pass("OpenAPI %s with every v1 path", doc.OpenAPI)
}

func (r *bankRun) checkBanks(ctx context.Context) (Status, string) {
	banks, err := r.c.Banks(ctx)
	if err != nil {
		return fail("GET /v1/banks: %v", err)
	}
	if len(banks) == 0 {
		return fail("GET /v1/banks: empty catalogue")
	}
	online := 0
	for _, b := range banks {
		switch {
		case b.Code == "" || b.Name == "":
			return fail("a bank without code or name: %+v", b)
		case len(b.BINs) == 0 || len(b.CardLengths) == 0:
			return fail("%s: no BIN prefixes or card lengths", b.Code)
		case b.SingleLimit <= 0 || b.DailyLimit <= 0:
			return fail("%s: single_limit and daily_limit must be positive fen", b.Code)
		}
		if b.OnlineBinding {
			online++
		}
	}
	if online == 0 {
		return fail("no bank allows online binding")
	}
	r.banks = banks
	return pass("%d banks, %d allow online binding", len(banks), online)
}

func (r *bankRun) checkAdmin(ctx context.Context) (Status, string) {
	_, err := r.c.Now(ctx)
	if err != nil {
		r.adminWhy = "admin API not available: " + err.Error()
		return na("%s; checks that stage customers, read OTPs or inject faults are n/a", r.adminWhy)
	}
	r.admin = true
	return pass("GET /admin/clock answers; the kit stages its own customers")
}

// onlineBank picks the bank for the main card: online binding, the largest single limit.
func (r *bankRun) onlineBank(pred func(bankapi.BankInfo) bool) *bankapi.BankInfo {
	var best *bankapi.BankInfo
	for i := range r.banks {
		b := &r.banks[i]
		if b.OnlineBinding && (pred == nil || pred(*b)) && (best == nil || b.SingleLimit > best.SingleLimit) {
			best = b
		}
	}
	return best
}

func cardReq(c *bankapi.Customer) bankapi.CardRequest {
	return bankapi.CardRequest{CardNo: c.CardNo, Name: c.Name, IDNo: c.IDNo, Phone: c.Phone}
}

func (r *bankRun) verifyCardUnknown(ctx context.Context) (Status, string) {
	if len(r.banks) == 0 {
		return na("needs the catalogue (%s failed)", CheckBanks)
	}
	// A number on a real BIN with a wrong check digit: no bank can hold it.
	b := r.banks[0]
	n := b.BINs[0] + strings.Repeat("0", max(0, b.CardLengths[0]-len(b.BINs[0])-1))
	card := n + strconv.Itoa((luhnDigit(n)+1)%10)
	_, err := r.c.Verify(ctx, bankapi.CardRequest{CardNo: card, Name: "张三", IDNo: "110105198503071230", Phone: "13800138000"})
	if msg := r.expectErr(err, bankapi.CodeCardUnknown, "14"); msg != "" {
		return fail("verify of a card number with a wrong check digit: %s", msg)
	}
	return pass("a card number with a wrong check digit is CARD_UNKNOWN (14)")
}

// luhnDigit is the check digit that makes n+digit Luhn-valid.
func luhnDigit(n string) int {
	sum := 0
	dbl := true // the digit left of the check digit is doubled
	for i := len(n) - 1; i >= 0; i-- {
		d := int(n[i] - '0')
		if dbl {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		dbl = !dbl
	}
	return (10 - sum%10) % 10
}

// stage creates a customer through the admin API.
func (r *bankRun) stage(ctx context.Context, bank string, balance int64) (*bankapi.Customer, error) {
	return r.stageAs(ctx, bankapi.Customer{Bank: bank, Type: bankapi.CardDebit, Status: bankapi.CardActive, Balance: balance})
}

// stageAs creates a customer like tmpl through the admin API; blank fields are filled by the bank.
func (r *bankRun) stageAs(ctx context.Context, tmpl bankapi.Customer) (*bankapi.Customer, error) {
	c, err := r.c.AddCustomer(ctx, tmpl)
	if err != nil {
		return nil, fmt.Errorf("POST /admin/customers: %w", err)
	}
	if c.CardNo == "" || c.Name == "" || c.IDNo == "" || c.Phone == "" {
		return nil, errors.New("POST /admin/customers did not fill card_no, name, id_no and phone")
	}
	return c, nil
}

// mainBalance is the staged balance of the main card: small enough that an insufficient-funds
// debit stays inside every limit.
const mainBalance = 100_00

func (r *bankRun) verifyMatch(ctx context.Context) (Status, string) {
	if st, d, ok := needAdmin(r); !ok {
		r.mainWhy = d
		return st, d
	}
	b := r.onlineBank(func(b bankapi.BankInfo) bool { return b.SingleLimit >= 2*mainBalance })
	if b == nil {
		r.mainWhy = "no online-binding bank with a single limit of at least 200 CNY"
		return na("%s", r.mainWhy)
	}
	c, err := r.stage(ctx, b.Code, mainBalance)
	if err != nil {
		r.mainWhy = "staging failed: " + err.Error()
		return fail("%s", r.mainWhy)
	}
	r.main = c
	v, err := r.c.Verify(ctx, cardReq(c))
	if err != nil {
		return fail("verify of the staged %s card: %v", b.Code, err)
	}
	if !v.Match || v.Bank != c.Bank || v.CardLast4 != c.CardNo[len(c.CardNo)-4:] || v.CardType != c.Type {
		return fail("verify answered %+v; want match, bank %s, card_last4 %s, card_type %s", *v, c.Bank, c.CardNo[len(c.CardNo)-4:], c.Type)
	}
	return pass("match with bank %s, card_last4 and card_type", v.Bank)
}

func (r *bankRun) verifyMismatch(ctx context.Context) (Status, string) {
	if r.main == nil {
		return na("needs a staged card: %s", r.mainWhy)
	}
	req := cardReq(r.main)
	req.Name = differentName(req.Name)
	req.Phone = differentPhone(req.Phone)
	_, err := r.c.Verify(ctx, req)
	if msg := r.expectErr(err, bankapi.CodeInfoMismatch, "66"); msg != "" {
		return fail("verify with a wrong name and phone: %s", msg)
	}
	e, _ := bankapi.AsError(err)
	got := slices.Clone(e.Fields)
	slices.Sort(got)
	if !slices.Equal(got, []string{"name", "phone"}) {
		return fail("INFO_MISMATCH names fields %q; want exactly name and phone", e.Fields)
	}
	return pass("INFO_MISMATCH (66) naming name and phone")
}

func differentName(n string) string {
	if n == "王小明" {
		return "李小红"
	}
	return "王小明"
}

func differentPhone(p string) string {
	if p == "13912345678" {
		return "13912345679"
	}
	return "13912345678"
}

func (r *bankRun) bindNotSupported(ctx context.Context) (Status, string) {
	if st, d, ok := needAdmin(r); !ok {
		return st, d
	}
	var b *bankapi.BankInfo
	for i := range r.banks {
		if !r.banks[i].OnlineBinding {
			b = &r.banks[i]
			break
		}
	}
	if b == nil {
		return na("every bank of the catalogue allows online binding")
	}
	c, err := r.stage(ctx, b.Code, mainBalance)
	if err != nil {
		return fail("staging a %s card: %v", b.Code, err)
	}
	_, err = r.c.CreateBinding(ctx, cardReq(c))
	if msg := r.expectErr(err, bankapi.CodeBindingNotSupported, "68"); msg != "" {
		return fail("binding a %s card: %s", b.Code, msg)
	}
	return pass("binding a %s card is BINDING_NOT_SUPPORTED (68)", b.Code)
}

// pendingBinding is the binding created by bind.otp-invalid and confirmed by bind.confirm.
type pendingBinding struct {
	b   *bankapi.Binding
	otp string
}

var errNoOTP = errors.New("no OTP")

func (r *bankRun) createBinding(ctx context.Context, c *bankapi.Customer) (*pendingBinding, string) {
	b, err := r.c.CreateBinding(ctx, cardReq(c))
	if err != nil {
		return nil, "POST /v1/bindings: " + err.Error()
	}
	last4 := c.Phone[len(c.Phone)-4:]
	if b.BindingID == "" || b.Status != "otp_sent" || !strings.HasSuffix(b.PhoneMasked, last4) || strings.Contains(b.PhoneMasked, c.Phone) {
		return nil, fmt.Sprintf("POST /v1/bindings answered %+v; want a binding_id, status otp_sent and the phone masked", *b)
	}
	otp, err := r.c.LastOTP(ctx, c.Phone)
	if err == nil && otp == "" {
		err = errNoOTP
	}
	if err != nil {
		return nil, "GET /admin/otp: " + err.Error()
	}
	return &pendingBinding{b: b, otp: otp}, ""
}

func (r *bankRun) bindOTPInvalid(ctx context.Context) (Status, string) {
	if r.main == nil {
		return na("needs a staged card: %s", r.mainWhy)
	}
	pb, msg := r.createBinding(ctx, r.main)
	if msg != "" {
		r.mainWhy = msg
		return fail("%s", msg)
	}
	r.pb = pb
	wrong := fmt.Sprintf("%06d", (atoiOr(pb.otp, 0)+1)%1000000)
	_, err := r.c.ConfirmBinding(ctx, pb.b.BindingID, wrong)
	if msg := r.expectErr(err, bankapi.CodeOTPInvalid, "71"); msg != "" {
		return fail("confirm with a wrong OTP: %s", msg)
	}
	return pass("a wrong OTP is OTP_INVALID (71)")
}

func atoiOr(s string, d int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return d
	}
	return n
}

func (r *bankRun) bindConfirm(ctx context.Context) (Status, string) {
	if r.main == nil {
		return na("needs a staged card: %s", r.mainWhy)
	}
	if r.pb == nil {
		pb, msg := r.createBinding(ctx, r.main)
		if msg != "" {
			r.mainWhy = msg
			return fail("%s", msg)
		}
		r.pb = pb
	}
	a, err := r.c.ConfirmBinding(ctx, r.pb.b.BindingID, r.pb.otp)
	if err != nil {
		r.mainWhy = "confirm failed"
		return fail("confirm with the OTP sent: %v", err)
	}
	last4 := r.main.CardNo[len(r.main.CardNo)-4:]
	if a.Agreement == "" || a.Bank != r.main.Bank || a.CardLast4 != last4 || a.CardType != r.main.Type {
		r.mainWhy = "confirm answered a bad agreement"
		return fail("confirm answered %+v; want an agreement, bank %s, card_last4 %s, card_type %s", *a, r.main.Bank, last4, r.main.Type)
	}
	r.agr = a.Agreement
	return pass("binding → OTP → confirm gives agreement with bank, card_last4, card_type")
}

func (r *bankRun) bindUnknown(ctx context.Context) (Status, string) {
	_, err := r.c.ConfirmBinding(ctx, r.cfg.RunID+"-no-such-binding", "123456")
	if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
		return fail("confirm of an unknown binding: %s", msg)
	}
	return pass("confirm of an unknown binding is NOT_FOUND (25)")
}

func (r *bankRun) money(ctx context.Context, kind, key string, amount int64) (*bankapi.Transaction, error) {
	req := bankapi.MoneyRequest{Agreement: r.agr, Amount: amount, Currency: bankapi.Currency}
	if kind == bankapi.OpCredit {
		return r.c.Credit(ctx, key, req)
	}
	return r.c.Debit(ctx, key, req)
}

// checkTxn says what is wrong with a transaction answer, or "".
func checkTxn(t *bankapi.Transaction, kind, key string, amount int64) string {
	switch {
	case t.TxnID == "":
		return "no txn_id"
	case t.Status != bankapi.TxnSucceeded:
		return fmt.Sprintf("status %q; want succeeded", t.Status)
	case t.Amount != amount:
		return fmt.Sprintf("amount %d; want %d", t.Amount, amount)
	case t.Kind != "" && t.Kind != kind:
		return fmt.Sprintf("kind %q; want %s", t.Kind, kind)
	case t.IdempotencyKey != "" && t.IdempotencyKey != key:
		return fmt.Sprintf("idempotency_key %q; want %q", t.IdempotencyKey, key)
	case t.Currency != "" && t.Currency != bankapi.Currency:
		return fmt.Sprintf("currency %q", t.Currency)
	}
	return ""
}

func (r *bankRun) balance(ctx context.Context, card string) (int64, error) {
	c, err := r.c.Customer(ctx, card)
	if err != nil {
		return 0, err
	}
	return c.Balance, nil
}

const debitAmount = 10_00

func (r *bankRun) debit(ctx context.Context) (Status, string) {
	if st, d, ok := r.needAgreement(); !ok {
		return st, d
	}
	key := r.key("debit")
	t, err := r.money(ctx, bankapi.OpDebit, key, debitAmount)
	if err != nil {
		return fail("POST /v1/debits: %v", err)
	}
	if msg := checkTxn(t, bankapi.OpDebit, key, debitAmount); msg != "" {
		return fail("POST /v1/debits: %s", msg)
	}
	bal, err := r.balance(ctx, r.main.CardNo)
	if err != nil {
		return fail("GET /admin/customers/{card}: %v", err)
	}
	if bal != mainBalance-debitAmount {
		return fail("balance %d after debiting %d from %d", bal, debitAmount, mainBalance)
	}
	r.debitTxn, r.debitKey = t, key
	r.okKeys = append(r.okKeys, key)
	return pass("debit succeeded with txn_id, status, amount; the card's balance went down by the amount")
}

func (r *bankRun) debitReplay(ctx context.Context) (Status, string) {
	if r.debitTxn == nil {
		return na("needs %s", CheckDebit)
	}
	t, err := r.money(ctx, bankapi.OpDebit, r.debitKey, debitAmount)
	if err != nil {
		return fail("replaying the debit's key: %v", err)
	}
	if t.TxnID != r.debitTxn.TxnID || t.Status != r.debitTxn.Status || t.Amount != r.debitTxn.Amount {
		return fail("replay answered txn %s %s; the first outcome was %s %s", t.TxnID, t.Status, r.debitTxn.TxnID, r.debitTxn.Status)
	}
	bal, err := r.balance(ctx, r.main.CardNo)
	if err != nil {
		return fail("GET /admin/customers/{card}: %v", err)
	}
	if bal != mainBalance-debitAmount {
		return fail("the replay moved money: balance %d, want %d", bal, mainBalance-debitAmount)
	}
	return pass("the same key and body returns the first outcome (same txn_id) and moves no money")
}

func (r *bankRun) idemMismatch(ctx context.Context) (Status, string) {
	if r.debitTxn == nil {
		return na("needs %s", CheckDebit)
	}
	_, err := r.money(ctx, bankapi.OpDebit, r.debitKey, debitAmount+1)
	if msg := r.expectErr(err, bankapi.CodeIdempotencyMismatch, "12"); msg != "" {
		return fail("the debit's key with another amount: %s", msg)
	}
	return pass("the same key with another amount is IDEMPOTENCY_MISMATCH (12)")
}

// insufficient fills debit.insufficient-funds and debit.decline-replay.
func (r *bankRun) insufficient(ctx context.Context) (Status, string, Status, string) {
	if st, d, ok := r.needAgreement(); !ok {
		return st, d, st, d
	}
	bal, err := r.balance(ctx, r.main.CardNo)
	if err != nil {
		s, d := fail("GET /admin/customers/{card}: %v", err)
		return s, d, NA, "needs " + CheckInsufficientFunds
	}
	key := r.key("nofunds")
	amount := bal + 50_00 // inside the single limit (checked when the bank was chosen)
	_, err = r.money(ctx, bankapi.OpDebit, key, amount)
	first, _ := bankapi.AsError(err)
	s1, d1 := pass("debit over the balance is INSUFFICIENT_FUNDS (51)")
	if msg := r.expectErr(err, bankapi.CodeInsufficientFunds, "51"); msg != "" {
		s1, d1 = fail("debit of %d fen from a debit card holding %d: %s", amount, bal, msg)
		if first == nil || first.Code != bankapi.CodeInsufficientFunds {
			return s1, d1, NA, "needs a decline from " + CheckInsufficientFunds
		}
	}
	r.declinedKeys = append(r.declinedKeys, key)
	// The first outcome is final for the key, even once the money is there.
	if err := r.c.SetBalance(ctx, r.main.CardNo, mainBalance*10); err != nil {
		s2, d2 := fail("PATCH /admin/customers/{card}: %v", err)
		return s1, d1, s2, d2
	}
	_, err = r.money(ctx, bankapi.OpDebit, key, amount)
	if msg := r.expectErr(err, first.Code, first.RespCode); msg != "" {
		s2, d2 := fail("replaying a declined key after a top-up of the card: %s (the first outcome is final)", msg)
		return s1, d1, s2, d2
	}
	s2, d2 := pass("a declined key replays its decline, even after the card was funded")
	return s1, d1, s2, d2
}

// limits fills debit.limit-single and debit.limit-daily, on a card of their own.
func (r *bankRun) limits(ctx context.Context) (Status, string, Status, string) {
	if st, d, ok := r.needAgreement(); !ok {
		return st, d, st, d
	}
	b := r.onlineBank(func(b bankapi.BankInfo) bool { return b.DailyLimit/b.SingleLimit <= 40 })
	if b == nil {
		return NA, "no online-binding bank with a daily limit under 40 single payments", NA, "see " + CheckLimitSingle
	}
	c, err := r.stage(ctx, b.Code, b.DailyLimit+2*b.SingleLimit)
	if err != nil {
		s, d := fail("staging a %s card: %v", b.Code, err)
		return s, d, NA, "needs " + CheckLimitSingle
	}
	pb, msg := r.createBinding(ctx, c)
	if msg != "" {
		return Fail, msg, NA, "needs " + CheckLimitSingle
	}
	a, err := r.c.ConfirmBinding(ctx, pb.b.BindingID, pb.otp)
	if err != nil {
		return Fail, "binding a second card: " + err.Error(), NA, "needs " + CheckLimitSingle
	}
	req := func(amount int64) bankapi.MoneyRequest {
		return bankapi.MoneyRequest{Agreement: a.Agreement, Amount: amount, Currency: bankapi.Currency}
	}
	var s1, s2 Status
	var d1, d2 string
	_, err = r.c.Debit(ctx, r.key("single"), req(b.SingleLimit+1))
	if msg := r.expectErr(err, bankapi.CodeLimitExceeded, "61"); msg != "" {
		s1, d1 = fail("debit of %s's single limit + 1 fen: %s", b.Code, msg)
	} else {
		s1, d1 = pass("one fen over %s's single limit is LIMIT_EXCEEDED (61)", b.Code)
	}
	spent := int64(0)
	for spent+b.SingleLimit <= b.DailyLimit {
		k := r.key("daily")
		if _, err := r.c.Debit(ctx, k, req(b.SingleLimit)); err != nil {
			s2, d2 = fail("debit of %d fen after %d today, inside the daily limit %d: %v", b.SingleLimit, spent, b.DailyLimit, err)
			return s1, d1, s2, d2
		}
		r.okKeys = append(r.okKeys, k)
		spent += b.SingleLimit
	}
	k := r.key("daily")
	_, err = r.c.Debit(ctx, k, req(b.SingleLimit))
	if msg := r.expectErr(err, bankapi.CodeLimitExceeded, "81"); msg != "" {
		s2, d2 = fail("debit of %d fen after %d today (daily limit %d): %s", b.SingleLimit, spent, b.DailyLimit, msg)
	} else {
		r.declinedKeys = append(r.declinedKeys, k)
		s2, d2 = pass("a debit past %s's daily limit is LIMIT_EXCEEDED (81)", b.Code)
	}
	return s1, d1, s2, d2
}

func (r *bankRun) debitUnknownAgreement(ctx context.Context) (Status, string) {
	_, err := r.c.Debit(ctx, r.key("noagr"), bankapi.MoneyRequest{Agreement: r.cfg.RunID + "-no-such-agreement", Amount: 1_00, Currency: bankapi.Currency})
	if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
		return fail("debit quoting an unknown agreement: %s", msg)
	}
	return pass("a debit quoting an unknown agreement is NOT_FOUND (25)")
}

const creditAmount = 5_00

// credit fills credit.succeeded and credit.replay.
func (r *bankRun) credit(ctx context.Context) (Status, string, Status, string) {
	if st, d, ok := r.needAgreement(); !ok {
		return st, d, st, d
	}
	before, err := r.balance(ctx, r.main.CardNo)
	if err != nil {
		return Fail, "GET /admin/customers/{card}: " + err.Error(), NA, "needs " + CheckCredit
	}
	key := r.key("credit")
	t, err := r.money(ctx, bankapi.OpCredit, key, creditAmount)
	if err != nil {
		return Fail, "POST /v1/credits: " + err.Error(), NA, "needs " + CheckCredit
	}
	if msg := checkTxn(t, bankapi.OpCredit, key, creditAmount); msg != "" {
		return Fail, "POST /v1/credits: " + msg, NA, "needs " + CheckCredit
	}
	r.okKeys = append(r.okKeys, key)
	after, err := r.balance(ctx, r.main.CardNo)
	if err != nil || after != before+creditAmount {
		return Fail, fmt.Sprintf("balance %d after crediting %d to %d (%v)", after, creditAmount, before, err), NA, "needs " + CheckCredit
	}
	s1, d1 := pass("credit succeeded; the card's balance went up by the amount")
	t2, err := r.money(ctx, bankapi.OpCredit, key, creditAmount)
	if err != nil {
		s2, d2 := fail("replaying the credit's key: %v", err)
		return s1, d1, s2, d2
	}
	again, err := r.balance(ctx, r.main.CardNo)
	if t2.TxnID != t.TxnID || err != nil || again != after {
		s2, d2 := fail("replay answered txn %s (first %s); balance %d, want %d", t2.TxnID, t.TxnID, again, after)
		return s1, d1, s2, d2
	}
	s2, d2 := pass("the credit's key replays the first outcome and moves no money")
	return s1, d1, s2, d2
}

func (r *bankRun) txnQuery(ctx context.Context) (Status, string) {
	if r.debitTxn == nil {
		return na("needs %s", CheckDebit)
	}
	t, err := r.c.Transaction(ctx, r.debitKey)
	if err != nil {
		return fail("GET /v1/transactions/{key}: %v", err)
	}
	if msg := checkTxn(t, bankapi.OpDebit, r.debitKey, debitAmount); msg != "" || t.TxnID != r.debitTxn.TxnID {
		return fail("GET /v1/transactions/{key}: %s (txn %s, the debit was %s)", msg, t.TxnID, r.debitTxn.TxnID)
	}
	return pass("the query by idempotency key returns the debit's outcome")
}

func (r *bankRun) txnUnknown(ctx context.Context) (Status, string) {
	_, err := r.c.Transaction(ctx, r.cfg.RunID+"-never-sent")
	if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
		return fail("query of a key never sent: %s", msg)
	}
	return pass("the query of a key never sent is NOT_FOUND (25)")
}

// lostResponse makes the bank process a debit and lose the answer (the X-Bankmock-Fault header,
// else an admin fault rule), then checks that the query by key tells the truth and that a retry
// with the same key does not debit twice.
func (r *bankRun) lostResponse(ctx context.Context) (Status, string) {
	if st, d, ok := r.needAgreement(); !ok {
		return st, d
	}
	before, err := r.balance(ctx, r.main.CardNo)
	if err != nil {
		return fail("GET /admin/customers/{card}: %v", err)
	}
	key := r.key("lost")
	how := "the X-Bankmock-Fault header"
	_, err = r.money(client.WithFault(ctx, string(bankapi.FaultDropAfter)), bankapi.OpDebit, key, debitAmount)
	if err == nil {
		// The header is not supported: the debit went through normally. Stage the fault with an
		// admin rule instead, on a fresh key.
		r.okKeys = append(r.okKeys, key)
		f, ferr := r.c.AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpDebit, CardNo: r.main.CardNo, First: 1})
		if ferr != nil {
			return na("the implementation supports neither the X-Bankmock-Fault header nor admin fault rules (%v)", ferr)
		}
		defer func() { _ = r.c.DeleteFault(context.WithoutCancel(ctx), f.ID) }()
		if before, err = r.balance(ctx, r.main.CardNo); err != nil {
			return fail("GET /admin/customers/{card}: %v", err)
		}
		how = "an admin fault rule"
		key = r.key("lost")
		_, err = r.money(ctx, bankapi.OpDebit, key, debitAmount)
		if err == nil {
			return fail("a drop_after admin rule on debits did not fire")
		}
	}
	if e, ok := bankapi.AsError(err); !ok || e.Code != bankapi.CodeOutcomeUnknown {
		return fail("a debit whose answer is lost (drop_after via %s) gave %v; want no answer (OUTCOME_UNKNOWN)", how, err)
	}
	r.okKeys = append(r.okKeys, key)
	t, err := r.c.Transaction(ctx, key)
	if err != nil {
		return fail("query after the lost answer: %v; the bank processed the debit", err)
	}
	if msg := checkTxn(t, bankapi.OpDebit, key, debitAmount); msg != "" {
		return fail("query after the lost answer: %s", msg)
	}
	t2, err := r.money(ctx, bankapi.OpDebit, key, debitAmount)
	if err != nil || t2.TxnID != t.TxnID {
		return fail("retry with the same key after the lost answer: %v (txn %v, the query said %s)", err, txnID(t2), t.TxnID)
	}
	after, err := r.balance(ctx, r.main.CardNo)
	if err != nil || after != before-debitAmount {
		return fail("balance %d after a lost debit and its retry; want %d (debited once)", after, before-debitAmount)
	}
	return pass("answer lost (via %s): the query shows it succeeded; the retry replays it; debited once", how)
}

func txnID(t *bankapi.Transaction) string {
	if t == nil {
		return "none"
	}
	return t.TxnID
}

func (r *bankRun) invalidRequest(ctx context.Context) (Status, string) {
	var bad []string
	tried := 0
	try := func(what, method, path string, body []byte, hdr map[string]string) {
		tried++
		st, data, err := r.raw(ctx, method, path, body, hdr)
		if err != nil {
			bad = append(bad, what+": "+err.Error())
			return
		}
		if msg := rawErr(st, data, bankapi.CodeInvalidRequest); msg != "" {
			bad = append(bad, what+": "+msg)
		}
	}
	try("verify with a body that is not JSON", "POST", "/v1/cards/verify", []byte("{not json"), nil)
	try("statement for a date that is not yyyy-mm-dd", "GET", "/v1/statements/26-11-2026", nil, nil)
	if r.agr != "" {
		body := func(amount int64, cur string) []byte {
			b, _ := json.Marshal(bankapi.MoneyRequest{Agreement: r.agr, Amount: amount, Currency: cur})
			return b
		}
		try("debit without Idempotency-Key", "POST", "/v1/debits", body(1_00, bankapi.Currency), nil)
		try("debit of 0 fen", "POST", "/v1/debits", body(0, bankapi.Currency), map[string]string{"Idempotency-Key": r.key("zero")})
		try("debit in USD", "POST", "/v1/debits", body(1_00, "USD"), map[string]string{"Idempotency-Key": r.key("usd")})
		try("credit of -1 fen", "POST", "/v1/credits", body(-1, bankapi.Currency), map[string]string{"Idempotency-Key": r.key("neg")})
	}
	if len(bad) > 0 {
		return fail("%s", strings.Join(bad, "; "))
	}
	extra := ""
	if r.agr == "" {
		extra = " (money requests not tried: no agreement)"
	}
	return pass("%d malformed requests are INVALID_REQUEST (30) with HTTP 400%s", tried, extra)
}

func (r *bankRun) unbind(ctx context.Context) (Status, string) {
	if st, d, ok := r.needAgreement(); !ok {
		return st, d
	}
	if err := r.c.Unbind(ctx, r.agr); err != nil {
		return fail("DELETE /v1/agreements/{agreement}: %v", err)
	}
	_, err := r.money(ctx, bankapi.OpDebit, r.key("unbound"), debitAmount)
	if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
		return fail("debit quoting an unbound agreement: %s", msg)
	}
	err = r.c.Unbind(ctx, r.agr)
	if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
		return fail("unbinding twice: %s", msg)
	}
	return pass("unbind answers 2xx; then debits and a second unbind are NOT_FOUND (25)")
}

func (r *bankRun) statement(ctx context.Context) (Status, string) {
	if r.debitTxn == nil {
		return na("needs %s", CheckDebit)
	}
	date := vclock.Day(r.debitTxn.Time)
	s, err := r.c.Statement(ctx, date)
	if err != nil {
		return fail("GET /v1/statements/%s: %v", date, err)
	}
	var dc, cc int
	var dt, ct int64
	listed := map[string]bool{}
	for _, t := range s.Transactions {
		if t.Status != bankapi.TxnSucceeded {
			return fail("the statement lists %s with status %q; only succeeded transactions settle", t.TxnID, t.Status)
		}
		listed[t.IdempotencyKey] = true
		switch t.Kind {
		case bankapi.OpDebit:
			dc++
			dt += t.Amount
		case bankapi.OpCredit:
			cc++
			ct += t.Amount
		default:
			return fail("the statement lists %s of kind %q", t.TxnID, t.Kind)
		}
	}
	if s.Date != date || s.DebitCount != dc || s.DebitTotal != dt || s.CreditCount != cc || s.CreditTotal != ct {
		return fail("statement %s says %d debits %d fen, %d credits %d fen; its transactions sum to %d debits %d fen, %d credits %d fen",
			s.Date, s.DebitCount, s.DebitTotal, s.CreditCount, s.CreditTotal, dc, dt, cc, ct)
	}
	var missing, extra []string
	for _, k := range r.okKeys {
		if !listed[k] {
			missing = append(missing, k)
		}
	}
	for _, k := range r.declinedKeys {
		if listed[k] {
			extra = append(extra, k)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		return fail("this run's succeeded keys missing from the statement: %v; declined keys listed: %v", missing, extra)
	}
	return pass("%s: totals equal the sum of its %d debits and %d credits; this run's %d succeeded requests listed, declines not",
		date, dc, cc, len(r.okKeys))
}

func (r *bankRun) verifyCardStatus(ctx context.Context) (Status, string) {
	if st, d, ok := needAdmin(r); !ok {
		return st, d
	}
	b := r.onlineBank(nil)
	if b == nil {
		return na("needs the catalogue (%s failed)", CheckBanks)
	}
	for _, tc := range []struct {
		status     bankapi.CardStatus
		code, resp string
	}{
		{bankapi.CardFrozen, bankapi.CodeIssuerRestricted, "77"},
		{bankapi.CardLost, bankapi.CodeIssuerRestricted, "77"},
		{bankapi.CardExpired, bankapi.CodeCardExpired, "78"},
	} {
		c, err := r.stageAs(ctx, bankapi.Customer{Bank: b.Code, Type: bankapi.CardDebit, Status: tc.status, Balance: mainBalance})
		if err != nil {
			return fail("staging a %s card: %v", tc.status, err)
		}
		_, err = r.c.Verify(ctx, cardReq(c))
		if msg := r.expectErr(err, tc.code, tc.resp); msg != "" {
			return fail("verify of a %s card: %s", tc.status, msg)
		}
	}
	return pass("frozen and lost cards are ISSUER_RESTRICTED (77), an expired one CARD_EXPIRED (78)")
}

func (r *bankRun) bindCNP(ctx context.Context) (Status, string) {
	if st, d, ok := needAdmin(r); !ok {
		return st, d
	}
	b := r.onlineBank(nil)
	if b == nil {
		return na("needs the catalogue (%s failed)", CheckBanks)
	}
	c, err := r.stageAs(ctx, bankapi.Customer{Bank: b.Code, Type: bankapi.CardDebit, Status: bankapi.CardActive,
		Balance: mainBalance, Note: bankapi.NoteCNPDisabled})
	if err != nil {
		return fail("staging a card with note %q: %v", bankapi.NoteCNPDisabled, err)
	}
	_, err = r.c.CreateBinding(ctx, cardReq(c))
	if msg := r.expectErr(err, bankapi.CodeCNPNotEnabled, "72"); msg != "" {
		return fail("binding a card without card-not-present payments: %s", msg)
	}
	return pass("binding a card without card-not-present payments is CNP_NOT_ENABLED (72)")
}

// bindOTPExpired uses up a binding's OTP attempts; then even the right code is OTP_EXPIRED.
func (r *bankRun) bindOTPExpired(ctx context.Context) (Status, string) {
	if st, d, ok := needAdmin(r); !ok {
		return st, d
	}
	b := r.onlineBank(nil)
	if b == nil {
		return na("needs the catalogue (%s failed)", CheckBanks)
	}
	c, err := r.stage(ctx, b.Code, mainBalance)
	if err != nil {
		return fail("staging a card: %v", err)
	}
	pb, msg := r.createBinding(ctx, c)
	if msg != "" {
		return fail("%s", msg)
	}
	const maxTries = 10
	tries := 0
	for ; tries < maxTries; tries++ {
		wrong := fmt.Sprintf("%06d", (atoiOr(pb.otp, 0)+1+tries)%1000000)
		_, err := r.c.ConfirmBinding(ctx, pb.b.BindingID, wrong)
		e, ok := bankapi.AsError(err)
		if !ok {
			return fail("confirm with a wrong OTP (try %d): %v", tries+1, err)
		}
		if e.Code == bankapi.CodeOTPExpired || (e.Code == bankapi.CodeOTPInvalid && e.Remaining != nil && *e.Remaining == 0) {
			tries++
			break
		}
		if e.Code != bankapi.CodeOTPInvalid {
			return fail("confirm with a wrong OTP (try %d): %v; want OTP_INVALID", tries+1, e)
		}
	}
	if tries >= maxTries {
		return fail("%d wrong OTPs and the binding still takes more", maxTries)
	}
	_, err = r.c.ConfirmBinding(ctx, pb.b.BindingID, pb.otp)
	if msg := r.expectErr(err, bankapi.CodeOTPExpired, "71"); msg != "" {
		return fail("the right OTP after %d wrong ones: %s", tries, msg)
	}
	return pass("after %d wrong OTPs even the right one is OTP_EXPIRED (71)", tries)
}

// creditLine binds a credit card and debits more than its available credit.
func (r *bankRun) creditLine(ctx context.Context) (Status, string) {
	if st, d, ok := needAdmin(r); !ok {
		return st, d
	}
	b := r.onlineBank(func(b bankapi.BankInfo) bool { return b.SingleLimit >= 2*mainBalance })
	if b == nil {
		return na("no online-binding bank with a single limit of at least 200 CNY")
	}
	c, err := r.stageAs(ctx, bankapi.Customer{Bank: b.Code, Type: bankapi.CardCredit, Status: bankapi.CardActive, Balance: mainBalance})
	if err != nil {
		return fail("staging a credit card: %v", err)
	}
	pb, msg := r.createBinding(ctx, c)
	if msg != "" {
		return fail("%s", msg)
	}
	a, err := r.c.ConfirmBinding(ctx, pb.b.BindingID, pb.otp)
	if err != nil {
		return fail("binding a credit card: %v", err)
	}
	if a.CardType != bankapi.CardCredit {
		return fail("the agreement of a credit card says card_type %q", a.CardType)
	}
	k := r.key("credit-line")
	_, err = r.c.Debit(ctx, k, bankapi.MoneyRequest{Agreement: a.Agreement, Amount: mainBalance + 50_00, Currency: bankapi.Currency})
	if msg := r.expectErr(err, bankapi.CodeInsufficientFunds, "64"); msg != "" {
		return fail("debit over a credit card's available credit: %s", msg)
	}
	r.declinedKeys = append(r.declinedKeys, k)
	return pass("a debit over a credit card's available credit is INSUFFICIENT_FUNDS (64)")
}

// issuerUnavailable makes the issuer refuse a debit with HTTP 503 (the header, else an admin rule):
// nothing is processed, so the query says NOT_FOUND and a retry with the same key succeeds once.
func (r *bankRun) issuerUnavailable(ctx context.Context) (Status, string) {
	if st, d, ok := r.needAgreement(); !ok {
		return st, d
	}
	before, err := r.balance(ctx, r.main.CardNo)
	if err != nil {
		return fail("GET /admin/customers/{card}: %v", err)
	}
	key := r.key("unavailable")
	how := "the X-Bankmock-Fault header"
	_, err = r.money(client.WithFault(ctx, "http_error;status=503"), bankapi.OpDebit, key, debitAmount)
	if err == nil {
		r.okKeys = append(r.okKeys, key)
		f, ferr := r.c.AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultHTTPError, Status: 503, Op: bankapi.OpDebit, CardNo: r.main.CardNo, First: 1})
		if ferr != nil {
			return na("the implementation supports neither the X-Bankmock-Fault header nor admin fault rules (%v)", ferr)
		}
		defer func() { _ = r.c.DeleteFault(context.WithoutCancel(ctx), f.ID) }()
		if before, err = r.balance(ctx, r.main.CardNo); err != nil {
			return fail("GET /admin/customers/{card}: %v", err)
		}
		how = "an admin fault rule"
		key = r.key("unavailable")
		_, err = r.money(ctx, bankapi.OpDebit, key, debitAmount)
	}
	if msg := r.expectErr(err, bankapi.CodeIssuerUnavailable, "91", "96"); msg != "" {
		return fail("a debit refused by the issuer (http_error 503 via %s): %s", how, msg)
	}
	_, err = r.c.Transaction(ctx, key)
	if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
		return fail("the query after ISSUER_UNAVAILABLE: %s (nothing was processed)", msg)
	}
	t, err := r.money(ctx, bankapi.OpDebit, key, debitAmount)
	if err != nil {
		return fail("the retry with the same key after ISSUER_UNAVAILABLE: %v", err)
	}
	r.okKeys = append(r.okKeys, key)
	after, err := r.balance(ctx, r.main.CardNo)
	if err != nil || after != before-debitAmount || t.Status != bankapi.TxnSucceeded {
		return fail("after ISSUER_UNAVAILABLE and a retry: txn %s %s, balance %d, want %d (debited once)", t.TxnID, t.Status, after, before-debitAmount)
	}
	return pass("ISSUER_UNAVAILABLE with HTTP 503 (via %s) processes nothing; the retry with the same key debits once", how)
}
