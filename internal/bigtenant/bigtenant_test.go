package bigtenant

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// small is a history make test can afford.
func small(home string) Options {
	return Options{Home: home, Seed: 3, Users: 4, Txns: 80, Days: 1, Workers: 1}
}

// opened is the sandbox of home, closed when the test ends.
func opened(t *testing.T, home string) *sandbox.Sandbox {
	t.Helper()
	sb, _, err := sandbox.Open(context.Background(), sandbox.Options{Home: home}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close(context.Background()) })
	return sb
}

// history is every wallet txn of the world's users, by id, as the wallet lists them.
func history(t *testing.T, svc walletctl.Service, w *World) map[string]walletctl.Txn {
	t.Helper()
	out := map[string]walletctl.Txn{}
	for _, u := range w.Users {
		txns, err := walletctl.All(context.Background(), func(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Txn], error) {
			return svc.Transactions(ctx, u.ID, p)
		}, func(x walletctl.Txn) string { return x.ID })
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range txns {
			x.Direction, x.Counterparty = "", "" // as the payer sees a transfer
			if old, ok := out[x.ID]; ok && old.UserID != x.UserID {
				continue
			}
			out[x.ID] = x
		}
	}
	return out
}

// TestBuildMakesTheHistory builds a small history and reads it back through the wallet: one
// succeeded wallet txn per operation (plus the opening top-ups), the clock a day on, the books
// and the bank agreeing (reconcile of every day), the last order paid.
func TestBuildMakesTheHistory(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	w, err := Build(ctx, small(home))
	if err != nil {
		t.Fatal(err)
	}
	ops := 0
	for _, n := range w.Ops {
		ops += n
	}
	if ops != 80 || w.Txns != 84 || len(w.Users) != 4 || w.LastOrder == "" {
		t.Fatalf("world: %d ops, %d txns, %d users, last order %q", ops, w.Txns, len(w.Users), w.LastOrder)
	}
	sb := opened(t, home)
	svc := sb.Service()
	txns := history(t, svc, w)
	if len(txns) != w.Txns {
		t.Fatalf("the wallet lists %d txns, the world made %d", len(txns), w.Txns)
	}
	for _, x := range txns {
		if x.Status != walletctl.TxnSucceeded {
			t.Fatalf("txn %s is %s", x.ID, x.Status)
		}
	}
	now, err := svc.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := vclock.DefaultEpoch.Add(24 * time.Hour); !now.Equal(want) {
		t.Fatalf("the clock is at %s, want %s", now, want)
	}
	for _, day := range []time.Time{vclock.DefaultEpoch, now} {
		rep, err := svc.Reconcile(ctx, vclock.Day(day))
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Mismatches) > 0 || rep.LedgerSum != 0 || rep.StillPending > 0 {
			t.Fatalf("reconcile of %s: %+v", vclock.Day(day), rep)
		}
	}
	o, err := svc.Order(ctx, walletctl.OrderQuery{MchID: w.MchID, OutTradeNo: w.LastOrder})
	if err != nil || o.TradeState != walletctl.StateSuccess {
		t.Fatalf("last order: %+v %v", o, err)
	}
}

// TestBuildIsSeeded builds the same history twice (one worker): the same world, and the same
// txns, ids and times included. A cached build is the same again, and copies instead of building.
func TestBuildIsSeeded(t *testing.T) {
	ctx := context.Background()
	homes := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	cache := t.TempDir()
	var worlds []*World
	for i, home := range homes {
		opts := small(home)
		if i > 0 {
			opts.Cache = cache
		}
		w, err := Build(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		worlds = append(worlds, w)
	}
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want := js(history(t, opened(t, homes[0]).Service(), worlds[0]))
	for i := 1; i < len(homes); i++ {
		if js(worlds[i]) != js(worlds[0]) {
			t.Fatalf("build %d made another world:\n%s\n%s", i, js(worlds[i]), js(worlds[0]))
		}
		if got := js(history(t, opened(t, homes[i]).Service(), worlds[i])); got != want {
			t.Fatalf("build %d made another history", i)
		}
	}
	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache holds %v (%v), want one entry", entries, err)
	}
	if _, err := os.Stat(filepath.Join(cache, entries[0].Name(), sandbox.WalletFile)); err != nil {
		t.Fatal(err)
	}
}
