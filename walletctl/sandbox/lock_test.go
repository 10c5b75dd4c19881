package sandbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// A waiter hears, once, after a second, the pid that the lock's holder wrote in the lock file.
func TestLockWaiterNamesHolder(t *testing.T) {
	ctx := context.Background()
	home := initHome(t)
	first := open(t, home)
	heard := make(chan int, 4)
	opts := sandbox.Options{Home: home, LockWait: func(pid int) { heard <- pid }}
	short, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if _, _, err := sandbox.Open(short, opts, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second open while locked: %v", err)
	}
	first.Close(ctx)
	close(heard)
	var pids []int
	for pid := range heard {
		pids = append(pids, pid)
	}
	if len(pids) != 1 || pids[0] != os.Getpid() {
		t.Fatalf("the waiter heard %v, want once the holder's pid %d", pids, os.Getpid())
	}
}

// A home that lies under a file is refused with a hint, on every platform (no ENOTDIR needed).
func TestHomeUnderAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := sandbox.Open(context.Background(), sandbox.Options{Home: filepath.Join(file, "a", "home")}, true)
	var we *walletctl.Error
	if !errors.As(err, &we) || we.Code != walletctl.CodeInvalidArgument || we.Hint == "" {
		t.Fatalf("home under a file: %v, want INVALID_ARGUMENT with a hint", err)
	}
	// A home whose parents are missing is created.
	home := filepath.Join(t.TempDir(), "a", "b", "home")
	sb, _, err := sandbox.Open(context.Background(), sandbox.Options{Home: home}, true)
	if err != nil {
		t.Fatalf("home with missing parents: %v", err)
	}
	sb.Close(context.Background())
}
