package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// usageWorld is what the usage checks draw from: three users opened in 2025 (u2 without an ID
// number), and instants on both sides of the Shanghai midnights around a new year (UTC is still
// in the old year at the first ones).
type usageWorld struct {
	users    []usageUser
	opened   time.Time
	midnight time.Time
	instants []time.Time
}

type usageUser struct{ id, hash string }

func newUsageWorld() *usageWorld {
	m := time.Date(2026, 1, 1, 0, 0, 0, 0, vclock.Shanghai)
	return &usageWorld{users: []usageUser{{"u1", "idhash-u1"}, {"u2", ""}, {"u3", "idhash-u3"}}, opened: time.Date(2025, 6, 1, 0, 0, 0, 0, vclock.Shanghai),
		midnight: m, instants: []time.Time{m.Add(-48 * time.Hour), m.Add(-time.Nanosecond), m, m.Add(7*time.Hour + 59*time.Minute),
			m.Add(8 * time.Hour), m.Add(24*time.Hour - 1), m.Add(24 * time.Hour), m.Add(50 * time.Hour)}}
}

var (
	usageKinds    = []string{walletctl.KindPay, walletctl.KindPay, walletctl.KindTransfer, walletctl.KindWithdraw, walletctl.KindTopUp, walletctl.KindRefund}
	usageSources  = []string{"balance", "balance", "card:c1", "transfer"}
	usageStatuses = []string{walletctl.TxnPending, walletctl.TxnSucceeded, walletctl.TxnFailed}
)

// randomTxn is a txn of any kind, status and source, by one of the users, at one of the instants.
func (w *usageWorld) randomTxn(rng *rand.Rand, n int) *walletctl.TxnRecord {
	u := w.users[rng.IntN(len(w.users))]
	r := txn(fmt.Sprintf("t%d", n), u.id, usageKinds[rng.IntN(len(usageKinds))], usageStatuses[rng.IntN(len(usageStatuses))], 1+rng.Int64N(100_00),
		w.instants[rng.IntN(len(w.instants))])
	r.Source = usageSources[rng.IntN(len(usageSources))]
	return r
}

// usage checks the usage counters against the sums over the txns they replace, through a seeded
// run of creations and status changes (over a new year, in Shanghai), some rolled back: after
// every step, each read the limits make equals the sum a query over the txns gave before.
func usage(t *testing.T, s walletctl.Store) {
	w := newUsageWorld()
	update(t, s, func(tx walletctl.StoreTx) error {
		for i, u := range w.users {
			r := user(u.id, fmt.Sprintf("1390000%04d", i+1))
			r.CreatedAt, r.IDHash = w.opened, u.hash
			if err := tx.CreateUser(r); err != nil {
				return err
			}
		}
		return nil
	})
	var all []walletctl.TxnRecord // what the store holds, as the engine wrote it
	rng := rand.New(rand.NewPCG(21, 0))
	for step := range 160 {
		var write func(tx walletctl.StoreTx) error
		var apply func()
		if len(all) == 0 || rng.IntN(3) > 0 {
			r := w.randomTxn(rng, step+1)
			write = func(tx walletctl.StoreTx) error { return tx.CreateTxn(r) }
			apply = func() { all = append(all, *r) }
		} else {
			i := rng.IntN(len(all))
			r := all[i]
			r.Status, r.Note = usageStatuses[rng.IntN(len(usageStatuses))], fmt.Sprintf("step %d", step)
			// What SaveTxn does not write must not move a counter either, even when the record
			// the caller holds says otherwise.
			sent := r
			sent.Kind, sent.Amount, sent.Source, sent.CreatedAt = walletctl.KindTopUp, 1, "card:c9", w.midnight.Add(-400*24*time.Hour)
			write = func(tx walletctl.StoreTx) error { return tx.SaveTxn(&sent) }
			apply = func() { all[i] = r }
		}
		if rng.IntN(8) == 0 {
			// Rolled back with the rest of its transaction: the counters with it.
			err := s.Update(ctx, func(tx walletctl.StoreTx) error {
				if err := write(tx); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatalf("step %d: %v", step, err)
			}
		} else {
			update(t, s, write)
			apply()
		}
		update(t, s, func(tx walletctl.StoreTx) error {
			return tx.SaveTxn(txn("t-none", "u1", walletctl.KindPay, walletctl.TxnFailed, 5, w.midnight))
		})
		view(t, s, func(tx walletctl.StoreTx) error { return w.check(t, tx, fmt.Sprintf("step %d", step), all) })
		if t.Failed() {
			t.FailNow()
		}
	}
}

// OldHistory is a wallet's users and txns as a walletctl without usage counters left them, for
// the test of the migration that makes the counters: SQL that fills the users and txns of such
// a schema (SQLite and PostgreSQL read it alike), and the check that the store opened on it
// then holds the counters its txns call for.
type OldHistory struct {
	w    *usageWorld
	txns []walletctl.TxnRecord
}

// NewOldHistory draws n txns of every kind, status and source from seed.
func NewOldHistory(seed uint64, n int) *OldHistory {
	h := &OldHistory{w: newUsageWorld()}
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range n {
		h.txns = append(h.txns, *h.w.randomTxn(rng, i+1))
	}
	return h
}

// SQL inserts the history into the users and txns tables.
func (h *OldHistory) SQL() []string {
	var out []string
	for i, u := range h.w.users {
		hash := "NULL"
		if u.hash != "" {
			hash = "'" + u.hash + "'"
		}
		out = append(out, fmt.Sprintf(`INSERT INTO users(id, num, phone, status, created_at, kyc_id_hash) VALUES ('%s', %d, '1390000%04d', 'normal', %d, %s)`,
			u.id, i+1, i+1, h.w.opened.UnixNano(), hash))
	}
	for i, r := range h.txns {
		out = append(out, fmt.Sprintf(`INSERT INTO txns(id, num, kind, status, user_id, amount, source, idem_key, created_at) VALUES ('%s', %d, '%s', '%s', '%s', %d, '%s', '%s', %d)`,
			r.ID, i+1, r.Kind, r.Status, r.UserID, r.Amount, r.Source, r.IdempotencyKey, r.CreatedAt.UnixNano()))
	}
	return out
}

// Check checks the store opened (migrated) on the history: every read the limits make equals
// the sum over the txns, every counter its period's sum.
func (h *OldHistory) Check(t *testing.T, s walletctl.Store) {
	t.Helper()
	view(t, s, func(tx walletctl.StoreTx) error { return h.w.check(t, tx, "migrated", h.txns) })
}

var errRollback = errors.New("rolled back on purpose")

// oldSum is the sum over the txns that the limits read before the counters: the txns not failed
// of the users, of the kinds (and source, if set), created at or after since.
func oldSum(all []walletctl.TxnRecord, users map[string]bool, kinds []string, source string, since time.Time) int64 {
	var sum int64
	for _, r := range all {
		ok := r.Status != walletctl.TxnFailed && users[r.UserID] && !r.CreatedAt.Before(since) && (source == "" || r.Source == source)
		kind := false
		for _, k := range kinds {
			kind = kind || r.Kind == k
		}
		if ok && kind {
			sum += r.Amount
		}
	}
	return sum
}

func (w *usageWorld) check(t *testing.T, tx walletctl.StoreTx, step string, all []walletctl.TxnRecord) error {
	t.Helper()
	pt := []string{walletctl.KindPay, walletctl.KindTransfer}
	read := func(f walletctl.UsageFilter, want int64) error {
		got, err := tx.Usage(f)
		if err == nil && got != want {
			t.Errorf("%s: Usage(%+v) = %d, want %d (the sum over the txns)", step, f, got, want)
		}
		return err
	}
	for _, u := range w.users {
		one := map[string]bool{u.id: true}
		if err := read(walletctl.UsageFilter{UserID: u.id, Scope: walletctl.UsageBalanceLife}, oldSum(all, one, pt, "balance", w.opened)); err != nil {
			return err
		}
		for _, now := range w.instants {
			s := now.In(vclock.Shanghai)
			jan1 := time.Date(s.Year(), 1, 1, 0, 0, 0, 0, vclock.Shanghai)
			if err := read(walletctl.UsageFilter{UserID: u.id, Scope: walletctl.UsageBalanceYear, Since: walletctl.UsageYear(now)}, oldSum(all, one, pt, "balance", jan1)); err != nil {
				return err
			}
			if err := read(walletctl.UsageFilter{UserID: u.id, Scope: walletctl.UsagePaidDay, Since: walletctl.UsageDay(now)}, oldSum(all, one, pt, "", vclock.StartOfDay(now))); err != nil {
				return err
			}
		}
		if u.hash != "" {
			if err := read(walletctl.UsageFilter{IDHash: u.hash, Scope: walletctl.UsageWithdrawn}, oldSum(all, one, []string{walletctl.KindWithdraw}, "", time.Time{})); err != nil {
				return err
			}
		}
		// Every counter the store lists is its period's sum.
		cs, err := tx.UsageCounters(u.id)
		if err != nil {
			return err
		}
		for _, c := range cs {
			var want int64
			for _, r := range all {
				for _, x := range walletctl.TxnUsage(&r.Txn) {
					if x.UserID == c.UserID && x.Scope == c.Scope && x.Period == c.Period {
						want += x.Amount
					}
				}
			}
			if c.Amount != want {
				t.Errorf("%s: counter %+v, want %d", step, c, want)
			}
		}
	}
	for _, hash := range []string{"idhash-none", ""} {
		if err := read(walletctl.UsageFilter{IDHash: hash, Scope: walletctl.UsageWithdrawn}, 0); err != nil {
			return err
		}
	}
	return nil
}
