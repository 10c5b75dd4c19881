package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/internal/admintoken"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/v3api"
)

// CodeUnauthenticated is sent with 401 when a request has no valid API key or admin token (in
// walletctl's code table: exit 7).
const CodeUnauthenticated = walletctl.CodeUnauthenticated

// HeaderIdempotencyKey carries a caller's idempotency key on a money movement (top-up,
// withdrawal, payment, transfer): a retry with the same key returns the first outcome, even when
// it reaches another server of the same tenant. The client sends it when its ctx has one
// (walletctl.WithIdempotencyKey).
const HeaderIdempotencyKey = "Idempotency-Key"

// moneyOps are the routes whose engine calls honour a caller's idempotency key.
var moneyOps = map[string]bool{"TopUp": true, "Withdraw": true, "Pay": true, "Transfer": true}

// Tenants is what the server needs from the tenants it serves. walletctl/tenant implements it
// over sandbox homes (tenants.json, hashed keys, a lock per tenant, SQLite or PostgreSQL wallets,
// in-process or shared banks); the server itself knows nothing of sandboxes, stores or banks.
type Tenants interface {
	// Create makes a tenant (the admin API's POST /admin/tenants).
	Create(ctx context.Context, spec walletctl.TenantSpec) (*walletctl.CreatedTenant, error)
	// List returns the tenants by id order, never with their keys.
	List() []walletctl.TenantInfo
	// Delete removes a tenant and its state after its in-flight requests; an unknown id is a
	// walletctl NOT_FOUND error.
	Delete(ctx context.Context, id string) error
	// Serve runs fn for the tenant whose API key is apiKey, under that tenant's lock (one request
	// of a tenant at a time), with the tenant's wallet and its bank as an http.Handler serving the
	// bank's own paths (/v1/..., /admin/...) with the rights the tenant has there. id is "" when
	// no tenant has the key; ok is false when the tenant was deleted while the call waited; in both
	// cases fn is not called. A non-nil err (opening or saving the tenant failed) means fn's
	// answer, if it ran, must be dropped.
	Serve(ctx context.Context, apiKey string, fn func(svc walletctl.Service, bank http.Handler)) (id string, ok bool, err error)
	// ServeID runs fn for the tenant id under its lock, like Serve, for the tenant's v3 API
	// (whose callers are merchants authenticated by their signatures, not by the tenant's key);
	// svc also implements walletctl.PlatformService. ok is false when there is no such tenant.
	ServeID(ctx context.Context, id string, fn func(svc walletctl.Service)) (ok bool, err error)
	// TenantOf is the id of the tenant whose API key is apiKey, "" when none has it, without
	// taking any tenant's lock: a request is authenticated before it counts against a queue.
	TenantOf(apiKey string) string
	// V3Keys is tenant id's v3 platform identity and merchant credentials, usable without the
	// tenant's lock (a request's signature is checked before it waits for the tenant, so that a
	// request that is not a merchant's never delays one that is); nil when there is no such
	// tenant. A mchid it does not know must not take the tenant's lock per request.
	V3Keys(id string) v3api.Keys
	// Close writes back and closes every tenant, waiting for their in-flight requests.
	Close(ctx context.Context) error
}

// Options configure a Server.
type Options struct {
	// Tenants are the tenants served; required. The server owns them: Server.Close closes them.
	Tenants Tenants
	// AdminToken opens /admin/* to clients presenting "Authorization: Bearer <token>" and closes
	// it to everyone else, loopback included (DESIGN section 10). When empty, NewServer makes a
	// random one (Server.AdminToken tells it): there is no admin without a token.
	AdminToken string
	// MaxBodyBytes limits request bodies (default 1 MiB); larger ones get 413.
	MaxBodyBytes int64
	// Logger receives one access-log line per request (card and ID numbers masked; bodies never
	// logged). Nil: no logging.
	Logger *slog.Logger
	// MaxQueue bounds how many requests of one tenant may wait behind the one it is running (a
	// tenant runs one request at a time); one more is answered 503 SERVER_BUSY with Retry-After,
	// unrun. 0 means DefaultMaxQueue.
	MaxQueue int
	// BodyReadTimeout bounds how long a request's body may take to arrive once its headers have
	// (default DefaultBodyReadTimeout): a client trickling a large body holds only its own
	// connection, and only this long.
	BodyReadTimeout time.Duration
	// EventHeartbeat is how often GET /v1/events sends a comment when there is nothing to send
	// (default DefaultEventHeartbeat), so that proxies keep the stream open and a client that
	// went away is noticed.
	EventHeartbeat time.Duration
}

// DefaultEventHeartbeat is Options.EventHeartbeat's default.
const DefaultEventHeartbeat = 15 * time.Second

// DefaultBodyReadTimeout is Options.BodyReadTimeout's default.
const DefaultBodyReadTimeout = 10 * time.Second

// DefaultMaxQueue is Options.MaxQueue's default: enough for a tenant's bursts, small enough that
// a client stuck behind a full queue learns it at once instead of timing out with an unknown
// outcome.
const DefaultMaxQueue = 64

// busyRetryAfter is the Retry-After of a SERVER_BUSY answer, in seconds.
const busyRetryAfter = 1

// Server serves the wallet API of every tenant of a Tenants. Close it after the http.Server has
// shut down, so that the tenants' state is written back.
type Server struct {
	opts    Options
	tenants Tenants
	mux     *http.ServeMux
	log     *slog.Logger

	queueMu sync.Mutex
	// queued counts each tenant's requests in flight (running or waiting), by the hash of its API
	// key: the server learns the tenant's id only from Tenants.Serve, which waits for the
	// tenant's lock, and a tenant has exactly one key.
	queued map[[32]byte]int

	// The event streams (events.go) end when closed is (Close), or when the http.Server serving
	// them shuts down (stopping: one channel per http.Server, closed by its RegisterOnShutdown).
	closeOnce sync.Once
	closed    chan struct{}
	stopMu    sync.Mutex
	stopping  map[*http.Server]chan struct{}
}

// NewServer returns the handler serving opts.Tenants.
func NewServer(ctx context.Context, opts Options) (*Server, error) {
	if opts.Tenants == nil {
		return nil, errors.New("httpapi: Options.Tenants is required")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = DefaultMaxQueue
	}
	if opts.BodyReadTimeout <= 0 {
		opts.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if opts.AdminToken == "" {
		opts.AdminToken = admintoken.New("wct_")
	}
	if opts.EventHeartbeat <= 0 {
		opts.EventHeartbeat = DefaultEventHeartbeat
	}
	s := &Server{opts: opts, tenants: opts.Tenants, mux: http.NewServeMux(), log: opts.Logger, queued: map[[32]byte]int{},
		closed: make(chan struct{}), stopping: map[*http.Server]chan struct{}{}}
	for i := range Routes {
		rt := &Routes[i]
		h := s.tenantOnly(func(w http.ResponseWriter, r *http.Request, svc walletctl.Service, _ http.Handler) {
			s.serveRoute(w, r, svc, rt)
		})
		if d, ok := s.tenants.(Drainer); ok {
			switch rt.Op {
			case "DeliverNotifications":
				h = s.drainRoute(d)
			case "Advance":
				h = thenDrain(d, h)
			}
		}
		s.mux.HandleFunc(rt.Method+" "+rt.Path, h)
	}
	// The tenant's bank, for `walletctl bank ...`: everything on a private in-process bank; on a
	// shared bank, what the tenant's own partner may do there (the bank decides).
	// Whoami: the tenant of the API key, so that a client can build the tenant's v3 base URL
	// (<server>/tenants/<id>) from its key alone (walletctl conformance wallet does).
	s.mux.HandleFunc("GET /v1/tenant", func(w http.ResponseWriter, r *http.Request) {
		// The key's tenant without its lock: learning one's own id waits for nobody.
		id := s.tenants.TenantOf(bearer(r))
		if id == "" {
			unauthenticated(w, "a valid tenant API key is required", "send Authorization: Bearer <key>")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": id, "v3_base_path": "/tenants/" + id})
	})
	if src, ok := s.tenants.(EventSource); ok {
		s.mux.HandleFunc("GET "+EventsPath, s.serveEvents(src))
	}
	s.mux.HandleFunc("/v1/bank/", s.tenantOnly(func(w http.ResponseWriter, r *http.Request, _ walletctl.Service, bank http.Handler) {
		http.StripPrefix("/v1/bank", bank).ServeHTTP(w, r)
	}))
	// A tenant's WeChat Pay v3-shaped API (walletctl/v3api): no API key, the merchant's request
	// signature is the credential.
	s.mux.HandleFunc("/tenants/{tenant}/v3/", s.serveV3)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(OpenAPI())
	})
	s.mux.HandleFunc("POST /admin/tenants", s.adminOnly(s.createTenant))
	s.mux.HandleFunc("GET /admin/tenants", s.adminOnly(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.tenants.List())
	}))
	s.mux.HandleFunc("DELETE /admin/tenants/{id}", s.adminOnly(func(w http.ResponseWriter, r *http.Request) {
		if err := s.tenants.Delete(r.Context(), r.PathValue("id")); err != nil {
			writeError(w, err, nil)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, walletctl.Errorf(walletctl.CodeNotFound, "no route %s %s", r.Method, cnid.MaskDigits(r.URL.Path)), nil)
	})
	return s, nil
}

// AdminToken is the token of /admin/*: Options.AdminToken, or the one NewServer made.
func (s *Server) AdminToken() string { return s.opts.AdminToken }

// Tenants is the server's tenant set.
func (s *Server) Tenants() Tenants { return s.tenants }

// Close ends the event streams, then writes back and closes every tenant. Call it after
// http.Server.Shutdown.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.closed) })
	return s.tenants.Close(ctx)
}

// statusWriter records what the access log needs.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
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
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (read deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type tenantKey struct{}

// ServeHTTP limits the body, serves, and writes one access-log line.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	sw := &statusWriter{ResponseWriter: w}
	var tenantID string
	r = r.WithContext(context.WithValue(r.Context(), tenantKey{}, &tenantID))
	s.mux.ServeHTTP(sw, r)
	if s.log != nil {
		// The path only: query strings and bodies may carry what must never be logged.
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", cnid.MaskDigits(r.URL.Path)),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.String("tenant", tenantID),
			slog.String("remote", r.RemoteAddr),
			slog.Duration("duration", time.Since(start)))
	}
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func unauthenticated(w http.ResponseWriter, msg, hint string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="walletctl"`)
	writeJSON(w, http.StatusUnauthorized, errorEnvelope{Error: errorBody{Code: CodeUnauthenticated, Message: msg, Hint: hint}})
}

// tenantKey is the request's API key and its tenant's id, without any tenant's lock; id "" means
// none has the key, and the request was refused (401, its body unread): it costs no tenant
// anything.
func (s *Server) tenantKey(w http.ResponseWriter, r *http.Request) (key, id string) {
	key = bearer(r)
	if id = s.tenants.TenantOf(key); id == "" {
		refuseUnread(w)
		unauthenticated(w, "a valid tenant API key is required",
			"send Authorization: Bearer <key> (walletctl --api-key or WALLETCTL_API_KEY); the admin creates tenants and keys")
	}
	return key, id
}

// tenantOnly resolves the API key to a tenant and runs h on its wallet and bank under the
// tenant's lock. The answer is buffered until the tenant is saved, so that a failure to save is
// the answer. A tenant's queue is bounded (Options.MaxQueue), and a request whose client has
// gone by its turn is not run. A request without a tenant's key is refused before it counts in any
// queue or its body is read: it costs no tenant anything.
func (s *Server) tenantOnly(h func(w http.ResponseWriter, r *http.Request, svc walletctl.Service, bank http.Handler)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, id := s.tenantKey(w, r)
		if id == "" {
			return
		}
		release, admitted := s.admit(key)
		if !admitted {
			refuseUnread(w)
			w.Header().Set("Retry-After", strconv.Itoa(busyRetryAfter))
			writeError(w, &walletctl.Error{Code: walletctl.CodeServerBusy,
				Message: fmt.Sprintf("this tenant already has %d requests waiting; this one was not run", s.opts.MaxQueue),
				Hint:    walletctl.Hint(walletctl.CodeServerBusy), Details: map[string]any{"max_queue": s.opts.MaxQueue}}, nil)
			return
		}
		defer release()
		// Read the body before waiting: net/http notices a client that hangs up (and cancels
		// r.Context()) only once the request's body has been read to its end.
		r.Body = s.readBody(w, r.Body)
		buf := &bufferedResponse{header: http.Header{}}
		id, ok, err := s.tenants.Serve(r.Context(), key, func(svc walletctl.Service, bank http.Handler) {
			if err := r.Context().Err(); err != nil {
				// The client gave up while the request waited: nobody is left to answer, and
				// running it would be work whose outcome no one learns.
				writeError(buf, &walletctl.Error{Code: walletctl.CodeNetwork,
					Message: fmt.Sprintf("the client gave up (%v) while the request waited for its tenant; nothing was done", err),
					Hint:    "nothing was done: it is safe to retry"}, nil)
				return
			}
			h(buf, r, svc, bank)
		})
		if p, found := r.Context().Value(tenantKey{}).(*string); found {
			*p = id
		}
		switch {
		case id == "":
			unauthenticated(w, "a valid tenant API key is required",
				"send Authorization: Bearer <key> (walletctl --api-key or WALLETCTL_API_KEY); the admin creates tenants and keys")
		case !ok:
			unauthenticated(w, "the tenant of this API key was deleted", "")
		case err != nil:
			writeError(w, err, nil)
		default:
			buf.flushTo(w)
		}
	}
}

// serveV3 serves a tenant's v3 API. A request is read (MaxBodyBytes, within BodyReadTimeout) and
// its signature checked first, outside the tenant's lock and before it counts in any queue, with
// the tenant's cached credentials (Tenants.V3Keys): an unsigned or badly signed request, or one
// that trickles its body, waits for nothing and delays no merchant's. Only then does it count in
// its merchant's queue and wait for the tenant's lock, its answer buffered until the tenant is
// saved, as tenantOnly does.
func (s *Server) serveV3(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("tenant")
	if p, found := r.Context().Value(tenantKey{}).(*string); found {
		*p = id
	}
	keys := s.tenants.V3Keys(id)
	if keys == nil {
		refuseUnread(w)
		v3api.WriteError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "资源不存在", fmt.Sprintf("no tenant %q", id))
		return
	}
	http.StripPrefix("/tenants/"+id, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveV3Tenant(w, r, id, keys)
	})).ServeHTTP(w, r)
}

func (s *Server) serveV3Tenant(w http.ResponseWriter, r *http.Request, id string, keys v3api.Keys) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(s.opts.BodyReadTimeout)) // an error: a writer without a connection (tests)
	a := v3api.Authenticate(w, r, v3api.Options{Keys: keys, MaxBodyBytes: s.opts.MaxBodyBytes})
	// No deadline while the request waits and runs: net/http's read behind a handler would take
	// its expiry for a client that hung up.
	rc.SetReadDeadline(time.Time{})
	if a == nil {
		return // answered
	}
	// One merchant's burst fills its own queue, not its tenant's other merchants'.
	release, admitted := s.admit("v3\x00" + id + "\x00" + a.MchID())
	if !admitted {
		w.Header().Set("Retry-After", strconv.Itoa(busyRetryAfter))
		v3api.WriteError(w, http.StatusTooManyRequests, "FREQUENCY_LIMITED", "频率超限",
			fmt.Sprintf("this merchant already has %d requests waiting; this one was not run", s.opts.MaxQueue))
		return
	}
	defer release()
	buf := &bufferedResponse{header: http.Header{}}
	ok, err := s.tenants.ServeID(r.Context(), id, func(svc walletctl.Service) {
		if err := r.Context().Err(); err != nil {
			v3api.WriteError(buf, http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误",
				fmt.Sprintf("the client gave up (%v) while the request waited for its tenant; nothing was done", err))
			return
		}
		a.Serve(buf, r, svc)
	})
	switch {
	case !ok:
		v3api.WriteError(w, http.StatusNotFound, "RESOURCE_NOT_EXISTS", "资源不存在", fmt.Sprintf("no tenant %q", id))
	case err != nil:
		v3api.WriteError(w, http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误", err.Error())
	default:
		buf.flushTo(w)
	}
}

// refuseUnread marks an answer given before the request's body was read: it closes the
// connection, else net/http would first wait for the rest of the body to keep the connection, and
// a client that never sends it would hold the refusal back.
func refuseUnread(w http.ResponseWriter) { w.Header().Set("Connection", "close") }

// admit counts a request of the tenant of key in, unless that tenant already has one running
// and MaxQueue waiting; release counts it out.
func (s *Server) admit(key string) (release func(), ok bool) {
	k := queueKey(key)
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	if s.queued[k] > s.opts.MaxQueue { // one running + MaxQueue waiting
		return nil, false
	}
	s.queued[k]++
	return func() {
		s.queueMu.Lock()
		defer s.queueMu.Unlock()
		if s.queued[k]--; s.queued[k] <= 0 {
			delete(s.queued, k) // keys never seen again (a bad key) leave nothing behind
		}
	}, true
}

func queueKey(apiKey string) [32]byte { return sha256.Sum256([]byte(apiKey)) }

// readBody is readAhead within BodyReadTimeout, the deadline lifted again before the request waits
// for its tenant (see serveV3Tenant).
func (s *Server) readBody(w http.ResponseWriter, body io.ReadCloser) io.ReadCloser {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(s.opts.BodyReadTimeout))
	defer rc.SetReadDeadline(time.Time{})
	return readAhead(body)
}

// readAhead reads body to its end now and returns a body that gives the same bytes and then the
// same error (a too-large body still fails where it is decoded, with the same answer).
func readAhead(body io.ReadCloser) io.ReadCloser {
	data, err := io.ReadAll(body)
	body.Close()
	if err == nil {
		err = io.EOF
	}
	return io.NopCloser(io.MultiReader(bytes.NewReader(data), errReader{err}))
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Drainer is implemented by Tenants whose due work runs in the background (tenant.Set): Drain
// waits, with no tenant lock held, until the tenant of apiKey has sent every notification try
// due at its clock's now, and returns the notifications tried meanwhile.
type Drainer interface {
	Drain(ctx context.Context, apiKey string) ([]walletctl.Notification, error)
	// DrainNew does not wait for the tries already in flight when it is called.
	DrainNew(ctx context.Context, apiKey string) ([]walletctl.Notification, error)
}

// drainRoute serves POST /v1/notifications/deliver on a server whose workers send the
// notifications: the request waits for the tenant's queue, not under its lock.
func (s *Server) drainRoute(d Drainer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, id := s.tenantKey(w, r)
		if id == "" {
			return
		}
		if p, found := r.Context().Value(tenantKey{}).(*string); found {
			*p = id
		}
		ns, err := d.Drain(r.Context(), key)
		if err != nil {
			writeError(w, err, nil)
			return
		}
		writeJSON(w, http.StatusOK, ns)
	}
}

// thenDrain answers h's request once what it made due is done (clock advance: a day of retries
// runs before it returns), waiting with no tenant lock held, so that other requests go on.
func thenDrain(d Drainer, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		buf := &bufferedResponse{header: http.Header{}}
		h(buf, r)
		if buf.status == 0 || buf.status/100 == 2 {
			d.DrainNew(r.Context(), bearer(r))
		}
		buf.flushTo(w)
	}
}

// bufferedResponse holds an answer until the tenant's sandbox is saved.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) flushTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}

// adminOnly lets through only the admin token: a browser's form POST or a script on loopback
// without it is 401 like anyone else.
func (s *Server) adminOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(bearer(r)), []byte(s.opts.AdminToken)) != 1 {
			unauthenticated(w, "the admin token is required",
				"send Authorization: Bearer <admin token>: walletctl serve --admin-token, or the one it keeps in DATA/admin-token and shows at start")
			return
		}
		h(w, r)
	}
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) {
	var spec walletctl.TenantSpec
	if err := decodeBody(r, &spec); err != nil {
		writeError(w, err, nil)
		return
	}
	ct, err := s.tenants.Create(r.Context(), spec)
	if err != nil {
		writeError(w, err, nil)
		return
	}
	writeJSON(w, http.StatusCreated, ct)
}

func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, svc walletctl.Service, rt *Route) {
	var body any
	if rt.Body != nil {
		body = reflect.New(reflect.TypeOf(rt.Body).Elem()).Interface()
		if err := decodeBody(r, body); err != nil {
			writeError(w, err, nil)
			return
		}
	}
	ctx := r.Context()
	if k := r.Header.Get(HeaderIdempotencyKey); k != "" && moneyOps[rt.Op] {
		ctx = walletctl.WithIdempotencyKey(ctx, k)
	}
	res, err := rt.call(ctx, svc, r, body)
	if err != nil {
		writeError(w, err, res)
		return
	}
	if rt.Result == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func decodeBody(r *http.Request, v any) error {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &walletctl.Error{Code: walletctl.CodeInvalidArgument, Message: "request body too large",
				Details: map[string]any{"limit": mbe.Limit}, Err: mbe}
		}
		if errors.Is(err, io.EOF) {
			return walletctl.Errorf(walletctl.CodeInvalidArgument, "a JSON request body is required")
		}
		return walletctl.Errorf(walletctl.CodeInvalidArgument, "bad JSON body: %v", err)
	}
	return nil
}

type errorBody struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Hint    string         `json:"hint,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

// errorEnvelope is every error response. Result carries what the operation returned beside its
// error (a pending transaction comes back with PENDING), so that nothing is lost on the wire.
type errorEnvelope struct {
	Error  errorBody `json:"error"`
	Result any       `json:"result,omitempty"`
}

func writeError(w http.ResponseWriter, err error, result any) {
	var we *walletctl.Error
	if !errors.As(err, &we) {
		if we = walletctl.DiskFull(err); we == nil {
			we = &walletctl.Error{Code: walletctl.CodeInternal, Message: err.Error(), Hint: walletctl.Hint(walletctl.CodeInternal)}
		}
	}
	status := Status(we.Code)
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		status = http.StatusRequestEntityTooLarge
	}
	env := errorEnvelope{Error: errorBody{Code: we.Code, Message: we.Message, Hint: we.Hint, Details: we.Details}}
	if v := reflect.ValueOf(result); result != nil && !(v.Kind() == reflect.Pointer && v.IsNil()) {
		env.Result = result
	}
	writeJSON(w, status, env)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := encodeJSON(v, "")
	if err != nil {
		b, _ = encodeJSON(errorEnvelope{Error: errorBody{Code: walletctl.CodeInternal, Message: "encode the answer: " + err.Error(),
			Hint: walletctl.Hint(walletctl.CodeInternal)}}, "")
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// encodeJSON is v's JSON as this server writes every JSON answer (the document at /openapi.json
// indented by indent): followed by a newline, and without the HTML escaping of json.Marshal,
// which writes &, < and > as \u0026, \u003c and \u003e (a notify_url's query string, a
// description): WeChat Pay writes them as they are, and so does walletctl.
func encodeJSON(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
