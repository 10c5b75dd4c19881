package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sqlite"
	"github.com/walletctl/walletctl/walletctl/sqlstore"
)

// oldWallet writes a wallet.db as walletctl wrote it before secrets at rest (schema 1, full card
// and ID numbers): u1 verified with the test card "ok" bound as c1 and a pending binding b1 of
// it, u2 not verified.
func oldWallet(t *testing.T, path string, c bankapi.Customer) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := vclock.DefaultEpoch.UnixNano()
	for _, q := range []struct {
		q    string
		args []any
	}{
		{sqlite.SchemaV1, nil},
		{`PRAGMA user_version = 1`, nil},
		{`INSERT INTO seqs(name, value) VALUES ('user', 2), ('card', 1), ('binding', 1)`, nil},
		{`INSERT INTO users(id, num, phone, status, created_at, class, kyc_name, kyc_id, kyc_checks, kyc_at)
VALUES ('u1', 1, ?, 'normal', ?, 2, ?, ?, 'id,phone,bank_card', ?), ('u2', 2, '13700000002', 'normal', ?, 0, '', NULL, '', NULL)`,
			[]any{c.Phone, at, c.Name, c.IDNo, at, at}},
		{`INSERT INTO cards(id, num, user_id, card_no, bank, bank_name, card_type, agreement, phone, bound_at)
VALUES ('c1', 1, 'u1', ?, 'ICBC', '中国工商银行', 'debit', 'agr_old', ?, ?)`, []any{c.CardNo, c.Phone, at}},
		{`INSERT INTO bindings(id, user_id, purpose, bank_binding_id, card_no, phone, card_id, expires_at)
VALUES ('b1', 'u1', 'bind', 'bb_old', ?, ?, '', ?)`, []any{c.CardNo, c.Phone, at}},
	} {
		if _, err := db.Exec(q.q, q.args...); err != nil {
			t.Fatalf("%s: %v", q.q, err)
		}
	}
}

func fileBytes(t *testing.T, path string) []byte {
	var raw []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	return raw
}

// An old wallet is converted when opened with its key: the numbers give way to hashes, masks and
// the sealed ID, nothing of them is left in the file, and the wallet keeps working (identity at
// password reset, duplicate checks, what is shown). Without the key it is refused, unchanged.
func TestMigrationSealsOldNumbers(t *testing.T) {
	ctx := context.Background()
	c := testworld.Card("ok")
	path := filepath.Join(t.TempDir(), "wallet.db")
	oldWallet(t, path, c)
	if raw := fileBytes(t, path); !bytes.Contains(raw, []byte(c.CardNo)) || !bytes.Contains(raw, []byte(c.IDNo)) {
		t.Fatal("the old wallet does not hold the numbers: the test proves nothing")
	}

	if _, err := sqlite.Open(path); !errors.Is(err, sqlstore.ErrNoSecretKey) {
		t.Fatalf("opened without the key: %v", err)
	}
	key := walletctl.SecretKey("old wallet's secret key, 32 byte")
	st, err := sqlite.OpenWith(path, sqlite.Options{SecretKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw := fileBytes(t, path)
	for _, s := range []string{c.CardNo, c.IDNo} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("after the migration the file still holds %s", cnid.MaskDigits(s))
		}
	}
	for _, s := range []string{key.CardHash(c.CardNo), key.IDHash(c.IDNo), cnid.MaskCard(c.CardNo), cnid.MaskID(c.IDNo)} {
		if !bytes.Contains(raw, []byte(s)) {
			t.Errorf("after the migration the file lacks %s", s)
		}
	}
	if err := st.View(ctx, func(tx walletctl.StoreTx) error {
		u, err := tx.UserByIDHash(key.IDHash(c.IDNo))
		if err != nil || u == nil || u.ID != "u1" || u.IDMasked != cnid.MaskID(c.IDNo) {
			t.Errorf("user by ID hash: %+v, %v", u, err)
		} else if id, err := key.OpenID(u.IDSealed); id != c.IDNo || err != nil {
			t.Errorf("sealed ID opens to %q, %v", id, err)
		}
		b, err := tx.GetBinding("b1")
		if err != nil || b == nil || b.CardHash != key.CardHash(c.CardNo) || b.CardNoMasked != cnid.MaskCard(c.CardNo) {
			t.Errorf("binding %+v, %v", b, err)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// The wallet on the converted database, over a bank that knows the card.
	w := testworld.New(t, testworld.Store(st), testworld.InstantSleep(), func(c *testworld.Config) {
		c.Start, c.SecretKey = vclock.DefaultEpoch.Add(time.Hour), key
	})
	eng, bank := w.Engine, w.Mock
	k, err := eng.KYCStatus(ctx, "u1")
	if err != nil || !k.Verified || k.IDMasked != cnid.MaskID(c.IDNo) {
		t.Fatalf("kyc %+v, %v", k, err)
	}
	cards, err := walletctl.Items(eng.Cards(ctx, "u1", walletctl.MaxPage))
	if err != nil || len(cards) != 1 || cards[0].CardMasked != "6222 **** **** 0018" || cards[0].Last4 != "0018" {
		t.Fatalf("cards %+v, %v", cards, err)
	}
	for _, wrong := range [][2]string{{testworld.Card("no_funds").IDNo, c.CardNo}, {c.IDNo, testworld.Card("no_funds").CardNo}} {
		if _, err := eng.StartPasswordReset(ctx, "u1", c.Name, wrong[0], wrong[1]); walletctl.ErrorCode(err) != walletctl.CodeIdentityFailed {
			t.Errorf("reset with a wrong identity: %v", err)
		}
	}
	r, err := eng.StartPasswordReset(ctx, "u1", c.Name, c.IDNo, c.CardNo)
	if err != nil {
		t.Fatal(err)
	}
	otp, err := bank.LastOTP(ctx, c.Phone)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.CompletePasswordReset(ctx, "u1", r.ResetID, otp, "902741"); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.BindCard(ctx, "u1", c.CardNo, c.Phone); walletctl.ErrorCode(err) != walletctl.CodeAlreadyExists {
		t.Errorf("binding the converted card again: %v", err)
	}
	if _, err := eng.SubmitKYC(ctx, "u2", c.Name, c.IDNo); walletctl.ErrorCode(err) != walletctl.CodeAlreadyExists {
		t.Errorf("verifying the converted ID again: %v", err)
	}
}

// wallet.db and the -wal and -shm files SQLite makes beside it are 0600; an older, wider one is
// narrowed when opened.
func TestWalletFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wallet.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx walletctl.StoreTx) error {
		_, err := tx.NextID("x")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	st.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("an older 0644 wallet.db stays %v", fi.Mode().Perm())
	}
}
