// Package bigtenant builds a wallet with a long history, for the benchmarks that compare a tenant
// with a million past operations to a new one (DESIGN.md sections 7 and 12): wallets opened at
// the bank, then N wallet transactions (top-ups, merchant orders, payments from the balance and by
// card, transfers, withdrawals) made through the wallet's Service, in process, over the virtual
// days the history spans. Everything is drawn from a seed: the same seed makes the same
// operations.
//
// Build makes (or fills) a sandbox home, optionally through a cache of built homes (a million
// transactions take a while: see Options.Cache); the benchmarks open that home as a tenant of
// `walletctl serve`. Setup and Run drive any walletctl.Service (the engine, a sandbox's, httpapi's
// Client), so that a kept-open tenant can be given more history through its server.
//
// Only tests and benchmarks import it; nothing in the product does.
package bigtenant

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// Password is the payment password of every wallet the fixture opens.
const Password = "385926"

// Bank is what the fixture needs of the wallet's bank: its customers are added through the admin
// side (a sandbox's in-process bank, or a tenant's own bank through httpapi's Client.Bank), and
// the SMS codes of card bindings read there.
type Bank interface {
	AddCustomer(ctx context.Context, c bankapi.Customer) (*bankapi.Customer, error)
	LastOTP(ctx context.Context, phone string) (string, error)
}

// User is one wallet the fixture opened.
type User struct {
	ID     string `json:"id"`
	CardID string `json:"card_id"`
	Phone  string `json:"phone"`
}

// World is what Setup made and Run adds to: the wallets, the merchant whose orders the history
// pays, and where the history stands.
type World struct {
	Users []User `json:"users"`
	// MchID is the merchant (a v3 one, CreateMerchant) that the history's orders are made for.
	MchID string `json:"mchid"`
	// LastOrder is the out_trade_no of the last order Run paid ("" before any).
	LastOrder string `json:"last_order"`
	// Txns is how many wallet transactions Setup and Run made (the opening top-ups included).
	Txns int `json:"txns"`
	// Ops counts each kind of operation Run made.
	Ops map[string]int `json:"ops"`
	// Seed draws the operations; Runs counts the calls of Run (each draws from its own stream).
	Seed int64 `json:"seed"`
	Runs int   `json:"runs"`
}

// Operation kinds of Run.
const (
	OpTopUp    = "topup"    // from the user's card: a bank debit
	OpOrder    = "order"    // a Native order of MchID, paid from the balance (CreateOrder, PayOrder)
	OpPay      = "pay"      // a built-in merchant paid from the balance
	OpPayCard  = "pay_card" // a built-in merchant paid by card: a bank debit
	OpTransfer = "transfer" // to another wallet, accepted by the payee (Transfer, AcceptTransfer)
	OpWithdraw = "withdraw" // to the user's card: a bank credit
)

// mix is the operations' weights (per 100). Top-ups are twice the size of payments, so that a
// balance grows a little on average and never runs dry.
var mix = []struct {
	op     string
	weight int
}{{OpTopUp, 35}, {OpOrder, 25}, {OpPay, 20}, {OpTransfer, 10}, {OpPayCard, 5}, {OpWithdraw, 5}}

var mixTotal = func() int {
	n := 0
	for _, m := range mix {
		n += m.weight
	}
	return n
}()

var builtinMerchants = []string{"m-cafe", "m-cinema", "m-mobile", "m-rail", "m-utility"}

// Setup opens users wallets through svc, each on a new card of the bank with a large balance
// (ICBC: no flaky profile, high limits), verified (class II), with Password, topped up with
// 10,000 CNY; then it makes the merchant of the orders. The same seed gives the same world (the
// bank fills the new customers from its own seed).
func Setup(ctx context.Context, svc walletctl.Service, bank Bank, users int, seed int64) (*World, error) {
	if users < 2 {
		return nil, errors.New("bigtenant: at least 2 users (transfers need a payee)")
	}
	w := &World{Ops: map[string]int{}, Seed: seed}
	for len(w.Users) < users {
		c, err := bank.AddCustomer(ctx, bankapi.Customer{Bank: "ICBC", Type: bankapi.CardDebit, Balance: 1_000_000_000_00})
		if err != nil {
			return nil, fmt.Errorf("bigtenant: add a bank customer: %w", err)
		}
		u, err := svc.Register(ctx, c.Phone)
		var we *walletctl.Error
		if errors.As(err, &we) && we.Code == walletctl.CodeAlreadyExists {
			continue // two added customers drew the same phone: take the next one
		}
		if err != nil {
			return nil, fmt.Errorf("bigtenant: register %s: %w", c.Phone, err)
		}
		if _, err := svc.SubmitKYC(ctx, u.ID, c.Name, c.IDNo); err != nil {
			return nil, fmt.Errorf("bigtenant: verify %s: %w", u.ID, err)
		}
		b, err := svc.BindCard(ctx, u.ID, c.CardNo, c.Phone)
		if err != nil {
			return nil, fmt.Errorf("bigtenant: bind %s's card: %w", u.ID, err)
		}
		otp, err := bank.LastOTP(ctx, c.Phone)
		if err != nil {
			return nil, fmt.Errorf("bigtenant: read the OTP: %w", err)
		}
		card, err := svc.ConfirmCard(ctx, u.ID, b.BindingID, otp)
		if err != nil {
			return nil, fmt.Errorf("bigtenant: confirm %s's card: %w", u.ID, err)
		}
		if err := svc.SetPassword(ctx, u.ID, Password); err != nil {
			return nil, fmt.Errorf("bigtenant: set %s's password: %w", u.ID, err)
		}
		if _, err := svc.TopUp(ctx, u.ID, card.ID, 10_000_00, Password); err != nil {
			return nil, fmt.Errorf("bigtenant: top %s up: %w", u.ID, err)
		}
		w.Txns++
		w.Users = append(w.Users, User{ID: u.ID, CardID: card.ID, Phone: c.Phone})
	}
	m, err := svc.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "bigtenant shop"})
	if err != nil {
		return nil, fmt.Errorf("bigtenant: create the merchant: %w", err)
	}
	w.MchID = m.ID
	return w, nil
}

// Run makes n more wallet transactions through svc, drawn from the world's seed: each picks a
// user and an operation of the mix (see the Op constants), of 0.01 to 10 CNY (a top-up up to
// 20 CNY; never one of the bank's magic amounts). The virtual clock moves forward evenly, ten
// minutes at a time, so that the n transactions span the given days (0: the clock stays; else
// it ends that many days on; n == 0 does nothing). With a few dozen users or more the anti-fraud
// velocity limit (20 payments per user per 10 minutes by default) is never reached, nor, below
// about 20,000 transactions per user, the class II limit of 100,000 CNY a year.
//
// workers > 1 runs that many callers at once, each with its own users and its own stream of the
// seed, meeting at every step of the clock: the same seed still makes the same operations, but
// their interleaving (so the ids they get) varies from run to run. progress, if set, hears the
// count done every 10,000 or so.
func (w *World) Run(ctx context.Context, svc walletctl.Service, n, days, workers int, progress func(done int)) error {
	const step = 10 * time.Minute
	if n <= 0 {
		return nil
	}
	workers = max(1, min(workers, len(w.Users)))
	w.Runs++
	streams := make([]*stream, workers)
	users := make([][]User, workers) // worker k drives the users k, k+workers, ...
	for k := range workers {
		streams[k] = &stream{run: w.Runs, worker: k, mchid: w.MchID, all: w.Users, ops: map[string]int{},
			rng: rand.New(rand.NewPCG(uint64(w.Seed), uint64(w.Runs)<<16|uint64(k)))}
	}
	for i, u := range w.Users {
		users[i%workers] = append(users[i%workers], u)
	}
	steps := 1
	if days > 0 {
		steps = days * 24 * int(time.Hour/step)
	}
	done, reported := 0, 0
	for s := range steps {
		if s > 0 {
			if _, err := svc.Advance(ctx, step); err != nil {
				return fmt.Errorf("bigtenant: advance the clock: %w", err)
			}
		}
		k := n*(s+1)/steps - n*s/steps // this step's even share of n
		if k == 0 {
			continue
		}
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for j, st := range streams {
			share := k*(j+1)/workers - k*j/workers
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range share {
					if err := st.one(ctx, svc, users[j]); err != nil {
						errs[j] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		done += k
		if progress != nil && done-reported >= 10000 {
			progress(done)
			reported = done
		}
	}
	if days > 0 {
		if _, err := svc.Advance(ctx, step); err != nil { // the last step: days on, to the minute
			return fmt.Errorf("bigtenant: advance the clock: %w", err)
		}
	}
	w.Txns += n
	for _, st := range streams {
		for op, c := range st.ops {
			w.Ops[op] += c
		}
		if st.lastOrder != "" {
			w.LastOrder = st.lastOrder
		}
	}
	return nil
}

// stream is one worker's share of a Run: its draws and what it made.
type stream struct {
	run, worker int
	mchid       string
	all         []User // the payees of transfers
	rng         *rand.Rand
	orders      int
	lastOrder   string
	ops         map[string]int
}

// one makes one operation for one of users, drawn from the stream.
func (st *stream) one(ctx context.Context, svc walletctl.Service, users []User) error {
	r := st.rng.IntN(mixTotal)
	op := mix[len(mix)-1].op
	for _, m := range mix {
		if r < m.weight {
			op = m.op
			break
		}
		r -= m.weight
	}
	u := users[st.rng.IntN(len(users))]
	amount := 1 + st.rng.Int64N(1000) // 0.01 to 10 CNY: far under every magic amount (444.44 CNY and up)
	merchant := builtinMerchants[st.rng.IntN(len(builtinMerchants))]
	to := st.all[st.rng.IntN(len(st.all))]
	if to.ID == u.ID {
		to = st.all[(index(st.all, u.ID)+1)%len(st.all)]
	}
	ok := func(t *walletctl.Txn, err error) error {
		if err == nil && t.Status != walletctl.TxnSucceeded {
			err = fmt.Errorf("txn %s is %s (%s)", t.ID, t.Status, t.FailureCode)
		}
		return err
	}
	var err error
	switch op {
	case OpTopUp:
		err = ok(svc.TopUp(ctx, u.ID, u.CardID, 2*amount, Password))
	case OpWithdraw:
		// Over the fee (0.10 CNY at least, once the free quota is used).
		err = ok(svc.Withdraw(ctx, u.ID, u.CardID, amount+1000, Password))
	case OpPay:
		err = ok(svc.Pay(ctx, walletctl.PayRequest{UserID: u.ID, Merchant: merchant, Amount: amount, Source: "balance", Password: Password}))
	case OpPayCard:
		err = ok(svc.Pay(ctx, walletctl.PayRequest{UserID: u.ID, Merchant: merchant, Amount: amount, Source: "card:" + u.CardID, Password: Password}))
	case OpOrder:
		st.orders++
		out := fmt.Sprintf("bt%d-%d-%08d", st.run, st.worker, st.orders)
		var o *walletctl.Order
		o, err = svc.CreateOrder(ctx, walletctl.OrderRequest{MchID: st.mchid, TradeType: "NATIVE", OutTradeNo: out, Description: "bigtenant", Amount: amount})
		if err == nil {
			o, err = svc.PayOrder(ctx, walletctl.PayOrderRequest{UserID: u.ID, Ref: o.CodeURL, Password: Password})
		}
		if err == nil && o.TradeState != walletctl.StateSuccess {
			err = fmt.Errorf("order %s is %s", out, o.TradeState)
		}
		if err == nil {
			st.lastOrder = out
		}
	case OpTransfer:
		var tr *walletctl.Transfer
		tr, err = svc.Transfer(ctx, walletctl.TransferRequest{UserID: u.ID, To: to.ID, Amount: amount, Delay: "none", Password: Password})
		if err == nil {
			_, err = svc.AcceptTransfer(ctx, to.ID, tr.ID)
		}
	}
	if err != nil {
		return fmt.Errorf("bigtenant: %s by %s: %w", op, u.ID, err)
	}
	st.ops[op]++
	return nil
}

func index(us []User, id string) int {
	for i, u := range us {
		if u.ID == id {
			return i
		}
	}
	return 0
}

// Options say what Build makes.
type Options struct {
	// Home is the sandbox home: a folder without a sandbox gets a new throwaway one (seed Seed,
	// the default customers; nothing fsynced, as a fixture needs); an existing sandbox (a
	// tenant's folder) is filled as it is.
	Home string
	// Seed draws the bank's world (a new sandbox) and the operations; 0 means 1.
	Seed int64
	// Users is how many wallets to open (default 100); Txns how many transactions Run makes
	// after them; Days how many virtual days those span (default 30).
	Users, Txns, Days int
	// Workers is how many callers make the history at once (default 2; see Run).
	Workers int
	// Settings are a new sandbox's rules (nil: the sandbox defaults).
	Settings *walletctl.Settings
	// Cache, when set, is a folder of built homes: a home built for the same options over the
	// same kind of sandbox (seed, customers, settings, durability: its sandbox.json but the clock
	// and the secret key) is copied from there instead of being built again, and a home built
	// here is kept there. Delete the folder to build afresh (an entry is never updated; its
	// files are migrated forward by whoever opens the copy).
	Cache string
	// Progress, if set, hears the count of transactions made every 10,000.
	Progress func(done int)
}

func (opts *Options) defaults() {
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Users == 0 {
		opts.Users = 100
	}
	if opts.Days == 0 {
		opts.Days = 30
	}
	if opts.Workers == 0 {
		opts.Workers = 2
	}
}

// Cached reports whether opts.Cache holds the home Build would make for opts, so that Build
// would copy it instead of building it.
func Cached(opts Options) bool {
	opts.defaults()
	if opts.Cache == "" {
		return false
	}
	entry, err := cacheEntry(opts)
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(entry, worldFile))
	return err == nil
}

// Build makes the world of opts in its home: a sandbox opened in process (created if needed),
// Setup, then Run, then closed, so that another process or a server can open it.
func Build(ctx context.Context, opts Options) (*World, error) {
	opts.defaults()
	if opts.Cache == "" {
		return build(ctx, opts)
	}
	entry, err := cacheEntry(opts)
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(entry, worldFile)); err == nil {
		var w World
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, fmt.Errorf("bigtenant: cache entry %s: %w", entry, err)
		}
		if err := copyHome(entry, opts.Home); err != nil {
			return nil, err
		}
		return &w, nil
	}
	w, err := build(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Cache, 0o700); err != nil {
		return nil, err
	}
	// Kept under a temporary name first: an interrupted copy is never taken for an entry.
	tmp := entry + ".tmp"
	os.RemoveAll(tmp)
	b, _ := json.Marshal(w)
	if err := copyHome(opts.Home, tmp); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, worldFile), b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, entry); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(filepath.Join(entry, worldFile)); serr != nil {
			return nil, err
		} // another process kept the same home meanwhile
	}
	return w, nil
}

// worldFile is where a cache entry keeps its World.
const worldFile = "world.json"

// homeFiles are the files of a home that hold its state (the -wal files exist only if a process
// died with the home open); a copy also removes the target's -shm files, which describe its own.
var homeFiles = []string{sandbox.MetaFile, sandbox.WalletFile, sandbox.WalletFile + "-wal", sandbox.BankFile, sandbox.BankFile + "-wal"}

// cacheEntry is the folder of opts's home in opts.Cache: named by the number of transactions and
// a hash of the options and the sandbox it fills.
func cacheEntry(opts Options) (string, error) {
	var meta sandbox.Meta
	if b, err := os.ReadFile(filepath.Join(opts.Home, sandbox.MetaFile)); err == nil {
		if err := json.Unmarshal(b, &meta); err != nil {
			return "", fmt.Errorf("bigtenant: %s: %w", filepath.Join(opts.Home, sandbox.MetaFile), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	meta.Clock, meta.SecretKey = time.Time{}, nil
	key, _ := json.Marshal(struct {
		Version, SandboxFormat int
		Seed                   int64
		Users, Txns, Days      int
		Settings               *walletctl.Settings
		Meta                   sandbox.Meta
	}{fixtureVersion, sandbox.FormatVersion, opts.Seed, opts.Users, opts.Txns, opts.Days, opts.Settings, meta})
	sum := sha256.Sum256(key)
	return filepath.Join(opts.Cache, fmt.Sprintf("txns%d-%s", opts.Txns, hex.EncodeToString(sum[:6]))), nil
}

// fixtureVersion changes whenever what Build makes does: entries of another version are not used.
const fixtureVersion = 1

// copyHome copies the state files of the home in from (closed) to the folder to, replacing
// what to holds of them.
func copyHome(from, to string) error {
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	for _, db := range []string{sandbox.WalletFile, sandbox.BankFile} {
		if err := os.Remove(filepath.Join(to, db+"-shm")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	for _, name := range homeFiles {
		if err := os.Remove(filepath.Join(to, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		src, err := os.Open(filepath.Join(from, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		dst, err := os.OpenFile(filepath.Join(to, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err == nil {
			_, err = io.Copy(dst, src)
			err = errors.Join(err, dst.Close())
		}
		src.Close()
		if err != nil {
			return fmt.Errorf("bigtenant: copy %s: %w", name, err)
		}
	}
	return nil
}

func build(ctx context.Context, opts Options) (*World, error) {
	var sb *sandbox.Sandbox
	var err error
	if sandbox.Exists(opts.Home) {
		sb, _, err = sandbox.Open(ctx, sandbox.Options{Home: opts.Home}, false)
	} else {
		sb, err = sandbox.Init(ctx, sandbox.Options{Home: opts.Home, Throwaway: true},
			sandbox.InitOptions{Seed: opts.Seed, Settings: opts.Settings})
	}
	if err != nil {
		return nil, err
	}
	w, err := Setup(ctx, sb.Service(), sb.Bank(), opts.Users, opts.Seed)
	if err == nil {
		err = w.Run(ctx, sb.Service(), opts.Txns, opts.Days, opts.Workers, opts.Progress)
	}
	return w, errors.Join(err, sb.Close(ctx))
}
