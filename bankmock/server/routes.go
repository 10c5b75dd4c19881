package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/faults"
)

// Access is who may call a route.
type Access int

const (
	// Open: anyone (/healthz, /openapi.json).
	Open Access = iota
	// Protocol: anyone; a partner key makes the request that partner's, none the default partner's.
	Protocol
	// Helper: a partner-level test helper (OTP, journal, fault rules, the clock): a partner key
	// scopes it to that partner's own things, no credentials to reading the default partner's;
	// the admin token sees (and, for the clock, moves) the whole bank.
	Helper
	// BankAdmin: bank-wide administration; the admin token only. A partner key is refused (403),
	// no credentials 401, from loopback too.
	BankAdmin
	// Catalogue: reading the bank's customers, its documented test identities (as Stripe's test
	// cards are to everyone with a key): any partner key or the admin token; no credentials 401.
	// Changing them stays BankAdmin.
	Catalogue
)

// Route is one entry of the route table: registered on the mux and checked against the OpenAPI
// document by the same list, so the two cannot drift.
type Route struct {
	Method string
	Path   string // ServeMux pattern path, which is also the OpenAPI path ({name} segments)
	Access Access
	handle func(s *Server, w http.ResponseWriter, r *http.Request)
}

// Admin reports whether the route is part of the admin API (/admin/...).
func (rt Route) Admin() bool { return rt.Access != Open && rt.Access != Protocol }

// Routes returns the method and path of every route the server serves.
func Routes() []Route { return append([]Route(nil), routeTable...) }

var routeTable = []Route{
	{"GET", "/healthz", Open, (*Server).healthz},
	{"GET", "/openapi.json", Open, (*Server).openapi},

	{"GET", "/v1/banks", Protocol, (*Server).banks},
	{"POST", "/v1/cards/verify", Protocol, (*Server).verify},
	{"POST", "/v1/identities/verify", Protocol, (*Server).verifyIdentity},
	{"POST", "/v1/bindings", Protocol, (*Server).createBinding},
	{"POST", "/v1/bindings/{id}/confirm", Protocol, (*Server).confirmBinding},
	{"DELETE", "/v1/agreements/{agreement}", Protocol, (*Server).unbind},
	{"POST", "/v1/debits", Protocol, (*Server).debit},
	{"POST", "/v1/credits", Protocol, (*Server).credit},
	{"GET", "/v1/transactions/{key}", Protocol, (*Server).transaction},
	{"GET", "/v1/statements/{date}", Protocol, (*Server).statement},

	{"GET", "/admin/customers", Catalogue, (*Server).customers},
	{"POST", "/admin/customers", BankAdmin, (*Server).addCustomers},
	{"GET", "/admin/customers/{card_no}", Catalogue, (*Server).customer},
	{"PATCH", "/admin/customers/{card_no}", BankAdmin, (*Server).patchCustomer},
	{"GET", "/admin/faults", Helper, (*Server).faults},
	{"POST", "/admin/faults", Helper, (*Server).addFault},
	{"DELETE", "/admin/faults", Helper, (*Server).clearFaults},
	{"DELETE", "/admin/faults/{id}", Helper, (*Server).deleteFault},
	{"GET", "/admin/otp", Helper, (*Server).otp},
	{"GET", "/admin/journal", Helper, (*Server).journal},
	{"GET", "/admin/clock", Helper, (*Server).clock},
	{"POST", "/admin/clock", Helper, (*Server).advanceClock},
	{"POST", "/admin/reset", BankAdmin, (*Server).reset},
	{"GET", "/admin/snapshot", BankAdmin, (*Server).snapshot},
	{"PUT", "/admin/snapshot", BankAdmin, (*Server).restore},
	{"GET", "/admin/partners", BankAdmin, (*Server).partners},
	{"POST", "/admin/partners", BankAdmin, (*Server).createPartner},
}

// ---- request decoding ----

// decode reads a JSON body strictly: one object, no unknown fields, within the size limit.
// On failure it writes the error and returns false.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			writeError(w, http.StatusBadRequest, invalid("Content-Type must be application/json, got "+strconv.Quote(ct)))
			return false
		}
	}
	body := http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	dec := json.NewDecoder(body)
	var raw json.RawMessage
	err := dec.Decode(&raw)
	if err == nil {
		// Every body is a JSON object: null (or an array, a string) would decode into a zero
		// value and, on POST /admin/customers, create a customer nobody asked for.
		if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
			writeError(w, http.StatusBadRequest, invalid("request body must be a JSON object, got "+jsonKind(t)))
			return false
		}
		strict := json.NewDecoder(bytes.NewReader(raw))
		strict.DisallowUnknownFields()
		err = strict.Decode(v)
	}
	if err == nil {
		// Trailing data after the object is a malformed request, not something to ignore.
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("unexpected data after the JSON object")
			if terr != nil {
				err = terr
			}
		}
	}
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, invalid("request body exceeds "+strconv.FormatInt(mbe.Limit, 10)+" bytes"))
		return false
	}
	if err == io.EOF {
		writeError(w, http.StatusBadRequest, invalid("request body is empty; a JSON object is required"))
		return false
	}
	writeError(w, http.StatusBadRequest, invalid("malformed JSON body: "+err.Error()))
	return false
}

// jsonKind names the kind of JSON value t starts.
func jsonKind(t []byte) string {
	switch {
	case len(t) == 0:
		return "nothing"
	case t[0] == 'n':
		return "null"
	case t[0] == '[':
		return "an array"
	case t[0] == '"':
		return "a string"
	case t[0] == 't' || t[0] == 'f':
		return "a boolean"
	}
	return "a number"
}

// ---- the protocol, with fault handling ----

// opContext attaches the request's fault header and a report the engine fills when a fault fires.
// It returns false (after writing 400) on a bad fault spec.
func opContext(w http.ResponseWriter, r *http.Request) (context.Context, *bankmock.Report, bool) {
	ctx := r.Context()
	if spec := r.Header.Get(bankapi.HeaderFault); spec != "" {
		f, err := bankapi.ParseFault(spec)
		if err != nil {
			writeError(w, http.StatusBadRequest, invalid("bad "+bankapi.HeaderFault+" header: "+err.Error()))
			return nil, nil, false
		}
		ctx = bankmock.WithFault(ctx, f)
	}
	rep := &bankmock.Report{}
	return bankmock.WithReport(ctx, rep), rep, true
}

// respond writes the engine's answer, acting out a fault the engine reported: the engine has
// already done (or not done) the work; here the network misbehaves as the fault's kind says
// (bankmock/faults).
func (s *Server) respond(ctx context.Context, w http.ResponseWriter, rep *bankmock.Report, status int, v any, err error) {
	if rep != nil && rep.Fault != nil {
		f := rep.Fault
		w.Header().Set(bankapi.HeaderFaultFired, f.Ref())
		if k, ok := faults.Of(f.Kind); ok && k.Network(s.exchange(ctx, w, f, v, err)) {
			return
		}
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	if v == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, v)
}

// exchange is what a fault kind needs to act out the network on one answer.
func (s *Server) exchange(ctx context.Context, w http.ResponseWriter, f *bankapi.Fault, v any, err error) *faults.Exchange {
	return &faults.Exchange{
		Ctx: ctx, Fault: f, Value: v, Err: asBankError(err),
		Release: s.release, HangTimeout: s.opts.HangTimeout,
		WriteError: func(status int, e *bankapi.Error) { writeError(w, status, e) },
		WriteRaw:   func(status int, contentType string, b []byte) { writeRaw(w, status, contentType, b) },
		Hijack:     func() net.Conn { return hijack(w) },
	}
}

func asBankError(err error) *bankapi.Error {
	if err == nil {
		return nil
	}
	if e, ok := bankapi.AsError(err); ok {
		return e
	}
	return &bankapi.Error{Code: CodeInternal, RespCode: "96", Message: err.Error()}
}

// hijack takes the connection over, for a fault that ends the exchange without a response.
func hijack(w http.ResponseWriter) net.Conn {
	if sw, ok := w.(*statusWriter); ok {
		sw.hijacked = true
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 or a test recorder: aborting the handler is net/http's way to drop the stream.
		panic(http.ErrAbortHandler)
	}
	return conn
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// protocol serves a protocol operation: call runs with the request's fault header in its context,
// and its answer is written with status, or the fault that fired is acted out.
func (s *Server) protocol(w http.ResponseWriter, r *http.Request, status int, call func(ctx context.Context) (any, error)) {
	ctx, rep, ok := opContext(w, r)
	if !ok {
		return
	}
	v, err := call(ctx)
	s.respond(r.Context(), w, rep, status, v, err)
}

func (s *Server) banks(w http.ResponseWriter, r *http.Request) {
	s.protocol(w, r, http.StatusOK, func(ctx context.Context) (any, error) { return s.b.Banks(ctx) })
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	var req bankapi.CardRequest
	if s.decode(w, r, &req) {
		s.protocol(w, r, http.StatusOK, func(ctx context.Context) (any, error) { return s.b.Verify(ctx, req) })
	}
}

func (s *Server) verifyIdentity(w http.ResponseWriter, r *http.Request) {
	var req bankapi.IdentityCheck
	if !s.decode(w, r, &req) {
		return
	}
	reg, ok := s.b.(bankapi.IdentityRegistry)
	if !ok {
		writeError(w, http.StatusNotFound, &bankapi.Error{Code: bankapi.CodeNotFound, RespCode: "25", Message: "this bank keeps no identity registry"})
		return
	}
	v, err := reg.CheckIdentity(r.Context(), req)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) createBinding(w http.ResponseWriter, r *http.Request) {
	var req bankapi.CardRequest
	if s.decode(w, r, &req) {
		s.protocol(w, r, http.StatusCreated, func(ctx context.Context) (any, error) { return s.b.CreateBinding(ctx, req) })
	}
}

type confirmRequest struct {
	OTP string `json:"otp"`
}

func (s *Server) confirmBinding(w http.ResponseWriter, r *http.Request) {
	var req confirmRequest
	if s.decode(w, r, &req) {
		s.protocol(w, r, http.StatusOK, func(ctx context.Context) (any, error) {
			return s.b.ConfirmBinding(ctx, r.PathValue("id"), req.OTP)
		})
	}
}

func (s *Server) unbind(w http.ResponseWriter, r *http.Request) {
	s.protocol(w, r, http.StatusNoContent, func(ctx context.Context) (any, error) {
		return nil, s.b.Unbind(ctx, r.PathValue("agreement"))
	})
}

// maxKeyLen bounds Idempotency-Key, as payment APIs do, so keys stay cheap to store and index.
const maxKeyLen = 255

func (s *Server) money(w http.ResponseWriter, r *http.Request, op func(context.Context, string, bankapi.MoneyRequest) (*bankapi.Transaction, error)) {
	key := r.Header.Get(bankapi.HeaderIdempotencyKey)
	if key == "" {
		writeError(w, http.StatusBadRequest, invalid("header "+bankapi.HeaderIdempotencyKey+" is required"))
		return
	}
	if len(key) > maxKeyLen {
		writeError(w, http.StatusBadRequest, invalid("header "+bankapi.HeaderIdempotencyKey+" longer than 255 bytes"))
		return
	}
	var req bankapi.MoneyRequest
	if s.decode(w, r, &req) {
		s.protocol(w, r, http.StatusOK, func(ctx context.Context) (any, error) { return op(ctx, key, req) })
	}
}

func (s *Server) debit(w http.ResponseWriter, r *http.Request)  { s.money(w, r, s.b.Debit) }
func (s *Server) credit(w http.ResponseWriter, r *http.Request) { s.money(w, r, s.b.Credit) }

func (s *Server) transaction(w http.ResponseWriter, r *http.Request) {
	s.protocol(w, r, http.StatusOK, func(ctx context.Context) (any, error) { return s.b.Transaction(ctx, r.PathValue("key")) })
}

func (s *Server) statement(w http.ResponseWriter, r *http.Request) {
	s.protocol(w, r, http.StatusOK, func(ctx context.Context) (any, error) { return s.b.Statement(ctx, r.PathValue("date")) })
}

// ---- admin ----

// paged answers a list route: the page its query asks for (limit, starting_after, ending_before),
// or 400 INVALID_REQUEST for a query no list can answer.
func paged[T any](s *Server, w http.ResponseWriter, r *http.Request, list func(context.Context, bankapi.Page) (*bankapi.List[T], error)) {
	p, err := bankapi.ParsePage(r.URL.Query())
	if err != nil {
		writeErr(w, err)
		return
	}
	v, err := list(r.Context(), p)
	s.respond(r.Context(), w, nil, http.StatusOK, v, err)
}

func (s *Server) customers(w http.ResponseWriter, r *http.Request) { paged(s, w, r, s.b.Customers) }

// customerCreate is a customer to add, or {"generate":N} to generate N more from the seed.
type customerCreate struct {
	bankapi.Customer
	Generate int `json:"generate,omitempty"`
}

// maxGenerate bounds one generate request so a typo cannot exhaust memory.
const maxGenerate = 100000

func (s *Server) addCustomers(w http.ResponseWriter, r *http.Request) {
	var req customerCreate
	if !s.decode(w, r, &req) {
		return
	}
	if req.Generate != 0 {
		if req.Generate < 0 || req.Generate > maxGenerate || req.Customer != (bankapi.Customer{}) {
			writeError(w, http.StatusBadRequest, invalid("generate must be 1.."+strconv.Itoa(maxGenerate)+" and alone in the body"))
			return
		}
		v, err := s.b.GenerateCustomers(r.Context(), req.Generate)
		s.respond(r.Context(), w, nil, http.StatusCreated, v, err)
		return
	}
	v, err := s.b.AddCustomer(r.Context(), req.Customer)
	s.respond(r.Context(), w, nil, http.StatusCreated, v, err)
}

func (s *Server) customer(w http.ResponseWriter, r *http.Request) {
	v, err := s.b.Customer(r.Context(), r.PathValue("card_no"))
	s.respond(r.Context(), w, nil, http.StatusOK, v, err)
}

type customerPatch struct {
	Balance *int64              `json:"balance,omitempty"`
	Status  *bankapi.CardStatus `json:"status,omitempty"`
}

func (s *Server) patchCustomer(w http.ResponseWriter, r *http.Request) {
	var req customerPatch
	if !s.decode(w, r, &req) {
		return
	}
	if req.Balance == nil && req.Status == nil {
		writeError(w, http.StatusBadRequest, invalid("PATCH needs balance and/or status"))
		return
	}
	card := r.PathValue("card_no")
	ctx := r.Context()
	if req.Balance != nil {
		if err := s.b.SetBalance(ctx, card, *req.Balance); err != nil {
			writeErr(w, err)
			return
		}
	}
	if req.Status != nil {
		if err := s.b.SetCardStatus(ctx, card, *req.Status); err != nil {
			writeErr(w, err)
			return
		}
	}
	v, err := s.b.Customer(ctx, card)
	s.respond(r.Context(), w, nil, http.StatusOK, v, err)
}

func (s *Server) faults(w http.ResponseWriter, r *http.Request) {
	v, err := s.b.Faults(r.Context())
	if v == nil && err == nil {
		v = []bankapi.Fault{} // [] rather than null: scripts iterate it
	}
	s.respond(r.Context(), w, nil, http.StatusOK, v, err)
}

func (s *Server) addFault(w http.ResponseWriter, r *http.Request) {
	// bankapi.FaultCreate, not bankapi.Fault: a body with id, source or the counters is refused
	// as an unknown field (the bank assigns them), as openapi.json's FaultCreate says.
	var req bankapi.FaultCreate
	if !s.decode(w, r, &req) {
		return
	}
	f := req.Fault()
	if req.Spec != "" {
		if f.Kind != "" {
			writeError(w, http.StatusBadRequest, invalid("give either spec or the fault's fields, not both"))
			return
		}
		var err error
		if f, err = bankapi.ParseFault(req.Spec); err != nil {
			writeError(w, http.StatusBadRequest, invalid("bad fault spec: "+err.Error()))
			return
		}
	}
	v, err := s.b.AddFault(r.Context(), f)
	s.respond(r.Context(), w, nil, http.StatusCreated, v, err)
}

func (s *Server) clearFaults(w http.ResponseWriter, r *http.Request) {
	s.respond(r.Context(), w, nil, http.StatusNoContent, nil, s.b.ClearFaults(r.Context()))
}

func (s *Server) deleteFault(w http.ResponseWriter, r *http.Request) {
	s.respond(r.Context(), w, nil, http.StatusNoContent, nil, s.b.DeleteFault(r.Context(), r.PathValue("id")))
}

// OTPResponse is the body of GET /admin/otp.
type OTPResponse struct {
	Phone string `json:"phone"`
	OTP   string `json:"otp"`
}

func (s *Server) otp(w http.ResponseWriter, r *http.Request) {
	phone := r.URL.Query().Get("phone")
	if phone == "" {
		writeError(w, http.StatusBadRequest, invalid("query parameter phone is required"))
		return
	}
	code, err := s.b.LastOTP(r.Context(), phone)
	s.respond(r.Context(), w, nil, http.StatusOK, OTPResponse{Phone: phone, OTP: code}, err)
}

func (s *Server) journal(w http.ResponseWriter, r *http.Request) { paged(s, w, r, s.b.Journal) }

// ClockResponse is the body of GET and POST /admin/clock.
type ClockResponse struct {
	Now time.Time `json:"now"`
}

// ClockAdvance is the body of POST /admin/clock: a Go duration such as "2h" or "90m".
type ClockAdvance struct {
	Advance string `json:"advance"`
}

func (s *Server) clock(w http.ResponseWriter, r *http.Request) {
	now, err := s.b.Now(r.Context())
	s.respond(r.Context(), w, nil, http.StatusOK, ClockResponse{Now: now}, err)
}

func (s *Server) advanceClock(w http.ResponseWriter, r *http.Request) {
	var req ClockAdvance
	if !s.decode(w, r, &req) {
		return
	}
	d, err := time.ParseDuration(req.Advance)
	if err != nil || d < 0 {
		writeError(w, http.StatusBadRequest, invalid("advance must be a non-negative duration such as \"2h\", got "+strconv.Quote(req.Advance)))
		return
	}
	now, err := s.b.Advance(r.Context(), d)
	s.respond(r.Context(), w, nil, http.StatusOK, ClockResponse{Now: now}, err)
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	s.respond(r.Context(), w, nil, http.StatusNoContent, nil, s.b.Reset(r.Context()))
}

func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) {
	b, err := s.b.Snapshot(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	ct := "application/octet-stream"
	if json.Valid(b) {
		ct = "application/json"
	}
	writeRaw(w, http.StatusOK, ct, b)
}

func (s *Server) restore(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxSnapshotBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, invalid("snapshot exceeds "+strconv.FormatInt(mbe.Limit, 10)+" bytes"))
			return
		}
		writeError(w, http.StatusBadRequest, invalid("read snapshot: "+err.Error()))
		return
	}
	if len(b) == 0 {
		writeError(w, http.StatusBadRequest, invalid("empty snapshot"))
		return
	}
	s.respond(r.Context(), w, nil, http.StatusNoContent, nil, s.b.Restore(r.Context(), b))
}

// partnerCreate is the body of POST /admin/partners.
type partnerCreate struct {
	Name string `json:"name"`
}

func (s *Server) createPartner(w http.ResponseWriter, r *http.Request) {
	var req partnerCreate
	if !s.decode(w, r, &req) {
		return
	}
	v, err := s.b.CreatePartner(r.Context(), req.Name)
	if err == nil {
		w.Header().Set("Cache-Control", "no-store") // the key is in the body, shown this once
	}
	s.respond(r.Context(), w, nil, http.StatusCreated, v, err)
}

func (s *Server) partners(w http.ResponseWriter, r *http.Request) {
	v, err := s.b.Partners(r.Context())
	if v == nil && err == nil {
		v = []bankapi.Partner{}
	}
	s.respond(r.Context(), w, nil, http.StatusOK, v, err)
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	writeRaw(w, http.StatusOK, "application/json", openapiDoc)
}

// openapiDoc is read once: the document never changes while the server runs.
var openapiDoc = bankapi.OpenAPI()
