// Package engine is the wallet's business rules (DESIGN.md section 2) over a Store, a Bank, an
// identity registry and a clock, all injected. *Engine implements walletctl.Service.
//
// Money movements backed by the bank follow one protocol: the txn is written pending with its
// bank idempotency key and committed first, then the bank is called, then the outcome is settled
// in a second transaction. An unknown outcome leaves the txn pending (code PENDING) until a status
// query (tx show, Reconcile) settles it, so nothing is ever guessed or charged twice.
package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/walletctl"
)

// Config wires the engine to its collaborators.
type Config struct {
	Store    walletctl.Store // *sqlite.Store in production
	Bank     walletctl.Bank
	Identity walletctl.IdentityRegistry
	// Clock is the only source of time. If it also has Advance(time.Duration) time.Time (like
	// vclock.Manual), Engine.Advance moves it.
	Clock walletctl.Clock
	// Settings; the zero value means walletctl.DefaultSettings().
	Settings walletctl.Settings
	// Entropy supplies password salts; nil means crypto/rand. Tests pass a seeded source.
	Entropy io.Reader
	// BankKeyPrefix prefixes the idempotency keys sent to the bank ("wlt-" when empty).
	BankKeyPrefix string
	// SecretKey is the wallet's key for what it keeps of card and ID numbers (walletctl.SecretKey,
	// 32 bytes; at least 16). Required: the same wallet must always get the same key, so the
	// engine cannot make one up (the sandbox keeps it in sandbox.json, PostgreSQL in the schema).
	SecretKey []byte
	// Deliverer sends merchant notifications (walletctl/notify's HTTP sender); nil keeps them
	// pending, undelivered.
	Deliverer walletctl.Deliverer
	// RealClock is wall-clock time, for what lives in real time (a listener's forward lease);
	// nil means time.Now.
	RealClock func() time.Time
}

// Engine is the embedded wallet.
type Engine struct {
	store    walletctl.Store
	bank     walletctl.Bank
	identity walletctl.IdentityRegistry
	clock    walletctl.Clock
	set      walletctl.Settings
	prefix   string
	secret   walletctl.SecretKey

	entropyMu sync.Mutex
	entropy   io.Reader

	banksMu sync.Mutex
	banks   []bankapi.BankInfo

	// calls keeps a txn's bank call and its status queries apart (see callLocks).
	calls callLocks

	deliverer walletctl.Deliverer
	realClock func() time.Time
	// owner names this engine in the leases of the notification tries it claims.
	owner string
}

var _ walletctl.Service = (*Engine)(nil)

type advancer interface {
	Advance(time.Duration) time.Time
}

// New checks the configuration and returns an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Bank == nil || cfg.Identity == nil || cfg.Clock == nil {
		return nil, errors.New("engine: Store, Bank, Identity and Clock are required")
	}
	if cfg.Settings == (walletctl.Settings{}) {
		cfg.Settings = walletctl.DefaultSettings()
	}
	if cfg.Entropy == nil {
		cfg.Entropy = rand.Reader
	}
	if cfg.BankKeyPrefix == "" {
		cfg.BankKeyPrefix = "wlt-"
	}
	if cfg.Settings.PasswordMaxAttempts <= 0 {
		return nil, errors.New("engine: PasswordMaxAttempts must be positive")
	}
	if !walletctl.SecretKey(cfg.SecretKey).Valid() {
		return nil, errors.New("engine: SecretKey is required (at least 16 bytes)")
	}
	return &Engine{store: cfg.Store, bank: cfg.Bank, identity: cfg.Identity, clock: cfg.Clock,
		set: cfg.Settings, prefix: cfg.BankKeyPrefix, entropy: cfg.Entropy, secret: cfg.SecretKey,
		deliverer: withNotifyTimeout(cfg.Deliverer, cfg.Settings.NotifyTimeout.D()), realClock: cfg.RealClock, owner: newOwner()}, nil
}

// CardHash is the keyed hash under which this wallet keeps a card number (harnesses that match
// the wallet's cards with the bank's customers use it; the wallet itself never shows it).
func (e *Engine) CardHash(cardNo string) string { return e.secret.CardHash(normCard(cardNo)) }

// Settings returns the rules the engine enforces.
func (e *Engine) Settings() walletctl.Settings { return e.set }

func (e *Engine) now() time.Time { return e.clock.Now() }

// errf builds a wallet error with the code's default hint.
func errf(code, format string, args ...any) *walletctl.Error {
	return walletctl.Errorf(code, format, args...)
}

func withDetails(e *walletctl.Error, kv ...any) *walletctl.Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Details[kv[i].(string)] = kv[i+1]
	}
	return e
}

func withHint(e *walletctl.Error, hint string) *walletctl.Error {
	e.Hint = hint
	return e
}

const (
	hintCardList = "see the cards already bound: walletctl card list"
	hintReset    = "the password is changed through recovery: walletctl password reset"
)

// internal wraps an unexpected failure (store, bug) as INTERNAL, keeping the cause for errors.As.
func internal(err error) error {
	if err == nil {
		return nil
	}
	var we *walletctl.Error
	if errors.As(err, &we) {
		return err
	}
	if df := walletctl.DiskFull(err); df != nil {
		return df // the user's disk, not a bug
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller gave up during a store call: its transaction rolled back, nothing changed.
		return &walletctl.Error{Code: walletctl.CodeNetwork, Err: err,
			Message: "the request was given up before it changed anything: " + err.Error(),
			Hint:    "nothing was done; it is safe to retry"}
	}
	return &walletctl.Error{Code: walletctl.CodeInternal, Message: err.Error(), Hint: walletctl.Hint(walletctl.CodeInternal), Err: err}
}

func seqID(tx walletctl.StoreTx, seq, prefix string) (string, error) {
	n, err := tx.NextID(seq)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s%d", prefix, n), nil
}

func (e *Engine) logEvent(tx walletctl.StoreTx, userID, event, detail string) error {
	return tx.AppendSecurity(&walletctl.SecurityEvent{UserID: userID, Time: e.now(), Event: event, Detail: detail})
}

// update runs fn in a write transaction; errors that are not *walletctl.Error become INTERNAL.
func (e *Engine) update(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	return internal(e.store.Update(ctx, fn))
}

func (e *Engine) view(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	return internal(e.store.View(ctx, fn))
}

func getUser(tx walletctl.StoreTx, id string) (*walletctl.UserRecord, error) {
	u, err := tx.GetUser(id)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, errf(walletctl.CodeNotFound, "no user %q", id)
	}
	return u, nil
}

// publicUser is what a user may see of a user record: masks only.
func publicUser(u *walletctl.UserRecord) *walletctl.User {
	out := u.User
	out.Verified = u.IDHash != ""
	out.PasswordSet = u.PasswordHash != ""
	if out.Verified {
		out.NameMasked = maskName(u.Name)
		out.IDMasked = u.IDMasked
	}
	return &out
}

// ---- clock and due work

// Now returns the virtual time.
func (e *Engine) Now(ctx context.Context) (time.Time, error) { return e.now(), nil }

// Advance moves the clock (when it can be moved) and runs the due work that needs no one outside
// (RunDue); the notification tries that fell due are delivered by whoever drives DueWork.
func (e *Engine) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	if d < 0 {
		return time.Time{}, errf(walletctl.CodeInvalidArgument, "the clock only moves forward")
	}
	a, ok := e.clock.(advancer)
	if !ok {
		return time.Time{}, errf(walletctl.CodeInvalidArgument, "this wallet's clock is real time and cannot be advanced")
	}
	t := a.Advance(d)
	// The notification tries that fell due are the caller's to drive (DueWork), off this call.
	return t, e.tick(ctx)
}

// tick runs the work that fell due (transfer arrivals and refunds, password lock expiry). It is
// called at the start of every operation (inside authorize for top-up, withdraw and pay), so an
// engine that only sees time pass between commands still keeps every deadline; a cheap indexed
// read decides whether a write is needed.
func (e *Engine) tick(ctx context.Context) error {
	now := e.now()
	var due *time.Time
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		due, err = tx.NextDue()
		return err
	}); err != nil {
		return err
	}
	if due == nil || due.After(now) {
		return nil
	}
	return e.update(ctx, func(tx walletctl.StoreTx) error { return e.runDue(tx, now) })
}

func (e *Engine) runDue(tx walletctl.StoreTx, now time.Time) error {
	trs, err := tx.TransfersDue(now)
	if err != nil {
		return err
	}
	for i := range trs {
		tr := &trs[i]
		if tr.Status == walletctl.TransferScheduled {
			tr.Status = walletctl.TransferArrived
			if err := tx.SaveTransfer(tr); err != nil {
				return err
			}
		}
		if tr.Status == walletctl.TransferArrived && !tr.RefundAt.After(now) {
			if err := e.returnTransfer(tx, tr, walletctl.TransferRefunded, tr.RefundAt); err != nil {
				return err
			}
		}
	}
	if err := e.expireOrders(tx, now); err != nil {
		return err
	}
	users, err := tx.LockedUsersDue(now)
	if err != nil {
		return err
	}
	for i := range users {
		u := &users[i]
		u.LockedUntil, u.FailedAttempts = nil, 0
		if err := tx.SaveUser(u); err != nil {
			return err
		}
		if err := e.logEvent(tx, u.ID, "password_unlocked", "the lock expired"); err != nil {
			return err
		}
	}
	return nil
}

// ---- masks (wallet display rules; identity's helpers for names and IDs)

// ---- bank catalogue

// bankInfo returns the catalogue entry for a code, fetching the catalogue once.
func (e *Engine) catalogue(ctx context.Context) []bankapi.BankInfo {
	e.banksMu.Lock()
	defer e.banksMu.Unlock()
	if e.banks == nil {
		bs, err := e.bank.Banks(ctx)
		if err != nil {
			return nil // names are cosmetic; try again next time
		}
		e.banks = bs
	}
	return e.banks
}

func (e *Engine) bankName(ctx context.Context, code string) string {
	for _, b := range e.catalogue(ctx) {
		if b.Code == code {
			return b.Name
		}
	}
	return code
}

// bankByBIN finds the bank of a card number by its longest matching BIN prefix.
func (e *Engine) bankByBIN(ctx context.Context, cardNo string) string {
	best, bestLen := "", 0
	for _, b := range e.catalogue(ctx) {
		for _, bin := range b.BINs {
			if len(bin) > bestLen && strings.HasPrefix(cardNo, bin) {
				best, bestLen = b.Code, len(bin)
			}
		}
	}
	return best
}

// ---- merchants

var merchants = []walletctl.Merchant{
	{ID: "m-cafe", Name: "街角咖啡 Corner Café", Category: "food"},
	{ID: "m-cinema", Name: "光影影城 Cinema tickets", Category: "tickets"},
	{ID: "m-insurance", Name: "安心保险 Travel insurance", Category: "insurance"},
	{ID: "m-mobile", Name: "话费充值 Phone top-up", Category: "top-up"},
	{ID: "m-rail", Name: "铁路12306 Rail tickets", Category: "tickets"},
	{ID: "m-utility", Name: "水电燃气 Utilities", Category: "utilities"},
}

// Merchants lists the sandbox's merchant catalogue (the seed's 多样化功能: tickets, insurance,
// phone top-up, ...).
func (e *Engine) Merchants(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Merchant], error) {
	out := append([]walletctl.Merchant(nil), merchants...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	created, err := e.merchantsCreated(ctx)
	if err != nil {
		return nil, err
	}
	// The catalogue, then the merchants made in this sandbox as they were made: a few by nature.
	return walletctl.PageSlice(append(out, created...), p, func(m walletctl.Merchant) string { return m.ID }, "a merchant")
}

func merchant(id string) *walletctl.Merchant {
	for i := range merchants {
		if merchants[i].ID == id {
			return &merchants[i]
		}
	}
	return nil
}

func maskName(n string) string { return cnid.MaskName(n) }
func maskID(id string) string  { return cnid.MaskID(id) }
