package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the driver the store uses, to read wallet.db as an attacker would

	"github.com/walletctl/walletctl/walletctl"
)

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=([1-9][0-9]*),t=([1-9][0-9]*),p=([1-9][0-9]*)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

// TestPasswordStoredOnlyAsSaltedArgon2id reads wallet.db directly: the payment password is stored
// only as an argon2id PHC string with a 16-byte salt, two users with the same password get
// different hashes, and the password's digits appear nowhere in the database files or in any
// output. A wrong password is refused and counted, the right one still works.
func TestPasswordStoredOnlyAsSaltedArgon2id(t *testing.T) {
	w := newWorld(t, false)
	cs := w.customers()
	var a, b customer
	for _, c := range cs {
		if c.Status != "active" {
			continue
		}
		if a.CardNo == "" {
			a = c
		} else if c.IDNo != a.IDNo {
			b = c
			break
		}
	}
	const pw = "135790"
	u1 := w.verifiedUser("13900000101", a)
	u2 := w.verifiedUser("13900000102", b)
	for _, u := range []string{u1, u2} {
		w.okIn(pw+"\n", "--as", u, "password", "set", "--password-stdin")
	}
	// A money command checks the password before anything moves: wrong is counted, right passes.
	// (An empty balance fails before the password is asked: pay from a bound card.)
	src := "card:" + w.bindCard(u1, a)
	w.fail("975310\n", walletctl.CodePasswordWrong, 7, "--as", u1, "pay", "--merchant", "m-cafe", "--amount", "1", "--source", src, "--password-stdin")
	w.fail(pw+"\n", walletctl.CodeInsufficientBalance, 6, "--as", u1, "pay", "--merchant", "m-cafe", "--amount", "1", "--password-stdin")
	w.okIn(pw+"\n", "--as", u1, "pay", "--merchant", "m-cafe", "--amount", "1", "--source", src, "--password-stdin")

	w.ok("--as", u1, "-o", "json", "user", "show")
	w.ok("-o", "json", "user", "list")
	w.ok("--as", u1, "security", "log")

	db, err := sql.Open("sqlite", "file:"+filepath.Join(w.home, "wallet.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT id, pw_hash FROM users ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	for rows.Next() {
		var id, h string
		if err := rows.Scan(&id, &h); err != nil {
			t.Fatal(err)
		}
		hashes[id] = h
	}
	rows.Close()
	salts := map[string]bool{}
	for _, u := range []string{u1, u2} {
		m := phc.FindStringSubmatch(hashes[u])
		if m == nil {
			t.Fatalf("%s: stored %q is not an argon2id PHC string", u, hashes[u])
		}
		salt, err1 := base64.RawStdEncoding.DecodeString(m[4])
		key, err2 := base64.RawStdEncoding.DecodeString(m[5])
		if err1 != nil || err2 != nil || len(salt) != 16 || len(key) != 32 {
			t.Fatalf("%s: salt %d bytes, key %d bytes (%v %v), want 16 and 32", u, len(salt), len(key), err1, err2)
		}
		salts[m[4]] = true
	}
	if hashes[u1] == hashes[u2] || len(salts) != 2 {
		t.Fatalf("same password, same hash or salt for two users: %q %q", hashes[u1], hashes[u2])
	}
	db.Close()

	// The raw files, as someone who copies the sandbox would read them.
	files, _ := filepath.Glob(filepath.Join(w.home, "*"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if bytes.Contains(raw, []byte(pw)) || bytes.Contains(raw, []byte("975310")) {
			t.Errorf("%s holds the payment password in clear", filepath.Base(f))
		}
	}
	assertNoSecrets(t, w.outputs, cs, pw, "975310")
	for _, o := range w.outputs {
		if strings.Contains(o, "$argon2id$") {
			t.Fatalf("an output shows the password hash:\n%s", o)
		}
	}
}
