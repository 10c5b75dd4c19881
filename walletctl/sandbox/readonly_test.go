//go:build linux

package sandbox_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/internal/testfs"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// A home on a read-only file system serves read-only commands (balance, transactions, users,
// the bank's customers); a command that writes is SANDBOX_READ_ONLY and nothing changes; no
// sandbox can be created there.
func TestReadOnlyHome(t *testing.T) {
	ctx := context.Background()
	fs := testfs.Mount(t, "16m")
	home := filepath.Join(fs, "home")
	sb, err := sandbox.Init(ctx, sandbox.Options{Home: home}, sandbox.InitOptions{Seed: 1, Customers: 5})
	if err != nil {
		t.Fatal(err)
	}
	u, err := sb.Service().Register(ctx, "13900000001")
	if err != nil {
		t.Fatal(err)
	}
	ok := bankmock.TestCards[0].Customer
	if _, err := sb.Bank().Customer(ctx, ok.CardNo); err != nil {
		t.Fatal(err)
	}
	if err := sb.Close(ctx); err != nil {
		t.Fatal(err)
	}
	testfs.ReadOnly(t, fs)

	sb, _, err = sandbox.Open(ctx, sandbox.Options{Home: home}, false)
	if err != nil {
		t.Fatalf("open a read-only home: %v", err)
	}
	if _, err := sb.Service().Balance(ctx, u.ID); err != nil {
		t.Errorf("balance in a read-only home: %v", err)
	}
	if _, err := walletctl.Items(sb.Service().Users(ctx, walletctl.MaxPage)); err != nil {
		t.Errorf("user list in a read-only home: %v", err)
	}
	if _, err := sb.Bank().Customers(ctx, bankapi.Page{}); err != nil {
		t.Errorf("bank customers in a read-only home: %v", err)
	}
	_, err = sb.Service().Register(ctx, "13900000002")
	if walletctl.ErrorCode(err) != walletctl.CodeSandboxReadOnly {
		t.Errorf("register in a read-only home: %v, want SANDBOX_READ_ONLY", err)
	}
	if err := sb.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	_, _, err = sandbox.Open(ctx, sandbox.Options{Home: filepath.Join(fs, "other")}, true)
	var we *walletctl.Error
	if !errors.As(err, &we) || we.Code != walletctl.CodeSandboxReadOnly {
		t.Errorf("a new sandbox on a read-only file system: %v, want SANDBOX_READ_ONLY", err)
	}
}

// In a read-only home, readers share the lock: two read-only opens at once both succeed.
func TestReadOnlyHomeSharesTheLock(t *testing.T) {
	ctx := context.Background()
	fs := testfs.Mount(t, "16m")
	home := filepath.Join(fs, "home")
	sb, err := sandbox.Init(ctx, sandbox.Options{Home: home}, sandbox.InitOptions{Seed: 1, Customers: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Close(ctx); err != nil {
		t.Fatal(err)
	}
	testfs.ReadOnly(t, fs)
	first, _, err := sandbox.Open(ctx, sandbox.Options{Home: home}, false)
	if err != nil {
		t.Fatalf("first reader: %v", err)
	}
	defer first.Close(ctx)
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	second, _, err := sandbox.Open(short, sandbox.Options{Home: home}, false)
	if err != nil {
		t.Fatalf("second reader while the first holds the shared lock: %v", err)
	}
	second.Close(ctx)
}
