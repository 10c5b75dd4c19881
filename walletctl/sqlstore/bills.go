package sqlstore

import (
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// A merchant's trade bill and totals read what they need, never the merchant's history (DESIGN.md
// section 12): orders and refunds carry the Shanghai day they succeeded on, in an index with their
// merchant, so that a day's bill reads that day's rows; and the merchant's row keeps its totals,
// moved by the writes of orders and refunds themselves (as the usage counters are by the txns'),
// so that no path that pays, refunds or settles can leave them behind what a sum would say.
//
// The totals are one row per merchant, which concurrent writes of that merchant update. On
// PostgreSQL they add no serialization point of their own: every write that moves them draws an
// order, payment or refund number from the transactional seqs table in the same transaction
// (NextID), except a card refund's settlement.

// BillSchema adds the day of success and the merchant totals; BillBackfill fills them in, then
// BillIndexes are made.
const BillSchema = `ALTER TABLE orders ADD COLUMN success_day TEXT;
ALTER TABLE refunds ADD COLUMN success_day TEXT;
ALTER TABLE merchants ADD COLUMN order_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE merchants ADD COLUMN paid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE merchants ADD COLUMN refunded BIGINT NOT NULL DEFAULT 0`

// BillIndexes are the indexes a day's bill is read through, in the bill's order (num).
const BillIndexes = `CREATE INDEX orders_success_day ON orders(mchid, success_day, num);
CREATE INDEX refunds_success_day ON refunds(mchid, success_day, num)`

// BillBackfill fills the days and totals of the records already there from their JSON, in the
// store's own JSON functions: day is its SQL for the Shanghai day (YYYY-MM-DD) of a row's
// data.success_time, NULL without one; amount for a row's data.amount as an integer. The
// migration reads the history once; nothing else ever does.
func BillBackfill(day, amount string) string {
	return `UPDATE orders SET success_day = ` + day + `;
UPDATE refunds SET success_day = ` + day + `;
UPDATE merchants SET
  order_count = (SELECT COUNT(*) FROM orders o WHERE o.mchid = merchants.id),
  paid = (SELECT CAST(COALESCE(SUM(` + amount + `), 0) AS BIGINT) FROM orders o WHERE o.mchid = merchants.id AND o.success_day IS NOT NULL),
  refunded = (SELECT CAST(COALESCE(SUM(` + amount + `), 0) AS BIGINT) FROM refunds r WHERE r.mchid = merchants.id AND r.status = 'SUCCESS')`
}

// successDay is the day column of a record's SuccessTime: NULL until it succeeds.
func successDay(t *time.Time) any {
	if t == nil {
		return nil
	}
	return vclock.Day(*t)
}

// moveTotals adds to a merchant's totals. A merchant without a row (an order of a catalogue
// merchant, which has no v3 credentials and so no totals) moves nothing.
func (t *Tx) moveTotals(mchid string, orders, paid, refunded int64) error {
	if orders == 0 && paid == 0 && refunded == 0 {
		return nil
	}
	return t.C.Exec(`UPDATE merchants SET order_count = order_count + ?, paid = paid + ?, refunded = refunded + ? WHERE id = ?`,
		orders, paid, refunded, mchid)
}

// paidBefore reports whether the stored order had succeeded (before SaveOrder writes it), and
// whether there is one. An order's amount and merchant never change: only its success moves the
// totals.
func (t *Tx) paidBefore(id string) (paid, found bool, err error) {
	var day *string
	err = t.C.QueryRow(`SELECT success_day FROM orders WHERE id = ?`, id).Scan(&day)
	if t.noRows(err) {
		return false, false, nil
	}
	return day != nil, err == nil, err
}

// refundedBefore reports whether the stored refund had succeeded (before SaveRefund writes it),
// and whether there is one.
func (t *Tx) refundedBefore(id string) (refunded, found bool, err error) {
	var status string
	err = t.C.QueryRow(`SELECT status FROM refunds WHERE refund_id = ?`, id).Scan(&status)
	if t.noRows(err) {
		return false, false, nil
	}
	return status == walletctl.RefundSuccess, err == nil, err
}

// change is the move of a total when a record's state goes from was to is.
func change(was, is bool, amount int64) int64 {
	switch {
	case is && !was:
		return amount
	case was && !is:
		return -amount
	}
	return 0
}

func (t *Tx) MerchantTotals(mchid string) (walletctl.MerchantTotals, error) {
	var m walletctl.MerchantTotals
	err := t.C.QueryRow(`SELECT order_count, paid, refunded FROM merchants WHERE id = ?`, mchid).Scan(&m.Orders, &m.Paid, &m.Refunded)
	if t.noRows(err) {
		return m, nil
	}
	return m, err
}

// EachOrderSucceeded reads the day's rows of orders_success_day, one at a time.
func (t *Tx) EachOrderSucceeded(mchid, day string, fn func(*walletctl.Order) error) error {
	return t.C.Each(`SELECT data FROM orders WHERE mchid = ? AND success_day = ? ORDER BY num`, []any{mchid, day}, func(r Row) error {
		var data string
		if err := r.Scan(&data); err != nil {
			return err
		}
		var o walletctl.Order
		if err := unmarshal(data, &o); err != nil {
			return err
		}
		return fn(&o)
	})
}

// EachRefundSucceeded reads the day's rows of refunds_success_day and each one's order by the
// unique index of transaction ids, in the same statement: fn gets both while the rows are still
// being read, and a PostgreSQL connection runs one statement at a time.
func (t *Tx) EachRefundSucceeded(mchid, day string, fn func(*walletctl.Refund, *walletctl.Order) error) error {
	return t.C.Each(`SELECT r.data, o.data FROM refunds r LEFT JOIN orders o ON o.transaction_id = r.transaction_id AND o.mchid = r.mchid
WHERE r.mchid = ? AND r.success_day = ? AND r.status = 'SUCCESS' ORDER BY r.num`, []any{mchid, day}, func(row Row) error {
		var rdata string
		var odata *string
		if err := row.Scan(&rdata, &odata); err != nil {
			return err
		}
		var r walletctl.Refund
		if err := unmarshal(rdata, &r); err != nil {
			return err
		}
		if odata == nil {
			return fn(&r, nil)
		}
		var o walletctl.Order
		if err := unmarshal(*odata, &o); err != nil {
			return err
		}
		return fn(&r, &o)
	})
}
