package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/vclock"
)

// Partner checks (protocol v2, DESIGN section 6). They run when the kit can create partners
// (POST /admin/partners with the admin token, or from loopback on a bank without one).
const (
	CheckPartnerWrongKey     = "partner.wrong-key"
	CheckPartnerIdempotency  = "partner.idempotency-scoped"
	CheckPartnerAgreement    = "partner.agreement-scoped"
	CheckPartnerQueries      = "partner.queries-scoped"
	CheckPartnerAdminRefused = "partner.admin-refused"
)

// PartnerChecks are the partner checks, in report order (the last ones of BankChecks).
var PartnerChecks = []string{CheckPartnerWrongKey, CheckPartnerIdempotency, CheckPartnerAgreement, CheckPartnerQueries, CheckPartnerAdminRefused}

// partnerSide is one partner the kit created: its credentials, a client speaking as it, and the
// agreement it holds on the shared staged card.
type partnerSide struct {
	creds *bankapi.PartnerCredentials
	c     *client.Client
	agr   string
}

// partners is what the partner checks share; made by the first of them.
type partners struct {
	a, b   *partnerSide
	card   *bankapi.Customer
	status Status // NA or Fail when a, b could not be set up
	why    string
}

// partnerClient is a client acting as the partner with that key, through the kit's recorder.
func (r *bankRun) partnerClient(key string) *client.Client {
	return client.New(r.cfg.URL, client.Options{HTTPClient: r.hc, Timeout: r.cfg.Timeout, PartnerKey: key, Retries: -1})
}

// setupPartners creates partners A and B, stages one card and binds it for each of them.
func (r *bankRun) setupPartners(ctx context.Context) *partners {
	if r.ps != nil {
		return r.ps
	}
	ps := &partners{}
	r.ps = ps
	if st, d, ok := needAdmin(r); !ok {
		ps.status, ps.why = st, d
		return ps
	}
	var sides []*partnerSide
	for _, name := range []string{"A", "B"} {
		pc, err := r.c.CreatePartner(ctx, "conformance "+r.cfg.RunID+" "+name)
		if err != nil {
			ps.status, ps.why = NA, "the kit cannot create partners (POST /admin/partners: "+err.Error()+")"
			return ps
		}
		if pc.ID == "" || pc.Key == "" {
			ps.status, ps.why = Fail, "POST /admin/partners answered without partner_id or key"
			return ps
		}
		sides = append(sides, &partnerSide{creds: pc, c: r.partnerClient(pc.Key)})
	}
	if sides[0].creds.ID == sides[1].creds.ID || sides[0].creds.Key == sides[1].creds.Key {
		ps.status, ps.why = Fail, "two partners got the same id or key"
		return ps
	}
	b := r.onlineBank(func(b bankapi.BankInfo) bool { return b.SingleLimit >= mainBalance })
	if b == nil {
		ps.status, ps.why = NA, "no online-binding bank with a single limit of at least 100 CNY"
		return ps
	}
	card, err := r.stage(ctx, b.Code, mainBalance)
	if err != nil {
		ps.status, ps.why = Fail, "staging a card for the partners: "+err.Error()
		return ps
	}
	for i, s := range sides {
		a, err := bindAs(ctx, s.c, card)
		if err != nil {
			ps.status, ps.why = Fail, fmt.Sprintf("partner %s binding the staged card: %v", s.creds.ID, err)
			return ps
		}
		s.agr = a.Agreement
		if i == 1 && s.agr == sides[0].agr {
			ps.status, ps.why = Fail, "two partners binding one card got the same agreement token "+s.agr
			return ps
		}
	}
	ps.a, ps.b, ps.card = sides[0], sides[1], card
	return ps
}

// bindAs binds card through the full OTP flow as the partner c speaks for.
func bindAs(ctx context.Context, c *client.Client, card *bankapi.Customer) (*bankapi.Agreement, error) {
	b, err := c.CreateBinding(ctx, cardReq(card))
	if err != nil {
		return nil, fmt.Errorf("POST /v1/bindings: %w", err)
	}
	otp, err := c.LastOTP(ctx, card.Phone)
	if err != nil {
		return nil, fmt.Errorf("GET /admin/otp with the partner key: %w", err)
	}
	a, err := c.ConfirmBinding(ctx, b.BindingID, otp)
	if err != nil {
		return nil, fmt.Errorf("POST /v1/bindings/{id}/confirm: %w", err)
	}
	return a, nil
}

func (r *bankRun) needPartners(ctx context.Context) (*partners, Status, string) {
	ps := r.setupPartners(ctx)
	if ps.a == nil {
		return nil, ps.status, ps.why
	}
	return ps, "", ""
}

func (r *bankRun) partnerWrongKey(ctx context.Context) (Status, string) {
	ps, st, d := r.needPartners(ctx)
	if ps == nil {
		return st, d
	}
	wrong := r.partnerClient(ps.a.creds.Key + "x")
	_, err := wrong.Banks(ctx)
	if msg := r.expectErr(err, bankapi.CodeUnauthenticated); msg != "" {
		return fail("GET /v1/banks with a wrong partner key: %s", msg)
	}
	key := r.key("wrong-key")
	_, err = wrong.Debit(ctx, key, bankapi.MoneyRequest{Agreement: ps.a.agr, Amount: 1_00, Currency: bankapi.Currency})
	if msg := r.expectErr(err, bankapi.CodeUnauthenticated); msg != "" {
		return fail("POST /v1/debits with a wrong partner key: %s", msg)
	}
	_, err = ps.a.c.Transaction(ctx, key)
	if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
		return fail("partner A's query of the debit refused for a wrong key: %s (it must not have been processed)", msg)
	}
	return pass("a wrong partner key is UNAUTHENTICATED with HTTP 401, and a debit sent with it is not processed")
}

func (r *bankRun) partnerIdempotency(ctx context.Context) (Status, string) {
	ps, st, d := r.needPartners(ctx)
	if ps == nil {
		return st, d
	}
	key := r.key("partner-same")
	ta, err := ps.a.c.Debit(ctx, key, bankapi.MoneyRequest{Agreement: ps.a.agr, Amount: 1_00, Currency: bankapi.Currency})
	if err != nil {
		return fail("partner A's debit: %v", err)
	}
	tb, err := ps.b.c.Debit(ctx, key, bankapi.MoneyRequest{Agreement: ps.b.agr, Amount: 2_00, Currency: bankapi.Currency})
	if err != nil {
		return fail("partner B's debit with the idempotency key partner A used: %v (keys are scoped per partner)", err)
	}
	if ta.TxnID == tb.TxnID || tb.Amount != 2_00 || tb.Agreement != ps.b.agr {
		return fail("partner B's debit with A's key answered A's transaction (%s, %d fen, %s)", tb.TxnID, tb.Amount, tb.Agreement)
	}
	for _, x := range []struct {
		who  string
		c    *client.Client
		want *bankapi.Transaction
	}{{"A", ps.a.c, ta}, {"B", ps.b.c, tb}} {
		q, err := x.c.Transaction(ctx, key)
		if err != nil {
			return fail("partner %s's query of the shared key: %v", x.who, err)
		}
		if q.TxnID != x.want.TxnID || q.Amount != x.want.Amount || q.Agreement != x.want.Agreement {
			return fail("partner %s's query of the shared key answered %s (%d fen), want its own %s (%d fen)", x.who, q.TxnID, q.Amount, x.want.TxnID, x.want.Amount)
		}
	}
	return pass("one idempotency key from partners A and B: two transactions (%s, %s), each partner's query answers its own", ta.TxnID, tb.TxnID)
}

func (r *bankRun) partnerAgreement(ctx context.Context) (Status, string) {
	ps, st, d := r.needPartners(ctx)
	if ps == nil {
		return st, d
	}
	b, err := ps.a.c.CreateBinding(ctx, cardReq(ps.card))
	if err != nil {
		return fail("partner A's binding: %v", err)
	}
	otp, err := ps.a.c.LastOTP(ctx, ps.card.Phone)
	if err != nil {
		return fail("partner A's OTP: %v", err)
	}
	_, err = ps.b.c.ConfirmBinding(ctx, b.BindingID, otp)
	if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
		return fail("partner B confirming partner A's binding (with A's OTP): %s", msg)
	}
	req := bankapi.MoneyRequest{Agreement: ps.a.agr, Amount: 1_00, Currency: bankapi.Currency}
	_, err = ps.b.c.Debit(ctx, r.key("b-debits-a"), req)
	if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
		return fail("partner B debiting partner A's agreement: %s", msg)
	}
	_, err = r.c.Debit(ctx, r.key("anon-debits-a"), req)
	if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
		return fail("a debit without credentials quoting partner A's agreement: %s", msg)
	}
	err = ps.b.c.Unbind(ctx, ps.a.agr)
	if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
		return fail("partner B unbinding partner A's agreement: %s", msg)
	}
	if _, err := ps.a.c.Debit(ctx, r.key("a-after"), req); err != nil {
		return fail("partner A's debit after B's attempts: %v (B's unbind must not have ended it)", err)
	}
	return pass("partner A's binding and agreement are NOT_FOUND (25) for partner B (confirm, debit, unbind) and for a caller without credentials; A's agreement still works")
}

func (r *bankRun) partnerQueries(ctx context.Context) (Status, string) {
	ps, st, d := r.needPartners(ctx)
	if ps == nil {
		return st, d
	}
	ka, kb := r.key("partner-a"), r.key("partner-b")
	ta, err := ps.a.c.Debit(ctx, ka, bankapi.MoneyRequest{Agreement: ps.a.agr, Amount: 1_00, Currency: bankapi.Currency})
	if err != nil {
		return fail("partner A's debit: %v", err)
	}
	if _, err := ps.b.c.Debit(ctx, kb, bankapi.MoneyRequest{Agreement: ps.b.agr, Amount: 1_00, Currency: bankapi.Currency}); err != nil {
		return fail("partner B's debit: %v", err)
	}
	for _, x := range []struct {
		what string
		c    *client.Client
		key  string
	}{{"partner A's query of B's key", ps.a.c, kb}, {"partner B's query of A's key", ps.b.c, ka}, {"a query without credentials of A's key", r.c, ka}} {
		_, err := x.c.Transaction(ctx, x.key)
		if msg := r.expectErr(err, bankapi.CodeNotFound, "25"); msg != "" {
			return fail("%s: %s", x.what, msg)
		}
	}
	date := vclock.Day(ta.Time)
	listed := func(c *client.Client) (map[string]bool, error) {
		s, err := c.Statement(ctx, date)
		if err != nil {
			return nil, err
		}
		m := map[string]bool{}
		for _, t := range s.Transactions {
			m[t.IdempotencyKey+"|"+t.TxnID] = true
			m[t.IdempotencyKey] = true
		}
		return m, nil
	}
	sa, err := listed(ps.a.c)
	if err != nil {
		return fail("partner A's statement: %v", err)
	}
	if !sa[ka] || sa[kb] {
		return fail("partner A's statement of %s: its own debit listed %v, B's listed %v", date, sa[ka], sa[kb])
	}
	if leaked := slices.IndexFunc(r.okKeys, func(k string) bool { return sa[k] }); leaked >= 0 {
		return fail("partner A's statement lists %s, a transaction of the caller without credentials", r.okKeys[leaked])
	}
	sd, err := listed(r.c)
	if err != nil {
		return fail("the statement without credentials: %v", err)
	}
	if sd[ka] || sd[kb] {
		return fail("the statement of a caller without credentials lists partner transactions")
	}
	return pass("transaction queries and statements show only the caller's own transactions (partners A, B and a caller without credentials)")
}

func (r *bankRun) partnerAdminRefused(ctx context.Context) (Status, string) {
	ps, st, d := r.needPartners(ctx)
	if ps == nil {
		return st, d
	}
	auth := map[string]string{"Authorization": "Bearer " + ps.a.creds.Key}
	for _, path := range []string{"/admin/partners", "/admin/snapshot"} {
		status, body, err := r.raw(ctx, "GET", path, nil, auth)
		if err != nil {
			return fail("GET %s with a partner key: %v", path, err)
		}
		var eb struct {
			Error *bankapi.Error `json:"error"`
		}
		if status != http.StatusForbidden || json.Unmarshal(body, &eb) != nil || eb.Error == nil || eb.Error.Code != bankapi.CodeUnauthorized {
			return fail("GET %s with a partner key: HTTP %d %.200s; want 403 UNAUTHORIZED (bank-wide admin needs the admin token)", path, status, body)
		}
	}
	// The customers are the bank's test identities: every partner reads them (changing them is
	// the admin's), so that a partner's own tests can pick a card, as flow open-wallet does.
	status, body, err := r.raw(ctx, "GET", "/admin/customers?limit=1", nil, auth)
	if err != nil {
		return fail("GET /admin/customers with a partner key: %v", err)
	}
	if status != http.StatusOK {
		return fail("GET /admin/customers with a partner key: HTTP %d %.200s; want 200 (partners read the test customers)", status, body)
	}
	return pass("a partner key on bank-wide admin routes (GET /admin/partners, /admin/snapshot) is 403 UNAUTHORIZED; it reads the customers")
}
