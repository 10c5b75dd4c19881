package chaos

import (
	"context"
	"math/rand/v2"
	"sync"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
)

// The fault classes of issue 10 that live on the wallet's side of the wire: several wallets
// (partners) on one bank, a wallet process dying at a bank call, and clients that give up while
// the wallet works. The bank's own faults are its fault rules (InstallFaults).

// partnerAPI makes every call act as one partner of the shared bank: the in-process form of the
// partner's bearer key. Statements, status queries and idempotency keys are then the partner's own.
type partnerAPI struct {
	api bankapi.API
	id  string
}

func (p partnerAPI) as(ctx context.Context) context.Context { return bankmock.WithPartner(ctx, p.id) }

func (p partnerAPI) Banks(ctx context.Context) ([]bankapi.BankInfo, error) {
	return p.api.Banks(p.as(ctx))
}
func (p partnerAPI) Verify(ctx context.Context, r bankapi.CardRequest) (*bankapi.VerifyResult, error) {
	return p.api.Verify(p.as(ctx), r)
}
func (p partnerAPI) CreateBinding(ctx context.Context, r bankapi.CardRequest) (*bankapi.Binding, error) {
	return p.api.CreateBinding(p.as(ctx), r)
}
func (p partnerAPI) ConfirmBinding(ctx context.Context, bindingID, otp string) (*bankapi.Agreement, error) {
	return p.api.ConfirmBinding(p.as(ctx), bindingID, otp)
}
func (p partnerAPI) Unbind(ctx context.Context, agreement string) error {
	return p.api.Unbind(p.as(ctx), agreement)
}
func (p partnerAPI) Debit(ctx context.Context, key string, r bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return p.api.Debit(p.as(ctx), key, r)
}
func (p partnerAPI) Credit(ctx context.Context, key string, r bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return p.api.Credit(p.as(ctx), key, r)
}
func (p partnerAPI) Transaction(ctx context.Context, key string) (*bankapi.Transaction, error) {
	return p.api.Transaction(p.as(ctx), key)
}
func (p partnerAPI) Statement(ctx context.Context, date string) (*bankapi.Statement, error) {
	return p.api.Statement(p.as(ctx), date)
}

// processDeath is the panic value of a simulated death of the wallet process at a bank call. The
// workload recovers only this value; any other panic is a bug and goes on.
type processDeath struct {
	afterBank bool // the bank had answered (and the answer died with the process)
}

// Where a client that gives up does so.
const (
	giveUpBefore      = "before the call"                       // its context is done when the wallet sees it
	giveUpAtBankSent  = "at the bank call (request sent)"       // it leaves while the bank works; the request goes out
	giveUpAtBankNever = "at the bank call (request never sent)" // it leaves and the transport drops the request
	giveUpUnreached   = "at a bank call that never came"        // the operation ended before calling the bank
	giveUpNotMoney    = "before a transfer, accept or cancel"   // no bank call in these: only "before" applies
)

// giveUp rides on an operation's context to the bank wrapper (context values survive the
// engine's context.WithoutCancel), so that the client can leave at the very moment the wallet
// calls the bank.
type giveUp struct {
	cancel  context.CancelFunc
	forward bool // the request still leaves (on a cancelled context) after the client has gone
	fired   bool
}

type giveUpKey struct{}

// dyingBank is the bank as one wallet process sees it, with the process's own failures: with
// probability killRate a Debit or Credit kills the process (panics with processDeath) before
// the request leaves or after the bank answered; and an operation armed to give up (giveUp in
// its context) has its client leave when the bank is called. Draws come from a seeded rng, so a
// seed replays (one goroutine); the lock keeps it safe with several workers.
type dyingBank struct {
	bankapi.API
	killRate float64

	mu  sync.Mutex
	rng *rand.Rand
}

// draw decides this money call's fate: 0 live, 1 die before sending, 2 die after the answer.
func (d *dyingBank) draw() int {
	if d.killRate <= 0 {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rng.Float64() >= d.killRate {
		return 0
	}
	return 1 + d.rng.IntN(2)
}

func (d *dyingBank) money(ctx context.Context, call func(context.Context) (*bankapi.Transaction, error)) (*bankapi.Transaction, error) {
	if g, ok := ctx.Value(giveUpKey{}).(*giveUp); ok && !g.fired {
		g.fired = true
		g.cancel()
		if !g.forward {
			return nil, context.Canceled // what an HTTP client returns for a request it never sent
		}
		c, stop := context.WithCancel(ctx)
		stop()
		ctx = c // sent anyway, on the done context: the bank may still process it
	}
	fate := d.draw()
	if fate == 1 {
		panic(processDeath{})
	}
	bt, err := call(ctx)
	if fate == 2 {
		panic(processDeath{afterBank: true})
	}
	return bt, err
}

func (d *dyingBank) Debit(ctx context.Context, key string, r bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return d.money(ctx, func(ctx context.Context) (*bankapi.Transaction, error) { return d.API.Debit(ctx, key, r) })
}

func (d *dyingBank) Credit(ctx context.Context, key string, r bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return d.money(ctx, func(ctx context.Context) (*bankapi.Transaction, error) { return d.API.Credit(ctx, key, r) })
}
