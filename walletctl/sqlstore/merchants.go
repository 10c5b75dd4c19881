package sqlstore

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// MerchantSchema is the merchant tables (DESIGN.md section 8), the same on SQLite and PostgreSQL.
// A record is kept whole as JSON in data, beside the columns it is found by: orders and refunds
// change shape with the v3 API more often than the wallet's own records, and they are only ever
// read one at a time, as one merchant's list or as one merchant's day (BillSchema).
const MerchantSchema = `CREATE TABLE merchants (
  id TEXT PRIMARY KEY,
  num BIGINT NOT NULL,
  data TEXT NOT NULL
);
CREATE TABLE orders (
  id TEXT PRIMARY KEY,
  num BIGINT NOT NULL,
  mchid TEXT NOT NULL,
  out_trade_no TEXT NOT NULL,
  transaction_id TEXT UNIQUE,
  prepay_id TEXT UNIQUE,
  code_url TEXT UNIQUE,
  txn_id TEXT UNIQUE,
  state TEXT NOT NULL,
  time_expire BIGINT NOT NULL,
  data TEXT NOT NULL,
  UNIQUE (mchid, out_trade_no)
);
CREATE INDEX orders_mchid ON orders(mchid, num);
CREATE INDEX orders_open ON orders(time_expire) WHERE state = 'NOTPAY' OR (state = 'USERPAYING' AND txn_id IS NULL);
CREATE TABLE refunds (
  refund_id TEXT PRIMARY KEY,
  num BIGINT NOT NULL,
  mchid TEXT NOT NULL,
  out_refund_no TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  txn_id TEXT UNIQUE,
  status TEXT NOT NULL,
  data TEXT NOT NULL,
  UNIQUE (mchid, out_refund_no)
);
CREATE INDEX refunds_order ON refunds(transaction_id, num);
CREATE INDEX refunds_mchid ON refunds(mchid, num);
CREATE TABLE paycodes (
  code TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX paycodes_user ON paycodes(user_id);
CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  num BIGINT NOT NULL,
  mchid TEXT NOT NULL,
  status TEXT NOT NULL,
  held INTEGER NOT NULL DEFAULT 0,
  next_at BIGINT,
  data TEXT NOT NULL
);
CREATE INDEX notifications_due ON notifications(next_at) WHERE status = 'pending' AND held = 0;
CREATE INDEX notifications_held ON notifications(mchid) WHERE held = 1;
CREATE TABLE notify_faults (
  id TEXT PRIMARY KEY,
  num BIGINT NOT NULL,
  data TEXT NOT NULL
);
CREATE TABLE settings_kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);`

// MerchantTables are the tables MerchantSchema makes, for a store that empties its schema.
const MerchantTables = "settings_kv, notify_faults, notifications, paycodes, refunds, orders, merchants"

// openOrders is the condition of an order that can still expire: unpaid, or a code payment
// waiting for the payer's password (one whose bank outcome is unknown has a txn and waits for it).
const openOrders = `(state = 'NOTPAY' OR (state = 'USERPAYING' AND txn_id IS NULL))`

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// ---- merchants

func (t *Tx) CreateMerchant(m *walletctl.Merchant) error {
	data, err := marshal(m)
	if err != nil {
		return err
	}
	return t.C.Exec(`INSERT INTO merchants(id, num, data) VALUES (?, ?, ?)`, m.ID, IDNum(m.ID), data)
}

func (t *Tx) GetMerchant(id string) (*walletctl.Merchant, error) {
	var data string
	if err := t.C.QueryRow(`SELECT data FROM merchants WHERE id = ?`, id).Scan(&data); err != nil {
		if t.noRows(err) {
			return nil, nil
		}
		return nil, err
	}
	var m walletctl.Merchant
	return &m, unmarshal(data, &m)
}

func (t *Tx) ListMerchants() ([]walletctl.Merchant, error) {
	return eachJSON[walletctl.Merchant](t, `SELECT data FROM merchants ORDER BY num`)
}

// ---- orders

func (t *Tx) CreateOrder(o *walletctl.Order) error {
	data, err := marshal(o)
	if err != nil {
		return err
	}
	if err := t.C.Exec(`INSERT INTO orders(id, num, mchid, out_trade_no, transaction_id, prepay_id, code_url, txn_id, state, time_expire, success_day, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, o.ID, IDNum(o.ID), o.MchID, o.OutTradeNo, NullStr(o.TransactionID), NullStr(o.PrepayID),
		NullStr(o.CodeURL), NullStr(o.TxnID), o.TradeState, TS(o.TimeExpire), successDay(o.SuccessTime), data); err != nil {
		return err
	}
	return t.moveTotals(o.MchID, 1, change(false, o.SuccessTime != nil, o.Amount), 0)
}

func (t *Tx) SaveOrder(o *walletctl.Order) error {
	data, err := marshal(o)
	if err != nil {
		return err
	}
	was, found, err := t.paidBefore(o.ID)
	if err != nil {
		return err
	}
	if err := t.C.Exec(`UPDATE orders SET transaction_id = ?, txn_id = ?, state = ?, time_expire = ?, success_day = ?, data = ? WHERE id = ?`,
		NullStr(o.TransactionID), NullStr(o.TxnID), o.TradeState, TS(o.TimeExpire), successDay(o.SuccessTime), data, o.ID); err != nil {
		return err
	}
	if !found {
		return nil // nothing was saved: nothing moves
	}
	return t.moveTotals(o.MchID, 0, change(was, o.SuccessTime != nil, o.Amount), 0)
}

// FindOrder finds an order by the first field of k that is set (ID, TransactionID, PrepayID,
// CodeURL, TxnID, or MchID with OutTradeNo). A TransactionID or OutTradeNo lookup with a MchID
// only finds that merchant's order.
func (t *Tx) FindOrder(k walletctl.OrderKey) (*walletctl.Order, error) {
	var where string
	var args []any
	switch {
	case k.ID != "":
		where, args = "id = ?", []any{k.ID}
	case k.TransactionID != "":
		where, args = "transaction_id = ?", []any{k.TransactionID}
	case k.PrepayID != "":
		where, args = "prepay_id = ?", []any{k.PrepayID}
	case k.CodeURL != "":
		where, args = "code_url = ?", []any{k.CodeURL}
	case k.TxnID != "":
		where, args = "txn_id = ?", []any{k.TxnID}
	case k.OutTradeNo != "" && k.MchID != "":
		where, args = "mchid = ? AND out_trade_no = ?", []any{k.MchID, k.OutTradeNo}
	default:
		return nil, fmt.Errorf("sqlstore: FindOrder needs a key")
	}
	if k.MchID != "" && k.OutTradeNo == "" {
		where += " AND mchid = ?"
		args = append(args, k.MchID)
	}
	var data string
	if err := t.C.QueryRow(`SELECT data FROM orders WHERE `+where, args...).Scan(&data); err != nil {
		if t.noRows(err) {
			return nil, nil
		}
		return nil, err
	}
	var o walletctl.Order
	return &o, unmarshal(data, &o)
}

func (t *Tx) ListOrders(mchid string) ([]walletctl.Order, error) {
	return eachJSON[walletctl.Order](t, `SELECT data FROM orders WHERE mchid = ? ORDER BY num`, mchid)
}

func (t *Tx) OrdersDue(now time.Time) ([]walletctl.Order, error) {
	return eachJSON[walletctl.Order](t, `SELECT data FROM orders WHERE `+openOrders+` AND time_expire <= ? ORDER BY num`, TS(now))
}

// ---- refunds

func (t *Tx) CreateRefund(r *walletctl.Refund) error {
	data, err := marshal(r)
	if err != nil {
		return err
	}
	if err := t.C.Exec(`INSERT INTO refunds(refund_id, num, mchid, out_refund_no, transaction_id, txn_id, status, success_day, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.RefundID, IDNum(r.RefundID), r.MchID, r.OutRefundNo, r.TransactionID, NullStr(r.TxnID), r.Status, successDay(r.SuccessTime), data); err != nil {
		return err
	}
	return t.moveTotals(r.MchID, 0, 0, change(false, r.Status == walletctl.RefundSuccess, r.Amount))
}

func (t *Tx) SaveRefund(r *walletctl.Refund) error {
	data, err := marshal(r)
	if err != nil {
		return err
	}
	was, found, err := t.refundedBefore(r.RefundID)
	if err != nil {
		return err
	}
	if err := t.C.Exec(`UPDATE refunds SET txn_id = ?, status = ?, success_day = ?, data = ? WHERE refund_id = ?`,
		NullStr(r.TxnID), r.Status, successDay(r.SuccessTime), data, r.RefundID); err != nil {
		return err
	}
	if !found {
		return nil
	}
	return t.moveTotals(r.MchID, 0, 0, change(was, r.Status == walletctl.RefundSuccess, r.Amount))
}

// FindRefund finds a refund by RefundID, TxnID, or MchID with OutRefundNo.
func (t *Tx) FindRefund(k walletctl.RefundKey) (*walletctl.Refund, error) {
	var where string
	var args []any
	switch {
	case k.RefundID != "":
		where, args = "refund_id = ?", []any{k.RefundID}
	case k.TxnID != "":
		where, args = "txn_id = ?", []any{k.TxnID}
	case k.OutRefundNo != "" && k.MchID != "":
		where, args = "mchid = ? AND out_refund_no = ?", []any{k.MchID, k.OutRefundNo}
	default:
		return nil, fmt.Errorf("sqlstore: FindRefund needs a key")
	}
	var data string
	if err := t.C.QueryRow(`SELECT data FROM refunds WHERE `+where, args...).Scan(&data); err != nil {
		if t.noRows(err) {
			return nil, nil
		}
		return nil, err
	}
	var r walletctl.Refund
	return &r, unmarshal(data, &r)
}

// ListRefunds lists a merchant's refunds (transactionID "") or one order's, oldest first.
func (t *Tx) ListRefunds(mchid, transactionID string) ([]walletctl.Refund, error) {
	if transactionID != "" {
		// Sought by the order alone (its few refunds), the merchant checked on the rows: with
		// both in the condition SQLite took the merchant's index and read all its refunds.
		all, err := eachJSON[walletctl.Refund](t, `SELECT data FROM refunds WHERE transaction_id = ? ORDER BY num`, transactionID)
		return slices.DeleteFunc(all, func(r walletctl.Refund) bool { return r.MchID != mchid }), err
	}
	return eachJSON[walletctl.Refund](t, `SELECT data FROM refunds WHERE mchid = ? ORDER BY num`, mchid)
}

// ---- payment codes

// CreatePayCode keeps a user's new payment code and forgets the user's earlier ones (a wallet
// shows one code at a time).
func (t *Tx) CreatePayCode(pc *walletctl.PayCode) error {
	if err := t.C.Exec(`DELETE FROM paycodes WHERE user_id = ?`, pc.UserID); err != nil {
		return err
	}
	data, err := marshal(pc)
	if err != nil {
		return err
	}
	return t.C.Exec(`INSERT INTO paycodes(code, user_id, expires_at, data) VALUES (?, ?, ?, ?)`, pc.Code, pc.UserID, TS(pc.ExpiresAt), data)
}

func (t *Tx) GetPayCode(code string) (*walletctl.PayCode, error) {
	var data string
	if err := t.C.QueryRow(`SELECT data FROM paycodes WHERE code = ?`, code).Scan(&data); err != nil {
		if t.noRows(err) {
			return nil, nil
		}
		return nil, err
	}
	var pc walletctl.PayCode
	return &pc, unmarshal(data, &pc)
}

func (t *Tx) DeletePayCode(code string) error {
	return t.C.Exec(`DELETE FROM paycodes WHERE code = ?`, code)
}

func unmarshal(data string, v any) error {
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return fmt.Errorf("sqlstore: damaged record: %w", err)
	}
	inShanghai(reflect.ValueOf(v))
	return nil
}

var timeType = reflect.TypeOf(time.Time{})

// inShanghai puts every time of a record read back from JSON in Shanghai, as the clock made it
// and as every other record comes back (JSON keeps only the +08:00 offset).
func inShanghai(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			inShanghai(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == timeType {
			if v.CanSet() {
				v.Set(reflect.ValueOf(v.Interface().(time.Time).In(vclock.Shanghai)))
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				inShanghai(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			inShanghai(v.Index(i))
		}
	}
}

func eachJSON[T any](t *Tx, q string, args ...any) ([]T, error) {
	var out []T
	err := t.C.Each(q, args, func(r Row) error {
		var data string
		if err := r.Scan(&data); err != nil {
			return err
		}
		var v T
		if err := unmarshal(data, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// ---- notifications

func heldInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (t *Tx) CreateNotification(n *walletctl.Notification) error {
	data, err := marshal(n)
	if err != nil {
		return err
	}
	return t.C.Exec(`INSERT INTO notifications(id, num, mchid, status, held, next_at, event, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		n.ID, IDNum(n.ID), n.MchID, n.Status, heldInt(n.Held), TSP(n.NextAt), n.EventType, data)
}

func (t *Tx) SaveNotification(n *walletctl.Notification) error {
	data, err := marshal(n)
	if err != nil {
		return err
	}
	return t.C.Exec(`UPDATE notifications SET status = ?, held = ?, next_at = ?, data = ? WHERE id = ?`,
		n.Status, heldInt(n.Held), TSP(n.NextAt), data, n.ID)
}

func (t *Tx) oneNotification(where string, args ...any) (*walletctl.Notification, error) {
	var data string
	if err := t.C.QueryRow(`SELECT data FROM notifications WHERE `+where, args...).Scan(&data); err != nil {
		if t.noRows(err) {
			return nil, nil
		}
		return nil, err
	}
	var n walletctl.Notification
	return &n, unmarshal(data, &n)
}

func (t *Tx) GetNotification(id string) (*walletctl.Notification, error) {
	return t.oneNotification(`id = ?`, id)
}

func (t *Tx) ListNotifications() ([]walletctl.Notification, error) {
	return eachJSON[walletctl.Notification](t, `SELECT data FROM notifications ORDER BY num`)
}

func (t *Tx) NextNotification(now, realNow time.Time, busy []string) (*walletctl.Notification, error) {
	q, args := `status = 'pending' AND held = 0 AND next_at <= ? AND claim_until <= ?`, []any{TS(now), TS(realNow)}
	if len(busy) > 0 {
		q += ` AND mchid NOT IN (?` + strings.Repeat(`, ?`, len(busy)-1) + `)`
		for _, m := range busy {
			args = append(args, m)
		}
	}
	return t.oneNotification(q+` ORDER BY next_at, num LIMIT 1`, args...)
}

// ClaimNotification is one conditional UPDATE, so that of two servers racing for a try (on
// PostgreSQL) exactly one gets it: the other's WHERE no longer holds once the first commits.
func (t *Tx) ClaimNotification(id, owner string, until, realNow time.Time) (bool, error) {
	var got string
	err := t.C.QueryRow(`UPDATE notifications SET claim_owner = ?, claim_until = ? WHERE id = ? AND claim_until <= ? RETURNING id`,
		owner, TS(until), id, TS(realNow)).Scan(&got)
	if t.noRows(err) {
		return false, nil
	}
	return err == nil, err
}

func (t *Tx) ReleaseNotification(id, owner string) error {
	return t.C.Exec(`UPDATE notifications SET claim_owner = '', claim_until = 0 WHERE id = ? AND claim_owner = ?`, id, owner)
}

func (t *Tx) NextNotificationAt(realNow time.Time) (*time.Time, error) {
	var n *int64
	if err := t.C.QueryRow(`SELECT MIN(next_at) FROM notifications WHERE status = 'pending' AND held = 0 AND claim_until <= ?`, TS(realNow)).Scan(&n); err != nil {
		return nil, err
	}
	return FromNull(n), nil
}

func (t *Tx) NextLeaseEnd(now, realNow time.Time) (*time.Time, error) {
	var n *int64
	if err := t.C.QueryRow(`SELECT MIN(claim_until) FROM notifications WHERE status = 'pending' AND held = 0 AND next_at <= ? AND claim_until > ?`,
		TS(now), TS(realNow)).Scan(&n); err != nil {
		return nil, err
	}
	return FromNull(n), nil
}

// ClaimSchema adds the leases of due notification tries (DueWork.ClaimDelivery).
const ClaimSchema = `ALTER TABLE notifications ADD COLUMN claim_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN claim_until BIGINT NOT NULL DEFAULT 0;`

func (t *Tx) HeldNotifications(mchid string) ([]walletctl.Notification, error) {
	return eachJSON[walletctl.Notification](t, `SELECT data FROM notifications WHERE held = 1 AND mchid = ? ORDER BY num`, mchid)
}

func (t *Tx) CreateNotifyFault(f *walletctl.NotifyFault) error {
	data, err := marshal(f)
	if err != nil {
		return err
	}
	return t.C.Exec(`INSERT INTO notify_faults(id, num, data) VALUES (?, ?, ?)`, f.ID, IDNum(f.ID), data)
}

func (t *Tx) SaveNotifyFault(f *walletctl.NotifyFault) error {
	data, err := marshal(f)
	if err != nil {
		return err
	}
	return t.C.Exec(`UPDATE notify_faults SET data = ? WHERE id = ?`, data, f.ID)
}

func (t *Tx) ListNotifyFaults() ([]walletctl.NotifyFault, error) {
	return eachJSON[walletctl.NotifyFault](t, `SELECT data FROM notify_faults ORDER BY num`)
}

func (t *Tx) ClearNotifyFaults() error { return t.C.Exec(`DELETE FROM notify_faults`) }

func (t *Tx) GetSetting(key string) (string, error) {
	var v string
	if err := t.C.QueryRow(`SELECT value FROM settings_kv WHERE key = ?`, key).Scan(&v); err != nil {
		if t.noRows(err) {
			return "", nil
		}
		return "", err
	}
	return v, nil
}

func (t *Tx) PutSetting(key, value string) error {
	if err := t.C.Exec(`DELETE FROM settings_kv WHERE key = ?`, key); err != nil {
		return err
	}
	if value == "" {
		return nil
	}
	return t.C.Exec(`INSERT INTO settings_kv(key, value) VALUES (?, ?)`, key, value)
}
