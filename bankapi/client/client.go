// Package client speaks the bank-adapter protocol (package bankapi) over HTTP. *Client implements
// bankapi.API and bankapi.Admin with the same results as the in-process engine.
//
// Failures are always *bankapi.Error. Anything that leaves the caller not knowing whether the bank
// did the work — a refused, dropped, hung or timed-out connection, an unparseable body — is
// OUTCOME_UNKNOWN (resp "03" when the connection failed before an answer, "05" otherwise), never
// a plain failure: the caller must query the transaction by its idempotency key, not guess. The
// one exception is a connection that could not be made at all (refused, no route, unknown host):
// nothing was sent, so it is ISSUER_UNAVAILABLE (resp "91", not processed, safe to retry) and
// errors.Is(err, bankapi.ErrNotSent) — unless an earlier attempt of the same call may have been
// sent, in which case it stays OUTCOME_UNKNOWN.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/cnid"
)

// Options configure a Client. The zero value is usable.
type Options struct {
	// HTTPClient sends the requests (default: a client with its own keep-alive transport).
	HTTPClient *http.Client
	// Timeout bounds each attempt (default 5s). A request that runs out of time is OUTCOME_UNKNOWN.
	Timeout time.Duration
	// Retries is how many times a debit or credit is re-sent, with the same idempotency key, after
	// OUTCOME_UNKNOWN or ISSUER_UNAVAILABLE (default 0). GETs always retry up to max(2, Retries)
	// times on transport errors; other writes (verify, bind, confirm, unbind, admin) never retry.
	// Negative disables every retry.
	Retries int
	// Backoff is the pause before retry n (n*Backoff; default 50ms).
	Backoff time.Duration
	// PartnerKey is who this client is at the bank: sent as "Authorization: Bearer <key>" on every
	// protocol request and on the partner-level helpers (OTP, journal, faults, reading the clock),
	// which then answer for this partner's own things. Empty: the bank's default partner, and the
	// helpers bank-wide.
	PartnerKey string
	// AdminToken is sent as "Authorization: Bearer <token>" on the bank-wide admin routes
	// (customers, partners, reset, snapshot), and on the partner-level helpers (the clock
	// included) when there is no PartnerKey.
	AdminToken string
	// Fault, for tests, is sent as X-Bankmock-Fault on every protocol request.
	Fault string
}

// Client is a bank-adapter protocol client. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
	opts Options
}

var (
	_ bankapi.API              = (*Client)(nil)
	_ bankapi.Admin            = (*Client)(nil)
	_ bankapi.IdentityRegistry = (*Client)(nil)
)

// New returns a client for the bankmock server at baseURL (e.g. "http://127.0.0.1:8086").
func New(baseURL string, opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 50 * time.Millisecond
	}
	hc := opts.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// A wallet talks to one bank host a lot; keep enough idle connections for parallel callers.
		t.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: t}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc, opts: opts}
}

// BaseURL is the server the client talks to.
func (c *Client) BaseURL() string { return c.base }

type faultKey struct{}

// WithFault makes the one call made with ctx carry "X-Bankmock-Fault: spec".
func WithFault(ctx context.Context, spec string) context.Context {
	return context.WithValue(ctx, faultKey{}, spec)
}

// scope says which credential a request carries.
type scope int

const (
	protocol  scope = iota // the partner key
	helper                 // the partner key, else the admin token
	bankAdmin              // the admin token
)

// call describes one request.
type call struct {
	method string
	path   string // already escaped
	query  url.Values
	body   any    // JSON-encoded; nil for none
	raw    []byte // sent as is (snapshot restore)
	key    string // Idempotency-Key
	auth   scope  // which credential the request carries
	// retries on transport errors and, for idempotent writes, on ISSUER_UNAVAILABLE.
	retries     int
	retryIssuer bool
	out         any  // decoded from a 2xx body; nil to ignore it
	rawOut      bool // out is *[]byte, filled with the body as is
}

func (c *Client) getRetries() int {
	if c.opts.Retries < 0 {
		return 0
	}
	return max(2, c.opts.Retries)
}

func (c *Client) writeRetries() int { return max(0, c.opts.Retries) }

func (c *Client) do(ctx context.Context, cl call) error {
	var payload []byte
	if cl.raw != nil {
		payload = cl.raw
	} else if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return &bankapi.Error{Code: bankapi.CodeInvalidRequest, RespCode: "30", Message: "encode request: " + err.Error()}
		}
	}
	var err error
	maybeSent := false // an earlier attempt may have reached the bank
	for attempt := 0; ; attempt++ {
		err = c.once(ctx, cl, payload)
		if maybeSent && errors.Is(err, bankapi.ErrNotSent) {
			// This attempt sent nothing, but an earlier one may have been processed.
			err = &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, RespCode: "03",
				Message: fmt.Sprintf("%s %s: could not connect on retry after an unanswered attempt (%v); query the outcome later", cl.method, maskPath(cl.path), err)}
		}
		if err == nil || attempt >= cl.retries || !c.retryable(cl, err) || ctx.Err() != nil {
			return err
		}
		if !errors.Is(err, bankapi.ErrNotSent) {
			maybeSent = true
		}
		t := time.NewTimer(time.Duration(attempt+1) * c.opts.Backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (c *Client) retryable(cl call, err error) bool {
	e, ok := bankapi.AsError(err)
	if !ok {
		return false
	}
	return e.Code == bankapi.CodeOutcomeUnknown || (cl.retryIssuer && e.Code == bankapi.CodeIssuerUnavailable)
}

// once sends one attempt and maps every failure to *bankapi.Error.
func (c *Client) once(parent context.Context, cl call, payload []byte) error {
	ctx, cancel := context.WithTimeout(parent, c.opts.Timeout)
	defer cancel()
	u := c.base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return &bankapi.Error{Code: bankapi.CodeInvalidRequest, RespCode: "30", Message: "build request: " + err.Error()}
	}
	// Without GetBody net/http will not silently re-send a POST on a reused connection that died:
	// re-sending is this client's decision (Retries), not the transport's.
	req.GetBody = nil
	if payload != nil {
		if cl.raw != nil {
			req.Header.Set("Content-Type", "application/octet-stream")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	req.Header.Set("Accept", "application/json")
	if cl.key != "" {
		req.Header.Set(bankapi.HeaderIdempotencyKey, cl.key)
	}
	if cred := c.credential(cl.auth); cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	if cl.auth == protocol {
		if spec, ok := parent.Value(faultKey{}).(string); ok && spec != "" {
			req.Header.Set(bankapi.HeaderFault, spec)
		} else if c.opts.Fault != "" {
			req.Header.Set(bankapi.HeaderFault, c.opts.Fault)
		}
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return transportError(cl, err, "")
	}
	defer resp.Body.Close()
	fired := resp.Header.Get(bankapi.HeaderFaultFired)
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return transportError(cl, err, fired)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if resp.StatusCode == http.StatusNoContent {
			return nil
		}
		if cl.out == nil {
			// No answer expected (204), yet a body came: unless it is JSON, it is a garbled answer
			// and the outcome is not known.
			if len(bytes.TrimSpace(data)) == 0 || json.Valid(data) {
				return nil
			}
			return &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, RespCode: "05", Fault: fired,
				Message: fmt.Sprintf("%s %s: unreadable answer; query the outcome later", cl.method, maskPath(cl.path))}
		}
		if cl.rawOut {
			*(cl.out.(*[]byte)) = data
			return nil
		}
		if err := json.Unmarshal(data, cl.out); err != nil {
			return &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, RespCode: "05", Fault: fired,
				Message: fmt.Sprintf("%s %s: unreadable answer (%v); query the outcome later", cl.method, maskPath(cl.path), err)}
		}
		return nil
	}
	var eb struct {
		Error *bankapi.Error `json:"error"`
	}
	if json.Unmarshal(data, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
		if eb.Error.Fault == "" {
			eb.Error.Fault = fired
		}
		return eb.Error
	}
	// An error status without our error body: a proxy, or a server that is not bankmock. Whether
	// anything was processed is unknowable.
	return &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, RespCode: "05", Fault: fired,
		Message: fmt.Sprintf("%s %s: HTTP %d without an error body; query the outcome later", cl.method, maskPath(cl.path), resp.StatusCode)}
}

func (c *Client) credential(sc scope) string {
	switch {
	case sc == bankAdmin:
		return c.opts.AdminToken
	case c.opts.PartnerKey != "":
		return c.opts.PartnerKey
	case sc == helper:
		return c.opts.AdminToken
	}
	return ""
}

// notSentError is ISSUER_UNAVAILABLE for a request that never left: no connection could be made.
// It is a *bankapi.Error (errors.As) and bankapi.ErrNotSent (errors.Is), and keeps the cause.
type notSentError struct {
	be    *bankapi.Error
	cause error
}

func (e *notSentError) Error() string   { return e.be.Error() }
func (e *notSentError) Unwrap() []error { return []error{e.be, bankapi.ErrNotSent, e.cause} }

// transportError maps a failed exchange. A connection that could not be made (the dial failed:
// refused, no route, unknown host, or no TCP handshake before the deadline) sent nothing:
// ISSUER_UNAVAILABLE "91", not processed, with bankapi.ErrNotSent. net/http never re-sends a
// request on another connection here (GetBody is nil), so a dial error means this attempt wrote
// nothing. Anything else is OUTCOME_UNKNOWN "05": the request went out (or may have) and the
// answer did not come back.
func transportError(cl call, err error, fired string) error {
	var op *net.OpError
	var dns *net.DNSError
	if (errors.As(err, &op) && op.Op == "dial") || errors.As(err, &dns) {
		return &notSentError{cause: err, be: &bankapi.Error{Code: bankapi.CodeIssuerUnavailable, RespCode: "91", Fault: fired,
			Message: fmt.Sprintf("%s %s: could not connect (%s); nothing was sent, safe to retry", cl.method, maskPath(cl.path), describe(err))}}
	}
	var ne net.Error
	what := "connection lost"
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		what = "timed out"
	} else if errors.Is(err, context.Canceled) {
		what = "cancelled"
	}
	return &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, RespCode: "05", Fault: fired,
		Message: fmt.Sprintf("%s %s: %s (%s); query the outcome later", cl.method, maskPath(cl.path), what, describe(err))}
}

// describe keeps the useful tail of a net/http error without the URL (which may hold a card number).
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return cnid.MaskDigits(err.Error())
}

func maskPath(p string) string { return cnid.MaskDigits(p) }

func esc(s string) string { return url.PathEscape(s) }

// ---- bankapi.API ----

// Banks implements bankapi.API.
func (c *Client) Banks(ctx context.Context) ([]bankapi.BankInfo, error) {
	var v []bankapi.BankInfo
	err := c.do(ctx, call{method: "GET", path: "/v1/banks", retries: c.getRetries(), out: &v})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Verify implements bankapi.API.
func (c *Client) Verify(ctx context.Context, req bankapi.CardRequest) (*bankapi.VerifyResult, error) {
	var v bankapi.VerifyResult
	if err := c.do(ctx, call{method: "POST", path: "/v1/cards/verify", body: req, out: &v}); err != nil {
		return nil, err
	}
	return &v, nil
}

// CreateBinding implements bankapi.API.
func (c *Client) CreateBinding(ctx context.Context, req bankapi.CardRequest) (*bankapi.Binding, error) {
	var v bankapi.Binding
	if err := c.do(ctx, call{method: "POST", path: "/v1/bindings", body: req, out: &v}); err != nil {
		return nil, err
	}
	return &v, nil
}

// ConfirmBinding implements bankapi.API.
func (c *Client) ConfirmBinding(ctx context.Context, bindingID, otp string) (*bankapi.Agreement, error) {
	var v bankapi.Agreement
	err := c.do(ctx, call{method: "POST", path: "/v1/bindings/" + esc(bindingID) + "/confirm",
		body: struct {
			OTP string `json:"otp"`
		}{otp}, out: &v})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Unbind implements bankapi.API.
func (c *Client) Unbind(ctx context.Context, agreement string) error {
	return c.do(ctx, call{method: "DELETE", path: "/v1/agreements/" + esc(agreement)})
}

// Debit implements bankapi.API. With Retries > 0 an unknown outcome is re-sent with the same key,
// which the bank answers with the first outcome.
func (c *Client) Debit(ctx context.Context, idempotencyKey string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return c.money(ctx, "/v1/debits", idempotencyKey, req)
}

// Credit implements bankapi.API.
func (c *Client) Credit(ctx context.Context, idempotencyKey string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return c.money(ctx, "/v1/credits", idempotencyKey, req)
}

func (c *Client) money(ctx context.Context, path, key string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	if key == "" {
		return nil, &bankapi.Error{Code: bankapi.CodeInvalidRequest, RespCode: "30", Message: "idempotency key is required"}
	}
	var v bankapi.Transaction
	err := c.do(ctx, call{method: "POST", path: path, key: key, body: req, out: &v,
		retries: c.writeRetries(), retryIssuer: true})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Transaction implements bankapi.API.
func (c *Client) Transaction(ctx context.Context, idempotencyKey string) (*bankapi.Transaction, error) {
	var v bankapi.Transaction
	err := c.do(ctx, call{method: "GET", path: "/v1/transactions/" + esc(idempotencyKey), retries: c.getRetries(), out: &v})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Statement implements bankapi.API.
func (c *Client) Statement(ctx context.Context, date string) (*bankapi.Statement, error) {
	var v bankapi.Statement
	err := c.do(ctx, call{method: "GET", path: "/v1/statements/" + esc(date), retries: c.getRetries(), out: &v})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// CheckIdentity implements bankapi.IdentityRegistry: POST /v1/identities/verify, as this
// client's partner (it changes nothing, so it is retried like a read).
func (c *Client) CheckIdentity(ctx context.Context, req bankapi.IdentityCheck) (*bankapi.IdentityResult, error) {
	var v bankapi.IdentityResult
	if err := c.do(ctx, call{method: "POST", path: "/v1/identities/verify", body: req, out: &v, retries: c.getRetries()}); err != nil {
		return nil, err
	}
	return &v, nil
}

// Health calls GET /healthz.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, call{method: "GET", path: "/healthz", retries: c.getRetries()})
}

// ---- bankapi.Admin ----

func (c *Client) adminGet(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, call{method: "GET", path: path, query: q, auth: bankAdmin, retries: c.getRetries(), out: out})
}

func (c *Client) helperGet(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, call{method: "GET", path: path, query: q, auth: helper, retries: c.getRetries(), out: out})
}

// Customers implements bankapi.Admin: one page, in the catalogue's order. Every partner may read
// the customers (the bank's test identities): the partner key, else the admin token, as a helper.
func (c *Client) Customers(ctx context.Context, p bankapi.Page) (*bankapi.List[bankapi.Customer], error) {
	var v bankapi.List[bankapi.Customer]
	if err := c.helperGet(ctx, "/admin/customers", p.Query(), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Customer implements bankapi.Admin.
func (c *Client) Customer(ctx context.Context, cardNo string) (*bankapi.Customer, error) {
	var v bankapi.Customer
	if err := c.helperGet(ctx, "/admin/customers/"+esc(cardNo), nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// AddCustomer implements bankapi.Admin.
func (c *Client) AddCustomer(ctx context.Context, cust bankapi.Customer) (*bankapi.Customer, error) {
	var v bankapi.Customer
	if err := c.do(ctx, call{method: "POST", path: "/admin/customers", auth: bankAdmin, body: cust, out: &v}); err != nil {
		return nil, err
	}
	return &v, nil
}

// GenerateCustomers implements bankapi.Admin.
func (c *Client) GenerateCustomers(ctx context.Context, n int) ([]bankapi.Customer, error) {
	var v []bankapi.Customer
	err := c.do(ctx, call{method: "POST", path: "/admin/customers", auth: bankAdmin,
		body: struct {
			Generate int `json:"generate"`
		}{n}, out: &v})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// SetBalance implements bankapi.Admin.
func (c *Client) SetBalance(ctx context.Context, cardNo string, balance int64) error {
	return c.do(ctx, call{method: "PATCH", path: "/admin/customers/" + esc(cardNo), auth: bankAdmin,
		body: struct {
			Balance int64 `json:"balance"`
		}{balance}})
}

// SetCardStatus implements bankapi.Admin.
func (c *Client) SetCardStatus(ctx context.Context, cardNo string, status bankapi.CardStatus) error {
	return c.do(ctx, call{method: "PATCH", path: "/admin/customers/" + esc(cardNo), auth: bankAdmin,
		body: struct {
			Status bankapi.CardStatus `json:"status"`
		}{status}})
}

// Faults implements bankapi.Admin.
func (c *Client) Faults(ctx context.Context) ([]bankapi.Fault, error) {
	var v []bankapi.Fault
	if err := c.helperGet(ctx, "/admin/faults", nil, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// AddFault implements bankapi.Admin.
func (c *Client) AddFault(ctx context.Context, f bankapi.Fault) (*bankapi.Fault, error) {
	var v bankapi.Fault
	// Only the create fields (FaultCreate): id, source and the counters are the bank's, and the
	// bank refuses a body that carries them.
	body := bankapi.NewFaultCreate(f)
	if err := c.do(ctx, call{method: "POST", path: "/admin/faults", auth: helper, body: body, out: &v}); err != nil {
		return nil, err
	}
	return &v, nil
}

// AddFaultSpec adds a fault rule written in the header's syntax ("drop_after;op=debit;first=1").
func (c *Client) AddFaultSpec(ctx context.Context, spec string) (*bankapi.Fault, error) {
	var v bankapi.Fault
	err := c.do(ctx, call{method: "POST", path: "/admin/faults", auth: helper,
		body: struct {
			Spec string `json:"spec"`
		}{spec}, out: &v})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// DeleteFault implements bankapi.Admin.
func (c *Client) DeleteFault(ctx context.Context, id string) error {
	return c.do(ctx, call{method: "DELETE", path: "/admin/faults/" + esc(id), auth: helper})
}

// ClearFaults implements bankapi.Admin.
func (c *Client) ClearFaults(ctx context.Context) error {
	return c.do(ctx, call{method: "DELETE", path: "/admin/faults", auth: helper})
}

// LastOTP implements bankapi.Admin.
func (c *Client) LastOTP(ctx context.Context, phone string) (string, error) {
	var v struct {
		OTP string `json:"otp"`
	}
	if err := c.helperGet(ctx, "/admin/otp", url.Values{"phone": {phone}}, &v); err != nil {
		return "", err
	}
	return v.OTP, nil
}

// Journal implements bankapi.Admin: one page, newest first.
func (c *Client) Journal(ctx context.Context, p bankapi.Page) (*bankapi.List[bankapi.JournalEntry], error) {
	var v bankapi.List[bankapi.JournalEntry]
	if err := c.helperGet(ctx, "/admin/journal", p.Query(), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

type clockBody struct {
	Now time.Time `json:"now"`
}

// Now implements bankapi.Admin.
func (c *Client) Now(ctx context.Context) (time.Time, error) {
	var v clockBody
	if err := c.helperGet(ctx, "/admin/clock", nil, &v); err != nil {
		return time.Time{}, err
	}
	return v.Now, nil
}

// Advance implements bankapi.Admin. With a PartnerKey it moves only that partner's own clock
// (DESIGN section 10); with the admin token alone, the bank's, and every partner's with it.
func (c *Client) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	var v clockBody
	err := c.do(ctx, call{method: "POST", path: "/admin/clock", auth: helper,
		body: struct {
			Advance string `json:"advance"`
		}{d.String()}, out: &v})
	if err != nil {
		return time.Time{}, err
	}
	return v.Now, nil
}

// Reset implements bankapi.Admin.
func (c *Client) Reset(ctx context.Context) error {
	return c.do(ctx, call{method: "POST", path: "/admin/reset", auth: bankAdmin})
}

// Snapshot implements bankapi.Admin.
func (c *Client) Snapshot(ctx context.Context) ([]byte, error) {
	var b []byte
	err := c.do(ctx, call{method: "GET", path: "/admin/snapshot", auth: bankAdmin, retries: c.getRetries(), out: &b, rawOut: true})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Restore implements bankapi.Admin.
func (c *Client) Restore(ctx context.Context, snapshot []byte) error {
	if len(snapshot) == 0 {
		return &bankapi.Error{Code: bankapi.CodeInvalidRequest, RespCode: "30", Message: "empty snapshot"}
	}
	return c.do(ctx, call{method: "PUT", path: "/admin/snapshot", auth: bankAdmin, raw: snapshot})
}

// CreatePartner implements bankapi.Admin: POST /admin/partners (bank-wide admin).
func (c *Client) CreatePartner(ctx context.Context, name string) (*bankapi.PartnerCredentials, error) {
	var v bankapi.PartnerCredentials
	err := c.do(ctx, call{method: "POST", path: "/admin/partners", auth: bankAdmin,
		body: struct {
			Name string `json:"name"`
		}{name}, out: &v})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Partners implements bankapi.Admin: GET /admin/partners (bank-wide admin).
func (c *Client) Partners(ctx context.Context) ([]bankapi.Partner, error) {
	var v []bankapi.Partner
	if err := c.adminGet(ctx, "/admin/partners", nil, &v); err != nil {
		return nil, err
	}
	return v, nil
}
