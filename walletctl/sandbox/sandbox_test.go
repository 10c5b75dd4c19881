package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

func initHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	sb, err := sandbox.Init(context.Background(), sandbox.Options{Home: home}, sandbox.InitOptions{Seed: 3, Customers: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return home
}

func open(t *testing.T, home string) *sandbox.Sandbox {
	t.Helper()
	sb, _, err := sandbox.Open(context.Background(), sandbox.Options{Home: home}, false)
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

// The bank is opened only when a command touches it: a wallet-only command leaves bank.db as it
// was, not even opened (SQLite would make its -wal file).
func TestBankIsLazy(t *testing.T) {
	ctx := context.Background()
	home := initHome(t)
	sb := open(t, home)
	if _, err := sb.Service().Register(ctx, "13900000001"); err != nil {
		t.Fatal(err)
	}
	sb.Close(ctx)

	bankFile := filepath.Join(home, sandbox.BankFile)
	before, err := os.ReadFile(bankFile)
	if err != nil {
		t.Fatal(err)
	}
	sb = open(t, home)
	if _, err := sb.Service().Balance(ctx, "u1"); err != nil {
		t.Fatalf("balance needed the bank: %v", err)
	}
	if _, err := os.Stat(bankFile + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a wallet-only command opened the bank (%v)", err)
	}
	if err := sb.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(bankFile); !bytes.Equal(before, after) {
		t.Fatal("an untouched bank was written")
	}
	sb = open(t, home)
	defer sb.Close(ctx)
	if _, err := sb.Bank().Customers(ctx, bankapi.Page{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bankFile + "-wal"); err != nil {
		t.Fatalf("the bank was not opened by a call that needs it: %v", err)
	}
}

// sandbox.json owns the clock: it survives commands that never touch the bank, and a bank
// restored from an older snapshot follows it.
func TestClockPersists(t *testing.T) {
	ctx := context.Background()
	home := initHome(t)
	sb := open(t, home)
	if _, err := sb.Advance(ctx, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	sb.Close(ctx)

	sb = open(t, home)
	defer sb.Close(ctx)
	want := vclock.DefaultEpoch.Add(2 * time.Hour)
	if got := sb.Meta().Clock; !got.Equal(want) {
		t.Fatalf("clock after reopening: %v, want %v", got, want)
	}
	if _, err := sb.Bank().Customers(ctx, bankapi.Page{}); err != nil { // opens bank.db, last written at the epoch
		t.Fatal(err)
	}
	if now, _ := sb.Bank().Now(ctx); !now.Equal(want) {
		t.Fatalf("bank clock after restore: %v, want %v", now, want)
	}
	if now, _ := sb.Service().Now(ctx); !now.Equal(want) {
		t.Fatalf("wallet clock after restore: %v, want %v", now, want)
	}
}

// The lock is exclusive: a second opener waits until the first closes (or its context ends).
func TestLockIsExclusive(t *testing.T) {
	ctx := context.Background()
	home := initHome(t)
	first := open(t, home)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, _, err := sandbox.Open(short, sandbox.Options{Home: home}, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second open while locked: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		sb, _, err := sandbox.Open(ctx, sandbox.Options{Home: home}, false)
		if err == nil {
			err = sb.Close(ctx)
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("second open did not wait: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	first.Close(ctx)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestOpenWithoutSandbox(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	_, _, err := sandbox.Open(ctx, sandbox.Options{Home: home}, false)
	if walletctl.ErrorCode(err) != walletctl.CodeNoSandbox {
		t.Fatalf("open without a sandbox: %v", err)
	}
	sb, created, err := sandbox.Open(ctx, sandbox.Options{Home: home}, true)
	if err != nil || !created {
		t.Fatalf("auto-create: %v %v", created, err)
	}
	m := sb.Meta()
	sb.Close(ctx)
	if m.Seed != sandbox.DefaultSeed || !m.Clock.Equal(vclock.DefaultEpoch) || m.FormatVersion != sandbox.FormatVersion {
		t.Fatalf("auto-created meta: %+v", m)
	}
	if _, err := sandbox.Init(ctx, sandbox.Options{Home: home}, sandbox.InitOptions{}); walletctl.ErrorCode(err) != walletctl.CodeAlreadyExists {
		t.Fatalf("init over a sandbox: %v", err)
	}
}

// Durability is chosen when a sandbox is created and recorded in sandbox.json: full by default,
// none only when asked (Throwaway); a reset keeps it, and opening with another choice does not
// change an existing sandbox.
func TestDurabilityRecorded(t *testing.T) {
	ctx := context.Background()
	durability := func(home string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(home, sandbox.MetaFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{sandbox.DurabilityFull, sandbox.DurabilityNone} {
			if strings.Contains(string(b), `"durability": "`+want+`"`) {
				return want
			}
		}
		t.Fatalf("no durability in %s", b)
		return ""
	}
	full := initHome(t)
	if d := durability(full); d != sandbox.DurabilityFull {
		t.Fatalf("default durability %q", d)
	}
	sb, _, err := sandbox.Open(ctx, sandbox.Options{Home: full, Throwaway: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Meta().Durability != sandbox.DurabilityFull {
		t.Fatalf("an existing sandbox changed durability on open: %q", sb.Meta().Durability)
	}
	if err := sb.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	sb.Close(ctx)
	if d := durability(full); d != sandbox.DurabilityFull {
		t.Fatalf("reset with Throwaway set made a durable sandbox %q", d)
	}

	tmp := t.TempDir()
	sb, created, err := sandbox.Open(ctx, sandbox.Options{Home: tmp, Throwaway: true}, true)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	if _, err := sb.Service().Register(ctx, "13900000001"); err != nil {
		t.Fatal(err)
	}
	if err := sb.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sb.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if d := durability(tmp); d != sandbox.DurabilityNone {
		t.Fatalf("throwaway sandbox recorded %q", d)
	}
	sb = open(t, tmp)
	defer sb.Close(ctx)
	if users, err := walletctl.Items(sb.Service().Users(ctx, walletctl.MaxPage)); err != nil || len(users) != 0 {
		t.Fatalf("after reset: %v %v", users, err)
	}
}

// A store the caller holds open is used as the wallet, survives the sandbox's Close, and cannot
// be reset under it.
func TestCallerStore(t *testing.T) {
	ctx := context.Background()
	home := initHome(t)
	st, err := sqlite.Open(filepath.Join(home, sandbox.WalletFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, phone := range []string{"13800000001", "13800000002"} {
		sb, _, err := sandbox.Open(ctx, sandbox.Options{Home: home, Store: st}, false)
		if err != nil {
			t.Fatal(err)
		}
		u, err := sb.Service().Register(ctx, phone)
		if err != nil {
			t.Fatalf("open %d: %v", i, err) // the second fails if Close closed the caller's store
		}
		if want := []string{"u1", "u2"}[i]; u.ID != want {
			t.Fatalf("user %s, want %s", u.ID, want)
		}
		if i == 1 {
			if err := sb.Reset(ctx); err == nil {
				t.Fatal("Reset deleted the database under the caller's open store")
			}
		}
		if err := sb.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The same users through the sandbox's own store.
	sb := open(t, home)
	defer sb.Close(ctx)
	if us, err := walletctl.Items(sb.Service().Users(ctx, walletctl.MaxPage)); err != nil || len(us) != 2 {
		t.Fatalf("users %v %v", us, err)
	}
}
