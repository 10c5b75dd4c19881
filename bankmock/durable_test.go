package bankmock

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/vclock"
)

// durableConfig is a test bank kept in a file of dir.
func durableConfig(dir string, clock *vclock.Manual) Config {
	return Config{Seed: 7, Customers: 20, Sleep: InstantSleep, Clock: clock, Path: filepath.Join(dir, "bank.db"), Create: true,
		Entropy: rand.NewChaCha8([32]byte{7}), JournalLimit: 40}
}

// TestDurableStateIsTheLiveState runs a random workload over every kind of operation on a bank
// kept in a file and, after every operation, opens the file a second time: the bank read back
// must be the live one, byte for byte (Snapshot). A change that is not marked for the file (a
// missing touch) fails here, naming the operation.
func TestDurableStateIsTheLiveState(t *testing.T) {
	dir := t.TempDir()
	clock := vclock.NewManual(vclock.DefaultEpoch)
	cfg := durableConfig(dir, clock)
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r := rand.New(rand.NewPCG(1, 2))
	pctx := context.Background()
	cards := []bankapi.Customer{testCard(t, "ok"), testCard(t, "credit"), testCard(t, "flaky_bank")}
	var agreements, bindings []string
	var keys []string
	check := func(step int, what string) {
		t.Helper()
		live, err := e.Snapshot(bg)
		if err != nil {
			t.Fatal(err)
		}
		rcfg := cfg
		rcfg.Create, rcfg.Clock = false, vclock.NewManual(clock.Now())
		back, err := Open(rcfg)
		if err != nil {
			t.Fatalf("step %d (%s): reopen: %v", step, what, err)
		}
		got, err := back.Snapshot(bg)
		back.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(live, got) {
			t.Fatalf("step %d (%s): the file does not hold the live state:\n%s", step, what, firstDiff(live, got))
		}
	}
	for step := 0; step < 400; step++ {
		var what string
		switch n := r.IntN(20); {
		case n < 2:
			c := cards[r.IntN(len(cards))]
			what = "bind"
			b, err := e.CreateBinding(pctx, req(c))
			if err == nil {
				bindings = append(bindings, b.BindingID)
				otp, _ := e.LastOTP(bg, c.Phone)
				if r.IntN(4) == 0 {
					otp = "000000"
				}
				if a, err := e.ConfirmBinding(pctx, b.BindingID, otp); err == nil {
					agreements = append(agreements, a.Agreement)
				}
			}
		case n < 8 && len(agreements) > 0:
			what = "debit/credit"
			key := fmt.Sprintf("k%d", r.IntN(60))
			keys = append(keys, key)
			amt := int64(r.IntN(50000) + 1)
			agr := agreements[r.IntN(len(agreements))]
			ctx := pctx
			if r.IntN(6) == 0 {
				ctx = WithFault(ctx, bankapi.Fault{Kind: []bankapi.FaultKind{bankapi.FaultDropAfter, bankapi.FaultDelay, bankapi.FaultRefuse}[r.IntN(3)], Delay: time.Second})
			}
			if r.IntN(2) == 0 {
				_, _ = e.Debit(ctx, key, cny(agr, amt))
			} else {
				_, _ = e.Credit(ctx, key, cny(agr, amt))
			}
		case n < 10 && len(keys) > 0:
			what = "query"
			_, _ = e.Transaction(pctx, keys[r.IntN(len(keys))])
			_, _ = e.Statement(pctx, vclock.Day(clock.Now()))
		case n == 10:
			what = "fault rule"
			_, _ = e.AddFault(bg, bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpDebit, Probability: bankapi.Chance(0.5)})
		case n == 11:
			what = "clear faults"
			_ = e.ClearFaults(bg)
		case n == 12:
			what = "customers"
			_, _ = e.AddCustomer(bg, bankapi.Customer{})
			_, _ = e.GenerateCustomers(bg, 2)
		case n == 13:
			what = "balance/status"
			c := cards[r.IntN(len(cards))]
			_ = e.SetBalance(bg, c.CardNo, int64(r.IntN(1000000)))
			if r.IntN(3) == 0 {
				_ = e.SetCardStatus(bg, c.CardNo, bankapi.CardFrozen)
			} else {
				_ = e.SetCardStatus(bg, c.CardNo, bankapi.CardActive)
			}
		case n == 14 && len(agreements) > 0:
			what = "unbind"
			_ = e.Unbind(pctx, agreements[r.IntN(len(agreements))])
		case n == 15:
			what = "partner"
			pc, err := e.CreatePartner(bg, "")
			if err == nil {
				pctx = WithPartner(context.Background(), pc.Partner.ID)
				agreements, keys = nil, nil
			}
		case n == 16:
			what = "advance"
			_, _ = e.Advance(bg, time.Duration(r.IntN(30))*time.Hour)
		case n == 17 && r.IntN(10) == 0:
			what = "reset"
			_ = e.Reset(bg)
			pctx, agreements, keys = context.Background(), nil, nil
		case n == 18 && r.IntN(5) == 0:
			what = "restore"
			snap, _ := e.Snapshot(bg)
			if err := e.Restore(bg, snap); err != nil {
				t.Fatal(err)
			}
		default:
			what = "banks"
			_, _ = e.Banks(pctx)
		}
		check(step, what)
	}
	j, _ := e.Journal(bg)
	if len(j) > 40 {
		t.Errorf("journal kept %d entries, limit 40", len(j))
	}
}

// firstDiff shows where two JSON documents first differ.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(i-120, 0)
	return fmt.Sprintf("live: ...%s...\nfile: ...%s...", a[lo:min(i+120, len(a))], b[lo:min(i+120, len(b))])
}

// TestDurableRefusesDamagedFiles: an empty, foreign, truncated or missing file is a
// *DamagedError naming it, and nothing is written to it.
func TestDurableRefusesDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	e, err := Open(Config{Seed: 3, Path: good, Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Banks(bg); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	foreign := filepath.Join(dir, "foreign.db")
	{
		f, err := openForeign(foreign)
		if err != nil {
			t.Fatal(err)
		}
		f()
	}
	cases := map[string]string{
		"empty":     write("empty.db", nil),
		"truncated": write("truncated.db", raw[:len(raw)/3]),
		"garbage":   write("garbage.db", bytes.Repeat([]byte("not a database "), 300)),
		"foreign":   foreign,
		"missing":   filepath.Join(dir, "missing.db"),
	}
	for name, p := range cases {
		before, _ := os.ReadFile(p)
		_, err := Open(Config{Seed: 3, Path: p})
		var de *DamagedError
		if !errors.As(err, &de) || de.Path != p {
			t.Errorf("%s: got %v, want a DamagedError naming %s", name, err, p)
			continue
		}
		after, _ := os.ReadFile(p)
		if !bytes.Equal(before, after) {
			t.Errorf("%s: the file was changed", name)
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %q does not name the file", name, err)
		}
	}
}

// openForeign makes another program's SQLite database at p.
func openForeign(p string) (func(), error) {
	db, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello')`); err != nil {
		db.Close()
		return nil, err
	}
	return func() { db.Close() }, nil
}

// A state file in a folder whose name has URI characters ('#', '?', '%', a space) is that file,
// not a file named by the part of the path before them (found by the CLI's fuzz corpus).
func TestDurableOddPaths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "we#ird ?dir%20")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bank.db")
	e, err := Open(Config{Path: p, Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the file is not where it was asked for: %v", err)
	}
	e, err = Open(Config{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
}
