//go:build unix

package cli_test

import (
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	_ "modernc.org/sqlite"
)

// checkPrivate walks dir: every file must be 0600 and every folder 0700 (DESIGN.md section 7),
// whatever the umask. It returns how many files it checked.
func checkPrivate(t *testing.T, dir string) int {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s is %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// permissiveUmask sets umask 022 for the test (the usual default), so that a file created
// without an explicit mode would show up as 0644; the children started by exe inherit it.
func permissiveUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

// A home after a full CLI flow (register, real-name, bind, password, pay, top-up, bank
// commands) holds only 0600 files in 0700 folders: wallet.db and its -wal and -shm, sandbox.json,
// the lock, the bank's state.
func TestHomeFilesArePrivate(t *testing.T) {
	permissiveUmask(t)
	home := filepath.Join(t.TempDir(), "home") // made by walletctl
	must := func(r result) {
		t.Helper()
		if r.code != 0 {
			t.Fatal(r)
		}
	}
	must(exe(t, home, "", "flow", "open-wallet"))
	must(exe(t, home, "135790\n", "--as", "u1", "topup", "--card", "c1", "--amount", "20", "--password-stdin"))
	must(exe(t, home, "", "bank", "journal"))
	must(exe(t, home, "", "clock", "advance", "1h"))
	if n := checkPrivate(t, home); n < 4 {
		t.Fatalf("only %d files in the home", n)
	}
	for _, name := range []string{"wallet.db", "sandbox.json", "lock"} {
		if _, err := os.Stat(filepath.Join(home, name)); err != nil {
			t.Errorf("no %s: %v", name, err)
		}
	}
}

// serve --password-cost production gives the tenants it creates OWASP's argon2id cost for payment
// passwords (the default stays the cheap sandbox one), and its data folder holds only private
// files: tenants.json and each tenant's home.
func TestServePasswordCost(t *testing.T) {
	if r := exeEnv(t, nil, "", "serve", "--data", t.TempDir(), "--password-cost", "cheap"); r.code != 2 || !strings.Contains(r.errOut, "password-cost") {
		t.Fatalf("an unknown cost: %v", r)
	}
	permissiveUmask(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "$argon2id$v=19$m=64,t=1,p=1$"},
		{[]string{"--password-cost", "production"}, "$argon2id$v=19$m=19456,t=2,p=1$"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		const key = "cost-tenant-key-0123456789"
		p := startServe(t, nil, append([]string{"--data", data, "--tenant-key", key}, tc.args...)...)
		env := []string{"WALLETCTL_BACKEND=" + p.url, "WALLETCTL_API_KEY=" + key}
		if r := exeEnv(t, env, "", "flow", "open-wallet"); r.code != 0 {
			t.Fatal(r)
		}
		if code := p.stop(t); code != 0 {
			t.Fatalf("serve exited %d:\n%s", code, p.stderr)
		}
		db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "tenants", "t1", "wallet.db")+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var hash string
		err = db.QueryRow(`SELECT pw_hash FROM users WHERE id = 'u1'`).Scan(&hash)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, tc.want) {
			t.Errorf("serve %v: the password hash is %.40s..., want %s...", tc.args, hash, tc.want)
		}
		if n := checkPrivate(t, data); n < 4 {
			t.Fatalf("only %d files in the data folder", n)
		}
	}
}
