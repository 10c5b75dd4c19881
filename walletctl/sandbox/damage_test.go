package sandbox_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	_ "modernc.org/sqlite"
)

// A damaged home is refused with SANDBOX_DAMAGED naming the file, before any command runs, and
// nothing in it is rewritten: an empty, truncated, foreign or garbage wallet.db or bank.db, a
// missing one, a home that is a file.
func TestDamagedHomesAreRefusedUntouched(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		file string
		harm func(t *testing.T, path string)
	}{
		{"empty wallet", sandbox.WalletFile, func(t *testing.T, p string) { write(t, p, nil) }},
		{"truncated wallet", sandbox.WalletFile, func(t *testing.T, p string) { truncate(t, p, 3) }},
		{"garbage wallet", sandbox.WalletFile, func(t *testing.T, p string) { write(t, p, bytes.Repeat([]byte("garbage!"), 1000)) }},
		{"foreign wallet", sandbox.WalletFile, func(t *testing.T, p string) { foreign(t, p) }},
		{"missing wallet", sandbox.WalletFile, func(t *testing.T, p string) { remove(t, p) }},
		{"empty bank", sandbox.BankFile, func(t *testing.T, p string) { write(t, p, nil) }},
		{"truncated bank", sandbox.BankFile, func(t *testing.T, p string) { truncate(t, p, 2) }},
		{"garbage bank", sandbox.BankFile, func(t *testing.T, p string) { write(t, p, []byte("not a snapshot")) }},
		{"foreign bank", sandbox.BankFile, func(t *testing.T, p string) { foreign(t, p) }},
		{"wallet as bank", sandbox.BankFile, func(t *testing.T, p string) {
			b, err := os.ReadFile(filepath.Join(filepath.Dir(p), sandbox.WalletFile))
			if err != nil {
				t.Fatal(err)
			}
			write(t, p, b)
		}},
		{"missing bank", sandbox.BankFile, func(t *testing.T, p string) { remove(t, p) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := initHome(t)
			sb := open(t, home)
			if _, err := sb.Service().Register(ctx, "13900000001"); err != nil {
				t.Fatal(err)
			}
			if _, err := sb.Bank().Customers(ctx, bankapi.Page{}); err != nil {
				t.Fatal(err)
			}
			if err := sb.Close(ctx); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(home, c.file)
			c.harm(t, path)
			before := snapshotDir(t, home)
			_, _, err := sandbox.Open(ctx, sandbox.Options{Home: home}, false)
			var we *walletctl.Error
			if !errors.As(err, &we) || we.Code != walletctl.CodeSandboxDamaged {
				t.Fatalf("got %v, want SANDBOX_DAMAGED", err)
			}
			if we.Details["file"] != path || !strings.Contains(we.Message, path) || we.Hint == "" {
				t.Fatalf("the error does not name %s with a hint: %+v", path, we)
			}
			if after := snapshotDir(t, home); !equalDirs(before, after) {
				t.Fatalf("the damaged home was changed:\nbefore %v\nafter  %v", keys(before), keys(after))
			}
		})
	}
	t.Run("home is a file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "home")
		write(t, p, []byte("x"))
		_, _, err := sandbox.Open(ctx, sandbox.Options{Home: p}, true)
		var we *walletctl.Error
		if !errors.As(err, &we) || (we.Code != walletctl.CodeSandboxDamaged && we.Code != walletctl.CodeInvalidArgument) {
			t.Fatalf("got %v, want a coded error", err)
		}
		if b, _ := os.ReadFile(p); string(b) != "x" {
			t.Fatal("the file was changed")
		}
	})
}

// A home of format 2 kept its bank in bank.json: the first command that needs the bank converts
// it to bank.db, with the same state.
func TestLegacyBankJSONIsConverted(t *testing.T) {
	ctx := context.Background()
	home := initHome(t)
	sb := open(t, home)
	if _, err := sb.Bank().Customers(ctx, bankapi.Page{}); err != nil {
		t.Fatal(err)
	}
	snap, err := sb.Bank().Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sb.Close(ctx)
	for _, n := range []string{sandbox.BankFile, sandbox.BankFile + "-wal", sandbox.BankFile + "-shm"} {
		os.Remove(filepath.Join(home, n))
	}
	write(t, filepath.Join(home, sandbox.LegacyBankFile), snap)
	sb = open(t, home)
	defer sb.Close(ctx)
	got, err := sb.Bank().Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, snap) {
		t.Fatal("the converted bank differs from bank.json")
	}
	if _, err := os.Stat(filepath.Join(home, sandbox.LegacyBankFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bank.json is still there: %v", err)
	}
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, p string, div int64) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, fi.Size()/div); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, p string) {
	t.Helper()
	for _, s := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(p + s); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

// foreign replaces p with another program's SQLite database.
func foreign(t *testing.T, p string) {
	t.Helper()
	remove(t, p)
	db, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello')`); err != nil {
		t.Fatal(err)
	}
}

func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == sandbox.LockFile || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func equalDirs(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s (%d bytes)", k, len(v)))
	}
	return out
}
