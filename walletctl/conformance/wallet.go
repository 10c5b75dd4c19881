package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/walletctl/walletctl/bankapi"
	bankclient "github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/v3api"
)

// Wallet check names, in the order they run.
const (
	CheckWHealthz       = "wallet.healthz"
	CheckWOpenAPI       = "wallet.openapi"
	CheckWAuth          = "wallet.auth"
	CheckWBankStaging   = "wallet.bank-admin"
	CheckWRegister      = "wallet.register"
	CheckWRegisterTwice = "wallet.register-duplicate"
	CheckWKYC           = "wallet.kyc"
	CheckWBindMismatch  = "wallet.bind-mismatch"
	CheckWBind          = "wallet.bind"
	CheckWPasswordWeak  = "wallet.password-weak"
	CheckWPassword      = "wallet.password"
	CheckWTopUp         = "wallet.topup"
	CheckWPasswordWrong = "wallet.password-wrong"
	CheckWIdempotency   = "wallet.idempotency"
	CheckWPay           = "wallet.pay"
	CheckWInsufficient  = "wallet.insufficient-balance"
	CheckWTransfer      = "wallet.transfer"
	CheckWNotFound      = "wallet.not-found"
)

// WalletChecks lists every wallet check name in report order, the v3 checks (V3Checks) last.
var WalletChecks = append([]string{
	CheckWHealthz, CheckWOpenAPI, CheckWAuth, CheckWBankStaging, CheckWRegister, CheckWRegisterTwice,
	CheckWKYC, CheckWBindMismatch, CheckWBind, CheckWPasswordWeak, CheckWPassword, CheckWTopUp,
	CheckWPasswordWrong, CheckWIdempotency, CheckWPay, CheckWInsufficient, CheckWTransfer, CheckWNotFound,
}, V3Checks...)

// idemTransport sends the caller's idempotency key (walletctl.WithIdempotencyKey on the request's
// context) as the Idempotency-Key header, and remembers the last status like statusRecorder.
type idemTransport struct{ statusRecorder }

func (t *idemTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if k := walletctl.IdempotencyKey(req.Context()); k != "" {
		req = req.Clone(req.Context())
		req.Header.Set("Idempotency-Key", k)
	}
	return t.statusRecorder.RoundTrip(req)
}

type walletRun struct {
	cfg  Config
	w    *httpapi.Client
	bank *bankclient.Client
	rec  *idemTransport
	bare *bankRun // raw HTTP helpers

	bankOK      bool
	cust, cust2 *bankapi.Customer
	user, user2 *walletctl.User
	card        *walletctl.Card
	password    string
	balance     int64
	merchant    string
	why         string // why the flow stopped
	v3          v3State
}

// RunWallet runs the wallet API checks against walletctl serve at cfg.URL, acting as the tenant
// of cfg.APIKey. It stages bank customers through the tenant's bank (/v1/bank/admin/...).
func RunWallet(ctx context.Context, cfg Config) *Report {
	cfg.defaults()
	base := http.DefaultTransport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		base = cfg.HTTPClient.Transport
	}
	rec := &idemTransport{statusRecorder{next: base}}
	hc := &http.Client{Transport: rec}
	r := &walletRun{cfg: cfg, rec: rec,
		w:    httpapi.NewClient(cfg.URL, cfg.APIKey, httpapi.ClientOptions{HTTPClient: hc, Timeout: cfg.Timeout}),
		bare: &bankRun{cfg: cfg, hc: hc, rec: &rec.statusRecorder},
	}
	r.bank = r.w.Bank(cfg.Timeout)
	rep := &Report{Suite: "wallet", URL: cfg.URL, RunID: cfg.RunID}
	steps := []struct {
		name string
		fn   func(context.Context) (Status, string)
	}{
		{CheckWHealthz, r.healthz}, {CheckWOpenAPI, r.openapi}, {CheckWAuth, r.auth}, {CheckWBankStaging, r.stageBank},
		{CheckWRegister, r.register}, {CheckWRegisterTwice, r.registerTwice}, {CheckWKYC, r.kyc},
		{CheckWBindMismatch, r.bindMismatch}, {CheckWBind, r.bind}, {CheckWPasswordWeak, r.passwordWeak},
		{CheckWPassword, r.setPassword}, {CheckWTopUp, r.topUp}, {CheckWPasswordWrong, r.passwordWrong},
		{CheckWIdempotency, r.idempotency}, {CheckWPay, r.pay}, {CheckWInsufficient, r.insufficient},
		{CheckWTransfer, r.transfer}, {CheckWNotFound, r.notFound},
		{CheckV3Merchant, r.v3Merchant}, {CheckV3Unsigned, r.v3Unsigned}, {CheckV3BadSignature, r.v3BadSignature},
		{CheckV3Native, r.v3Native}, {CheckV3Pay, r.v3Pay}, {CheckV3Query, r.v3Query}, {CheckV3Refund, r.v3Refund},
		{CheckV3Close, r.v3Close}, {CheckV3ClosePaid, r.v3ClosePaid}, {CheckV3Certificates, r.v3Certificates}, {CheckV3Bill, r.v3Bill},
		{CheckV3NotifyNoRedirect, r.v3NotifyNoRedirect}, {CheckV3NotifyLinkLocal, r.v3NotifyLinkLocal},
		{CheckV3UnauthNoDelay, r.v3UnauthNoDelay},
	}
	for _, s := range steps {
		if ctx.Err() != nil {
			rep.add(s.name, Fail, "not run: "+ctx.Err().Error())
			continue
		}
		st, d := s.fn(ctx)
		rep.add(s.name, st, d)
	}
	return rep
}

// expectW checks that err is the wallet error code, with the HTTP status the code table gives it.
func (r *walletRun) expectW(err error, code string) string {
	if err == nil {
		return "succeeded; want " + code
	}
	var we *walletctl.Error
	if !errors.As(err, &we) {
		return "unexpected error: " + err.Error()
	}
	if we.Code != code {
		return fmt.Sprintf("got %s: %s; want %s", we.Code, we.Message, code)
	}
	if want := httpapi.Status(code); r.rec.last != want {
		return fmt.Sprintf("%s with HTTP %d; the code table says %d", code, r.rec.last, want)
	}
	return ""
}

func (r *walletRun) stopped() (Status, string, bool) {
	if r.why != "" {
		return NA, "the flow stopped earlier: " + r.why, true
	}
	return "", "", false
}

func (r *walletRun) healthz(ctx context.Context) (Status, string) {
	st, _, err := r.bare.raw(ctx, "GET", "/healthz", nil, nil)
	if err != nil || st != http.StatusOK {
		return fail("GET /healthz: HTTP %d %v", st, err)
	}
	return pass("GET /healthz answers 200")
}

func (r *walletRun) openapi(ctx context.Context) (Status, string) {
	st, body, err := r.bare.raw(ctx, "GET", "/openapi.json", nil, nil)
	if err != nil || st != http.StatusOK {
		return fail("GET /openapi.json: HTTP %d %v", st, err)
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		return fail("GET /openapi.json is not an OpenAPI 3 document (%v)", err)
	}
	var missing []string
	for _, rt := range httpapi.Routes {
		if _, ok := doc.Paths[rt.Path]; !ok {
			missing = append(missing, rt.Path)
		}
	}
	// The tenants' v3 API, under /tenants/{tenant}.
	for _, rt := range v3api.Routes {
		if _, ok := doc.Paths["/tenants/{tenant}"+rt.Path]; !ok {
			missing = append(missing, "/tenants/{tenant}"+rt.Path)
		}
	}
	if len(missing) > 0 {
		return fail("the document lacks %s", strings.Join(missing, ", "))
	}
	return pass("OpenAPI %s with all %d wallet routes and all %d v3 routes", doc.OpenAPI, len(httpapi.Routes), len(v3api.Routes))
}

func (r *walletRun) auth(ctx context.Context) (Status, string) {
	for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer " + r.cfg.RunID + "-not-a-key-at-all"}} {
		st, body, err := r.bare.raw(ctx, "GET", "/v1/merchants", nil, hdr)
		if err != nil {
			return fail("GET /v1/merchants: %v", err)
		}
		var env struct {
			Error *struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		if st != http.StatusUnauthorized || json.Unmarshal(body, &env) != nil || env.Error == nil || env.Error.Code == "" {
			what := "without a key"
			if hdr != nil {
				what = "with a wrong key"
			}
			return fail("GET /v1/merchants %s: HTTP %d %.120q; want 401 with an error body", what, st, body)
		}
	}
	if _, err := r.w.Merchants(ctx, walletctl.Page{Limit: 1}); err != nil {
		r.why = "the API key given is not accepted"
		return fail("GET /v1/merchants with the API key given: %v", err)
	}
	return pass("no key or a wrong key: 401 with an error body; the tenant's key is served")
}

func (r *walletRun) stageBank(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	var err error
	// Two fresh customers of one online-binding bank: the payer and the payee.
	if r.cust, err = r.bank.AddCustomer(ctx, bankapi.Customer{Bank: "ICBC", Balance: 100_000_00}); err == nil {
		r.cust2, err = r.bank.AddCustomer(ctx, bankapi.Customer{Bank: "ICBC", Balance: 100_00})
	}
	if err != nil {
		r.why = "the tenant's bank admin API (/v1/bank/admin) is not available: " + err.Error()
		return na("%s", r.why)
	}
	r.bankOK = true
	return pass("staged two customers through the tenant's bank")
}

func (r *walletRun) register(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	u, err := r.w.Register(ctx, r.cust.Phone)
	if err != nil {
		r.why = "register failed"
		return fail("POST /v1/users: %v", err)
	}
	if u.ID == "" || u.Phone != r.cust.Phone || u.Status != walletctl.StatusNormal || u.Verified {
		r.why = "register answered a bad user"
		return fail("POST /v1/users answered %+v; want an id, the phone, status normal, not verified", *u)
	}
	got, err := r.w.User(ctx, u.ID)
	if err != nil || got.ID != u.ID {
		return fail("GET /v1/users/%s: %v", u.ID, err)
	}
	r.user = u
	return pass("registered %s; read back by id", u.ID)
}

func (r *walletRun) registerTwice(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	_, err := r.w.Register(ctx, r.cust.Phone)
	if msg := r.expectW(err, walletctl.CodeAlreadyExists); msg != "" {
		return fail("registering the same phone twice: %s", msg)
	}
	return pass("the same phone twice is ALREADY_EXISTS across the wire")
}

func (r *walletRun) kyc(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	k, err := r.w.SubmitKYC(ctx, r.user.ID, r.cust.Name, r.cust.IDNo)
	if err != nil {
		r.why = "KYC failed"
		return fail("POST /v1/users/{id}/kyc: %v", err)
	}
	if !k.Verified || k.Class < 1 || strings.Contains(k.IDMasked, r.cust.IDNo) || k.NameMasked == r.cust.Name {
		r.why = "KYC answered a bad state"
		return fail("KYC answered verified=%v class=%d; want verified, class >= 1, name and ID masked", k.Verified, k.Class)
	}
	return pass("verified, class %d, name and ID masked", k.Class)
}

func (r *walletRun) bindMismatch(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	_, err := r.w.BindCard(ctx, r.user.ID, r.cust.CardNo, differentPhone(r.cust.Phone))
	if msg := r.expectW(err, walletctl.CodeCardInfoMismatch); msg != "" {
		return fail("binding with a phone the bank does not have: %s", msg)
	}
	return pass("a wrong reserved phone is CARD_INFO_MISMATCH across the wire")
}

func (r *walletRun) bind(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	b, err := r.w.BindCard(ctx, r.user.ID, r.cust.CardNo, r.cust.Phone)
	if err != nil {
		r.why = "bind failed"
		return fail("POST /v1/users/{id}/cards: %v", err)
	}
	otp, err := r.bank.LastOTP(ctx, r.cust.Phone)
	if err != nil {
		r.why = "no OTP"
		return fail("the tenant's bank /admin/otp: %v", err)
	}
	c, err := r.w.ConfirmCard(ctx, r.user.ID, b.BindingID, otp)
	if err != nil {
		r.why = "confirm failed"
		return fail("POST /v1/users/{id}/cards/confirm: %v", err)
	}
	if c.ID == "" || c.Last4 != r.cust.CardNo[len(r.cust.CardNo)-4:] || strings.Contains(strings.ReplaceAll(c.CardMasked, " ", ""), r.cust.CardNo) {
		r.why = "confirm answered a bad card"
		return fail("confirm answered %+v; want an id, last4 and a masked number", *c)
	}
	r.card = c
	return pass("bind → bank OTP → confirm gives card %s (%s)", c.ID, c.CardMasked)
}

func (r *walletRun) passwordWeak(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	err := r.w.SetPassword(ctx, r.user.ID, "123456")
	if msg := r.expectW(err, walletctl.CodePasswordWeak); msg != "" {
		return fail("setting 123456: %s", msg)
	}
	return pass("123456 is PASSWORD_WEAK across the wire")
}

func (r *walletRun) setPassword(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	r.password = "258036"
	if err := r.w.SetPassword(ctx, r.user.ID, r.password); err != nil {
		r.why = "no password"
		return fail("PUT /v1/users/{id}/password: %v", err)
	}
	u, err := r.w.User(ctx, r.user.ID)
	if err != nil || !u.PasswordSet {
		r.why = "no password"
		return fail("after setting it, the user shows password_set=%v (%v)", u != nil && u.PasswordSet, err)
	}
	return pass("set; the user shows password_set")
}

func (r *walletRun) checkBalance(ctx context.Context, want int64) string {
	b, err := r.w.Balance(ctx, r.user.ID)
	if err != nil {
		return "GET balance: " + err.Error()
	}
	if b.Available != want {
		return fmt.Sprintf("available %d fen; want %d", b.Available, want)
	}
	return ""
}

func (r *walletRun) topUp(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	t, err := r.w.TopUp(ctx, r.user.ID, r.card.ID, 500_00, r.password)
	if err != nil {
		r.why = "top-up failed"
		return fail("POST /v1/users/{id}/topups: %v", err)
	}
	if t.Status != walletctl.TxnSucceeded || t.Amount != 500_00 || t.Kind != walletctl.KindTopUp {
		r.why = "top-up failed"
		return fail("top-up answered %s %s %d; want topup succeeded 50000", t.Kind, t.Status, t.Amount)
	}
	r.balance = 500_00
	if msg := r.checkBalance(ctx, r.balance); msg != "" {
		return fail("after the top-up: %s", msg)
	}
	return pass("topped up 500.00 CNY from the card; balance follows")
}

func (r *walletRun) passwordWrong(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	_, err := r.w.TopUp(ctx, r.user.ID, r.card.ID, 1_00, "147036")
	if msg := r.expectW(err, walletctl.CodePasswordWrong); msg != "" {
		return fail("top-up with a wrong password: %s", msg)
	}
	if msg := r.checkBalance(ctx, r.balance); msg != "" {
		return fail("a refused top-up moved money: %s", msg)
	}
	return pass("a wrong password is PASSWORD_WRONG across the wire and moves nothing")
}

func (r *walletRun) idempotency(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	kctx := walletctl.WithIdempotencyKey(ctx, r.cfg.RunID+"-wallet-topup")
	t1, err := r.w.TopUp(kctx, r.user.ID, r.card.ID, 20_00, r.password)
	if err != nil {
		return fail("top-up with an Idempotency-Key: %v", err)
	}
	r.balance += 20_00
	t2, err := r.w.TopUp(kctx, r.user.ID, r.card.ID, 20_00, r.password)
	if err != nil {
		return fail("the same top-up again with the same Idempotency-Key: %v", err)
	}
	if t2.ID != t1.ID {
		r.balance += 20_00
		return fail("the same Idempotency-Key gave a second transaction (%s, then %s): the key does not reach the wallet", t1.ID, t2.ID)
	}
	if msg := r.checkBalance(ctx, r.balance); msg != "" {
		return fail("after a replayed top-up: %s", msg)
	}
	_, err = r.w.TopUp(kctx, r.user.ID, r.card.ID, 30_00, r.password)
	if msg := r.expectW(err, walletctl.CodeConflict); msg != "" {
		return fail("the same Idempotency-Key with another amount: %s", msg)
	}
	return pass("a replayed Idempotency-Key returns the first transaction; another amount is CONFLICT")
}

func (r *walletRun) pay(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	page, err := r.w.Merchants(ctx, walletctl.Page{Limit: 1})
	if err != nil || len(page.Data) == 0 {
		return fail("GET /v1/merchants?limit=1: no merchant, %v", err)
	}
	r.merchant = page.Data[0].ID
	t, err := r.w.Pay(ctx, walletctl.PayRequest{UserID: r.user.ID, Merchant: r.merchant, Amount: 30_00, Source: "balance", Password: r.password})
	if err != nil {
		return fail("POST /v1/payments: %v", err)
	}
	if t.Status != walletctl.TxnSucceeded || t.Amount != 30_00 {
		return fail("payment answered %s %d; want succeeded 3000", t.Status, t.Amount)
	}
	r.balance -= 30_00
	if msg := r.checkBalance(ctx, r.balance); msg != "" {
		return fail("after paying %s: %s", r.merchant, msg)
	}
	got, err := r.w.Transaction(ctx, r.user.ID, t.ID)
	if err != nil || got.ID != t.ID {
		return fail("GET the payment back: %v", err)
	}
	sum := int64(0)
	for _, p := range got.Postings {
		sum += p.Amount
	}
	if len(got.Postings) == 0 || sum != 0 {
		return fail("the payment's postings %v do not balance to zero", got.Postings)
	}
	return pass("paid %s 30.00 CNY from the balance; its postings sum to zero", r.merchant)
}

func (r *walletRun) insufficient(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	if r.merchant == "" {
		return na("needs %s", CheckWPay)
	}
	_, err := r.w.Pay(ctx, walletctl.PayRequest{UserID: r.user.ID, Merchant: r.merchant, Amount: r.balance + 1, Source: "balance", Password: r.password})
	if msg := r.expectW(err, walletctl.CodeInsufficientBalance); msg != "" {
		return fail("paying one fen more than the balance: %s", msg)
	}
	return pass("one fen over the balance is INSUFFICIENT_BALANCE across the wire")
}

func (r *walletRun) transfer(ctx context.Context) (Status, string) {
	if st, d, stop := r.stopped(); stop {
		return st, d
	}
	u2, err := r.w.Register(ctx, r.cust2.Phone)
	if err == nil {
		_, err = r.w.SubmitKYC(ctx, u2.ID, r.cust2.Name, r.cust2.IDNo)
	}
	if err != nil {
		return fail("registering and verifying the payee: %v", err)
	}
	r.user2 = u2
	tr, err := r.w.Transfer(ctx, walletctl.TransferRequest{UserID: r.user.ID, To: u2.ID, Amount: 10_00, Delay: "none", Password: r.password})
	if err != nil {
		return fail("POST /v1/transfers: %v", err)
	}
	if tr.Status != walletctl.TransferArrived || tr.Amount != 10_00 || tr.To != u2.ID {
		return fail("transfer answered %s %d to %s; want arrived 1000 to %s", tr.Status, tr.Amount, tr.To, u2.ID)
	}
	acc, err := r.w.AcceptTransfer(ctx, u2.ID, tr.ID)
	if err != nil || acc.Status != walletctl.TransferAccepted {
		return fail("the payee accepting it: %v", err)
	}
	r.balance -= 10_00
	if msg := r.checkBalance(ctx, r.balance); msg != "" {
		return fail("the payer after the transfer: %s", msg)
	}
	b2, err := r.w.Balance(ctx, u2.ID)
	if err != nil || b2.Available != 10_00 {
		return fail("the payee after accepting: %v %v", b2, err)
	}
	return pass("sent 10.00 CNY to %s, accepted; both balances follow", u2.ID)
}

func (r *walletRun) notFound(ctx context.Context) (Status, string) {
	if r.why == "the API key given is not accepted" {
		return na("%s", r.why)
	}
	_, err := r.w.User(ctx, "u"+r.cfg.RunID+"999")
	if msg := r.expectW(err, walletctl.CodeNotFound); msg != "" {
		return fail("GET an unknown user: %s", msg)
	}
	return pass("an unknown user is NOT_FOUND across the wire")
}
