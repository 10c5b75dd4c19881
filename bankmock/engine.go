package bankmock

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock/faults"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/vclock"
)

// Config configures an Engine. The zero value is a usable, deterministic world.
type Config struct {
	Seed          int64         // world seed; 0 means 1 (never random)
	Customers     int           // generated customers besides the test cards; 0 means 50, negative means none
	Clock         vclock.Clock  // nil: vclock.NewManual(vclock.DefaultEpoch)
	OTPTTL        time.Duration // default 5m
	OTPAttempts   int           // default 3
	ClientTimeout time.Duration // in-process callers: a delay/hang past this (or ctx's deadline) is OUTCOME_UNKNOWN; default 5s
	// Sleep is how delays and hangs wait; nil sleeps for real, returning early with ctx's error
	// when ctx is done. Scenarios inject an instant one.
	Sleep func(ctx context.Context, d time.Duration) error
	// Entropy is where partner keys and secrets come from (CreatePartner); nil: crypto/rand.
	// Tests give a seeded reader: same seed and same entropy, same snapshot bytes.
	Entropy io.Reader

	// Path keeps the state in a SQLite file there (Open; see durable.go): every operation is
	// committed before it answers. "" keeps it in memory (New).
	Path string
	// Create lets Open start a new world in a missing or empty file; without it such a file is
	// damaged (a sandbox's bank that should exist).
	Create bool
	// ReadOnly opens the file for reading only (a home on a read-only file system): reads
	// answer; anything that changes state (a journal entry included) answers ISSUER_UNAVAILABLE.
	ReadOnly bool
	// NoSync skips every fsync of the file: a throwaway bank (tests, scenario worlds) that
	// survives the process dying but not an OS crash.
	NoSync bool
	// JournalLimit is how many journal entries are kept, the oldest dropped first; 0 means
	// DefaultJournalLimit.
	JournalLimit int
	// TxnCacheLimit is how many transactions a bank with a state file (Path) keeps in memory, the
	// least recently made or read dropped first once committed (they are read back from the file
	// when asked for); 0 means DefaultTxnCacheLimit. A bank in memory keeps every transaction: it
	// has nowhere else to keep them (see durable.go).
	TxnCacheLimit int
	// MaxCustomers bounds the customers of the bank (AddCustomer, GenerateCustomers): a quota
	// that keeps one tenant from filling a server; 0 means DefaultMaxCustomers.
	MaxCustomers int
}

// DefaultMaxCustomers is Config.MaxCustomers's default; GenerateCustomers adds at most
// MaxGeneratePerCall per call.
const (
	DefaultMaxCustomers = 200000
	MaxGeneratePerCall  = 10000
)

// Engine is the mock bank: every bank of the catalogue, their customers, bindings, agreements,
// transactions, fault rules and journal, behind one mutex. It implements API and Admin.
//
// Faults: each kind is a file of bankmock/faults whose Plan says whether the bank processes the
// request (now, never, or later without the lock) and whose Answer says what an in-process caller
// (no Report on the context; see Report for server mode) sees: what a client over the network
// would (OUTCOME_UNKNOWN 03 for no answer to an unprocessed request, 05 with Processed for a lost
// or garbled answer to a processed one, ISSUER_UNAVAILABLE 96 for an error status). A later
// request waits min(its wait, ClientTimeout, ctx's deadline); past it the bank still processes
// and the caller gets OUTCOME_UNKNOWN 04 with Processed.
//
// Every error produced by or under a fault carries Error.Fault = "<source>:<id>". The journal
// records what the bank did (the real outcome when it processed), with Processed true whenever
// the bank's logic ran (declines and replays included) and false when a fault stopped the request
// before it.
//
// Partners (DESIGN section 6): every call acts as a partner, the one WithPartner names or else
// bankapi.DefaultPartner. Idempotency keys, in-flight DUPLICATE detection, bindings, agreements,
// transaction queries and statements are the partner's own: another partner's binding or
// agreement is NOT_FOUND, and two partners may use the same idempotency key for two independent
// transactions. Binding ids and agreement tokens are derived from a per-partner secret (see
// issue). Card balances, daily limits and bank profiles stay bank-wide.
//
// Idempotency (debits and credits): the first outcome, success or decline, is stored under the
// key and replayed for the same parameters (journal outcome "replay"); other parameters give
// IDEMPOTENCY_MISMATCH (12); a key held by a delayed request in flight gives DUPLICATE (94).
// Malformed requests (no key, amount <= 0, currency not CNY) and unknown agreements are not stored.
// Debit checks, in order: card status (77/78), single limit (61), daily limit per card and bank
// day (81), funds (51 debit card, 64 credit card).
type Engine struct {
	mu       sync.Mutex
	cfg      Config
	st       *state
	cardIdx  map[string]int       // card number -> index in st.Customers
	inflight map[inflightKey]bool // idempotency keys reserved by a delayed request (not persisted)
	entropy  io.Reader            // cfg.Entropy or crypto/rand
	// keys maps each partner key's SHA-256 (hex) to the partner id, replaced whole whenever the
	// partners change, so that authenticating a request (PartnerByKey) takes no lock: a flood of
	// bad keys never waits for, nor delays, the bank's work (DESIGN section 10).
	keys atomic.Pointer[map[string]string]

	// Durable state (durable.go); all nil/zero in memory.
	dur       *durable
	dirty     *dirtySet // what the current critical section changed
	jFlushed  int64     // the last journal seq captured
	metaDirty bool      // counters or the clock changed without a record (Advance)
	// journalBase: the journal entries up to this seq are in the file (or queued for it), not in
	// memory (read from the file a page at a time: journalRange); 0 when memory holds the whole journal. With a
	// file, every capture moves it to the last entry: memory keeps no journal between operations.
	journalBase int64
	// txnCache bounds state.Txns with a state file (nil in memory): durable.go.
	txnCache   *txnCache
	broken     error // the file could not be read back after a failed commit
	recovering bool  // a panic's half-made changes are being discarded
	// damage is what the current critical section found damaged in the file (noteDamage): the
	// section answers it instead of its own outcome, and nothing of it is written (takeDamage).
	damage *DamagedError
}

// inflightKey is an idempotency key of one partner.
type inflightKey struct{ partner, key string }

var (
	_ bankapi.API   = (*Engine)(nil)
	_ bankapi.Admin = (*Engine)(nil)
)

// New generates the world of cfg.Seed: the test cards, then cfg.Customers generated customers.
func New(cfg Config) *Engine {
	e := newEngine(cfg)
	e.genesis(e.cfg.Seed, e.cfg.Clock.Now(), e.cfg.Customers)
	return e
}

// newEngine applies cfg's defaults; the state is the caller's to make.
func newEngine(cfg Config) *Engine {
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Customers == 0 {
		cfg.Customers = 50
	} else if cfg.Customers < 0 {
		cfg.Customers = 0
	}
	if cfg.Clock == nil {
		cfg.Clock = vclock.NewManual(vclock.DefaultEpoch)
	}
	if cfg.OTPTTL <= 0 {
		cfg.OTPTTL = 5 * time.Minute
	}
	if cfg.OTPAttempts <= 0 {
		cfg.OTPAttempts = 3
	}
	if cfg.ClientTimeout <= 0 {
		cfg.ClientTimeout = 5 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = RealSleep
	}
	e := &Engine{cfg: cfg, inflight: map[inflightKey]bool{}, entropy: cfg.Entropy}
	if e.entropy == nil {
		e.entropy = cryptoEntropy
	}
	return e
}

// RealSleep waits d or until ctx is done, whichever comes first; it returns ctx's error if ctx
// ended the wait.
func RealSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// InstantSleep returns at once (or with ctx's error if ctx is already done): for tests and
// scenarios, where a delay must have its effect (a timeout) without costing wall time.
func InstantSleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

// Seed returns the engine's world seed.
func (e *Engine) Seed() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st.Seed
}

// atomically runs fn under the lock as one critical section and queues what it changed; the
// caller answers after settle(ticket). The lock is released by defer, so a panic in fn never
// wedges the bank; with a state file, the panic's half-made changes are discarded (the state goes
// back to the file's, see recoverState) instead of being committed by the next operation.
func (e *Engine) atomically(fn func() *bankapi.Error) (ticket int64, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if rerr := e.ready(); rerr != nil {
		return 0, rerr
	}
	finished := false
	defer func() {
		if !finished && e.dur != nil {
			e.dirty.clear()
			e.recovering = true
			go e.recoverState()
		}
	}()
	ferr := fn()
	finished = true
	if derr := e.takeDamage(); derr != nil {
		return 0, derr
	}
	return e.capture(), asErr(ferr)
}

// update runs a mutating call atomically and answers once its change is durable.
func (e *Engine) update(fn func() error) error {
	var ferr error
	t, err := e.atomically(func() *bankapi.Error { ferr = fn(); return nil })
	if err != nil {
		return err
	}
	if err := e.settle(t); err != nil {
		return err
	}
	return ferr
}

// updated is update for a change that returns what it made.
func updated[T any](e *Engine, fn func() (T, error)) (T, error) {
	var out T
	err := e.update(func() error {
		var err error
		out, err = fn()
		return err
	})
	return out, err
}

// view runs a read under the lock, refusing it while the state is not trustworthy.
func (e *Engine) view(fn func() error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.ready(); err != nil {
		return err
	}
	err := fn()
	if derr := e.takeDamage(); derr != nil {
		return derr
	}
	return err
}

// recoverState puts the state back to the file's after a panic, once everything queued before it
// is written.
func (e *Engine) recoverState() {
	e.dur.mu.Lock()
	t := e.dur.enq
	e.dur.mu.Unlock()
	_ = e.settle(t)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reloadLocked()
	e.recovering = false
}

func (e *Engine) now() time.Time { return e.cfg.Clock.Now() }

func errf(code, resp, format string, args ...any) *bankapi.Error {
	return bankapi.Errorf(code, resp, format, args...)
}

// asErr avoids the typed-nil trap when returning a *Error as an error.
func asErr(e *bankapi.Error) error {
	if e == nil {
		return nil
	}
	return e
}

func last4(card string) string {
	if len(card) < 4 {
		return card
	}
	return card[len(card)-4:]
}

// call describes one API request for fault matching and the journal.
type call struct {
	partner string // who calls (set by run)
	op      string
	bank    string
	card    string // full number; masked when journaled
	amount  int64
	key     string
}

// run is the one path every API operation takes: resolve the request under the lock, pick the
// fault (header > rule > magic > profile), then process it, or not, as the fault's kind plans
// (bankmock/faults). A Later plan never holds the lock while it waits: the idempotency key is
// reserved as in flight instead.
func run[T any](e *Engine, ctx context.Context, c call, resolve func(*call), process func(j *bankapi.JournalEntry) (T, *bankapi.Error)) (T, error) {
	var (
		zero T
		res  T
		perr *bankapi.Error
		f    *bankapi.Fault
		kind faults.Kind
		plan faults.Plan
		dup  bool // a Later request whose key is already in flight
	)
	if hf, ok := headerFault(ctx); ok {
		// The server parsed its header; an in-process caller's fault is checked here, as a bad
		// header would be.
		if err := hf.Validate(); err != nil {
			return zero, errf(bankapi.CodeInvalidRequest, "30", "bad fault: %v", err)
		}
	}
	rep := reportFrom(ctx)
	t, err := e.atomically(func() *bankapi.Error {
		if err := e.checkCaller(ctx); err != nil {
			return err
		}
		c.partner = me(ctx)
		if resolve != nil {
			resolve(&c)
		}
		f = e.pickFault(ctx, c)
		if f != nil {
			var ok bool
			if kind, ok = faults.Of(f.Kind); !ok {
				// Validated faults have registered kinds; a kind without behaviour is a build
				// that registered it in bankapi alone.
				return errf(bankapi.CodeIssuerUnavailable, "96", "fault kind %q has no behaviour in this bank", f.Kind)
			}
			plan = kind.Plan(f)
		}
		if rep != nil && f != nil {
			cp := *f
			rep.Fault = &cp
		}
		switch {
		case f == nil || plan.When == faults.Now:
			res, perr = processJournaled(e, c, f, plan.Detail, process)
		case plan.When == faults.Never:
			e.journal(c, bankapi.JournalEntry{Outcome: plan.Outcome, RespCode: plan.RespCode, Detail: plan.Detail}, f)
		default: // Later: reserve the key as in flight; the lock is not held while waiting
			if c.key != "" {
				ik := inflightKey{c.partner, c.key}
				if e.inflight[ik] {
					perr, dup = errf(bankapi.CodeDuplicate, "94", "a request with this idempotency key is in flight"), true
					e.journal(c, bankapi.JournalEntry{Outcome: perr.Code, RespCode: perr.RespCode}, f)
					return nil
				}
				e.inflight[ik] = true
			}
		}
		return nil
	})
	if err != nil {
		return zero, err
	}
	later := f != nil && plan.When == faults.Later && !dup
	if serr := e.settle(t); serr != nil {
		if later && c.key != "" {
			e.mu.Lock()
			delete(e.inflight, inflightKey{c.partner, c.key})
			e.mu.Unlock()
		}
		return zero, serr
	}
	caller := faults.Caller{Server: rep != nil, ClientTimeout: e.cfg.ClientTimeout, Sleep: e.cfg.Sleep}
	switch {
	case f == nil:
		return res, asErr(perr)
	case dup:
		return zero, perr
	case plan.When != faults.Later:
		if ae := kind.Answer(ctx, f, caller); ae != nil {
			return zero, ae
		}
		if plan.When == faults.Never {
			return zero, nil // server mode: the server acts out the network
		}
		return res, asErr(perr)
	}
	wait, late := plan.Wait, false
	if rep == nil {
		limit := e.cfg.ClientTimeout
		if dl, ok := ctx.Deadline(); ok {
			// A context deadline is wall-clock time by nature; only in-process callers have one here.
			if left := time.Until(dl); left < limit {
				limit = max(left, 0)
			}
		}
		if wait > limit {
			wait, late = limit, true
		}
	}
	if err := e.cfg.Sleep(ctx, wait); err != nil && rep == nil {
		late = true
	}
	if c.key != "" {
		e.mu.Lock()
		delete(e.inflight, inflightKey{c.partner, c.key})
		e.mu.Unlock()
	}
	// The bank processes even if the client left.
	t, err = e.atomically(func() *bankapi.Error {
		res, perr = processJournaled(e, c, f, plan.Detail, process)
		return nil
	})
	if err == nil {
		err = e.settle(t)
	}
	if err != nil {
		return zero, err
	}
	if ae := kind.Answer(ctx, f, caller); ae != nil {
		return zero, ae
	}
	if late {
		return zero, &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, RespCode: "04", Fault: f.Ref(), Processed: true,
			Message: "the bank answered after the client's timeout (it did process the request): query by idempotency key"}
	}
	return res, asErr(perr)
}

// processJournaled runs process under the lock and journals its outcome, with detail (what the
// fault, if any, did besides) added to the bank's own.
func processJournaled[T any](e *Engine, c call, f *bankapi.Fault, detail string, process func(j *bankapi.JournalEntry) (T, *bankapi.Error)) (T, *bankapi.Error) {
	var j bankapi.JournalEntry
	res, err := process(&j)
	if err != nil {
		if f != nil {
			err.Fault = f.Ref()
		}
		if j.Outcome == "" {
			j.Outcome = err.Code
		}
		if j.RespCode == "" {
			j.RespCode = err.RespCode
		}
	} else {
		if j.Outcome == "" {
			j.Outcome = "ok"
		}
		if j.RespCode == "" {
			j.RespCode = "00"
		}
	}
	j.Processed = true
	if f != nil && detail != "" {
		j.Detail = joinDetail(j.Detail, detail)
	}
	e.journal(c, j, f)
	return res, err
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// journal appends an entry, filling the request's fields; the card is masked here, once.
func (e *Engine) journal(c call, j bankapi.JournalEntry, f *bankapi.Fault) {
	e.st.Seq.Journal++
	j.Seq = e.st.Seq.Journal
	j.Time = e.now()
	if p := e.st.Partners[c.partner]; p != nil {
		j.Time = j.Time.Add(p.ClockOffset) // the partner's own time, as its transactions have
	}
	j.Partner = c.partner
	j.Op = c.op
	j.Bank = c.bank
	if c.card != "" {
		j.Card = cnid.MaskCard(c.card)
	}
	j.Amount = c.amount
	j.IdempotencyKey = c.key
	if f != nil {
		j.Fault = f.Ref()
		j.FaultKind = string(f.Kind)
	}
	e.st.Journal = append(e.st.Journal, j)
	// Bounded: the oldest entries go first, in chunks so that trimming is amortised.
	if limit := e.journalLimit(); len(e.st.Journal) > limit+limit/4 {
		e.st.Journal = append([]bankapi.JournalEntry(nil), e.st.Journal[len(e.st.Journal)-limit:]...)
	}
}

// pickFault finds the fault for a request, in precedence order: the header (context) fault, the
// admin rules in the order they were added, a magic card or amount, the bank's profile. Each
// matching fault counts the match; the first that fires wins and later ones are not consulted.
// Called with the lock held; returns a copy.
func (e *Engine) pickFault(ctx context.Context, c call) *bankapi.Fault {
	if hf, ok := headerFault(ctx); ok && matches(&hf, c.op, c.bank, c.card, c.amount) {
		e.st.Seq.Header++
		f := hf
		f.ID, f.Source, f.Matched, f.Fired = "h"+strconv.FormatInt(e.st.Seq.Header, 10), bankapi.SourceHeader, 0, 0
		if decide(&f, e.st.Seed) {
			return &f
		}
	}
	for i := range e.st.Faults {
		r := &e.st.Faults[i]
		if r.Partner != "" && r.Partner != c.partner {
			continue // another partner's rule: its traffic only
		}
		if !matches(r, c.op, c.bank, c.card, c.amount) {
			continue
		}
		e.touch(recFaults, "") // its counters move
		if decide(r, e.st.Seed) {
			f := *r
			return &f
		}
	}
	if m := magicFault(c.op, c.card, c.amount); m != nil {
		return m
	}
	if p, ok := e.st.Profiles[c.bank]; ok && matches(&p, c.op, c.bank, c.card, c.amount) {
		fired := decide(&p, e.st.Seed)
		e.st.Profiles[c.bank] = p
		e.touch(recProfiles, "")
		if fired {
			return &p
		}
	}
	return nil
}

// ---- API ----

// Banks returns the catalogue.
func (e *Engine) Banks(ctx context.Context) ([]bankapi.BankInfo, error) {
	return run(e, ctx, call{op: bankapi.OpBanks}, nil, func(*bankapi.JournalEntry) ([]bankapi.BankInfo, *bankapi.Error) {
		return Catalogue(), nil
	})
}

func cardCall(op string, req bankapi.CardRequest) call {
	c := call{op: op, card: req.CardNo}
	if b, ok := BankForCard(req.CardNo); ok {
		c.bank = b.Code
	}
	return c
}

// CheckIdentity answers the real-name registry's question for any known caller: does someone
// have exactly this name and resident ID? It says no more than that (and whether the ID is
// someone's), so it needs no admin right. The ID's check letter X matches either case.
func (e *Engine) CheckIdentity(ctx context.Context, req bankapi.IdentityCheck) (*bankapi.IdentityResult, error) {
	res := &bankapi.IdentityResult{}
	err := e.view(func() error {
		if err := e.checkCaller(ctx); err != nil {
			return err
		}
		id := strings.TrimSpace(req.IDNo)
		for i := range e.st.Customers {
			cu := &e.st.Customers[i]
			if strings.EqualFold(cu.IDNo, id) {
				res.IDKnown = true
				if cu.Name == req.Name {
					res.Match = true
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Verify checks the four elements against the card's bank.
func (e *Engine) Verify(ctx context.Context, req bankapi.CardRequest) (*bankapi.VerifyResult, error) {
	return run(e, ctx, cardCall(bankapi.OpVerify, req), nil, func(*bankapi.JournalEntry) (*bankapi.VerifyResult, *bankapi.Error) {
		cu, err := e.checkCard(req, false)
		if err != nil {
			return nil, err
		}
		return &bankapi.VerifyResult{Match: true, Bank: cu.Bank, CardType: cu.Type, CardLast4: last4(cu.CardNo)}, nil
	})
}

// checkCard applies the checks shared by verification and binding, in the order a bank would:
// the number itself, the bank's binding policy, the card's existence, the four elements, the
// card's status and, for binding, whether card-not-present payments are enabled.
func (e *Engine) checkCard(req bankapi.CardRequest, bind bool) (*bankapi.Customer, *bankapi.Error) {
	if cnid.ValidateCardNumber(req.CardNo) != nil {
		return nil, errf(bankapi.CodeCardUnknown, "14", "card number is not valid (length or check digit)")
	}
	b, ok := bankByCodeForCard(req.CardNo)
	if !ok {
		return nil, errf(bankapi.CodeCardUnknown, "14", "no bank in the catalogue issues this card's BIN")
	}
	if !validLength(b, len(req.CardNo)) {
		return nil, errf(bankapi.CodeCardUnknown, "14", "%s does not issue %d-digit cards", b.Code, len(req.CardNo))
	}
	if bind && !b.OnlineBinding {
		return nil, errf(bankapi.CodeBindingNotSupported, "68", "%s does not support online card binding; contact the bank or use another card", b.Name)
	}
	i, ok := e.cardIdx[req.CardNo]
	if !ok {
		return nil, errf(bankapi.CodeCardUnknown, "14", "%s has no such card", b.Code)
	}
	cu := &e.st.Customers[i]
	var fields []string
	if strings.TrimSpace(req.Name) != cu.Name {
		fields = append(fields, "name")
	}
	if !strings.EqualFold(strings.TrimSpace(req.IDNo), cu.IDNo) {
		fields = append(fields, "id_no")
	}
	if strings.TrimSpace(req.Phone) != cu.Phone {
		fields = append(fields, "phone")
	}
	if len(fields) > 0 {
		err := errf(bankapi.CodeInfoMismatch, "66", "the card holder's information does not match: %s", strings.Join(fields, ", "))
		err.Fields = fields
		return nil, err
	}
	if err := statusErr(cu); err != nil {
		return nil, err
	}
	if bind && strings.Contains(cu.Note, bankapi.NoteCNPDisabled) {
		return nil, errf(bankapi.CodeCNPNotEnabled, "72", "card-not-present payments are not enabled on this card; enable them at the bank or use another card")
	}
	return cu, nil
}

func bankByCodeForCard(card string) (*bankapi.BankInfo, bool) {
	b, ok := BankForCard(card)
	if !ok {
		return nil, false
	}
	return bankByCode[b.Code], true
}

func statusErr(cu *bankapi.Customer) *bankapi.Error {
	switch cu.Status {
	case bankapi.CardFrozen:
		return errf(bankapi.CodeIssuerRestricted, "77", "the issuer has frozen this card")
	case bankapi.CardLost:
		return errf(bankapi.CodeIssuerRestricted, "77", "this card was reported lost")
	case bankapi.CardExpired:
		return errf(bankapi.CodeCardExpired, "78", "this card has expired")
	}
	return nil
}

// CreateBinding checks the four elements and sends an OTP to the phone reserved at the bank.
func (e *Engine) CreateBinding(ctx context.Context, req bankapi.CardRequest) (*bankapi.Binding, error) {
	return run(e, ctx, cardCall(bankapi.OpBind, req), nil, func(j *bankapi.JournalEntry) (*bankapi.Binding, *bankapi.Error) {
		cu, err := e.checkCard(req, true)
		if err != nil {
			return nil, err
		}
		e.st.Seq.OTP++
		id := e.issue(e.st.Partners[me(ctx)], "binding", cu.CardNo, func(id string) bool { return e.st.Bindings[id] != nil })
		otp := fmt.Sprintf("%06d", splitmix64(uint64(e.st.Seed)^splitmix64(0x6f7470<<32|uint64(e.st.Seq.OTP)))%1000000)
		rec := &bindingRec{ID: id, Partner: me(ctx), Seq: e.st.Seq.OTP, CardNo: cu.CardNo, OTP: otp, ExpiresAt: e.nowFor(ctx).Add(e.cfg.OTPTTL), Status: "otp_sent"}
		e.st.Bindings[id] = rec
		e.st.LastOTP[cu.Phone] = otp
		e.touch(recBinding, id)
		e.touch(recOTP, cu.Phone)
		e.touch(recPartner, me(ctx))
		j.Detail = "binding " + id + "; OTP sent to " + cnid.MaskPhone(cu.Phone)
		return &bankapi.Binding{BindingID: id, Status: "otp_sent", PhoneMasked: cnid.MaskPhone(cu.Phone), ExpiresAt: rec.ExpiresAt}, nil
	})
}

// ConfirmBinding checks the OTP and turns the binding into an agreement. Confirming a confirmed
// binding again with the right OTP returns the same agreement (a retry after a lost answer).
func (e *Engine) ConfirmBinding(ctx context.Context, bindingID, otp string) (*bankapi.Agreement, error) {
	c := call{op: bankapi.OpConfirm}
	resolve := func(c *call) {
		if rec, ok := e.st.Bindings[bindingID]; ok && rec.Partner == c.partner {
			c.card = rec.CardNo
			if b, ok := BankForCard(rec.CardNo); ok {
				c.bank = b.Code
			}
		}
	}
	return run(e, ctx, c, resolve, func(j *bankapi.JournalEntry) (*bankapi.Agreement, *bankapi.Error) {
		rec, ok := e.st.Bindings[bindingID]
		if !ok || rec.Partner != me(ctx) {
			return nil, errf(bankapi.CodeNotFound, "25", "no such binding")
		}
		j.Detail = "binding " + bindingID
		e.touch(recBinding, bindingID) // its status or wrong-code count may change
		good := subtle.ConstantTimeCompare([]byte(otp), []byte(rec.OTP)) == 1
		cu := &e.st.Customers[e.cardIdx[rec.CardNo]]
		if rec.Status == "confirmed" {
			if good {
				j.Outcome = "replay"
				return e.agreementOf(rec.Agreement), nil
			}
			return nil, errf(bankapi.CodeOTPExpired, "71", "this binding is already confirmed; bind again")
		}
		if rec.Status == "expired" || e.nowFor(ctx).After(rec.ExpiresAt) {
			rec.Status = "expired"
			return nil, errf(bankapi.CodeOTPExpired, "71", "the code has expired; bind again to get a new one")
		}
		if !good {
			rec.Wrong++
			left := e.cfg.OTPAttempts - rec.Wrong
			if left <= 0 {
				rec.Status = "expired"
				left = 0
			}
			err := errf(bankapi.CodeOTPInvalid, "71", "wrong code; %d attempts left", left)
			err.Remaining = &left
			return nil, err
		}
		if err := statusErr(cu); err != nil {
			return nil, err
		}
		agr := e.issue(e.st.Partners[me(ctx)], "agreement", rec.CardNo, func(a string) bool { return e.st.Agreements[a] != nil })
		e.st.Agreements[agr] = &agreementRec{Agreement: agr, Partner: me(ctx), CardNo: rec.CardNo, Bank: cu.Bank, Active: true, CreatedAt: e.nowFor(ctx)}
		e.touch(recAgreement, agr)
		e.touch(recPartner, me(ctx))
		rec.Status, rec.Agreement = "confirmed", agr
		j.Detail += "; agreement " + agr
		return e.agreementOf(agr), nil
	})
}

func (e *Engine) agreementOf(agr string) *bankapi.Agreement {
	a := e.st.Agreements[agr]
	cu := &e.st.Customers[e.cardIdx[a.CardNo]]
	return &bankapi.Agreement{Agreement: agr, Bank: a.Bank, CardLast4: last4(a.CardNo), CardType: cu.Type}
}

func (e *Engine) resolveAgreement(agr string) func(*call) {
	return func(c *call) {
		if a, ok := e.st.Agreements[agr]; ok && a.Partner == c.partner {
			c.card, c.bank = a.CardNo, a.Bank
		}
	}
}

// Unbind ends an agreement; later debits and credits quoting it fail with NOT_FOUND.
func (e *Engine) Unbind(ctx context.Context, agreement string) error {
	_, err := run(e, ctx, call{op: bankapi.OpUnbind}, e.resolveAgreement(agreement), func(j *bankapi.JournalEntry) (struct{}, *bankapi.Error) {
		a, ok := e.st.Agreements[agreement]
		if !ok || !a.Active || a.Partner != me(ctx) {
			return struct{}{}, errf(bankapi.CodeNotFound, "25", "no such agreement")
		}
		a.Active = false
		e.touch(recAgreement, agreement)
		j.Detail = "agreement " + agreement
		return struct{}{}, nil
	})
	return err
}

// Debit takes money from the agreement's card.
func (e *Engine) Debit(ctx context.Context, idempotencyKey string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return e.money(ctx, bankapi.OpDebit, idempotencyKey, req)
}

// Credit pays money to the agreement's card.
func (e *Engine) Credit(ctx context.Context, idempotencyKey string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return e.money(ctx, bankapi.OpCredit, idempotencyKey, req)
}

// maxAmount keeps balances far from int64 overflow: 10^13 fen is 100 billion CNY.
const maxAmount = 10_000_000_000_000

func (e *Engine) money(ctx context.Context, kind, key string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	c := call{op: kind, key: key, amount: req.Amount}
	who := me(ctx)
	return run(e, ctx, c, e.resolveAgreement(req.Agreement), func(j *bankapi.JournalEntry) (*bankapi.Transaction, *bankapi.Error) {
		switch {
		case key == "":
			return nil, errf(bankapi.CodeInvalidRequest, "30", "an Idempotency-Key is required")
		case len(key) > 255:
			return nil, errf(bankapi.CodeInvalidRequest, "30", "the Idempotency-Key is longer than 255 characters")
		case req.Amount <= 0:
			return nil, errf(bankapi.CodeInvalidRequest, "30", "amount must be a positive number of fen")
		case req.Amount > maxAmount:
			return nil, errf(bankapi.CodeInvalidRequest, "30", "amount is too large")
		case req.Currency != bankapi.Currency:
			return nil, errf(bankapi.CodeInvalidRequest, "30", "currency must be %s", bankapi.Currency)
		}
		if e.inflight[inflightKey{who, key}] {
			return nil, errf(bankapi.CodeDuplicate, "94", "a request with this idempotency key is in flight")
		}
		t, lerr := e.lookupTxn(who, key)
		if lerr != nil {
			return nil, lerr
		}
		if t != nil {
			if t.Kind != kind || t.Agreement != req.Agreement || t.Amount != req.Amount || t.Currency != req.Currency {
				return nil, errf(bankapi.CodeIdempotencyMismatch, "12", "this idempotency key was used with different parameters (%s of %d fen)", t.Kind, t.Amount)
			}
			j.Outcome = "replay"
			j.Detail = "replay of " + t.TxnID + " (" + t.Status + ")"
			if t.Status == bankapi.TxnFailed {
				j.RespCode = t.Error.RespCode
				cp := *t.Error
				return nil, &cp
			}
			return copyTxn(t), nil
		}
		a, ok := e.st.Agreements[req.Agreement]
		if !ok || !a.Active || a.Partner != who {
			return nil, errf(bankapi.CodeNotFound, "25", "no such agreement")
		}
		ci := e.cardIdx[a.CardNo]
		cu := &e.st.Customers[ci]
		bank := bankByCode[cu.Bank]
		now := e.nowFor(ctx)
		e.st.Seq.Txn++
		t = &bankapi.Transaction{TxnID: fmt.Sprintf("T%06d", e.st.Seq.Txn), IdempotencyKey: key, Kind: kind,
			Status: bankapi.TxnSucceeded, Amount: req.Amount, Currency: req.Currency, Agreement: req.Agreement,
			Bank: cu.Bank, CardLast4: last4(cu.CardNo), Time: now}
		dayKey := cu.CardNo + "|" + vclock.Day(now)
		err := statusErr(cu)
		if err == nil && kind == bankapi.OpDebit {
			switch {
			case req.Amount > bank.SingleLimit:
				err = errf(bankapi.CodeLimitExceeded, "61", "over %s's single-payment limit of %d fen", bank.Code, bank.SingleLimit)
			case e.st.Daily[dayKey]+req.Amount > bank.DailyLimit:
				err = errf(bankapi.CodeLimitExceeded, "81", "over %s's daily limit of %d fen for this card", bank.Code, bank.DailyLimit)
			case req.Amount > cu.Balance && cu.Type == bankapi.CardCredit:
				err = errf(bankapi.CodeInsufficientFunds, "64", "not enough available credit")
			case req.Amount > cu.Balance:
				err = errf(bankapi.CodeInsufficientFunds, "51", "insufficient funds")
			}
		}
		if err == nil && kind == bankapi.OpCredit && cu.Balance > math.MaxInt64-req.Amount {
			err = errf(bankapi.CodeInvalidRequest, "30", "balance would overflow")
		}
		if err != nil {
			t.Status = bankapi.TxnFailed
			cp := *err
			t.Error = &cp
		} else if kind == bankapi.OpDebit {
			cu.Balance -= req.Amount
			e.st.Daily[dayKey] += req.Amount
			e.touchCustomer(ci)
			e.touch(recDaily, dayKey)
		} else {
			cu.Balance += req.Amount
			e.touchCustomer(ci)
		}
		e.putTxn(who, key, t)
		j.Detail = t.TxnID + " " + t.Status
		if err != nil {
			return nil, err
		}
		return copyTxn(t), nil
	})
}

func copyTxn(t *bankapi.Transaction) *bankapi.Transaction {
	cp := *t
	if t.Error != nil {
		e := *t.Error
		cp.Error = &e
	}
	return &cp
}

// Transaction returns the stored outcome of one of the caller's debits or credits. A request that was refused, hung
// or is still in flight was never processed: NOT_FOUND.
func (e *Engine) Transaction(ctx context.Context, idempotencyKey string) (*bankapi.Transaction, error) {
	resolve := func(c *call) {
		if t, _ := e.lookupTxn(c.partner, idempotencyKey); t != nil {
			c.bank = t.Bank
			if a, ok := e.st.Agreements[t.Agreement]; ok {
				c.card = a.CardNo
			}
		}
	}
	return run(e, ctx, call{op: bankapi.OpTransaction, key: idempotencyKey}, resolve, func(*bankapi.JournalEntry) (*bankapi.Transaction, *bankapi.Error) {
		if idempotencyKey == "" {
			return nil, errf(bankapi.CodeInvalidRequest, "30", "an idempotency key is required")
		}
		t, lerr := e.lookupTxn(me(ctx), idempotencyKey)
		if lerr != nil {
			return nil, lerr
		}
		if t == nil {
			return nil, errf(bankapi.CodeNotFound, "25", "no transaction with this idempotency key")
		}
		return copyTxn(t), nil
	})
}

// Statement lists the caller's succeeded transactions of one bank day (Asia/vclock.Shanghai), in the order they
// happened, with counts and totals.
func (e *Engine) Statement(ctx context.Context, date string) (*bankapi.Statement, error) {
	return run(e, ctx, call{op: bankapi.OpStatement}, nil, func(j *bankapi.JournalEntry) (*bankapi.Statement, *bankapi.Error) {
		if _, err := time.Parse("2006-01-02", date); err != nil {
			return nil, errf(bankapi.CodeInvalidRequest, "30", "date must be yyyy-mm-dd")
		}
		j.Detail = date
		return e.statement(me(ctx), date)
	})
}

// StatementRecords is the caller's statement of one day as the bank's records hold it, read
// without a journal entry, a fault or any other change: for checks that must change nothing
// (walletctl sandbox check, which reports what a reconcile would find).
func (e *Engine) StatementRecords(ctx context.Context, date string) (*bankapi.Statement, error) {
	if _, err := time.Parse("2006-01-02", date); err != nil {
		return nil, errf(bankapi.CodeInvalidRequest, "30", "date must be yyyy-mm-dd")
	}
	var out *bankapi.Statement
	err := e.view(func() error {
		if err := e.checkCaller(ctx); err != nil {
			return err
		}
		s, serr := e.statement(me(ctx), date)
		if serr != nil {
			return serr
		}
		out = s
		return nil
	})
	return out, err
}

// statement is partner's statement of one day. Lock held.
func (e *Engine) statement(partner, date string) (*bankapi.Statement, *bankapi.Error) {
	s := &bankapi.Statement{Date: date, Transactions: []bankapi.Transaction{}}
	txns, lerr := e.txnsOn(partner, date)
	if lerr != nil {
		return nil, lerr
	}
	for _, t := range txns {
		s.Transactions = append(s.Transactions, *copyTxn(t))
		if t.Kind == bankapi.OpDebit {
			s.DebitCount++
			s.DebitTotal += t.Amount
		} else {
			s.CreditCount++
			s.CreditTotal += t.Amount
		}
	}
	// Txn IDs are fixed-width and sequential: sorting them is sorting by time of processing.
	sort.Slice(s.Transactions, func(a, b int) bool { return s.Transactions[a].TxnID < s.Transactions[b].TxnID })
	return s, nil
}
