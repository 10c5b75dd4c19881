package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/walletctl"
)

// The wallet-side fault classes of issue 10: several wallets on one bank, process deaths at a
// bank call, clients that give up. Each must keep every invariant, replay from its seed, and be
// able to fail: the tests below break one thing at a time and expect the checker to say so.

func allClasses(seed int64, dir string) Config {
	return Config{Seed: seed, Users: 12, Ops: 350, FaultRate: 0.2, Dir: dir, Wallets: 3, KillRate: 0.05, GiveUpRate: 0.1}
}

func TestChaosClassesHoldAndReplay(t *testing.T) {
	cfg := allClasses(21, testDir(t))
	a, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range a.Violations {
		t.Errorf("%s", v)
	}
	if a.Wallets != 3 || a.KillsBefore == 0 || a.KillsAfter == 0 || a.Restarts != a.KillsBefore+a.KillsAfter {
		t.Errorf("wallets %d, kills %d before / %d after, restarts %d", a.Wallets, a.KillsBefore, a.KillsAfter, a.Restarts)
	}
	for _, where := range []string{giveUpBefore, giveUpAtBankSent, giveUpAtBankNever, giveUpNotMoney} {
		if a.GiveUps[where] == 0 {
			t.Errorf("no client gave up %s: %v", where, a.GiveUps)
		}
	}
	b, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash != b.Hash || fmt.Sprint(a.Operations) != fmt.Sprint(b.Operations) || fmt.Sprint(a.GiveUps) != fmt.Sprint(b.GiveUps) ||
		a.KillsBefore != b.KillsBefore || a.KillsAfter != b.KillsAfter {
		t.Errorf("same seed, different runs: %s vs %s\n%v %v\n%v %v", a.Hash, b.Hash, a.Operations, a.GiveUps, b.Operations, b.GiveUps)
	}
	var tb strings.Builder
	a.WriteTable(&tb)
	for _, want := range []string{"3 wallets on one bank", "wallet killed before / after the bank call", "wallet restarts", "client gave up " + giveUpBefore} {
		if !strings.Contains(tb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tb.String())
		}
	}
}

// TestChaosClassesWorkers runs the classes on several goroutines: deaths then restart a wallet
// while other workers wait for it (the hash is not compared).
func TestChaosClassesWorkers(t *testing.T) {
	cfg := allClasses(22, testDir(t))
	cfg.Workers, cfg.Ops = 4, 250
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range r.Violations {
		t.Errorf("%s", v)
	}
	if r.Restarts == 0 {
		t.Errorf("no restart in %d ops at kill rate %g", cfg.Ops, cfg.KillRate)
	}
}

// runClassWorlds runs cfg on worlds the test keeps; change, if set, alters them before the run.
func runClassWorlds(t *testing.T, cfg Config, change func(ws []*World)) ([]*World, *Report) {
	t.Helper()
	ctx := context.Background()
	cfg.defaults()
	ws, err := newWorlds(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeWorlds(ws) })
	if change != nil {
		change(ws)
	}
	r, err := runWorlds(ctx, ws, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ws, r
}

// rebuild gives world w a new engine over bank api b (for tests that break the wiring).
func rebuild(t *testing.T, w *World, b bankapi.API) {
	t.Helper()
	w.engineBank = b
	if err := w.Restart(); err != nil {
		t.Fatal(err)
	}
	w.Restarts = 0
}

func TestCrossWalletCardCheckCanFail(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Seed: 23, Users: 15, Ops: 400, FaultRate: 0.2, Dir: testDir(t), Wallets: 3}
	ws, r := runClassWorlds(t, cfg, nil)
	if !r.OK() {
		t.Fatalf("the clean run already has violations: %v", r.Violations)
	}
	byCard := make([]map[string]int64, len(ws))
	for k, w := range ws {
		vs, _, bc, err := check(ctx, w)
		if err != nil || len(vs) > 0 {
			t.Fatal(vs, err)
		}
		byCard[k] = bc
	}
	t.Run("a wallet left out of the sum", func(t *testing.T) {
		cut := append([]map[string]int64(nil), byCard...)
		cut[1] = map[string]int64{}
		vs, err := CheckCards(ctx, ws, cut)
		if err != nil {
			t.Fatal(err)
		}
		if !hasViolation(vs, "conservation", "moved by") {
			t.Errorf("violations: %v", vs)
		}
		t.Logf("%d cards flagged, e.g. %v", len(vs), vs[0])
	})
	t.Run("some cards are moved through two wallets", func(t *testing.T) {
		// Some card must have lines in two wallets (every fifth holder uses two), else the
		// sharing tests nothing.
		shared := 0
		for no := range ws[0].Initial {
			n := 0
			for k, w := range ws {
				if _, ok := byCard[k][w.Engine.CardHash(no)]; ok {
					n++
				}
			}
			if n > 1 {
				shared++
			}
		}
		if shared == 0 {
			t.Fatal("no card has statement lines in two wallets")
		}
	})
	t.Run("another customer's card moved", func(t *testing.T) {
		var idle string
		for no := range ws[0].Initial {
			moved := false
			for k, w := range ws {
				if _, ok := byCard[k][w.Engine.CardHash(no)]; ok {
					moved = true
				}
			}
			if !moved && (idle == "" || no < idle) {
				idle = no
			}
		}
		if idle == "" {
			t.Skip("every card was used")
		}
		c, err := ws[0].Admin.Customer(ctx, idle)
		if err != nil {
			t.Fatal(err)
		}
		if err := ws[0].Admin.SetBalance(ctx, idle, c.Balance+100); err != nil {
			t.Fatal(err)
		}
		vs, err := CheckCards(ctx, ws, byCard)
		if err != nil {
			t.Fatal(err)
		}
		if !hasViolation(vs, "conservation", cnid.MaskCardGrouped(idle)+" moved by 100 fen at the bank, but no wallet") {
			t.Errorf("violations: %v", vs)
		}
	})
}

// Wallets that share the bank's default partner instead of being partners of their own: their
// idempotency keys (wlt-t1, ...) collide, the bank replays one wallet's debit to another, and the
// statements mix wallets. The checker must see it.
func TestWalletsWithoutPartnersFail(t *testing.T) {
	cfg := Config{Seed: 24, Users: 15, Ops: 300, FaultRate: 0.2, Dir: testDir(t), Wallets: 3}
	_, r := runClassWorlds(t, cfg, func(ws []*World) {
		bank := ws[0].Admin.(*bankmock.Engine)
		for _, w := range ws {
			w.Bank, w.Partner = bank, ""
			rebuild(t, w, &dyingBank{API: bank})
		}
	})
	if r.OK() {
		t.Fatal("wallets on one partner passed the checks")
	}
	t.Logf("%d violations, e.g. %v", len(r.Violations), r.Violations[0]) // not OK: there is one
}

// forgetful is a wallet process whose pending record is not durable when it calls the bank: a
// death after the bank answered also takes the record with it (deleted from the file, as if
// never committed). The kill class must then find money the bank moved that the wallet does not
// know.
type forgetful struct {
	*dyingBank
	path string
	t    *testing.T
}

func (f *forgetful) Debit(ctx context.Context, key string, r bankapi.MoneyRequest) (bt *bankapi.Transaction, err error) {
	defer func() {
		if p := recover(); p != nil {
			if pd, ok := p.(processDeath); ok && pd.afterBank {
				db, err := sql.Open("sqlite", "file:"+f.path)
				if err != nil {
					f.t.Error(err)
				} else {
					if _, err := db.Exec(`DELETE FROM txns WHERE bank_key = ?`, key); err != nil {
						f.t.Error(err)
					}
					db.Close()
				}
			}
			panic(p)
		}
	}()
	return f.dyingBank.Debit(ctx, key, r)
}

func TestKillCanFail(t *testing.T) {
	cfg := Config{Seed: 25, Users: 12, Ops: 500, FaultRate: 0.2, Dir: testDir(t), KillRate: 0.1}
	_, r := runClassWorlds(t, cfg, func(ws []*World) {
		w := ws[0]
		rebuild(t, w, &forgetful{dyingBank: w.engineBank.(*dyingBank), path: w.path, t: t})
	})
	if r.KillsAfter == 0 {
		t.Fatal("no death after a bank answer")
	}
	if !hasViolation(r.Violations, "matching", "has no wallet txn") {
		t.Errorf("%d deaths after the bank answered, violations: %v", r.KillsAfter, r.Violations)
	}
	if len(r.Violations) > 0 {
		t.Logf("%d deaths after the bank answered: %d violations, e.g. %v", r.KillsAfter, len(r.Violations), r.Violations[0])
	}
}

// misreport is a transport that, when its client gives up, sends the request anyway but tells
// the wallet the bank refused it ("not processed, safe to retry"): a cancellation taken for a
// definite failure. The give-up class must catch the money the bank took for a failed txn.
type misreport struct{ bankapi.API }

func (m misreport) Debit(ctx context.Context, key string, r bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	g, ok := ctx.Value(giveUpKey{}).(*giveUp)
	if !ok || g.fired {
		return m.API.Debit(ctx, key, r)
	}
	g.fired = true
	g.cancel()
	bt, err := m.API.Debit(ctx, key, r)
	if err == nil && bt.Status == walletctl.TxnSucceeded {
		return nil, &bankapi.Error{Code: bankapi.CodeIssuerUnavailable, RespCode: "96", Message: "cancelled by the client; not processed"}
	}
	return bt, err
}

func TestGiveUpCanFail(t *testing.T) {
	cfg := Config{Seed: 26, Users: 12, Ops: 500, FaultRate: 0.2, Dir: testDir(t), GiveUpRate: 0.3}
	_, r := runClassWorlds(t, cfg, func(ws []*World) { rebuild(t, ws[0], misreport{ws[0].Bank}) })
	if !hasViolation(r.Violations, "matching", "settled failed") {
		t.Errorf("give-ups %v, violations: %v", r.GiveUps, r.Violations)
	}
	if len(r.Violations) > 0 {
		t.Logf("give-ups %v: %d violations, e.g. %v", r.GiveUps, len(r.Violations), r.Violations[0])
	}
}
