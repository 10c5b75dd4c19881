package engine_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/engine"
)

// DESIGN.md section 7: the wallet keeps a keyed hash and the mask of card and ID numbers, never
// the numbers. After a user verified, bound a card, set a password and started a reset (a pending
// binding), neither number is in any row nor anywhere in the bytes of wallet.db and its WAL,
// while the masks and the hashes are.
func TestNoFullNumbersInTheWalletFile(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	u, _ := w.OpenWallet(c).IDs()
	must[*walletctl.PasswordReset](t)(w.Engine.StartPasswordReset(w.Ctx, u, c.Name, c.IDNo, c.CardNo))
	// A second user's pending binding of another card.
	o := card("no_funds")
	u2 := w.Verified(o).ID
	must[*walletctl.CardBinding](t)(w.Engine.BindCard(w.Ctx, u2, o.CardNo, o.Phone))

	key := walletctl.SecretKey(testworld.SecretKey)
	secrets := []string{c.CardNo, c.IDNo, o.CardNo, o.IDNo}
	kept := []string{cnid.MaskCard(c.CardNo), cnid.MaskID(c.IDNo), key.CardHash(c.CardNo), key.IDHash(c.IDNo),
		cnid.MaskCard(o.CardNo), key.CardHash(o.CardNo), key.IDHash(o.IDNo)}

	// Every value of every row, read back through database/sql.
	db, err := sql.Open("sqlite", "file:"+w.Path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows strings.Builder
	tables := must[[]string](t)(queryStrings(db, `SELECT name FROM sqlite_master WHERE type = 'table'`))
	for _, tb := range tables {
		r, err := db.Query(`SELECT * FROM "` + tb + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&rows, "%s.%s=%v\n", tb, cols[i], v)
			}
		}
		r.Close()
	}
	// The raw bytes: the database file and its WAL, as they are on disk with the store open.
	var raw []byte
	for _, p := range []string{w.Path, w.Path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	if len(raw) == 0 || !strings.Contains(rows.String(), "users.id=u1") {
		t.Fatalf("read nothing: %d bytes, rows:\n%s", len(raw), rows.String())
	}
	for _, s := range secrets {
		if strings.Contains(rows.String(), s) {
			t.Errorf("a row holds the full number %s", cnid.MaskDigits(s))
		}
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("wallet.db or its WAL holds the full number %s", cnid.MaskDigits(s))
		}
	}
	for _, s := range kept {
		if !strings.Contains(rows.String(), s) || !bytes.Contains(raw, []byte(s)) {
			t.Errorf("%s is not kept (rows and file)", s)
		}
	}
	// What is shown still comes out right.
	k := must[*walletctl.KYC](t)(w.Engine.KYCStatus(w.Ctx, u))
	cs := must[[]walletctl.Card](t)(walletctl.Items(w.Engine.Cards(w.Ctx, u, walletctl.MaxPage)))
	if k.IDMasked != cnid.MaskID(c.IDNo) || len(cs) != 1 || cs[0].CardMasked != cnid.MaskCardGrouped(c.CardNo) || cs[0].Last4 != c.CardNo[len(c.CardNo)-4:] {
		t.Fatalf("shown: %+v %+v", k, cs)
	}
}

func queryStrings(db *sql.DB, q string) ([]string, error) {
	r, err := db.Query(q)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []string
	for r.Next() {
		var s string
		if err := r.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, r.Err()
}

// The comparisons work on hashes: a card bound twice and an ID verified twice are refused as
// before, and a wallet opened with another key recognises neither (the key is what compares).
func TestComparisonsUseTheKeyedHash(t *testing.T) {
	w := newWorld(t)
	c := card("ok")
	u, _ := w.OpenWallet(c).IDs()
	_, err := w.Engine.BindCard(w.Ctx, u, " "+c.CardNo[:4]+" "+c.CardNo[4:], c.Phone) // spaces as people type them
	code(t, err, walletctl.CodeAlreadyExists)
	u2 := must[*walletctl.User](t)(w.Engine.Register(w.Ctx, "13700000001"))
	_, err = w.Engine.SubmitKYC(w.Ctx, u2.ID, c.Name, strings.ToLower(c.IDNo))
	code(t, err, walletctl.CodeAlreadyExists)

	other := w.NewEngine(nil, 1, func(c *engine.Config) { c.SecretKey = []byte("another wallet's secret key ...") })
	_, err = other.StartPasswordReset(w.Ctx, u, c.Name, c.IDNo, c.CardNo)
	code(t, err, walletctl.CodeIdentityFailed)
	noKey := w.EngineConfig(nil, 1)
	noKey.SecretKey = nil
	if _, err := engine.New(noKey); err == nil {
		t.Fatal("an engine without a secret key was built")
	}
}
