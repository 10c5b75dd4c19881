package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	bankclient "github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/walletctl"
)

// ClientOptions configure a Client. The zero value is usable.
type ClientOptions struct {
	// HTTPClient sends the requests (default: one with its own keep-alive transport).
	HTTPClient *http.Client
	// Timeout bounds each request (default 30s: a wallet call may wait for a slow bank).
	Timeout time.Duration
	// BusyRetries is how many times a request answered SERVER_BUSY (503 with Retry-After: the
	// tenant's queue was full, nothing was run) is sent again after the wait the server asked
	// for, with the same Idempotency-Key. 0 means 3; negative means never.
	BusyRetries int
}

// maxBusyWait caps a server's Retry-After, so that a command never sleeps for long.
const maxBusyWait = 5 * time.Second

// Client implements walletctl.Service over the wallet API of `walletctl serve`. Errors come back
// as *walletctl.Error with the server's code, message, hint and details.
type Client struct {
	base        string
	key         string
	hc          *http.Client
	busyRetries int
}

var _ walletctl.Service = (*Client)(nil)

// NewClient returns a client of the server at baseURL acting for the tenant of apiKey.
func NewClient(baseURL, apiKey string, opts ClientOptions) *Client {
	hc := opts.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: t}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if hc.Timeout == 0 {
		c := *hc
		c.Timeout = opts.Timeout
		hc = &c
	}
	switch {
	case opts.BusyRetries == 0:
		opts.BusyRetries = 3
	case opts.BusyRetries < 0:
		opts.BusyRetries = 0
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), key: apiKey, hc: hc, busyRetries: opts.BusyRetries}
}

// readOnly are the routes that change nothing: a lost answer to one of them is safe to ask again.
func readOnly(rt *Route) bool {
	return rt.Method == http.MethodGet || rt.Op == "PreviewTransfer" || rt.Op == "Order" || rt.Op == "ScanOrder"
}

// bearerTransport adds the tenant's key to every request, protocol and admin alike.
type bearerTransport struct {
	key  string
	next http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.next.RoundTrip(r)
}

// Bank returns a bankmock client of the tenant's bank, served by the wallet server under /v1/bank.
func (c *Client) Bank(timeout time.Duration) *bankclient.Client {
	next := c.hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc := &http.Client{Transport: bearerTransport{c.key, next}}
	return bankclient.New(c.base+"/v1/bank", bankclient.Options{HTTPClient: hc, Timeout: timeout, AdminToken: c.key})
}

// do calls the route of op with path arguments args (in order), body (nil for none), and decodes
// the answer into out (nil for none). On an error it returns *walletctl.Error and still decodes a
// result the server sent beside the error into out, reporting whether it did.
func (c *Client) do(ctx context.Context, op string, args []string, body, out any) (bool, error) {
	return c.doQuery(ctx, op, args, nil, body, out)
}

// list asks a list route for one page (its query: p and the filters in q).
func list[T any](c *Client, ctx context.Context, op string, args []string, p walletctl.Page, q url.Values) (*walletctl.List[T], error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	query := bankapi.Page(p).Query() // the same query the bank's lists take
	for k, v := range q {
		if len(v) > 0 && v[0] != "" {
			query[k] = v
		}
	}
	out := &walletctl.List[T]{}
	if _, err := c.doQuery(ctx, op, args, query, nil, out); err != nil {
		return nil, err
	}
	if out.Data == nil {
		out.Data = []T{}
	}
	return out, nil
}

// doQuery is do with a query string (nil for none).
func (c *Client) doQuery(ctx context.Context, op string, args []string, query url.Values, body, out any) (bool, error) {
	rt := route(op)
	i := 0
	var missing bool
	path := pathParam.ReplaceAllStringFunc(rt.Path, func(string) string {
		if i >= len(args) {
			missing = true
			return ""
		}
		a := args[i]
		i++
		return url.PathEscape(a)
	})
	if missing {
		panic("httpapi: missing path argument for " + op)
	}
	for _, a := range args {
		// An empty segment would route elsewhere; the engine gives the same answer for "".
		if a == "" || a == "." || a == ".." {
			return false, walletctl.Errorf(walletctl.CodeNotFound, "%s: empty or invalid id %q", op, a)
		}
	}
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return false, err
		}
		payload = b
	}
	for attempt := 0; ; attempt++ {
		got, wait, err := c.once(ctx, rt, path, payload, out)
		if wait == 0 || attempt >= c.busyRetries {
			return got, err
		}
		// SERVER_BUSY: nothing was run, so sending it again is safe (and the key goes with it).
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return got, err
		case <-t.C:
		}
	}
}

// once sends one request of rt. wait > 0 when the server answered SERVER_BUSY with a
// Retry-After: how long it asked the client to wait before sending it again.
func (c *Client) once(ctx context.Context, rt *Route, path string, payload []byte, out any) (got bool, wait time.Duration, err error) {
	op := rt.Op
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	// Whether the whole request reached the server decides what a failure means: before that,
	// nothing can have run (safe to retry); after it, the server may have run it (unknown).
	var sent atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			sent.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), rt.Method, c.base+path, rd)
	if err != nil {
		return false, 0, walletctl.Errorf(walletctl.CodeInvalidArgument, "wallet server URL %q: %v", c.base, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	idem := walletctl.IdempotencyKey(ctx)
	if idem != "" && moneyOps[op] {
		req.Header.Set(HeaderIdempotencyKey, idem)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		switch {
		case sent.Load() && !readOnly(rt):
			return false, 0, c.unknown(rt, idem, err)
		case sent.Load():
			return false, 0, &walletctl.Error{Code: walletctl.CodeNetwork,
				Message: fmt.Sprintf("no answer from the wallet server at %s to %s: %v", c.base, op, errors.Unwrap(err)),
				Hint:    "it changes nothing, so asking again is safe", Err: err}
		}
		if ctx.Err() != nil {
			return false, 0, ctx.Err()
		}
		return false, 0, &walletctl.Error{Code: walletctl.CodeNetwork,
			Message: fmt.Sprintf("cannot reach the wallet server at %s: %v", c.base, errors.Unwrap(err)),
			Hint:    "the request was not sent, so nothing was done: check --backend and that walletctl serve is running, then retry",
			Err:     err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		if !readOnly(rt) {
			return false, 0, c.unknown(rt, idem, err)
		}
		return false, 0, &walletctl.Error{Code: walletctl.CodeNetwork, Message: "the wallet server's answer was cut: " + err.Error(),
			Hint: "nothing was changed by this request: it is safe to retry", Err: err}
	}
	// Success is 200 or 204; every other status carries the error envelope, 202 included (PENDING
	// is an error with its transaction beside it).
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent {
		if out != nil && resp.StatusCode != http.StatusNoContent {
			if err := json.Unmarshal(data, out); err != nil {
				return false, 0, fmt.Errorf("wallet server: bad %s answer: %w", op, err)
			}
		}
		return out != nil, 0, nil
	}
	return errorAnswer(op, resp, data, out)
}

// errorAnswer reads an error answer (any status but 200 and 204): the error envelope, with a
// result beside it decoded into out (got), and, for SERVER_BUSY, the wait the server asked for.
func errorAnswer(op string, resp *http.Response, data []byte, out any) (got bool, wait time.Duration, err error) {
	var env struct {
		Error  *errorBody      `json:"error"`
		Result json.RawMessage `json:"result"`
	}
	if json.Unmarshal(data, &env) != nil || env.Error == nil || env.Error.Code == "" {
		return false, 0, &walletctl.Error{Code: walletctl.CodeInternal,
			Message: fmt.Sprintf("the wallet server answered %s with HTTP %d and no error body", op, resp.StatusCode),
			Hint:    "is --backend the URL of walletctl serve?"}
	}
	e := env.Error
	if e.Code == CodeUnauthenticated {
		// Authentication (exit 7), with the server's words and how to pass the key.
		return false, 0, &walletctl.Error{Code: walletctl.CodeUnauthenticated, Message: "wallet server: " + e.Message,
			Hint: walletctl.Hint(walletctl.CodeUnauthenticated)}
	}
	if e.Code == walletctl.CodeServerBusy {
		wait = time.Second
		if sec, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && sec >= 0 {
			wait = min(time.Duration(sec)*time.Second, maxBusyWait)
		}
		wait = max(wait, time.Millisecond) // > 0: "send it again"
	}
	if out != nil && len(env.Result) > 0 && string(env.Result) != "null" {
		got = json.Unmarshal(env.Result, out) == nil
	}
	return got, wait, &walletctl.Error{Code: e.Code, Message: e.Message, Hint: e.Hint, Details: integral(e.Details).(map[string]any)}
}

// unknown is the error of a request that reached the server but whose answer never came back
// (a timeout, a dropped connection): it may have run. Only the same idempotency key makes a
// retry safe, so the error names it.
func (c *Client) unknown(rt *Route, idem string, cause error) *walletctl.Error {
	e := &walletctl.Error{Code: walletctl.CodeOutcomeUnknown,
		Message: fmt.Sprintf("no answer from the wallet server at %s to %s after the request was sent (%v): it may have run", c.base, rt.Op, errors.Unwrap(cause)),
		Details: map[string]any{"operation": rt.Op}, Err: cause}
	switch {
	case idem != "" && moneyOps[rt.Op]:
		e.Details["idempotency_key"] = idem
		e.Hint = fmt.Sprintf("retry with the same Idempotency-Key %s: the server runs it at most once", idem)
	case moneyOps[rt.Op]:
		e.Hint = "it was sent without an Idempotency-Key, so a retry may run it twice: look at the transactions first (tx list)"
	default:
		e.Hint = "look at the state before retrying: the change may have been made"
	}
	return e
}

// integral turns JSON's float64 numbers back into int64 where they are whole, as the engine put
// them (fen, counts): printed with %v, float64(1000000) would read "1e+06".
func integral(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = integral(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = integral(e)
		}
		return x
	case float64:
		if x == float64(int64(x)) && x >= -(1<<53) && x <= 1<<53 {
			return int64(x)
		}
	}
	return v
}

// one returns out when the server sent it (on success, or beside an error), else nil.
func one[T any](got bool, out *T, err error) (*T, error) {
	if got {
		return out, err
	}
	return nil, err
}

func (c *Client) Register(ctx context.Context, phone string) (*walletctl.User, error) {
	var u walletctl.User
	got, err := c.do(ctx, "Register", nil, RegisterBody{phone}, &u)
	return one(got, &u, err)
}

func (c *Client) User(ctx context.Context, ref string) (*walletctl.User, error) {
	var u walletctl.User
	got, err := c.do(ctx, "User", []string{ref}, nil, &u)
	return one(got, &u, err)
}

func (c *Client) Users(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.User], error) {
	return list[walletctl.User](c, ctx, "Users", nil, p, nil)
}

func (c *Client) SetUserStatus(ctx context.Context, userID string, status walletctl.UserStatus) (*walletctl.User, error) {
	var u walletctl.User
	got, err := c.do(ctx, "SetUserStatus", []string{userID}, StatusBody{status}, &u)
	return one(got, &u, err)
}

func (c *Client) SubmitKYC(ctx context.Context, userID, name, idNo string) (*walletctl.KYC, error) {
	var k walletctl.KYC
	got, err := c.do(ctx, "SubmitKYC", []string{userID}, KYCBody{name, idNo}, &k)
	return one(got, &k, err)
}

func (c *Client) KYCStatus(ctx context.Context, userID string) (*walletctl.KYC, error) {
	var k walletctl.KYC
	got, err := c.do(ctx, "KYCStatus", []string{userID}, nil, &k)
	return one(got, &k, err)
}

func (c *Client) BindCard(ctx context.Context, userID, cardNo, phone string) (*walletctl.CardBinding, error) {
	var b walletctl.CardBinding
	got, err := c.do(ctx, "BindCard", []string{userID}, BindCardBody{cardNo, phone}, &b)
	return one(got, &b, err)
}

func (c *Client) ConfirmCard(ctx context.Context, userID, bindingID, otp string) (*walletctl.Card, error) {
	var card walletctl.Card
	got, err := c.do(ctx, "ConfirmCard", []string{userID}, ConfirmCardBody{bindingID, otp}, &card)
	return one(got, &card, err)
}

func (c *Client) Cards(ctx context.Context, userID string, p walletctl.Page) (*walletctl.List[walletctl.Card], error) {
	return list[walletctl.Card](c, ctx, "Cards", []string{userID}, p, nil)
}

func (c *Client) UnbindCard(ctx context.Context, userID, cardID string) error {
	_, err := c.do(ctx, "UnbindCard", []string{userID, cardID}, nil, nil)
	return err
}

func (c *Client) SetPassword(ctx context.Context, userID, password string) error {
	_, err := c.do(ctx, "SetPassword", []string{userID}, PasswordBody{password}, nil)
	return err
}

func (c *Client) StartPasswordReset(ctx context.Context, userID, name, idNo, cardNo string) (*walletctl.PasswordReset, error) {
	var p walletctl.PasswordReset
	got, err := c.do(ctx, "StartPasswordReset", []string{userID}, ResetBody{name, idNo, cardNo}, &p)
	return one(got, &p, err)
}

func (c *Client) CompletePasswordReset(ctx context.Context, userID, resetID, otp, newPassword string) error {
	_, err := c.do(ctx, "CompletePasswordReset", []string{userID, resetID}, CompleteBody{otp, newPassword}, nil)
	return err
}

func (c *Client) TopUp(ctx context.Context, userID, cardID string, amount int64, password string) (*walletctl.Txn, error) {
	var t walletctl.Txn
	got, err := c.do(ctx, "TopUp", []string{userID}, CardMoveBody{cardID, amount, password}, &t)
	return one(got, &t, err)
}

func (c *Client) Withdraw(ctx context.Context, userID, cardID string, amount int64, password string) (*walletctl.Txn, error) {
	var t walletctl.Txn
	got, err := c.do(ctx, "Withdraw", []string{userID}, CardMoveBody{cardID, amount, password}, &t)
	return one(got, &t, err)
}

func (c *Client) Pay(ctx context.Context, req walletctl.PayRequest) (*walletctl.Txn, error) {
	var t walletctl.Txn
	got, err := c.do(ctx, "Pay", nil, req, &t)
	return one(got, &t, err)
}

func (c *Client) PreviewTransfer(ctx context.Context, userID, to string, amount int64) (*walletctl.TransferPreview, error) {
	var p walletctl.TransferPreview
	got, err := c.do(ctx, "PreviewTransfer", nil, PreviewBody{userID, to, amount}, &p)
	return one(got, &p, err)
}

func (c *Client) Transfer(ctx context.Context, req walletctl.TransferRequest) (*walletctl.Transfer, error) {
	var t walletctl.Transfer
	got, err := c.do(ctx, "Transfer", nil, req, &t)
	return one(got, &t, err)
}

func (c *Client) AcceptTransfer(ctx context.Context, userID, transferID string) (*walletctl.Transfer, error) {
	var t walletctl.Transfer
	got, err := c.do(ctx, "AcceptTransfer", []string{userID, transferID}, nil, &t)
	return one(got, &t, err)
}

func (c *Client) CancelTransfer(ctx context.Context, userID, transferID string) (*walletctl.Transfer, error) {
	var t walletctl.Transfer
	got, err := c.do(ctx, "CancelTransfer", []string{userID, transferID}, nil, &t)
	return one(got, &t, err)
}

func (c *Client) Balance(ctx context.Context, userID string) (*walletctl.Balance, error) {
	var b walletctl.Balance
	got, err := c.do(ctx, "Balance", []string{userID}, nil, &b)
	return one(got, &b, err)
}

func (c *Client) Transactions(ctx context.Context, userID string, p walletctl.Page) (*walletctl.List[walletctl.Txn], error) {
	return list[walletctl.Txn](c, ctx, "Transactions", []string{userID}, p, nil)
}

func (c *Client) Transaction(ctx context.Context, userID, txnID string) (*walletctl.Txn, error) {
	var t walletctl.Txn
	got, err := c.do(ctx, "Transaction", []string{userID, txnID}, nil, &t)
	return one(got, &t, err)
}

func (c *Client) Transfers(ctx context.Context, userID string, p walletctl.Page) (*walletctl.List[walletctl.Transfer], error) {
	return list[walletctl.Transfer](c, ctx, "Transfers", []string{userID}, p, nil)
}

func (c *Client) SecurityLog(ctx context.Context, userID string, p walletctl.Page) (*walletctl.List[walletctl.SecurityEvent], error) {
	return list[walletctl.SecurityEvent](c, ctx, "SecurityLog", []string{userID}, p, nil)
}

func (c *Client) Merchants(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Merchant], error) {
	return list[walletctl.Merchant](c, ctx, "Merchants", nil, p, nil)
}

func (c *Client) Reconcile(ctx context.Context, date string) (*walletctl.ReconcileReport, error) {
	var r walletctl.ReconcileReport
	got, err := c.do(ctx, "Reconcile", nil, ReconcileBody{date}, &r)
	return one(got, &r, err)
}

func (c *Client) Now(ctx context.Context) (time.Time, error) {
	var r ClockResult
	_, err := c.do(ctx, "Now", nil, nil, &r)
	return r.Now, err
}

func (c *Client) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	var r ClockResult
	_, err := c.do(ctx, "Advance", nil, AdvanceBody{d.String()}, &r)
	return r.Now, err
}

func (c *Client) CreateMerchant(ctx context.Context, spec walletctl.MerchantSpec) (*walletctl.Merchant, error) {
	var m walletctl.Merchant
	got, err := c.do(ctx, "CreateMerchant", nil, spec, &m)
	return one(got, &m, err)
}

func (c *Client) Merchant(ctx context.Context, id string) (*walletctl.MerchantInfo, error) {
	var m walletctl.MerchantInfo
	got, err := c.do(ctx, "Merchant", []string{id}, nil, &m)
	return one(got, &m, err)
}

func (c *Client) MerchantCredentials(ctx context.Context, mchid string) (*walletctl.MerchantCredentials, error) {
	var m walletctl.MerchantCredentials
	got, err := c.do(ctx, "MerchantCredentials", []string{mchid}, nil, &m)
	return one(got, &m, err)
}

func (c *Client) CreateOrder(ctx context.Context, req walletctl.OrderRequest) (*walletctl.Order, error) {
	return c.order(ctx, "CreateOrder", nil, req)
}

func (c *Client) CodePay(ctx context.Context, req walletctl.CodePayRequest) (*walletctl.Order, error) {
	return c.order(ctx, "CodePay", nil, req)
}

func (c *Client) Order(ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
	return c.order(ctx, "Order", nil, q)
}

func (c *Client) Orders(ctx context.Context, mchid string, p walletctl.Page) (*walletctl.List[walletctl.Order], error) {
	return list[walletctl.Order](c, ctx, "Orders", []string{mchid}, p, nil)
}

func (c *Client) CloseOrder(ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
	return c.order(ctx, "CloseOrder", nil, q)
}

func (c *Client) ReverseOrder(ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
	return c.order(ctx, "ReverseOrder", nil, q)
}

func (c *Client) ScanOrder(ctx context.Context, userID, ref string) (*walletctl.Order, error) {
	return c.order(ctx, "ScanOrder", []string{userID}, ScanBody{ref})
}

func (c *Client) PayOrder(ctx context.Context, req walletctl.PayOrderRequest) (*walletctl.Order, error) {
	return c.order(ctx, "PayOrder", nil, req)
}

func (c *Client) ConfirmOrder(ctx context.Context, userID, ref, password string) (*walletctl.Order, error) {
	return c.order(ctx, "ConfirmOrder", []string{userID}, ConfirmOrderBody{ref, password})
}

func (c *Client) order(ctx context.Context, op string, args []string, body any) (*walletctl.Order, error) {
	var o walletctl.Order
	got, err := c.do(ctx, op, args, body, &o)
	return one(got, &o, err)
}

func (c *Client) NewPayCode(ctx context.Context, userID, source string) (*walletctl.PayCode, error) {
	var pc walletctl.PayCode
	got, err := c.do(ctx, "NewPayCode", []string{userID}, PayCodeBody{source}, &pc)
	return one(got, &pc, err)
}

func (c *Client) Refund(ctx context.Context, req walletctl.RefundRequest) (*walletctl.Refund, error) {
	var r walletctl.Refund
	got, err := c.do(ctx, "Refund", nil, req, &r)
	return one(got, &r, err)
}

func (c *Client) RefundByOutNo(ctx context.Context, mchid, outRefundNo string) (*walletctl.Refund, error) {
	var r walletctl.Refund
	got, err := c.do(ctx, "RefundByOutNo", []string{mchid, outRefundNo}, nil, &r)
	return one(got, &r, err)
}

func (c *Client) Refunds(ctx context.Context, mchid string, p walletctl.Page) (*walletctl.List[walletctl.Refund], error) {
	return list[walletctl.Refund](c, ctx, "Refunds", []string{mchid}, p, nil)
}

func (c *Client) TradeBill(ctx context.Context, mchid, date, billType string) (*walletctl.Bill, error) {
	if billType == "" {
		billType = "ALL"
	}
	if date == "" {
		date = "today"
	}
	var b walletctl.Bill
	got, err := c.do(ctx, "TradeBill", []string{mchid, date, billType}, nil, &b)
	return one(got, &b, err)
}

// WriteTradeBill is TradeBill's content written to w: the server answers a tenant's requests
// whole once the tenant is saved, so the bill arrives whole either way.
func (c *Client) WriteTradeBill(ctx context.Context, w io.Writer, mchid, date, billType string) (*walletctl.Bill, error) {
	b, err := c.TradeBill(ctx, mchid, date, billType)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, b.Content); err != nil {
		return nil, err
	}
	b.Content = ""
	return b, nil
}

func (c *Client) Notifications(ctx context.Context, f walletctl.NotificationFilter, p walletctl.Page) (*walletctl.List[walletctl.Notification], error) {
	return list[walletctl.Notification](c, ctx, "Notifications", nil, p, url.Values{"mchid": {f.MchID}, "status": {f.Status}, "event": {f.Event}})
}

func (c *Client) Notification(ctx context.Context, id string) (*walletctl.Notification, error) {
	var n walletctl.Notification
	got, err := c.do(ctx, "Notification", []string{id}, nil, &n)
	return one(got, &n, err)
}

func (c *Client) ResendNotification(ctx context.Context, id string) (*walletctl.Notification, error) {
	var n walletctl.Notification
	got, err := c.do(ctx, "ResendNotification", []string{id}, nil, &n)
	return one(got, &n, err)
}

func (c *Client) DeliverNotifications(ctx context.Context) ([]walletctl.Notification, error) {
	var ns []walletctl.Notification
	_, err := c.do(ctx, "DeliverNotifications", nil, nil, &ns)
	return ns, err
}

func (c *Client) ForwardNotifications(ctx context.Context, url string, ttl time.Duration) error {
	_, err := c.do(ctx, "ForwardNotifications", nil, ForwardBody{URL: url, TTL: ttl.String()}, nil)
	return err
}

func (c *Client) AddNotifyFault(ctx context.Context, f walletctl.NotifyFault) (*walletctl.NotifyFault, error) {
	var out walletctl.NotifyFault
	got, err := c.do(ctx, "AddNotifyFault", nil, f, &out)
	return one(got, &out, err)
}

func (c *Client) NotifyFaults(ctx context.Context) ([]walletctl.NotifyFault, error) {
	var fs []walletctl.NotifyFault
	_, err := c.do(ctx, "NotifyFaults", nil, nil, &fs)
	return fs, err
}

func (c *Client) ClearNotifyFaults(ctx context.Context) error {
	_, err := c.do(ctx, "ClearNotifyFaults", nil, nil, nil)
	return err
}

// EventStream is a tenant's event stream (GET /v1/events) as the client reads it. Close it when
// done; Next fails once the stream has ended (the server stopped, dropped a client that fell
// behind, or the connection broke): open another with the last event's ID to resume.
type EventStream struct {
	body   io.ReadCloser
	rd     *bufio.Reader
	cancel context.CancelFunc
}

// Events opens the tenant's event stream: from now on with lastID "", else after the event of
// that id (the server sends a walletctl.StreamGap event first when it no longer has them all).
// It returns once the server has answered: from then on no event is missed. Unlike the other
// calls it has no overall timeout (a stream lasts); only the answer's head must come within the
// client's timeout.
func (c *Client) Events(ctx context.Context, lastID string) (*EventStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+EventsPath, nil)
	if err != nil {
		cancel()
		return nil, walletctl.Errorf(walletctl.CodeInvalidArgument, "wallet server URL %q: %v", c.base, err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	hc := *c.hc
	headTimeout := hc.Timeout
	hc.Timeout = 0
	head := time.AfterFunc(headTimeout, cancel)
	resp, err := hc.Do(req)
	if !head.Stop() && err == nil {
		resp.Body.Close()
		err = context.DeadlineExceeded
	}
	if err != nil {
		cancel()
		return nil, &walletctl.Error{Code: walletctl.CodeNetwork,
			Message: fmt.Sprintf("cannot open the event stream of the wallet server at %s: %v", c.base, err),
			Hint:    "check --backend and that walletctl serve is running", Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_, _, err := errorAnswer("Events", resp, data, nil)
		return nil, err
	}
	if mt, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";"); strings.TrimSpace(mt) != "text/event-stream" {
		resp.Body.Close()
		cancel()
		return nil, &walletctl.Error{Code: walletctl.CodeInternal,
			Message: fmt.Sprintf("the wallet server answered %s with %q, not an event stream", EventsPath, resp.Header.Get("Content-Type")),
			Hint:    "is --backend the URL of walletctl serve?"}
	}
	return &EventStream{body: resp.Body, rd: bufio.NewReader(resp.Body), cancel: cancel}, nil
}

// maxEventLine bounds one line of the stream (an event's JSON).
const maxEventLine = 4 << 20

// Next returns the next event, waiting for it; comments (heartbeats) and retry: hints are
// skipped. An event without an id: line (a gap) has ID 0.
func (s *EventStream) Next() (walletctl.StreamEvent, error) {
	var ev walletctl.StreamEvent
	var data []byte // nil until a data: line
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // a stream does not end by itself
			}
			return walletctl.StreamEvent{}, &walletctl.Error{Code: walletctl.CodeNetwork, Message: "the event stream ended: " + err.Error(),
				Hint: "open it again with the last event's id", Err: err}
		}
		if len(line) == 0 { // the end of an event: dispatched if it had data
			if data != nil {
				if ev.Type == "" {
					ev.Type = "message"
				}
				ev.Data = data
				return ev, nil
			}
			ev = walletctl.StreamEvent{}
			continue
		}
		if line[0] == ':' {
			continue // a comment: the heartbeat
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			ev.ID, _ = strconv.ParseUint(string(value), 10, 64)
		case "event":
			ev.Type = string(value)
		case "data":
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, value...)
			if data == nil { // an empty first data: line
				data = []byte{}
			}
		}
	}
}

// readLine reads one line without its end (\n or \r\n), at most maxEventLine long.
func (s *EventStream) readLine() ([]byte, error) {
	var buf []byte
	for {
		part, err := s.rd.ReadSlice('\n')
		buf = append(buf, part...)
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(buf) > maxEventLine {
				return nil, fmt.Errorf("a line longer than %d bytes", maxEventLine)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return bytes.TrimRight(buf, "\r\n"), nil
	}
}

// Close ends the stream.
func (s *EventStream) Close() error {
	s.cancel()
	return s.body.Close()
}
