package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	bankserver "github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/cnid"
)

// BankHandlerOptions configure BankHandler. The zero value is usable.
type BankHandlerOptions struct {
	// MaxBodyBytes limits request bodies (default 1 MiB); larger ones get 413.
	MaxBodyBytes int64
	// MaxResponseBytes limits what a shared bank may answer through the proxy (default 64 MiB).
	MaxResponseBytes int64
	// Timeout bounds one request, a hang fault included (default 30s).
	Timeout time.Duration
}

// forwardedHeaders are the only request headers that reach a shared bank: what the protocol
// reads. Everything else (Authorization, cookies, X-Forwarded-*, hop-by-hop headers) stays here.
var forwardedHeaders = []string{"Content-Type", "Accept", bankapi.HeaderIdempotencyKey, bankapi.HeaderFault}

// proxyTransport is shared by every tenant's proxy so that connections to a bank are reused.
var proxyTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // the bank URL is what the operator configured: never an environment proxy
	t.MaxIdleConnsPerHost = 64
	t.DisableCompression = true
	return t
}()

// BankHandler serves this home's bank over HTTP at its own paths (/v1/..., /admin/...), for a
// server that has already proved who is asking (walletctl serve's /v1/bank/, behind the tenant's
// API key). Whatever credentials the request carries are dropped.
//
//   - A private in-process bank (Remote false): the bankmock server over it with full rights
//     (protocol as the bank's default partner, the whole admin API), as the home's owner has with
//     `walletctl bank ...`.
//   - A shared bank server (Remote true): a reverse proxy to BankRef().URL that sends only
//     "Authorization: Bearer <BankRef().PartnerKey>": the bank itself then scopes the caller to
//     this home's partner (its journal, OTPs, transactions, fault rules) and refuses bank-wide
//     admin (customers, reset, snapshot, the clock, partners, bank-wide faults). The server
//     operator's bank token is never sent. A home without a partner key is refused (403) rather
//     than proxied without credentials, which the bank would take for its default partner.
//
// The handler must be used while the sandbox is open.
func (s *Sandbox) BankHandler(opts BankHandlerOptions) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 64 << 20
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if !s.Remote() {
		return privateBank{srv: bankserver.New(s.Bank(), bankserver.Options{MaxBodyBytes: opts.MaxBodyBytes,
			HangTimeout: opts.Timeout})}
	}
	ref := s.BankRef()
	if ref.URL == "" {
		ref.URL = s.opts.BankURL // a home made before its sandbox.json recorded the bank
	}
	if ref.PartnerKey == "" {
		return bankRefusal{http.StatusForbidden, &bankapi.Error{Code: bankapi.CodeUnauthorized,
			Message: "this tenant has no partner key at its shared bank, so its bank is not served here: " +
				"create the tenant again (it registers as a partner of the bank) or use the bank's own URL"}}
	}
	target, err := url.Parse(ref.URL)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return bankRefusal{http.StatusBadGateway, &bankapi.Error{Code: bankapi.CodeIssuerUnavailable, RespCode: "91",
			Message: "the tenant's bank URL is not an http(s) URL"}}
	}
	return &partnerProxy{target: target, key: ref.PartnerKey, opts: opts}
}

// privateBank serves a home's own in-process bank with full rights.
type privateBank struct{ srv *bankserver.Server }

func (p privateBank) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = r.Clone(r.Context())
	// The caller already proved who asks (the tenant's API key): the home's owner has the whole
	// of its private bank, so the request carries the private server's own admin token (the
	// protocol then acts as the default partner, the wallet's own). Whatever the caller sent
	// is dropped.
	r.Header.Set("Authorization", "Bearer "+p.srv.AdminToken())
	p.srv.ServeHTTP(w, r)
}

// bankRefusal answers every request with one bank error.
type bankRefusal struct {
	status int
	err    *bankapi.Error
}

func (b bankRefusal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	writeBankError(w, b.status, b.err)
}

// partnerProxy forwards to a shared bank as this home's partner only.
type partnerProxy struct {
	target *url.URL
	key    string
	opts   BankHandlerOptions
}

func (p *partnerProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.TrimSuffix(r.URL.Path, "/") == "/admin/clock" {
		// The partner's clock at the bank and the wallet's move together (Sandbox.Advance): moved
		// alone, the bank's time would run ahead of the wallet's (its OTPs, days, statements).
		writeBankError(w, http.StatusForbidden, &bankapi.Error{Code: bankapi.CodeUnauthorized,
			Message: "this tenant's clock moves with its wallet's: use POST /v1/clock/advance (walletctl clock advance), which moves its partner clock at the shared bank too"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.opts.Timeout)
	defer cancel()
	r = r.WithContext(ctx)
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, p.opts.MaxBodyBytes)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(p.target)
			h := http.Header{}
			for _, k := range forwardedHeaders {
				if v := pr.In.Header.Values(k); len(v) > 0 {
					h[k] = append([]string(nil), v...)
				}
			}
			h.Set("User-Agent", "walletctl-serve")
			h.Set("Authorization", "Bearer "+p.key)
			pr.Out.Header = h
			pr.Out.Trailer = nil
		},
		Transport: proxyTransport,
		ModifyResponse: func(resp *http.Response) error {
			if resp.ContentLength > p.opts.MaxResponseBytes {
				return errTooLarge
			}
			resp.Header.Del("Set-Cookie")
			resp.Body = &boundedBody{rc: resp.Body, left: p.opts.MaxResponseBytes}
			return nil
		},
		ErrorHandler: p.fail,
	}
	rp.ServeHTTP(w, r)
}

var errTooLarge = errors.New("the bank's answer is larger than the proxy allows")

// fail answers what went wrong between the proxy and the bank, never with the URL's digits.
func (p *partnerProxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	var op *net.OpError
	switch {
	case errors.As(err, &mbe):
		writeBankError(w, http.StatusRequestEntityTooLarge, &bankapi.Error{Code: bankapi.CodeInvalidRequest, RespCode: "30",
			Message: fmt.Sprintf("request body too large (limit %d bytes)", mbe.Limit)})
	case errors.Is(err, errTooLarge):
		writeBankError(w, http.StatusBadGateway, &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, RespCode: "05",
			Message: "the bank's answer is larger than walletctl serve relays; query the outcome later"})
	case errors.As(err, &op) && op.Op == "dial":
		// Nothing reached the bank: safe to retry.
		writeBankError(w, http.StatusServiceUnavailable, &bankapi.Error{Code: bankapi.CodeIssuerUnavailable, RespCode: "91",
			Message: "the tenant's bank " + p.target.Host + " cannot be reached: " + describe(err)})
	case errors.Is(err, context.DeadlineExceeded):
		writeBankError(w, http.StatusGatewayTimeout, &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, RespCode: "05",
			Message: fmt.Sprintf("the tenant's bank did not answer within %s; query the outcome later", p.opts.Timeout)})
	case r.Context().Err() != nil:
		// The caller went away: nobody reads the answer.
		w.WriteHeader(http.StatusGatewayTimeout)
	default:
		// The bank dropped the connection (a refuse or drop_after fault, or a crash): the caller
		// sees the same, so that what it concludes is what it would conclude from the bank.
		panic(http.ErrAbortHandler)
	}
}

// describe keeps a transport error's cause without the URL, and masks any card or ID number.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return cnid.MaskDigits(err.Error())
}

func writeBankError(w http.ResponseWriter, status int, e *bankapi.Error) {
	e.Message = cnid.MaskDigits(e.Message)
	b, _ := json.Marshal(struct {
		Error *bankapi.Error `json:"error"`
	}{e})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// boundedBody fails a body that runs past its limit instead of relaying it whole.
type boundedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if b.left -= int64(n); b.left < 0 {
		return n, errTooLarge
	}
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }
