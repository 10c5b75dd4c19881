package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/bankadapter"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// world is one test's wallet: a real SQLite file, the real bankmock engine in-process and one
// virtual clock shared by both.
type world struct {
	t     testing.TB
	ctx   context.Context
	clock *vclock.Manual
	bank  *bankmock.Engine
	api   bankapi.API
	admin bankapi.Admin
	store *sqlite.Store
	eng   *Engine
	path  string // the store's file
}

type worldOpt func(*walletctl.Settings, *bankmock.Config)

func newWorld(t testing.TB, opts ...worldOpt) *world {
	t.Helper()
	clock := vclock.NewManual(vclock.DefaultEpoch)
	set := walletctl.SandboxSettings()
	bcfg := bankmock.Config{Seed: 7, Customers: 5, Clock: clock, ClientTimeout: 200 * time.Millisecond}
	for _, o := range opts {
		o(&set, &bcfg)
	}
	b := bankmock.New(bcfg)
	return newWorldWith(t, clock, b, b, set)
}

func newWorldWith(t testing.TB, clock *vclock.Manual, api bankapi.API, admin bankapi.Admin, set walletctl.Settings) *world {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wallet.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := New(Config{Store: st, Bank: bankadapter.New(api), Identity: bankadapter.NewRegistry(admin), Clock: clock,
		Settings: set, Entropy: rand.NewChaCha8([32]byte{1}), SecretKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: context.Background(), clock: clock, api: api, admin: admin, store: st, eng: eng, path: path}
	if b, ok := api.(*bankmock.Engine); ok {
		w.bank = b
	}
	t.Cleanup(w.checkLedger)
	return w
}

// checkLedger is the invariant after every test: the ledger sums to zero, every entry balances,
// every cached balance equals its postings, and no user (or merchant, transit, fee) account is
// negative.
func (w *world) checkLedger() {
	w.t.Helper()
	var r *walletctl.LedgerReport
	if err := w.store.View(w.ctx, func(tx walletctl.StoreTx) error {
		var err error
		r, err = tx.LedgerCheck()
		return err
	}); err != nil {
		w.t.Fatalf("ledger check: %v", err)
	}
	if r.Sum != 0 || len(r.UnbalancedTxns) > 0 || len(r.DriftedAccounts) > 0 || len(r.NegativeAccounts) > 0 {
		w.t.Errorf("ledger invariant broken: %+v", r)
	}
}

func card(key string) bankapi.Customer {
	for _, c := range bankmock.TestCards {
		if c.Key == key {
			return c.Customer
		}
	}
	panic("no test card " + key)
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// code asserts err is a wallet error with the code and returns it.
func code(t testing.TB, err error, want string) *walletctl.Error {
	t.Helper()
	var we *walletctl.Error
	if !errors.As(err, &we) {
		t.Fatalf("want %s, got %v", want, err)
	}
	if we.Code != want {
		t.Fatalf("want %s, got %s: %s (%v)", want, we.Code, we.Message, we.Details)
	}
	if we.Hint == "" {
		t.Errorf("%s has no hint", want)
	}
	return we
}

const pw = "385926"

// verified registers a user with the customer's phone and passes real-name verification.
func (w *world) verified(c bankapi.Customer) string {
	w.t.Helper()
	u := must[*walletctl.User](w.t)(w.eng.Register(w.ctx, c.Phone))
	must[*walletctl.KYC](w.t)(w.eng.SubmitKYC(w.ctx, u.ID, c.Name, c.IDNo))
	return u.ID
}

// bind binds the customer's card to the user, fetching the OTP from the bank.
func (w *world) bind(userID string, c bankapi.Customer) string {
	w.t.Helper()
	b := must[*walletctl.CardBinding](w.t)(w.eng.BindCard(w.ctx, userID, c.CardNo, c.Phone))
	otp := must[string](w.t)(w.admin.LastOTP(w.ctx, c.Phone))
	cd := must[*walletctl.Card](w.t)(w.eng.ConfirmCard(w.ctx, userID, b.BindingID, otp))
	return cd.ID
}

// ready is a verified user with the card bound and the password set; it returns user and card.
func (w *world) ready(c bankapi.Customer) (string, string) {
	w.t.Helper()
	u := w.verified(c)
	cid := w.bind(u, c)
	if err := w.eng.SetPassword(w.ctx, u, pw); err != nil {
		w.t.Fatal(err)
	}
	return u, cid
}

func (w *world) balance(userID string) int64 {
	w.t.Helper()
	return must[*walletctl.Balance](w.t)(w.eng.Balance(w.ctx, userID)).Available
}

func (w *world) cardBalance(cardNo string) int64 {
	w.t.Helper()
	return must[*bankapi.Customer](w.t)(w.admin.Customer(w.ctx, cardNo)).Balance
}

func (w *world) events(userID string) []string {
	w.t.Helper()
	var out []string
	for _, e := range must[[]walletctl.SecurityEvent](w.t)(w.eng.SecurityLog(w.ctx, userID)) {
		out = append(out, e.Event)
	}
	return out
}

// customer adds a bank customer with the given fields (blanks filled by the bank).
func (w *world) customer(c bankapi.Customer) bankapi.Customer {
	w.t.Helper()
	if c.Status == "" {
		c.Status = bankapi.CardActive
	}
	return *must[*bankapi.Customer](w.t)(w.admin.AddCustomer(w.ctx, c))
}

// testKey is the wallet's secret key in tests.
var testKey = []byte("walletctl engine test secret key")
