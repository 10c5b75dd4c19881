package sqlstore

import (
	"slices"
	"strconv"
	"strings"

	"github.com/walletctl/walletctl/walletctl"
)

// Paged lists (DESIGN.md section 12). A page is a keyset read: seek by an index to the cursor's key
// and read at most limit+1 rows in key order, so that a page costs the same after a million rows
// as after ten. Keys are the rows' creation numbers (num, seq), which only grow: newest first is
// key order descending, and rows inserted between two pages sort before the walk's cursor, so a
// walk never sees one twice nor skips one that was there when it started.

// PageSchema adds the indexes that the paged lists seek by, and the keys the lists lacked: a
// transfer's num (its txn's) and a notification's event type (to filter by it without decoding
// every row).
const PageSchema = `CREATE INDEX users_num ON users(num);
CREATE INDEX cards_user_num ON cards(user_id, num);
CREATE INDEX txns_user_num ON txns(user_id, num);
CREATE INDEX txns_counterparty_num ON txns(counterparty, num) WHERE kind = 'transfer';
ALTER TABLE transfers ADD COLUMN num BIGINT NOT NULL DEFAULT 0;
UPDATE transfers SET num = (SELECT num FROM txns WHERE txns.id = transfers.id);
CREATE INDEX transfers_from_num ON transfers(from_user, num);
CREATE INDEX transfers_to_num ON transfers(to_user, num);
CREATE INDEX notifications_num ON notifications(num);
CREATE INDEX notifications_mchid_num ON notifications(mchid, num);`

// NotifyEventSchema keeps a notification's event type in a column; the store's migration fills it
// from the rows' JSON in Go (both databases read JSON differently).
const NotifyEventSchema = `ALTER TABLE notifications ADD COLUMN event TEXT NOT NULL DEFAULT ''`

// pageSpec is one paged list in SQL.
type pageSpec struct {
	cols, table string
	key         string // the ordering column: unique, growing with creation
	id          string // the column a cursor names
	// branches are ORed conditions, each read through its own index and merged (a user's txns
	// are their own plus the transfers they received).
	branches []branch
	what     string // "a transaction", for the unknown-cursor error
}

// branch is one condition of a list and its arguments.
type branch struct {
	cond string
	args []any
}

func where(cond string, args ...any) []branch { return []branch{{cond, args}} }

// keyOf finds the key of the item a cursor names, in this list (not merely in the table).
func (t *Tx) keyOf(s pageSpec, param, id string) (int64, error) {
	conds := make([]string, len(s.branches))
	var args []any
	args = append(args, id)
	for i, b := range s.branches {
		conds[i] = "(" + b.cond + ")"
		args = append(args, b.args...)
	}
	q := `SELECT ` + s.key + ` FROM ` + s.table + ` WHERE ` + s.id + ` = ?`
	if len(conds) > 0 {
		q += ` AND (` + strings.Join(conds, " OR ") + `)`
	}
	var k int64
	err := t.C.QueryRow(q, args...).Scan(&k)
	if t.noRows(err) {
		return 0, walletctl.UnknownCursor(param, id, s.what)
	}
	return k, err
}

// pageOf reads one page of s: newest first, at most p.N() items, and whether more follow on the
// side the page walked.
func pageOf[T any](t *Tx, s pageSpec, p walletctl.Page, scan func(Row) (T, error)) ([]T, bool, error) {
	if err := p.Check(); err != nil {
		return nil, false, err
	}
	n := p.N()
	cmp, order := "", "DESC"
	var cursorArgs []any
	if param, id := p.Cursor(); param != "" {
		k, err := t.keyOf(s, param, id)
		if err != nil {
			return nil, false, err
		}
		cmp = s.key + " < ?"
		if param == "ending_before" {
			cmp, order = s.key+" > ?", "ASC"
		}
		cursorArgs = []any{k}
	}
	branches := s.branches
	if len(branches) == 0 {
		branches = []branch{{}}
	}
	var parts []string
	var args []any
	for _, b := range branches {
		conds := []string{}
		if b.cond != "" {
			conds = append(conds, b.cond)
			args = append(args, b.args...)
		}
		if cmp != "" {
			conds = append(conds, cmp)
			args = append(args, cursorArgs...)
		}
		q := `SELECT ` + s.cols + `, ` + s.key + ` AS page_key FROM ` + s.table
		if len(conds) > 0 {
			q += ` WHERE ` + strings.Join(conds, " AND ")
		}
		q += ` ORDER BY ` + s.key + ` ` + order + ` LIMIT ` + strconv.Itoa(n+1)
		parts = append(parts, q)
	}
	q := parts[0]
	if len(parts) > 1 {
		// Each branch reads at most n+1 rows through its own index; the merge orders those.
		for i := range parts {
			parts[i] = `SELECT * FROM (` + parts[i] + `) b` + strconv.Itoa(i)
		}
		q = strings.Join(parts, " UNION ALL ") + ` ORDER BY page_key ` + order + ` LIMIT ` + strconv.Itoa(n+1)
	}
	out := make([]T, 0, n)
	more := false
	err := t.C.Each(q, args, func(r Row) error {
		if len(out) == n {
			more = true
			return nil
		}
		v, err := scan(keyed{r})
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if order == "ASC" {
		slices.Reverse(out)
	}
	return out, more, err
}

// keyed scans a page row, dropping the trailing page_key column the scanners do not know.
type keyed struct{ r Row }

func (k keyed) Scan(dest ...any) error {
	var key int64
	return k.r.Scan(append(dest, &key)...)
}

func (t *Tx) PageUsers(p walletctl.Page) ([]walletctl.UserRecord, bool, error) {
	return pageOf(t, pageSpec{cols: userCols, table: "users", key: "num", id: "id", what: "a user"}, p, scanUser2)
}

func (t *Tx) PageCards(userID string, p walletctl.Page) ([]walletctl.CardRecord, bool, error) {
	return pageOf(t, pageSpec{cols: cardCols, table: "cards", key: "num", id: "id", branches: where("user_id = ?", userID), what: "a card"},
		p, func(r Row) (walletctl.CardRecord, error) { c, err := scanCard(r); return deref(c, err) })
}

// PageTxns pages the user's own txns and the transfers they received.
func (t *Tx) PageTxns(userID string, p walletctl.Page) ([]walletctl.TxnRecord, bool, error) {
	return pageOf(t, pageSpec{cols: txnCols, table: "txns", key: "num", id: "id",
		branches: []branch{{"user_id = ?", []any{userID}}, {"kind = 'transfer' AND counterparty = ? AND user_id <> ?", []any{userID, userID}}}, what: "a transaction"},
		p, func(r Row) (walletctl.TxnRecord, error) { x, err := scanTxn(r); return deref(x, err) })
}

func (t *Tx) PageTransfers(userID string, p walletctl.Page) ([]walletctl.Transfer, bool, error) {
	return pageOf(t, pageSpec{cols: transferCols, table: "transfers", key: "num", id: "id",
		branches: []branch{{"from_user = ?", []any{userID}}, {"to_user = ? AND from_user <> ?", []any{userID, userID}}}, what: "a transfer"},
		p, scanTransfer)
}

func (t *Tx) PageSecurityLog(userID string, p walletctl.Page) ([]walletctl.SecurityEvent, bool, error) {
	return pageOf(t, pageSpec{cols: securityCols, table: "security_log", key: "seq", id: "CAST(seq AS TEXT)",
		branches: where("user_id = ?", userID), what: "an event (its seq)"}, p, scanSecurity)
}

func (t *Tx) PageOrders(mchid string, p walletctl.Page) ([]walletctl.Order, bool, error) {
	return pageOf(t, pageSpec{cols: "data", table: "orders", key: "num", id: "id", branches: where("mchid = ?", mchid), what: "an order"},
		p, scanJSON[walletctl.Order])
}

func (t *Tx) PageRefunds(mchid string, p walletctl.Page) ([]walletctl.Refund, bool, error) {
	return pageOf(t, pageSpec{cols: "data", table: "refunds", key: "num", id: "refund_id", branches: where("mchid = ?", mchid), what: "a refund"},
		p, scanJSON[walletctl.Refund])
}

// PageNotifications pages the notifications that pass f. A merchant filter seeks by its index;
// status and event filters are read along the page (they narrow the page, not the index).
func (t *Tx) PageNotifications(f walletctl.NotificationFilter, p walletctl.Page) ([]walletctl.Notification, bool, error) {
	var conds []string
	var args []any
	if f.MchID != "" {
		conds, args = append(conds, "mchid = ?"), append(args, f.MchID)
	}
	if f.Status != "" {
		conds, args = append(conds, "status = ?"), append(args, f.Status)
	}
	if f.Event != "" {
		conds, args = append(conds, "event = ?"), append(args, strings.ToUpper(f.Event))
	}
	s := pageSpec{cols: "data", table: "notifications", key: "num", id: "id", what: "a notification"}
	if len(conds) > 0 {
		s.branches = where(strings.Join(conds, " AND "), args...)
	}
	return pageOf(t, s, p, scanJSON[walletctl.Notification])
}

func deref[T any](v *T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, err
	}
	return *v, nil
}

func scanUser2(r Row) (walletctl.UserRecord, error) { u, err := scanUser(r); return deref(u, err) }

func scanJSON[T any](r Row) (T, error) {
	var v T
	var data string
	if err := r.Scan(&data); err != nil {
		return v, err
	}
	return v, unmarshal(data, &v)
}
