// Package server serves the bankmock engine over HTTP: the bank-adapter protocol v1 (/v1/...),
// the admin API (/admin/...), /healthz and the OpenAPI document /openapi.json.
//
// Who calls (DESIGN sections 6 and 10), from "Authorization: Bearer <credential>":
//   - the admin token: bank-wide admin; protocol requests act as the default partner;
//   - a partner key: that partner; the protocol and the partner-level helpers (Helper routes)
//     answer for its own things, and bank-wide admin routes are 403 UNAUTHORIZED, from anywhere;
//   - anything else (an unknown key, another scheme): 401 UNAUTHENTICATED on every route;
//   - no header: the default partner on the protocol, and reading (GET) the default partner's own
//     things from the partner-level helpers (so curl examples stay short); every other admin
//     route is 401. Loopback is not a credential: the server's own outbound requests and any web
//     page in a developer's browser come from there.
//
// The server is a thin translation layer. The engine decides outcomes; the server only turns an
// injected fault the engine reports (see bankmock.Report) into what a real network would do:
// a closed connection, a garbage body, an HTTP 5xx.
package server

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/internal/admintoken"
)

// Backend is what the server serves: the engine (or anything else speaking both interfaces).
type Backend interface {
	bankapi.API
	bankapi.Admin
}

// PartnerKeys authenticates partner keys; *bankmock.Engine implements it. A Backend without it
// knows no partner: every bearer credential but the admin token is then refused with 401.
type PartnerKeys interface {
	PartnerByKey(key string) (id string, ok bool)
}

// Options configure a Server. The zero value is usable.
type Options struct {
	// AdminToken opens the bank-wide admin routes to a client presenting "Authorization: Bearer
	// <token>". When empty, New makes a random one (Server.AdminToken tells it): there is no admin
	// without a token. Partner keys are the backend's (see PartnerKeys).
	AdminToken string
	// MaxBodyBytes limits request bodies (default 1 MiB); larger ones get 413.
	MaxBodyBytes int64
	// MaxSnapshotBytes limits the body of PUT /admin/snapshot (default 256 MiB), which carries a
	// whole world and so legitimately exceeds MaxBodyBytes.
	MaxSnapshotBytes int64
	// HangTimeout bounds how long a hang fault holds a connection when the client never gives up
	// (default 2 min). Shutdown ends holds earlier through the request's base context.
	HangTimeout time.Duration
	// Logger receives one line per request (card numbers masked). Nil: no logging.
	Logger *slog.Logger
}

// Server is the bankmock HTTP handler.
type Server struct {
	b    Backend
	opts Options
	mux  *http.ServeMux
	log  *slog.Logger

	release     chan struct{} // closed by ReleaseHangs
	releaseOnce sync.Once
}

// ReleaseHangs ends every connection held by a hang fault, now and from now on; call it before
// http.Server.Shutdown so that shutdown does not wait for clients that never give up.
func (s *Server) ReleaseHangs() { s.releaseOnce.Do(func() { close(s.release) }) }

// CodeInternal is sent for an error the engine returned that is not a *bankapi.Error (a bug).
const CodeInternal = "INTERNAL"

// New returns the handler serving b.
func New(b Backend, opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.MaxSnapshotBytes <= 0 {
		opts.MaxSnapshotBytes = 256 << 20
	}
	if opts.HangTimeout <= 0 {
		opts.HangTimeout = 2 * time.Minute
	}
	if opts.AdminToken == "" {
		opts.AdminToken = admintoken.New("bmk_")
	}
	s := &Server{b: b, opts: opts, mux: http.NewServeMux(), log: opts.Logger, release: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, rt := range routeTable {
		h, access := rt.handle, rt.Access
		s.mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
			if r, ok := s.authorize(w, r, access); ok {
				h(s, w, r)
			}
		})
	}
	return s
}

// AdminToken is the token that opens the bank-wide admin routes: Options.AdminToken, or the one
// New made.
func (s *Server) AdminToken() string { return s.opts.AdminToken }

// Handler returns s as an http.Handler (for symmetry with http.Server fields).
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP routes the request. Unknown routes and wrong methods get the protocol's JSON error
// body instead of net/http's plain text.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now() // wall clock for the access log only; the engine never sees it
	sw := &statusWriter{ResponseWriter: w}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.noRoute(sw, r)
	} else {
		s.mux.ServeHTTP(sw, r)
	}
	if s.log.Enabled(r.Context(), slog.LevelInfo) {
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", cnid.MaskDigits(r.URL.Path)),
			slog.Int("status", sw.status),
			slog.Duration("dur", time.Since(start)),
		}
		if f := sw.Header().Get(bankapi.HeaderFaultFired); f != "" {
			attrs = append(attrs, slog.String("fault", f))
		}
		if sw.hijacked {
			attrs = append(attrs, slog.Bool("closed", true))
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	}
}

// noRoute asks the mux what it would have said (404, or 405 with Allow) and says it in JSON.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	rec := &headerRecorder{h: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.h.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, &bankapi.Error{Code: bankapi.CodeInvalidRequest, RespCode: "30",
			Message: "method " + r.Method + " not allowed on " + cnid.MaskDigits(r.URL.Path) + "; allowed: " + rec.h.Get("Allow")})
		return
	}
	writeError(w, http.StatusNotFound, &bankapi.Error{Code: bankapi.CodeNotFound, RespCode: "25",
		Message: "no route " + r.Method + " " + cnid.MaskDigits(r.URL.Path)})
}

// headerRecorder captures the status and headers the mux's own fallback would write.
type headerRecorder struct {
	h      http.Header
	status int
}

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(code int)        { r.status = code }

// statusWriter remembers the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (for Hijack).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// caller is who sent a request: the admin, a partner, or nobody in particular.
type caller struct {
	admin   bool
	partner string // a partner id, when a partner key was presented
}

// authenticate reads the Authorization header. A header that is present must be a bearer
// credential the bank knows: the admin token or a partner key.
func (s *Server) authenticate(r *http.Request) (caller, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return caller{}, true
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	if !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return caller{}, false
	}
	if s.opts.AdminToken != "" && subtle.ConstantTimeCompare([]byte(cred), []byte(s.opts.AdminToken)) == 1 {
		return caller{admin: true}, true
	}
	if pk, ok := s.b.(PartnerKeys); ok {
		if id, ok := pk.PartnerByKey(cred); ok {
			return caller{partner: id}, true
		}
	}
	return caller{}, false
}

// authorize applies the rules of the package comment to a route of the given access. It returns
// the request to serve (acting as the partner, if one called) or writes the refusal.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, access Access) (*http.Request, bool) {
	c, ok := s.authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bankmock", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, &bankapi.Error{Code: bankapi.CodeUnauthenticated,
			Message: "the Authorization header is neither \"Bearer <partner key>\" for a partner this bank knows nor the admin token: " +
				"check the key (partners survive POST /admin/reset, not a restore of an older snapshot), " +
				"get one with POST /admin/partners (bankmock partner create), " +
				"or send no Authorization header to act as the default partner"})
		return r, false
	}
	if !c.admin && c.partner == "" && access == Helper && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// No credentials may read the default partner's own things (its OTPs, journal, faults,
		// clock), which curl examples of the protocol need; changing anything at /admin/* needs a
		// credential, so a browser's form POST from any page is 401.
		c.partner = bankapi.DefaultPartner
	}
	if c.partner != "" {
		r = r.WithContext(bankmock.WithPartner(r.Context(), c.partner))
	}
	switch {
	case access == Open || access == Protocol || c.admin:
		return r, true
	case access == Helper && c.partner != "":
		return r, true
	case access == Catalogue && c.partner != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return r, true
	case c.partner != "":
		writeError(w, http.StatusForbidden, &bankapi.Error{Code: bankapi.CodeUnauthorized,
			Message: "partner " + c.partner + " may not use " + r.Method + " " + cnid.MaskDigits(r.URL.Path) + ": it is bank-wide administration and needs the admin token; " +
				"a partner key opens the protocol, the partner-level helpers (GET /admin/otp, GET /admin/journal, /admin/faults, /admin/clock) and reading the customers"})
		return r, false
	default:
		w.Header().Set("WWW-Authenticate", `Bearer realm="bankmock-admin"`)
		writeError(w, http.StatusUnauthorized, &bankapi.Error{Code: bankapi.CodeUnauthenticated,
			Message: r.Method + " " + cnid.MaskDigits(r.URL.Path) + " needs a credential: Authorization: Bearer <admin token> " +
				"(bankmock serve shows the token it made at start, or keeps it in DATA/admin-token; --admin-token or BANKMOCK_ADMIN_TOKEN set it)" +
				adminHint(access)})
		return r, false
	}
}

func adminHint(a Access) string {
	switch a {
	case Helper:
		return ", or a partner key for the partner's own things"
	case Catalogue:
		return ", or any partner key (the customers are the bank's test identities, readable by every partner)"
	}
	return ""
}

// writeJSON writes v with a Content-Length, so keep-alive connections need no chunking.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := encodeJSON(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, &bankapi.Error{Code: CodeInternal, Message: "encode response: " + err.Error()})
		return
	}
	writeRaw(w, status, "application/json", b)
}

// encodeJSON is v's JSON as the bank writes every JSON answer: followed by a newline, and
// without the HTML escaping of json.Marshal, which writes &, < and > as \u0026, \u003c and
// \u003e (a customer's name, a journal's detail keep them as they are).
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeRaw(w http.ResponseWriter, status int, contentType string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type errorBody struct {
	Error *bankapi.Error `json:"error"`
}

func writeError(w http.ResponseWriter, status int, e *bankapi.Error) {
	b, _ := encodeJSON(errorBody{Error: e})
	writeRaw(w, status, "application/json", b)
}

// writeErr writes err from the engine with the protocol's status for its code.
func writeErr(w http.ResponseWriter, err error) {
	e, ok := bankapi.AsError(err)
	if !ok {
		writeError(w, http.StatusInternalServerError, &bankapi.Error{Code: CodeInternal, RespCode: "96", Message: err.Error()})
		return
	}
	writeError(w, bankapi.HTTPStatus(e.Code), e)
}

func invalid(format string) *bankapi.Error {
	return &bankapi.Error{Code: bankapi.CodeInvalidRequest, RespCode: "30", Message: format}
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}
