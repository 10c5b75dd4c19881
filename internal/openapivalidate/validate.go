// Package openapivalidate checks live HTTP traffic against an OpenAPI 3 document with
// kin-openapi's openapi3filter: a middleware that validates every request and every response of
// the handler it wraps, remembers each mismatch and which operations were exercised. The golden
// scenario suite and the servers' tests wrap the real bank and wallet servers with it, so that
// the documents they serve cannot drift from what they do.
package openapivalidate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Validator validates traffic against one document. It is safe for concurrent use.
type Validator struct {
	Name string // for messages: "bank", "wallet"
	// StrictStatus: every status the server sends must be declared by the operation itself, not
	// only covered by its "default" response.
	StrictStatus bool
	// Headers are response headers that, when sent, must be declared by the response that the
	// status selects (openapi3filter checks declared headers only, not undeclared ones).
	Headers []string
	doc     *openapi3.T
	router  routers.Router

	mu       sync.Mutex
	errs     []string
	seen     map[string]int // "METHOD /path/{template}" -> requests
	requests int
}

// New parses and validates doc (the document a server serves) and returns its validator. The
// document's servers are ignored: requests are matched on their path alone, whatever the host.
func New(name string, doc []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("%s document: %w", name, err)
	}
	if err := t.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s document is not valid OpenAPI 3: %w", name, err)
	}
	t.Servers = nil
	r, err := gorillamux.NewRouter(t)
	if err != nil {
		return nil, fmt.Errorf("%s document: router: %w", name, err)
	}
	return &Validator{Name: name, doc: t, router: r, seen: map[string]int{}}, nil
}

// Operations returns every "METHOD /path" the document declares, sorted.
func (v *Validator) Operations() []string {
	var out []string
	for path, item := range v.doc.Paths.Map() {
		for m := range item.Operations() {
			out = append(out, strings.ToUpper(m)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// Seen returns how many requests each exercised operation received.
func (v *Validator) Seen() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.seen))
	for k, n := range v.seen {
		out[k] = n
	}
	return out
}

// Requests is how many requests went through.
func (v *Validator) Requests() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.requests
}

// Errors returns every mismatch found so far (at most a few per operation and kind).
func (v *Validator) Errors() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.errs...)
}

func (v *Validator) fail(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.errs) < 200 {
		v.errs = append(v.errs, v.Name+": "+fmt.Sprintf(format, args...))
	}
}

// maxBody bounds what the middleware buffers of a request body to validate it.
const maxBody = 64 << 20

// Wrap returns h with every request and response validated. A request the document does not
// allow must be refused (4xx); a request that it allows must get a response it declares (status,
// headers, body); a response the server never wrote (a fault that closes the connection) is not
// checked; a 2xx must be declared explicitly, not only by "default".
func (v *Validator) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		v.requests++
		v.mu.Unlock()
		var body []byte
		if r.Body != nil {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
			if err != nil {
				h.ServeHTTP(w, r)
				return
			}
			body = b
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		what := r.Method + " " + r.URL.Path
		route, pathParams, err := v.router.FindRoute(r)
		if err != nil {
			// Not a path of the document: the server must say so (404, or 405 for a wrong method).
			rec := &recorder{ResponseWriter: w}
			h.ServeHTTP(rec, r)
			if !rec.hijacked && rec.status() != http.StatusNotFound && rec.status() != http.StatusMethodNotAllowed {
				v.fail("%s: no operation in the document (%v), but the server answered %d", what, err, rec.status())
			}
			return
		}
		op := r.Method + " " + route.Path
		v.mu.Lock()
		v.seen[op]++
		v.mu.Unlock()

		reqIn := &openapi3filter.RequestValidationInput{Request: r, PathParams: pathParams, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: presented, MultiError: true}}
		reqErr := openapi3filter.ValidateRequest(r.Context(), reqIn)
		r.Body = io.NopCloser(bytes.NewReader(body))

		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.hijacked {
			return // the connection was closed with no answer (refuse, drop_after, hang)
		}
		st := rec.status()
		if reqErr != nil {
			if st < 400 || st >= 500 {
				v.fail("%s: the document refuses the request (%v) but the server answered %d", op, oneLine(reqErr), st)
			}
		}
		if o := route.PathItem.GetOperation(r.Method); o != nil {
			declared := o.Responses.Status(st) // the status itself, or its range (5XX)
			if declared == nil && (st < 400 || v.StrictStatus) {
				v.fail("%s: %d is not declared (only default would cover it)", op, st)
			}
			if declared == nil {
				declared = o.Responses.Default()
			}
			for _, hn := range v.Headers {
				if rec.Header().Get(hn) == "" {
					continue
				}
				if declared == nil || declared.Value == nil || declared.Value.Headers[hn] == nil {
					v.fail("%s -> %d: sends %s, which the response does not declare", op, st, hn)
				}
			}
		}
		opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
		respBody := rec.body.Bytes()
		if rec.Header().Get("X-Bankmock-Fault-Fired") != "" && len(respBody) > 0 && !json.Valid(respBody) {
			opts.ExcludeResponseBody = true // the malformed fault: a truncated body, by design
		}
		respIn := &openapi3filter.ResponseValidationInput{RequestValidationInput: reqIn, Status: st,
			Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}
		if err := openapi3filter.ValidateResponse(r.Context(), respIn); err != nil {
			v.fail("%s -> %d: %s (body %.300s)", op, st, oneLine(err), respBody)
		}
	})
}

// presented checks that a request carries the credential a security scheme names (an HTTP
// bearer scheme: "Authorization: Bearer ..."), not that the server accepts it: so a document
// that makes a credential mandatory where the server answers without one (the loopback admin
// rule) is caught, since the request is then "invalid" and the server still answers 2xx.
func presented(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	ss := in.SecurityScheme
	if ss == nil || ss.Type != "http" || !strings.EqualFold(ss.Scheme, "bearer") {
		return nil
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if len(h) < 8 || !strings.EqualFold(h[:7], "Bearer ") {
		return fmt.Errorf("no bearer credential for %s", in.SecuritySchemeName)
	}
	return nil
}

func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

// recorder passes everything through to the real ResponseWriter and keeps a copy.
type recorder struct {
	http.ResponseWriter
	code     int
	body     bytes.Buffer
	hijacked bool
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if r.body.Len() < maxBody {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() { _ = http.NewResponseController(r.ResponseWriter).Flush() }

// Hijack lets a handler close the connection (a fault); the exchange then has no response.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.hijacked = true
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// Unwrap exposes the real writer to http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Report is a summary for test logs: requests, operations exercised of those declared.
func (v *Validator) Report() string {
	seen := v.Seen()
	ops := v.Operations()
	n := 0
	for _, o := range ops {
		if seen[o] > 0 {
			n++
		}
	}
	return v.Name + ": " + strconv.Itoa(v.Requests()) + " requests validated, " + strconv.Itoa(n) + " of " + strconv.Itoa(len(ops)) + " operations exercised"
}

// Missing returns the declared operations that no request exercised, minus those in except.
func (v *Validator) Missing(except ...string) []string {
	seen := v.Seen()
	skip := map[string]bool{}
	for _, e := range except {
		skip[e] = true
	}
	var out []string
	for _, o := range v.Operations() {
		if seen[o] == 0 && !skip[o] {
			out = append(out, o)
		}
	}
	return out
}
