package postgres

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/walletctl"
)

// A schema that an older walletctl migrated (versions 1 and 2, full card and ID numbers in its
// rows) is converted when opened: the key is made in the schema, the numbers give way to hashes,
// masks and the sealed ID. A second store on the schema (another server) reads the same key, and
// Reset keeps it.
func TestMigrationSealsOldNumbers(t *testing.T) {
	ctx := context.Background()
	d := dsn(t)
	schema := fmt.Sprintf("t_old_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	const cardNo, idNo = "6222020000000000018", "110105198503071230"
	conn, err := pgx.Connect(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	t.Cleanup(func() { conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	old := []string{`CREATE SCHEMA ` + schema, `SET search_path = ` + schema,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
		migrations[0].SQL, migrations[1].SQL, `INSERT INTO schema_migrations(version) VALUES (1), (2)`,
		`INSERT INTO users(id, num, phone, status, created_at, kyc_name, kyc_id) VALUES ('u1', 1, '13800138000', 'normal', 1, '张伟', '` + idNo + `')`,
		`INSERT INTO cards(id, num, user_id, card_no, bank, bank_name, card_type, agreement, phone, bound_at)
VALUES ('c1', 1, 'u1', '` + cardNo + `', 'ICBC', '中国工商银行', 'debit', 'agr_old', '13800138000', 1)`,
		`INSERT INTO bindings(id, user_id, purpose, bank_binding_id, card_no, phone, expires_at) VALUES ('b1', 'u1', 'bind', 'bb', '` + cardNo + `', '13800138000', 1)`,
	}
	for _, q := range old {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	s := openTest(t, Options{Schema: schema})
	key := walletctl.SecretKey(s.SecretKey())
	if !key.Valid() {
		t.Fatalf("no key: %x", key)
	}
	if err := s.View(ctx, func(tx walletctl.StoreTx) error {
		u, err := tx.UserByIDHash(key.IDHash(idNo))
		if err != nil || u == nil || u.ID != "u1" || u.IDMasked != cnid.MaskID(idNo) {
			t.Errorf("user %+v, %v", u, err)
		} else if id, err := key.OpenID(u.IDSealed); id != idNo || err != nil {
			t.Errorf("sealed ID %q, %v", id, err)
		}
		c, err := tx.GetCard("c1")
		if err != nil || c == nil || c.CardHash != key.CardHash(cardNo) || c.CardMasked != "6222 **** **** 0018" || c.Last4 != "0018" {
			t.Errorf("card %+v, %v", c, err)
		}
		b, err := tx.GetBinding("b1")
		if err != nil || b == nil || b.CardHash != key.CardHash(cardNo) || b.CardNoMasked != cnid.MaskCard(cardNo) {
			t.Errorf("binding %+v, %v", b, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var cols int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND column_name IN ('kyc_id', 'card_no')`, schema).Scan(&cols); err != nil || cols != 0 {
		t.Errorf("%d old number columns left, %v", cols, err)
	}

	other, err := OpenWith(ctx, d, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if !bytes.Equal(other.SecretKey(), key) {
		t.Error("a second store on the schema has another key")
	}
	if err := other.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(other.SecretKey(), key) {
		t.Error("Reset changed the key")
	}
	fresh := openTest(t, Options{})
	if bytes.Equal(fresh.SecretKey(), key) || !walletctl.SecretKey(fresh.SecretKey()).Valid() {
		t.Error("a new schema does not get a key of its own")
	}
}
