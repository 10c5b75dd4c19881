package engine_test

import (
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	_ "modernc.org/sqlite"
)

// The sums over the txns that the limits read before the usage counters (issue 21), kept here
// only, as the reference the counters must equal: the txns not failed of the user (of every user
// with the ID hash), of the kinds (and source), created at or after the instant.
const (
	oldBalanceSum = `SELECT COALESCE(SUM(amount), 0) FROM txns WHERE created_at >= ? AND status != 'failed' AND user_id = ?
AND kind IN ('pay', 'transfer') AND source = 'balance'`
	oldPaidSum = `SELECT COALESCE(SUM(amount), 0) FROM txns WHERE created_at >= ? AND status != 'failed' AND user_id = ?
AND kind IN ('pay', 'transfer')`
	oldWithdrawnSum = `SELECT COALESCE(SUM(amount), 0) FROM txns WHERE created_at >= ? AND status != 'failed'
AND user_id IN (SELECT id FROM users WHERE kyc_id_hash = ?) AND kind IN ('withdraw')`
	// Every counter's sum by its period: Shanghai is UTC+8 with no DST.
	periodSums = `SELECT user_id, 'balance_life', 0, SUM(amount) FROM txns
WHERE status != 'failed' AND kind IN ('pay', 'transfer') AND source = 'balance' GROUP BY user_id
UNION ALL SELECT user_id, 'balance_year', CAST(strftime('%Y', created_at / 1000000000 + 28800, 'unixepoch') AS INTEGER) y, SUM(amount) FROM txns
WHERE status != 'failed' AND kind IN ('pay', 'transfer') AND source = 'balance' GROUP BY user_id, y
UNION ALL SELECT user_id, 'paid_day', CAST(strftime('%Y%m%d', created_at / 1000000000 + 28800, 'unixepoch') AS INTEGER) d, SUM(amount) FROM txns
WHERE status != 'failed' AND kind IN ('pay', 'transfer') GROUP BY user_id, d
UNION ALL SELECT user_id, 'withdrawn', 0, SUM(amount) FROM txns WHERE status != 'failed' AND kind = 'withdraw' GROUP BY user_id`
)

// usageUser is one wallet of the workload.
type usageUser struct {
	id, card string // card "" until one is bound
	c        bankapi.Customer
	second   *bankapi.Customer // a card of the same person at another bank, bound later (class III)
}

// TestUsageCountersEqualTheSums runs a seeded workload (payments from the balance and by card,
// transfers accepted, cancelled and refunded when not accepted, withdrawals the bank refuses or
// never sees, pending txns settled by the status query and reconcile, class upgrades, the
// virtual clock over a new year) and after every step compares each limit's read with the sum
// over the txns it replaced, and every counter with its period's sum.
func TestUsageCountersEqualTheSums(t *testing.T) {
	start := time.Date(2026, 12, 30, 21, 0, 0, 0, vclock.Shanghai)
	w := newWorld(t, func(c *testworld.Config) { c.Start = start }, testworld.Settings(func(s *walletctl.Settings) {
		// Small limits, so that the counters decide: class I 500 CNY, II 2,000 a year, III 4,000,
		// 1,500 a day, a free withdrawal quota of 300 CNY.
		s.ClassILimit, s.ClassIILimit, s.ClassIIILimit, s.DailyLimit, s.WithdrawFreeQuota = 500_00, 2_000_00, 4_000_00, dailyLimit, 300_00
		s.VelocityMax, s.ConfirmThreshold = 8, 1_000_000_00
	}))
	db, err := sql.Open("sqlite", "file:"+w.Path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	ok, credit, drop := card("ok"), card("credit"), card("drop_after")
	second := w.AddCustomer(bankapi.Customer{Bank: "CCB", Type: bankapi.CardDebit, Name: ok.Name, IDNo: ok.IDNo, Phone: ok.Phone, Balance: 1_000_000_00})
	fresh := w.AddCustomer(bankapi.Customer{Bank: "ICBC", Type: bankapi.CardDebit, Balance: 1_000_000_00})
	users := []*usageUser{{c: ok, second: &second}, {c: credit}, {c: drop}, {c: fresh}}
	for _, u := range users[:2] {
		u.id, u.card = w.OpenWallet(u.c, 3_000_00).IDs()
	}
	users[2].id, users[2].card = w.OpenWallet(drop).IDs() // every answer of its bank is lost: pending
	users[3].id = w.Verified(fresh).ID                    // class I: only transfers fill its balance
	must[struct{}](t)(struct{}{}, w.Engine.SetPassword(w.Ctx, users[3].id, pw))
	must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))

	var transfers []*walletctl.Transfer
	var pending []struct{ user, id string }
	rng := rand.New(rand.NewPCG(21, 21))
	pick := func() *usageUser { return users[rng.IntN(len(users))] }
	withCard := func() *usageUser {
		for {
			if u := pick(); u.card != "" {
				return u
			}
		}
	}
	fault := func(op string) {
		switch rng.IntN(4) {
		case 0: // the bank never sees it: pending, then failed by the status query or reconcile
			must[*bankapi.Fault](t)(w.Admin.AddFault(w.Ctx, bankapi.Fault{Kind: bankapi.FaultRefuse, Op: op, First: 1}))
		case 1: // refused at once: failed
			must[*bankapi.Fault](t)(w.Admin.AddFault(w.Ctx, bankapi.Fault{Kind: bankapi.FaultHTTPError, Op: op, First: 1}))
		}
	}
	amount := func() int64 { return 1 + rng.Int64N(400_00) }
	ops := map[string]int{}
	for step := range 600 {
		var op string
		var txn *walletctl.Txn
		var err error
		var mv *limitedMove // a movement the limits apply to, with what they read before it
		limited := func(u *usageUser, kind string, amount int64, fromBalance bool) int64 {
			mv = &limitedMove{kind: kind, amount: amount, fromBalance: fromBalance, before: oldSums(t, w, db, u.id)}
			return amount
		}
		switch r := rng.IntN(100); {
		case r < 22:
			op = "pay_balance"
			u := pick()
			txn, err = w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u.id, Merchant: "m-cafe", Amount: limited(u, walletctl.KindPay, amount(), true), Password: pw})
		case r < 34:
			op = "pay_card"
			u := withCard()
			fault(bankapi.OpDebit)
			txn, err = w.Engine.Pay(w.Ctx, walletctl.PayRequest{UserID: u.id, Merchant: "m-rail", Amount: limited(u, walletctl.KindPay, amount(), false),
				Source: "card:" + u.card, Password: pw})
		case r < 48:
			op = "transfer"
			from, to := pick(), pick()
			if to == from {
				to = users[(slices.Index(users, from)+1)%len(users)]
			}
			var tr *walletctl.Transfer
			tr, err = w.Engine.Transfer(w.Ctx, walletctl.TransferRequest{UserID: from.id, To: to.id, Amount: limited(from, walletctl.KindTransfer, amount(), true),
				Password: pw, Delay: []string{"none", "2h", "24h"}[rng.IntN(3)]})
			if err == nil {
				transfers = append(transfers, tr)
				mv.made = true
			}
		case r < 56 && len(transfers) > 0:
			op = "accept"
			tr := transfers[rng.IntN(len(transfers))]
			_, err = w.Engine.AcceptTransfer(w.Ctx, tr.To, tr.ID)
		case r < 62 && len(transfers) > 0:
			op = "cancel"
			tr := transfers[rng.IntN(len(transfers))]
			_, err = w.Engine.CancelTransfer(w.Ctx, tr.From, tr.ID)
		case r < 74:
			op = "withdraw"
			u := withCard()
			fault(bankapi.OpCredit)
			txn, err = w.Engine.Withdraw(w.Ctx, u.id, u.card, limited(u, walletctl.KindWithdraw, amount(), true), pw)
		case r < 82:
			op = "topup"
			u := withCard()
			txn, err = w.Engine.TopUp(w.Ctx, u.id, u.card, 2*amount(), pw)
		case r < 86 && len(pending) > 0:
			op = "query" // tx show asks the bank about a pending txn
			p := pending[rng.IntN(len(pending))]
			_, err = w.Engine.Transaction(w.Ctx, p.user, p.id)
		case r < 89:
			op = "reconcile"
			_, err = w.Engine.Reconcile(w.Ctx, "")
		case r < 91:
			op = "upgrade"
			if u := users[0]; u.second != nil { // II to III: a card at a second bank
				w.Bind(u.id, *u.second)
				u.second = nil
			} else if u := users[3]; u.card == "" && step >= 300 { // I to II, late: its first card
				u.card = w.Bind(u.id, u.c).ID
			} else {
				op = "nothing to upgrade"
			}
		default:
			op = "advance" // minutes, or most of a day (unaccepted transfers go back after 24 h)
			d := time.Duration(1+rng.IntN(30)) * time.Minute
			if rng.IntN(3) == 0 {
				d = time.Duration(1+rng.IntN(20)) * time.Hour
			}
			_, err = w.Engine.Advance(w.Ctx, d)
		}
		must[struct{}](t)(struct{}{}, w.Admin.ClearFaults(w.Ctx))
		var we *walletctl.Error
		if err != nil {
			if !errors.As(err, &we) || we.Code == walletctl.CodeInternal {
				t.Fatalf("step %d %s: %v", step, op, err)
			}
			op += ":" + we.Code
		}
		if mv != nil {
			mv.made = mv.made || txn != nil // pending or failed at the bank: the limits let it through
			mv.check(t, w, step, op, txn, we)
		}
		if txn != nil && txn.Status == walletctl.TxnPending {
			pending = append(pending, struct{ user, id string }{txn.UserID, txn.ID})
		}
		ops[op]++
		checkUsageSums(t, w, db, users, step, op)
	}
	must[*walletctl.ReconcileReport](t)(w.Engine.Reconcile(w.Ctx, ""))
	checkUsageSums(t, w, db, users, 600, "final reconcile")

	// The run did what it is for.
	if now := w.Clock.Now().In(vclock.Shanghai); now.Year() != 2027 {
		t.Errorf("the clock ended at %s: no new year crossed", now)
	}
	for _, want := range []string{"pay_balance", "pay_card", "transfer", "accept", "cancel", "withdraw", "query", "reconcile", "upgrade"} {
		if ops[want] == 0 {
			t.Errorf("no successful %s in %v", want, ops)
		}
	}
	var refunded, failedWithdrawals, years int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM txns WHERE kind = 'transfer' AND failure_code = 'TRANSFER_REFUNDED'),
(SELECT COUNT(*) FROM txns WHERE kind = 'withdraw' AND status = 'failed'),
(SELECT COUNT(DISTINCT strftime('%Y', created_at / 1000000000 + 28800, 'unixepoch')) FROM txns WHERE kind = 'pay')`).Scan(&refunded, &failedWithdrawals, &years); err != nil {
		t.Fatal(err)
	}
	if refunded == 0 || failedWithdrawals == 0 || years != 2 {
		t.Errorf("%d transfers refunded, %d withdrawals failed, payments in %d years", refunded, failedWithdrawals, years)
	}
	for _, u := range users {
		k := must[*walletctl.KYC](t)(w.Engine.KYCStatus(w.Ctx, u.id))
		t.Logf("%s: class %d, used %d of %d (%s)", u.id, k.Class, k.UsedFen, k.LimitFen, k.LimitPeriod)
	}
	if k := must[*walletctl.KYC](t)(w.Engine.KYCStatus(w.Ctx, users[0].id)); k.Class != 3 {
		t.Errorf("%s is class %d, not upgraded to III", users[0].id, k.Class)
	}
	t.Logf("operations: %v", ops)
}

// dailyLimit is the workload's daily limit (its Settings).
const dailyLimit = 1_500_00

// usageSums are the sums over the txns that the limits read for a user now: its class limit's
// use (since opening for class I, else since 1 January), today's, and the withdrawals of its ID
// number; with the class's limit.
type usageSums struct {
	life, year, class, day, withdrawn, classLimit int64
	period, idHash                                string
}

func oldSums(t *testing.T, w *world, db *sql.DB, userID string) usageSums {
	t.Helper()
	now := w.Clock.Now()
	sum := func(q string, args ...any) int64 {
		var n int64
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var rec *walletctl.UserRecord
	must[struct{}](t)(struct{}{}, w.Store.View(w.Ctx, func(tx walletctl.StoreTx) (err error) { rec, err = tx.GetUser(userID); return err }))
	jan1 := time.Date(now.In(vclock.Shanghai).Year(), 1, 1, 0, 0, 0, 0, vclock.Shanghai)
	s := usageSums{idHash: rec.IDHash,
		life: sum(oldBalanceSum, rec.CreatedAt.UnixNano(), userID),
		year: sum(oldBalanceSum, jan1.UnixNano(), userID),
		day:  sum(oldPaidSum, vclock.StartOfDay(now).UnixNano(), userID),
		// The old read of the free quota: no lower bound (the zero time) and the user's ID hash.
		withdrawn: sum(oldWithdrawnSum, time.Time{}.UnixNano(), rec.IDHash)}
	set := w.Engine.Settings()
	s.classLimit, s.period = set.ClassLimit(rec.Class)
	s.class = s.life
	if s.period == "year" {
		s.class = s.year
	}
	return s
}

// limitedMove is a payment, transfer or withdrawal of the workload with the sums its limits
// read before it was asked for.
type limitedMove struct {
	kind        string
	amount      int64
	fromBalance bool
	before      usageSums
	made        bool // the wallet recorded it (whatever the bank said after)
}

// check holds the engine's answer against the limits as the sums before it decide them: a
// refusal reports the sum as used, a movement made fits under the limit, a withdrawal's fee is
// the one its ID number's withdrawals call for.
func (m *limitedMove) check(t *testing.T, w *world, step int, op string, txn *walletctl.Txn, we *walletctl.Error) {
	t.Helper()
	b := m.before
	if we != nil {
		var want any
		switch we.Code {
		case walletctl.CodeDailyLimit:
			want = b.day
		case walletctl.CodeClassLimit:
			want = b.class
		case walletctl.CodeInvalidAmount:
			want = w.Engine.WithdrawFee(b.withdrawn, m.amount)
			if we.Details["fee"] != want {
				t.Fatalf("step %d (%s): refused with a fee of %v, the withdrawals before say %v", step, op, we.Details["fee"], want)
			}
		}
		if want != nil && we.Code != walletctl.CodeInvalidAmount && we.Details["used"] != want {
			t.Fatalf("step %d (%s): refused with %v used, the txns before say %v", step, op, we.Details["used"], want)
		}
	}
	if !m.made {
		return
	}
	if m.kind == walletctl.KindWithdraw {
		if want := w.Engine.WithdrawFee(b.withdrawn, m.amount); txn.Fee != want {
			t.Fatalf("step %d (%s): withdrawal %s of %d fen charged %d, the withdrawals before (%d fen) say %d", step, op, txn.ID, m.amount, txn.Fee, b.withdrawn, want)
		}
		return
	}
	if b.day+m.amount > dailyLimit {
		t.Fatalf("step %d (%s): %d fen made with %d used today, over the daily limit", step, op, m.amount, b.day)
	}
	if m.fromBalance && b.class+m.amount > b.classLimit {
		t.Fatalf("step %d (%s): %d fen made from the balance with %d used, over the class limit %d", step, op, m.amount, b.class, b.classLimit)
	}
}

// checkUsageSums compares what the limits read (the engine's KYC status, the store's counters)
// with the sums over the txns, and every counter with its period's sum.
func checkUsageSums(t *testing.T, w *world, db *sql.DB, users []*usageUser, step int, op string) {
	t.Helper()
	now := w.Clock.Now()
	var counters []walletctl.UsageCounter
	for _, u := range users {
		s := oldSums(t, w, db, u.id)
		k := must[*walletctl.KYC](t)(w.Engine.KYCStatus(w.Ctx, u.id))
		if k.UsedFen != s.class || k.LimitFen != s.classLimit {
			t.Fatalf("step %d (%s): %s (class %d) has used %d fen of its limit, the txns say %d", step, op, u.id, k.Class, k.UsedFen, s.class)
		}
		must[struct{}](t)(struct{}{}, w.Store.View(w.Ctx, func(tx walletctl.StoreTx) error {
			for _, c := range []struct {
				f    walletctl.UsageFilter
				want int64
			}{
				{walletctl.UsageFilter{UserID: u.id, Scope: walletctl.UsageBalanceLife}, s.life},
				{walletctl.UsageFilter{UserID: u.id, Scope: walletctl.UsageBalanceYear, Since: walletctl.UsageYear(now)}, s.year},
				{walletctl.UsageFilter{UserID: u.id, Scope: walletctl.UsagePaidDay, Since: walletctl.UsageDay(now)}, s.day},
				{walletctl.UsageFilter{IDHash: s.idHash, Scope: walletctl.UsageWithdrawn}, s.withdrawn},
			} {
				got, err := tx.Usage(c.f)
				if err != nil {
					return err
				}
				if got != c.want {
					t.Fatalf("step %d (%s): Usage(%+v) = %d, the txns say %d", step, op, c.f, got, c.want)
				}
			}
			cs, err := tx.UsageCounters(u.id)
			counters = append(counters, cs...)
			return err
		}))
	}
	rows, err := db.Query(periodSums)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sums []walletctl.UsageCounter
	for rows.Next() {
		var c walletctl.UsageCounter
		if err := rows.Scan(&c.UserID, &c.Scope, &c.Period, &c.Amount); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, c)
	}
	// Counters left at zero by txns that failed are kept; the sums have no row for them.
	counters = slices.DeleteFunc(counters, func(c walletctl.UsageCounter) bool { return c.Amount == 0 })
	key := func(c walletctl.UsageCounter) string { return fmt.Sprintf("%s %s %d", c.UserID, c.Scope, c.Period) }
	order := func(a, b walletctl.UsageCounter) int {
		if key(a) < key(b) {
			return -1
		}
		if key(a) > key(b) {
			return 1
		}
		return 0
	}
	slices.SortFunc(counters, order)
	slices.SortFunc(sums, order)
	if !slices.Equal(counters, sums) {
		t.Fatalf("step %d (%s): counters\n  %v\nsums over the txns by period\n  %v", step, op, counters, sums)
	}
}
