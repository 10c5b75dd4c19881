// Package testworld builds the worlds that tests of several packages run in, at any layer: the
// mock bank alone (in process, or a real bankmock server on loopback with its admin token and a
// bankapi/client of it), and a wallet engine on a store over that bank, with one virtual clock
// for both. open.go has the open-wallet sequence, written once for the engine, a sandbox's
// Service and httpapi's client; call.go one request with a bearer token.
//
// Only tests import it (it fails through testing.TB and serves over httptest): walletctl chaos,
// which runs in the shipped binary, keeps its own World. The packages it imports cannot use it
// from their package-internal tests (an import cycle): engine's tests are package engine_test
// for that, and bankmock's and bankmock/server's own build their bank by hand.
package testworld

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/bankadapter"
	"github.com/walletctl/walletctl/walletctl/engine"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// SecretKey is the wallet's secret key in tests (32 bytes) when the store keeps none of its own.
var SecretKey = []byte("walletctl engine test secret key")

// Config is what NewBank and New build; Options change it from the defaults: bank seed 7 with 5
// generated customers, the bank in process (its client timeout 200 ms unless set: the wallet is
// its in-process caller; on loopback the wallet's client has its own timeout), a fresh SQLite
// file, the sandbox settings and SecretKey; password salts come from ChaCha8 seeded with 1, so that
// a run replays.
type Config struct {
	// Bank configures the mock bank's engine; its Clock is always the world's.
	Bank bankmock.Config
	// Start is the clock's first instant (zero: vclock.DefaultEpoch).
	Start time.Time

	// Loopback serves the bank on loopback with Server's options (an empty AdminToken lets the
	// server make one), its handler wrapped by Handler if set; the wallet reaches it through a
	// bankapi/client with Client's options (AdminToken defaults to the server's, Timeout to 2 s,
	// Backoff to 1 ms).
	Loopback bool
	Server   server.Options
	Handler  func(http.Handler) http.Handler
	Client   client.Options

	// WrapAPI, if set, is the bank as the wallet calls it (a bank that lies, or dies), built over
	// the bank; identities are still checked with the bank's admin side.
	WrapAPI func(b *Bank) bankapi.API

	// Store is the wallet's store; nil opens a fresh SQLite file in the test's temporary folder
	// (and checks the ledger when the test ends).
	Store walletctl.Store
	// Settings are the engine's rules.
	Settings walletctl.Settings
	// SecretKey is the engine's key; nil: the store's own if it keeps one (PostgreSQL), else
	// SecretKey.
	SecretKey []byte
	// Deliverer sends merchant notifications; nil keeps them pending.
	Deliverer walletctl.Deliverer
}

// An Option changes the Config; any func(*Config) is one.
type Option = func(*Config)

// Seed is the bank's world seed.
func Seed(n int64) Option { return func(c *Config) { c.Bank.Seed = n } }

// Customers is how many customers the bank generates besides its test cards.
func Customers(n int) Option { return func(c *Config) { c.Bank.Customers = n } }

// ClientTimeout is how long the bank's in-process callers wait for a delayed or hung answer.
func ClientTimeout(d time.Duration) Option { return func(c *Config) { c.Bank.ClientTimeout = d } }

// InstantSleep makes the bank's delays and hangs take no wall time.
func InstantSleep() Option { return func(c *Config) { c.Bank.Sleep = bankmock.InstantSleep } }

// Loopback serves the bank on loopback with the admin token ("": the server makes one).
func Loopback(adminToken string) Option {
	return func(c *Config) { c.Loopback, c.Server.AdminToken = true, adminToken }
}

// Client sets the options of the wallet's client of a bank on loopback (and implies Loopback).
func Client(o client.Options) Option { return func(c *Config) { c.Loopback, c.Client = true, o } }

// WrapHandler wraps the handler of a bank on loopback (a recorder, a validator, a broken bank).
func WrapHandler(wrap func(http.Handler) http.Handler) Option {
	return func(c *Config) { c.Handler = wrap }
}

// Settings changes the engine's rules.
func Settings(edit func(*walletctl.Settings)) Option { return func(c *Config) { edit(&c.Settings) } }

// Store is the wallet's store; the test closes it.
func Store(st walletctl.Store) Option { return func(c *Config) { c.Store = st } }

// Bank is the bank layer of a world.
type Bank struct {
	t     testing.TB
	Clock *vclock.Manual
	// Mock is the bank itself, in process even when it is served on loopback.
	Mock *bankmock.Engine
	// API and Admin are the bank as the wallet sees it: Mock, or Client on loopback.
	API   bankapi.API
	Admin bankapi.Admin

	// On loopback: the server, its address and admin token, and the wallet's client of it.
	Server     *server.Server
	HTTP       *httptest.Server
	URL        string
	AdminToken string
	Client     *client.Client
}

func defaults(opts []Option) Config {
	cfg := Config{Bank: bankmock.Config{Seed: 7, Customers: 5}, Settings: walletctl.SandboxSettings()}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// NewBank builds the bank layer alone; a server on loopback is closed when the test ends.
func NewBank(t testing.TB, opts ...Option) *Bank {
	t.Helper()
	return newBank(t, defaults(opts))
}

func newBank(t testing.TB, cfg Config) *Bank {
	if cfg.Start.IsZero() {
		cfg.Start = vclock.DefaultEpoch
	}
	clock := vclock.NewManual(cfg.Start)
	cfg.Bank.Clock = clock
	if !cfg.Loopback && cfg.Bank.ClientTimeout == 0 {
		cfg.Bank.ClientTimeout = 200 * time.Millisecond
	}
	mock := bankmock.New(cfg.Bank)
	b := &Bank{t: t, Clock: clock, Mock: mock, API: mock, Admin: mock}
	if !cfg.Loopback {
		return b
	}
	b.Server = server.New(mock, cfg.Server)
	var h http.Handler = b.Server
	if cfg.Handler != nil {
		h = cfg.Handler(h)
	}
	b.HTTP = httptest.NewServer(h)
	t.Cleanup(func() { b.Server.ReleaseHangs(); b.HTTP.Close() })
	b.URL, b.AdminToken = b.HTTP.URL, b.Server.AdminToken()
	o := cfg.Client
	if o.AdminToken == "" {
		o.AdminToken = b.AdminToken
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	b.Client = client.New(b.URL, o)
	b.API, b.Admin = b.Client, b.Client
	return b
}

// AddCustomer adds a bank customer with c's fields (blanks filled by the bank; active unless c
// says otherwise).
func (b *Bank) AddCustomer(c bankapi.Customer) bankapi.Customer {
	b.t.Helper()
	if c.Status == "" {
		c.Status = bankapi.CardActive
	}
	return *Must[*bankapi.Customer](b.t)(b.Admin.AddCustomer(context.Background(), c))
}

// CardBalance is a card's balance at the bank, in fen.
func (b *Bank) CardBalance(cardNo string) int64 {
	b.t.Helper()
	return Must[*bankapi.Customer](b.t)(b.Admin.Customer(context.Background(), cardNo)).Balance
}

// World is one wallet over one bank, sharing the bank's clock. Its Opener opens wallets through
// the engine with the bank's OTPs.
type World struct {
	*Bank
	Opener
	Store walletctl.Store
	Path  string // the SQLite file the world opened ("" for a given store)
	// Engine is the wallet (the Opener's Wallet too).
	Engine *engine.Engine

	cfg Config
}

// New builds a wallet engine on a store over a bank, as opts say.
func New(t testing.TB, opts ...Option) *World {
	t.Helper()
	cfg := defaults(opts)
	w := &World{Bank: newBank(t, cfg), Store: cfg.Store, cfg: cfg}
	if cfg.WrapAPI != nil {
		w.API = cfg.WrapAPI(w.Bank)
	}
	if w.Store == nil {
		w.Path = filepath.Join(t.TempDir(), "wallet.db")
		st, err := sqlite.Open(w.Path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		w.Store = st
		t.Cleanup(w.CheckLedger) // runs before the store closes
	}
	w.Engine = w.NewEngine(nil, 1)
	w.Opener = Opener{T: t, Ctx: context.Background(), Wallet: w.Engine, OTPs: w.Admin}
	return w
}

// EngineConfig is the configuration of an engine like the world's over st (nil: the world's
// store), its password salts seeded with seed (the world's engine has 1): another process of the
// same wallet, or, with a field changed, another wallet.
func (w *World) EngineConfig(st walletctl.Store, seed byte) engine.Config {
	if st == nil {
		st = w.Store
	}
	key := w.cfg.SecretKey
	if kept, ok := st.(interface{ SecretKey() []byte }); ok && key == nil {
		key = kept.SecretKey()
	}
	if key == nil {
		key = SecretKey
	}
	return engine.Config{Store: st, Bank: bankadapter.New(w.API), Identity: bankadapter.NewRegistry(w.Admin), Clock: w.Clock,
		Settings: w.cfg.Settings, Entropy: rand.NewChaCha8([32]byte{seed}), SecretKey: key, Deliverer: w.cfg.Deliverer}
}

// NewEngine builds an engine from EngineConfig(st, seed) changed by edits.
func (w *World) NewEngine(st walletctl.Store, seed byte, edits ...func(*engine.Config)) *engine.Engine {
	w.t.Helper()
	cfg := w.EngineConfig(st, seed)
	for _, e := range edits {
		e(&cfg)
	}
	eng, err := engine.New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	return eng
}

// Via makes an engine call the bank through api and check identities with admin's registry
// (another process's own client of a bank on loopback).
func Via(api bankapi.API, admin bankapi.Admin) func(*engine.Config) {
	return func(c *engine.Config) { c.Bank, c.Identity = bankadapter.New(api), bankadapter.NewRegistry(admin) }
}

// Balance is the user's available wallet balance, in fen.
func (w *World) Balance(userID string) int64 {
	w.t.Helper()
	return Must[*walletctl.Balance](w.t)(w.Engine.Balance(w.Ctx, userID)).Available
}

// CheckLedger checks the world's ledger (see the function).
func (w *World) CheckLedger() { w.t.Helper(); CheckLedger(w.t, w.Store) }

// CheckLedger is the invariant after every test: the ledger sums to zero, every entry balances,
// every cached balance equals its postings, and no user (or merchant, transit, fee) account is
// negative.
func CheckLedger(t testing.TB, st walletctl.Store) {
	t.Helper()
	var r *walletctl.LedgerReport
	if err := st.View(context.Background(), func(tx walletctl.StoreTx) error {
		var err error
		r, err = tx.LedgerCheck()
		return err
	}); err != nil {
		t.Fatalf("ledger check: %v", err)
	}
	if r.Sum != 0 || len(r.UnbalancedTxns) > 0 || len(r.DriftedAccounts) > 0 || len(r.NegativeAccounts) > 0 {
		t.Errorf("ledger invariant broken: %+v", r)
	}
}

// Card is the bank's test card with the key ("ok", "no_funds", ...).
func Card(key string) bankapi.Customer {
	for _, c := range bankmock.TestCards {
		if c.Key == key {
			return c.Customer
		}
	}
	panic("no test card " + key)
}

// Must returns v, failing the test on err: Must[*walletctl.Txn](t)(eng.TopUp(...)).
func Must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
