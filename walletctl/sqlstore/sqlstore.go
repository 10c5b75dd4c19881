// Package sqlstore holds the walletctl.StoreTx methods whose SQL and row scanning are the same on
// SQLite and PostgreSQL, so that walletctl/sqlite and walletctl/postgres keep only what differs
// (transactions, sequences, the ledger's posting and checks). Queries use ? placeholders; the
// postgres store rewrites them to $n.
package sqlstore

import (
	"errors"
	"strings"
	"time"

	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// Row is a scannable result row (*sql.Row, *sql.Rows, pgx.Row, pgx.Rows).
type Row interface{ Scan(...any) error }

// Conn is the statement access a store's transaction gives the shared methods.
type Conn interface {
	Exec(q string, args ...any) error
	QueryRow(q string, args ...any) Row
	// Each runs q and calls scan for every row.
	Each(q string, args []any, scan func(Row) error) error
}

// Tx implements the shared part of walletctl.StoreTx; a store embeds it and defines the rest.
type Tx struct {
	C      Conn
	NoRows error // the driver's "no rows" error (sql.ErrNoRows, pgx.ErrNoRows)
	// PendingTxns, when set, is the FROM of the pending-txns sum (SQLite: "txns INDEXED BY
	// txns_user_open"); PostgreSQL's planner has statistics and needs no hint.
	PendingTxns string
}

func (t *Tx) noRows(err error) bool { return errors.Is(err, t.NoRows) }

// TS stores times as Unix nanoseconds (INTEGER in SQLite, BIGINT in PostgreSQL).
func TS(t time.Time) int64 { return t.UnixNano() }

// TSP is TS for an optional time: nil is NULL.
func TSP(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixNano()
}

// FromTS is the inverse of TS, in Shanghai like the clock that made it: every time the wallet
// returns (JSON of the CLI and of the wire alike) is RFC 3339 with +08:00, never Z.
func FromTS(n int64) time.Time { return time.Unix(0, n).In(vclock.Shanghai) }

// FromNull is the inverse of TSP (both drivers scan NULL into a nil *int64).
func FromNull(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := FromTS(*n)
	return &t
}

// NullStr stores "" as NULL (for unique columns that many rows leave empty).
func NullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// IDNum extracts the number of "u12" so that lists sort as created.
func IDNum(id string) int64 {
	var n int64
	for i := 0; i < len(id); i++ {
		if id[i] >= '0' && id[i] <= '9' {
			n = n*10 + int64(id[i]-'0')
		}
	}
	return n
}

// Strings runs q and returns its single text column.
func (t *Tx) Strings(q string) ([]string, error) {
	var out []string
	err := t.C.Each(q, nil, func(r Row) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// ---- users

const userCols = `id, phone, status, created_at, class, kyc_name, kyc_id_hash, kyc_id_masked, kyc_id_sealed, kyc_checks, kyc_at,
pw_hash, pw_failed, pw_locked_until`

func scanUser(sc Row) (*walletctl.UserRecord, error) {
	var u walletctl.UserRecord
	var created int64
	var idHash *string
	var checks, status string
	var kycAt, locked *int64
	var class int
	err := sc.Scan(&u.ID, &u.Phone, &status, &created, &class, &u.Name, &idHash, &u.IDMasked, &u.IDSealed, &checks, &kycAt,
		&u.PasswordHash, &u.FailedAttempts, &locked)
	if err != nil {
		return nil, err
	}
	u.Class = walletctl.AccountClass(class)
	u.Status = walletctl.UserStatus(status)
	u.CreatedAt = FromTS(created)
	u.IDHash = str(idHash)
	if checks != "" {
		u.Checks = strings.Split(checks, ",")
	}
	u.VerifiedAt = FromNull(kycAt)
	u.LockedUntil = FromNull(locked)
	u.Verified = u.IDHash != ""
	u.PasswordSet = u.PasswordHash != ""
	return &u, nil
}

func (t *Tx) oneUser(where string, arg any) (*walletctl.UserRecord, error) {
	u, err := scanUser(t.C.QueryRow(`SELECT `+userCols+` FROM users WHERE `+where, arg))
	if t.noRows(err) {
		return nil, nil
	}
	return u, err
}

func (t *Tx) CreateUser(u *walletctl.UserRecord) error {
	if err := t.C.Exec(`INSERT INTO users(id, num, phone, status, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, IDNum(u.ID), u.Phone, string(u.Status), TS(u.CreatedAt)); err != nil {
		return err
	}
	return t.SaveUser(u)
}

func (t *Tx) SaveUser(u *walletctl.UserRecord) error {
	return t.C.Exec(`UPDATE users SET phone=?, status=?, class=?, kyc_name=?, kyc_id_hash=?, kyc_id_masked=?, kyc_id_sealed=?,
kyc_checks=?, kyc_at=?, pw_hash=?, pw_failed=?, pw_locked_until=? WHERE id=?`,
		u.Phone, string(u.Status), int(u.Class), u.Name, NullStr(u.IDHash), u.IDMasked, u.IDSealed,
		strings.Join(u.Checks, ","), TSP(u.VerifiedAt), u.PasswordHash, u.FailedAttempts, TSP(u.LockedUntil), u.ID)
}

func (t *Tx) GetUser(id string) (*walletctl.UserRecord, error) { return t.oneUser("id = ?", id) }
func (t *Tx) UserByPhone(p string) (*walletctl.UserRecord, error) {
	return t.oneUser("phone = ?", p)
}
func (t *Tx) UserByIDHash(h string) (*walletctl.UserRecord, error) {
	return t.oneUser("kyc_id_hash = ?", h)
}

func (t *Tx) users(q string, args ...any) ([]walletctl.UserRecord, error) {
	var out []walletctl.UserRecord
	err := t.C.Each(`SELECT `+userCols+` FROM users `+q, args, func(r Row) error {
		u, err := scanUser(r)
		if err == nil {
			out = append(out, *u)
		}
		return err
	})
	return out, err
}

func (t *Tx) ListUsers() ([]walletctl.UserRecord, error) { return t.users(`ORDER BY num`) }

func (t *Tx) LockedUsersDue(now time.Time) ([]walletctl.UserRecord, error) {
	return t.users(`WHERE pw_locked_until IS NOT NULL AND pw_locked_until <= ? ORDER BY num`, TS(now))
}

// ---- bindings

func (t *Tx) CreateBinding(b *walletctl.BindingRecord) error {
	return t.C.Exec(`INSERT INTO bindings(id, user_id, purpose, bank_binding_id, card_hash, card_masked, phone, card_id, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, b.ID, b.UserID, b.Purpose, b.BankBindingID, b.CardHash, b.CardNoMasked, b.Phone, b.CardID, TS(b.ExpiresAt))
}

func (t *Tx) GetBinding(id string) (*walletctl.BindingRecord, error) {
	var b walletctl.BindingRecord
	var exp int64
	err := t.C.QueryRow(`SELECT id, user_id, purpose, bank_binding_id, card_hash, card_masked, phone, card_id, expires_at FROM bindings WHERE id = ?`, id).
		Scan(&b.ID, &b.UserID, &b.Purpose, &b.BankBindingID, &b.CardHash, &b.CardNoMasked, &b.Phone, &b.CardID, &exp)
	if t.noRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b.ExpiresAt = FromTS(exp)
	return &b, nil
}

func (t *Tx) DeleteBinding(id string) error {
	return t.C.Exec(`DELETE FROM bindings WHERE id = ?`, id)
}

// ---- cards

const cardCols = `id, user_id, card_hash, card_masked, bank, bank_name, card_type, agreement, phone, bound_at`

func scanCard(sc Row) (*walletctl.CardRecord, error) {
	var c walletctl.CardRecord
	var bound int64
	if err := sc.Scan(&c.ID, &c.UserID, &c.CardHash, &c.CardNoMasked, &c.Bank, &c.BankName, &c.CardType, &c.Agreement, &c.Phone, &bound); err != nil {
		return nil, err
	}
	c.BoundAt = FromTS(bound)
	showCard(&c)
	return &c, nil
}

// showCard fills the card's display fields from what the store keeps (the BIN and last 4).
func showCard(c *walletctl.CardRecord) {
	c.CardMasked = cnid.MaskCardGrouped(c.CardNoMasked)
	if n := len(c.CardNoMasked); n >= 4 {
		c.Last4 = c.CardNoMasked[n-4:]
	}
}

func (t *Tx) CreateCard(c *walletctl.CardRecord) error {
	err := t.C.Exec(`INSERT INTO cards(id, num, user_id, card_hash, card_masked, bank, bank_name, card_type, agreement, phone, bound_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, IDNum(c.ID), c.UserID, c.CardHash, c.CardNoMasked, c.Bank, c.BankName, c.CardType, c.Agreement, c.Phone, TS(c.BoundAt))
	if err == nil {
		showCard(c)
	}
	return err
}

func (t *Tx) SaveCard(c *walletctl.CardRecord) error {
	return t.C.Exec(`UPDATE cards SET agreement=?, phone=?, card_type=? WHERE id=?`, c.Agreement, c.Phone, c.CardType, c.ID)
}

func (t *Tx) GetCard(id string) (*walletctl.CardRecord, error) {
	c, err := scanCard(t.C.QueryRow(`SELECT `+cardCols+` FROM cards WHERE id = ?`, id))
	if t.noRows(err) {
		return nil, nil
	}
	return c, err
}

func (t *Tx) ListCards(userID string) ([]walletctl.CardRecord, error) {
	var out []walletctl.CardRecord
	err := t.C.Each(`SELECT `+cardCols+` FROM cards WHERE user_id = ? ORDER BY num`, []any{userID}, func(r Row) error {
		c, err := scanCard(r)
		if err == nil {
			out = append(out, *c)
		}
		return err
	})
	return out, err
}

func (t *Tx) DeleteCard(id string) error {
	return t.C.Exec(`DELETE FROM cards WHERE id = ?`, id)
}

// ---- txns

const txnCols = `id, kind, status, user_id, amount, fee, counterparty, source, card_id, card_masked, idem_key, bank_key,
bank_txn_id, failure_code, note, created_at, settled_at, bank_time`

func scanTxn(sc Row) (*walletctl.TxnRecord, error) {
	var r walletctl.TxnRecord
	var bankKey *string
	var created int64
	var settled, bankTime *int64
	err := sc.Scan(&r.ID, &r.Kind, &r.Status, &r.UserID, &r.Amount, &r.Fee, &r.Counterparty, &r.Source, &r.CardID, &r.CardMasked,
		&r.IdempotencyKey, &bankKey, &r.BankTxnID, &r.FailureCode, &r.Note, &created, &settled, &bankTime)
	if err != nil {
		return nil, err
	}
	r.BankKey = str(bankKey)
	r.CreatedAt = FromTS(created)
	r.SettledAt = FromNull(settled)
	r.BankTime = FromNull(bankTime)
	return &r, nil
}

func (t *Tx) txns(q string, args ...any) ([]walletctl.TxnRecord, error) {
	var out []walletctl.TxnRecord
	err := t.C.Each(`SELECT `+txnCols+` FROM txns `+q, args, func(r Row) error {
		x, err := scanTxn(r)
		if err == nil {
			out = append(out, *x)
		}
		return err
	})
	return out, err
}

func (t *Tx) oneTxn(where string, arg any) (*walletctl.TxnRecord, error) {
	r, err := scanTxn(t.C.QueryRow(`SELECT `+txnCols+` FROM txns WHERE `+where, arg))
	if t.noRows(err) {
		return nil, nil
	}
	return r, err
}

func (t *Tx) CreateTxn(r *walletctl.TxnRecord) error {
	if err := t.C.Exec(`INSERT INTO txns(id, num, kind, status, user_id, amount, fee, counterparty, source, card_id, card_masked,
idem_key, bank_key, bank_txn_id, failure_code, note, created_at, settled_at, bank_time) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, IDNum(r.ID), r.Kind, r.Status, r.UserID, r.Amount, r.Fee, r.Counterparty, r.Source, r.CardID, r.CardMasked,
		r.IdempotencyKey, NullStr(r.BankKey), r.BankTxnID, r.FailureCode, r.Note, TS(r.CreatedAt), TSP(r.SettledAt), TSP(r.BankTime)); err != nil {
		return err
	}
	return t.moveUsage(nil, walletctl.TxnUsage(&r.Txn))
}

// SaveTxn moves the txn's usage counters from what the stored row counts to what it counts with
// the new status (the only column written here that they depend on).
func (t *Tx) SaveTxn(r *walletctl.TxnRecord) error {
	was, err := t.usageFields(r.ID)
	if t.noRows(err) {
		return nil // no such txn: the UPDATE would change nothing
	}
	if err != nil {
		return err
	}
	if err := t.C.Exec(`UPDATE txns SET status=?, fee=?, bank_txn_id=?, failure_code=?, note=?, settled_at=?, bank_time=? WHERE id=?`,
		r.Status, r.Fee, r.BankTxnID, r.FailureCode, r.Note, TSP(r.SettledAt), TSP(r.BankTime), r.ID); err != nil {
		return err
	}
	now := was
	now.Status = r.Status
	return t.moveUsage(walletctl.TxnUsage(&was), walletctl.TxnUsage(&now))
}

func (t *Tx) GetTxn(id string) (*walletctl.TxnRecord, error) { return t.oneTxn("id = ?", id) }
func (t *Tx) TxnByIdemKey(k string) (*walletctl.TxnRecord, error) {
	return t.oneTxn("idem_key = ?", k)
}
func (t *Tx) TxnByBankKey(k string) (*walletctl.TxnRecord, error) {
	return t.oneTxn("bank_key = ?", k)
}

func (t *Tx) ListTxns(userID string) ([]walletctl.TxnRecord, error) {
	return t.txns(`WHERE user_id = ? OR (kind = 'transfer' AND counterparty = ?) ORDER BY num`, userID, userID)
}

func (t *Tx) PendingBankTxns() ([]walletctl.TxnRecord, error) {
	return t.txns(`WHERE status = 'pending' AND bank_key IS NOT NULL ORDER BY num`)
}

func (t *Tx) BankTxnsSettledBetween(from, to time.Time) ([]walletctl.TxnRecord, error) {
	return t.txns(`WHERE bank_time IS NOT NULL AND bank_time >= ? AND bank_time < ? ORDER BY num`, TS(from), TS(to))
}

// ---- ledger (posting and checks differ per store)

func (t *Tx) Postings(txnID string) ([]walletctl.Posting, error) {
	var out []walletctl.Posting
	err := t.C.Each(`SELECT account, amount FROM postings WHERE txn_id = ? ORDER BY id`, []any{txnID}, func(r Row) error {
		var p walletctl.Posting
		if err := r.Scan(&p.Account, &p.Amount); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// AccountBalance is the cached balance in the accounts table (0 for an account never moved).
func (t *Tx) AccountBalance(account string) (int64, error) {
	var b int64
	err := t.C.QueryRow(`SELECT balance FROM accounts WHERE name = ?`, account).Scan(&b)
	if t.noRows(err) {
		return 0, nil
	}
	return b, err
}

// OpenAmounts reads the partial indexes of OpenSchema: each sum is over what is open now.
// PendingTxns is how a store names the txns of a user still pending: SQLite, with no table
// statistics, would otherwise pick txns_user_kind and read every top-up the user ever made.
func (t *Tx) OpenAmounts(userID string) (pending, inTransit, incoming int64, err error) {
	from := "txns"
	if t.PendingTxns != "" {
		from = t.PendingTxns
	}
	if err = t.C.QueryRow(`SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM `+from+`
WHERE user_id = ? AND status = 'pending' AND kind IN ('topup', 'withdraw')`, userID).Scan(&pending); err != nil {
		return
	}
	if err = t.C.QueryRow(`SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM transfers
WHERE from_user = ? AND status IN ('scheduled', 'arrived')`, userID).Scan(&inTransit); err != nil {
		return
	}
	err = t.C.QueryRow(`SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM transfers WHERE to_user = ? AND status = 'arrived'`,
		userID).Scan(&incoming)
	return
}

// OpenSchema indexes what is open (reads that must not grow with history: DESIGN.md section
// 12) and the txns of a user by kind (the velocity limit counts the rows of its window of the
// kinds it limits, not every top-up the user ever made; the other limits read UsageSchema).
const OpenSchema = `CREATE INDEX txns_user_open ON txns(user_id) WHERE status = 'pending';
CREATE INDEX transfers_open_from ON transfers(from_user) WHERE status IN ('scheduled', 'arrived');
CREATE INDEX transfers_open_to ON transfers(to_user) WHERE status = 'arrived';
CREATE INDEX txns_user_kind ON txns(user_id, kind, created_at);`

// ---- transfers

const transferCols = `id, from_user, to_user, payee_name_masked, amount, status, delay, created_at, arrives_at, refund_at, done_at`

func scanTransfer(r Row) (walletctl.Transfer, error) {
	var tr walletctl.Transfer
	var created, arrives, refund int64
	var done *int64
	if err := r.Scan(&tr.ID, &tr.From, &tr.To, &tr.PayeeNameMasked, &tr.Amount, &tr.Status, &tr.Delay, &created, &arrives, &refund, &done); err != nil {
		return tr, err
	}
	tr.CreatedAt, tr.ArrivesAt, tr.RefundAt, tr.DoneAt = FromTS(created), FromTS(arrives), FromTS(refund), FromNull(done)
	return tr, nil
}

func (t *Tx) transfers(q string, args ...any) ([]walletctl.Transfer, error) {
	var out []walletctl.Transfer
	err := t.C.Each(`SELECT `+transferCols+` FROM transfers `+q, args, func(r Row) error {
		tr, err := scanTransfer(r)
		if err == nil {
			out = append(out, tr)
		}
		return err
	})
	return out, err
}

func (t *Tx) CreateTransfer(tr *walletctl.Transfer) error {
	return t.C.Exec(`INSERT INTO transfers(`+transferCols+`, num) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		tr.ID, tr.From, tr.To, tr.PayeeNameMasked, tr.Amount, tr.Status, tr.Delay, TS(tr.CreatedAt), TS(tr.ArrivesAt), TS(tr.RefundAt), TSP(tr.DoneAt), IDNum(tr.ID))
}

func (t *Tx) SaveTransfer(tr *walletctl.Transfer) error {
	return t.C.Exec(`UPDATE transfers SET status=?, done_at=? WHERE id=?`, tr.Status, TSP(tr.DoneAt), tr.ID)
}

func (t *Tx) GetTransfer(id string) (*walletctl.Transfer, error) {
	trs, err := t.transfers(`WHERE id = ?`, id)
	if err != nil || len(trs) == 0 {
		return nil, err
	}
	return &trs[0], nil
}

func (t *Tx) ListTransfers(userID string) ([]walletctl.Transfer, error) {
	return t.transfers(`WHERE from_user = ? OR to_user = ? ORDER BY created_at, id`, userID, userID)
}

func (t *Tx) TransfersDue(now time.Time) ([]walletctl.Transfer, error) {
	n := TS(now)
	return t.transfers(`WHERE (status = 'scheduled' AND arrives_at <= ?) OR (status = 'arrived' AND refund_at <= ?)
ORDER BY CASE status WHEN 'scheduled' THEN arrives_at ELSE refund_at END, id`, n, n)
}

func (t *Tx) AcceptedBetween(a, b string) (bool, error) {
	var n int
	err := t.C.QueryRow(`SELECT COUNT(*) FROM transfers WHERE status = 'accepted' AND
((from_user = ? AND to_user = ?) OR (from_user = ? AND to_user = ?))`, a, b, b, a).Scan(&n)
	return n > 0, err
}

func (t *Tx) NextDue() (*time.Time, error) {
	var n *int64
	// The subquery's alias is required by PostgreSQL (SQLite accepts it).
	err := t.C.QueryRow(`SELECT MIN(v) FROM (
SELECT MIN(arrives_at) v FROM transfers WHERE status = 'scheduled'
UNION ALL SELECT MIN(refund_at) FROM transfers WHERE status = 'arrived'
UNION ALL SELECT MIN(pw_locked_until) FROM users WHERE pw_locked_until IS NOT NULL
UNION ALL SELECT MIN(time_expire) FROM orders WHERE ` + openOrders + `) due`).Scan(&n)
	if err != nil {
		return nil, err
	}
	return FromNull(n), nil
}

// ---- security log

func (t *Tx) AppendSecurity(ev *walletctl.SecurityEvent) error {
	return t.C.QueryRow(`INSERT INTO security_log(user_id, time, event, detail) VALUES (?, ?, ?, ?) RETURNING seq`,
		ev.UserID, TS(ev.Time), ev.Event, ev.Detail).Scan(&ev.Seq)
}

const securityCols = `seq, user_id, time, event, detail`

func scanSecurity(r Row) (walletctl.SecurityEvent, error) {
	var ev walletctl.SecurityEvent
	var tm int64
	err := r.Scan(&ev.Seq, &ev.UserID, &tm, &ev.Event, &ev.Detail)
	ev.Time = FromTS(tm)
	return ev, err
}

func (t *Tx) SecurityLog(userID string) ([]walletctl.SecurityEvent, error) {
	var out []walletctl.SecurityEvent
	err := t.C.Each(`SELECT `+securityCols+` FROM security_log WHERE user_id = ? ORDER BY seq`, []any{userID}, func(r Row) error {
		ev, err := scanSecurity(r)
		if err == nil {
			out = append(out, ev)
		}
		return err
	})
	return out, err
}

// ---- secrets at rest

// ErrNoSecretKey is returned by SealLegacy when old rows hold full numbers and no key was given.
var ErrNoSecretKey = errors.New("the wallet database holds card and ID numbers written by an older walletctl; " +
	"converting them needs the wallet's secret key (open it through its sandbox or tenant)")

// SealLegacy replaces the full card and ID numbers an older walletctl stored (users.kyc_id,
// bindings.card_no, cards.card_no) with what the wallet keeps now: the keyed hash, the mask and,
// for ID numbers, the sealed copy. The caller's migration has added the new columns and drops
// the old ones afterwards; both stores share this part. Without rows to convert, key may be nil.
// It returns how many rows it converted.
func (t *Tx) SealLegacy(key walletctl.SecretKey) (int, error) {
	type row struct{ id, no string }
	read := func(q string) ([]row, error) {
		var out []row
		err := t.C.Each(q, nil, func(r Row) error {
			var x row
			err := r.Scan(&x.id, &x.no)
			out = append(out, x)
			return err
		})
		return out, err
	}
	users, err := read(`SELECT id, kyc_id FROM users WHERE kyc_id IS NOT NULL`)
	if err != nil {
		return 0, err
	}
	bindings, err := read(`SELECT id, card_no FROM bindings`)
	if err != nil {
		return 0, err
	}
	cards, err := read(`SELECT id, card_no FROM cards`)
	if err != nil {
		return 0, err
	}
	n := len(users) + len(bindings) + len(cards)
	if n == 0 {
		return 0, nil
	}
	if !key.Valid() {
		return 0, ErrNoSecretKey
	}
	for _, u := range users {
		sealed, err := key.SealID(u.no, nil)
		if err != nil {
			return 0, err
		}
		if err := t.C.Exec(`UPDATE users SET kyc_id_hash = ?, kyc_id_masked = ?, kyc_id_sealed = ? WHERE id = ?`,
			key.IDHash(u.no), walletctl.MaskIDNo(u.no), sealed, u.id); err != nil {
			return 0, err
		}
	}
	for _, b := range bindings {
		if err := t.C.Exec(`UPDATE bindings SET card_hash = ?, card_masked = ? WHERE id = ?`,
			key.CardHash(b.no), walletctl.MaskCardNo(b.no), b.id); err != nil {
			return 0, err
		}
	}
	for _, c := range cards {
		if err := t.C.Exec(`UPDATE cards SET card_hash = ?, card_masked = ? WHERE id = ?`,
			key.CardHash(c.no), walletctl.MaskCardNo(c.no), c.id); err != nil {
			return 0, err
		}
	}
	return n, nil
}
