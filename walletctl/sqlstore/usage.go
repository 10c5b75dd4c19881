package sqlstore

import (
	"cmp"
	"slices"
	"strings"

	"github.com/walletctl/walletctl/walletctl"
)

// The usage counters (walletctl.UsageCounter) are kept here, in the txn writes themselves, rather
// than by the engine: CreateTxn adds a txn's counters, SaveTxn moves them by what its status
// change makes of them, so that no path that records or settles a txn (payments, transfers and
// their refunds, bank settlements, reconcile) can leave them behind what a sum over the txns
// would say. Reads and writes are lookups of the primary key (user, scope, period).

// UsageSchema is the counters' table. SQLite appends WITHOUT ROWID (the key is the row: one
// B-tree to search and write, not a table and its index).
const UsageSchema = `CREATE TABLE usage_counters (
  user_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  period BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  PRIMARY KEY (user_id, scope, period)
)`

type usageKey struct {
	user, scope string
	period      int64
}

func compareUsageKeys(a, b usageKey) int {
	return cmp.Or(strings.Compare(a.user, b.user), strings.Compare(a.scope, b.scope), cmp.Compare(a.period, b.period))
}

// moveUsage takes before's counters off and adds after's, in one statement; rows are written in
// key order, so that two transactions moving the same counters lock them in the same order.
func (t *Tx) moveUsage(before, after []walletctl.UsageCounter) error {
	delta := map[usageKey]int64{}
	for _, c := range before {
		delta[usageKey{c.UserID, c.Scope, c.Period}] -= c.Amount
	}
	for _, c := range after {
		delta[usageKey{c.UserID, c.Scope, c.Period}] += c.Amount
	}
	keys := make([]usageKey, 0, len(delta))
	for k, d := range delta {
		if d != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, compareUsageKeys)
	args := make([]any, 0, 4*len(keys))
	for _, k := range keys {
		args = append(args, k.user, k.scope, k.period, delta[k])
	}
	return t.C.Exec(upsertUsageSQL(len(keys)), args...)
}

// upsertUsageSQL adds n amounts to their counters (a multi-row upsert: the keys are distinct,
// which PostgreSQL requires of one statement).
func upsertUsageSQL(n int) string {
	return `INSERT INTO usage_counters(user_id, scope, period, amount) VALUES (?, ?, ?, ?)` + strings.Repeat(`, (?, ?, ?, ?)`, n-1) + `
ON CONFLICT(user_id, scope, period) DO UPDATE SET amount = usage_counters.amount + excluded.amount`
}

// usageFields reads what the counters of a stored txn depend on, before SaveTxn writes it: kind,
// user, amount, source and creation are never rewritten, so only the status can move them.
func (t *Tx) usageFields(id string) (walletctl.Txn, error) {
	var x walletctl.Txn
	var created int64
	err := t.C.QueryRow(`SELECT kind, status, user_id, amount, source, created_at FROM txns WHERE id = ?`, id).
		Scan(&x.Kind, &x.Status, &x.UserID, &x.Amount, &x.Source, &created)
	x.CreatedAt = FromTS(created)
	return x, err
}

func (t *Tx) Usage(f walletctl.UsageFilter) (int64, error) {
	var sum int64
	var err error
	if f.IDHash != "" {
		// An ID number is unique among users: its index finds the one user, then the key.
		err = t.C.QueryRow(`SELECT CAST(COALESCE(SUM(c.amount), 0) AS BIGINT) FROM users u
JOIN usage_counters c ON c.user_id = u.id AND c.scope = ? AND c.period >= ? WHERE u.kyc_id_hash = ?`, f.Scope, f.Since, f.IDHash).Scan(&sum)
	} else {
		err = t.C.QueryRow(`SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM usage_counters WHERE user_id = ? AND scope = ? AND period >= ?`,
			f.UserID, f.Scope, f.Since).Scan(&sum)
	}
	return sum, err
}

func (t *Tx) UsageCounters(userID string) ([]walletctl.UsageCounter, error) {
	var out []walletctl.UsageCounter
	err := t.C.Each(`SELECT user_id, scope, period, amount FROM usage_counters WHERE user_id = ? ORDER BY scope, period`, []any{userID},
		func(r Row) error {
			var c walletctl.UsageCounter
			if err := r.Scan(&c.UserID, &c.Scope, &c.Period, &c.Amount); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	return out, err
}

// BackfillUsage fills the counters of a wallet that had none (the migration that made their
// table) from its txns, with the rule that keeps them (walletctl.TxnUsage). It reads the history
// once, the only time anything does.
func (t *Tx) BackfillUsage() error {
	sums := map[usageKey]int64{}
	err := t.C.Each(`SELECT kind, status, user_id, amount, source, created_at FROM txns`, nil, func(r Row) error {
		var x walletctl.Txn
		var created int64
		if err := r.Scan(&x.Kind, &x.Status, &x.UserID, &x.Amount, &x.Source, &created); err != nil {
			return err
		}
		x.CreatedAt = FromTS(created)
		for _, c := range walletctl.TxnUsage(&x) {
			sums[usageKey{c.UserID, c.Scope, c.Period}] += c.Amount
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Written after the read: a PostgreSQL connection runs one statement at a time.
	keys := make([]usageKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUsageKeys)
	for _, k := range keys {
		if err := t.C.Exec(`INSERT INTO usage_counters(user_id, scope, period, amount) VALUES (?, ?, ?, ?)`, k.user, k.scope, k.period, sums[k]); err != nil {
			return err
		}
	}
	return nil
}
