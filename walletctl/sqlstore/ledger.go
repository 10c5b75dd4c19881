package sqlstore

import (
	"sort"
	"strings"

	"github.com/walletctl/walletctl/walletctl"
)

// The ledger audit (reconcile's check that the books hold) reads only what was posted since the
// last clean audit: ledger_audit keeps how far that audit went and the sum of every posting up to
// there, account_audit every account's balance as its postings summed then. So a reconcile costs
// the day's postings and the accounts, not the history (DESIGN.md section 12), and still checks
// every account's balance against its postings.

// AuditSchema holds the last clean audit.
const AuditSchema = `CREATE TABLE ledger_audit (id INTEGER PRIMARY KEY CHECK (id = 1), upto BIGINT NOT NULL, total BIGINT NOT NULL);
CREATE TABLE account_audit (name TEXT PRIMARY KEY, balance BIGINT NOT NULL);`

// mustNotGoNegative: the accounts of people and the wallet's own that never go below zero (a
// bank's clearing account is the bank's side: it goes negative by design).
var mustNotGoNegative = []string{"user:", "transit:", "merchant:", "fees:"}

// audited is the last clean audit: up to which posting, the sum then, each account's balance then.
func (t *Tx) audited() (upto, total int64, balances map[string]int64, err error) {
	if err = t.C.QueryRow(`SELECT upto, total FROM ledger_audit WHERE id = 1`).Scan(&upto, &total); err != nil {
		if !t.noRows(err) {
			return
		}
		upto, total, err = 0, 0, nil
	}
	balances = map[string]int64{}
	err = t.C.Each(`SELECT name, balance FROM account_audit`, nil, func(r Row) error {
		var name string
		var b int64
		if err := r.Scan(&name, &b); err != nil {
			return err
		}
		balances[name] = b
		return nil
	})
	return
}

// postedSince sums each account's postings in (from, to].
func (t *Tx) postedSince(from, to int64) (map[string]int64, error) {
	delta := map[string]int64{}
	err := t.C.Each(`SELECT account, CAST(SUM(amount) AS BIGINT) FROM postings WHERE id > ? AND id <= ? GROUP BY account`, []any{from, to},
		func(r Row) error {
			var name string
			var d int64
			if err := r.Scan(&name, &d); err != nil {
				return err
			}
			delta[name] = d
			return nil
		})
	return delta, err
}

func (t *Tx) lastPosting() (int64, error) {
	var n int64
	err := t.C.QueryRow(`SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM postings`).Scan(&n)
	return n, err
}

func (t *Tx) LedgerCheck() (*walletctl.LedgerReport, error) {
	upto, total, balances, err := t.audited()
	if err != nil {
		return nil, err
	}
	last, err := t.lastPosting()
	if err != nil {
		return nil, err
	}
	delta, err := t.postedSince(upto, last)
	if err != nil {
		return nil, err
	}
	r := &walletctl.LedgerReport{Sum: total, Upto: last}
	for name, d := range delta {
		r.Sum += d
		balances[name] += d
	}
	// An entry is written whole in one transaction, so it lies wholly after the last audit or
	// wholly before it.
	err = t.C.Each(`SELECT txn_id || '#' || entry FROM postings WHERE id > ? AND id <= ? GROUP BY txn_id, entry HAVING SUM(amount) != 0 ORDER BY 1`,
		[]any{upto, last}, func(row Row) error {
			var s string
			if err := row.Scan(&s); err != nil {
				return err
			}
			r.UnbalancedTxns = append(r.UnbalancedTxns, s)
			return nil
		})
	if err != nil {
		return nil, err
	}
	// Every kept balance against what its postings sum to.
	err = t.C.Each(`SELECT name, balance FROM accounts`, nil, func(row Row) error {
		var name string
		var b int64
		if err := row.Scan(&name, &b); err != nil {
			return err
		}
		if b != balances[name] {
			r.DriftedAccounts = append(r.DriftedAccounts, name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for name, b := range balances {
		for _, p := range mustNotGoNegative {
			if b < 0 && strings.HasPrefix(name, p) {
				r.NegativeAccounts = append(r.NegativeAccounts, name)
			}
		}
	}
	sort.Strings(r.DriftedAccounts)
	sort.Strings(r.NegativeAccounts)
	return r, nil
}

func (t *Tx) MarkLedgerAudited(upto int64) error {
	from, total, _, err := t.audited()
	if err != nil || upto <= from {
		return err
	}
	delta, err := t.postedSince(from, upto)
	if err != nil {
		return err
	}
	for name, d := range delta {
		total += d
		if err := t.C.Exec(`INSERT INTO account_audit(name, balance) VALUES (?, ?)
ON CONFLICT(name) DO UPDATE SET balance = account_audit.balance + excluded.balance`, name, d); err != nil {
			return err
		}
	}
	return t.C.Exec(`INSERT INTO ledger_audit(id, upto, total) VALUES (1, ?, ?)
ON CONFLICT(id) DO UPDATE SET upto = excluded.upto, total = excluded.total`, upto, total)
}
