// Package storetest is the conformance suite of walletctl.Store: every store implementation
// (walletctl/sqlite, walletctl/postgres) runs it from its own tests, so that both keep the
// semantics the engine relies on.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// Open returns a fresh, empty store; the suite closes nothing (the opener registers cleanup).
type Open func(t *testing.T) walletctl.Store

// Run runs every check against stores made by open.
func Run(t *testing.T, open Open) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, walletctl.Store)
	}{
		{"Users", users},
		{"BindingsAndCards", bindingsAndCards},
		{"Txns", txns},
		{"CountTxns", countTxns},
		{"Usage", usage},
		{"Ledger", ledger},
		{"Transfers", transfers},
		{"SecurityLog", securityLog},
		{"NextID", nextID},
		{"Rollback", rollback},
		{"ViewDoesNotWrite", viewDoesNotWrite},
		{"UniqueKeys", uniqueKeys},
		{"ConcurrentUpdates", concurrentUpdates},
		{"Merchants", merchants},
		{"MerchantDays", merchantDays},
		{"Pages", pages},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

var ctx = context.Background()

// t0 has nanoseconds, which every store must keep. Stores return times in Shanghai, as the
// clock made them (JSON shows +08:00 everywhere).
var t0 = time.Date(2026, 3, 1, 10, 3, 4, 567891234, vclock.Shanghai)

func at(d time.Duration) time.Time { return t0.Add(d) }
func ptr(t time.Time) *time.Time   { return &t }

func update(t *testing.T, s walletctl.Store, fn func(walletctl.StoreTx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, s walletctl.Store, fn func(walletctl.StoreTx) error) {
	t.Helper()
	if err := s.View(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func user(id, phone string) *walletctl.UserRecord {
	return &walletctl.UserRecord{User: walletctl.User{ID: id, Phone: phone, Status: walletctl.StatusNormal, CreatedAt: t0}}
}

func txn(id, user, kind, status string, amount int64, created time.Time) *walletctl.TxnRecord {
	return &walletctl.TxnRecord{Txn: walletctl.Txn{ID: id, Kind: kind, Status: status, UserID: user, Amount: amount,
		IdempotencyKey: "auto:" + id, CreatedAt: created}}
}

// seed creates users u1..un.
func seed(t *testing.T, s walletctl.Store, n int) {
	t.Helper()
	update(t, s, func(tx walletctl.StoreTx) error {
		for i := 1; i <= n; i++ {
			if err := tx.CreateUser(user(fmt.Sprintf("u%d", i), fmt.Sprintf("1390000%04d", i))); err != nil {
				return err
			}
		}
		return nil
	})
}

func users(t *testing.T, s walletctl.Store) {
	full := user("u2", "13900000002")
	// The store keeps what the engine gives it: hashes, masks and sealed values are opaque text.
	full.Class, full.Name, full.IDHash, full.IDMasked, full.IDSealed = 2, "张三", "idhash-0011", "1101**********0011", "v1:sealed-0011"
	full.Checks, full.VerifiedAt = []string{"name_id", "card"}, ptr(at(time.Minute))
	full.PasswordHash, full.FailedAttempts, full.LockedUntil = "$argon2id$x", 3, ptr(at(time.Hour))
	update(t, s, func(tx walletctl.StoreTx) error {
		// Created out of order: lists sort by number, not by text ("u10" after "u2").
		for _, u := range []*walletctl.UserRecord{user("u10", "13900000010"), full, user("u1", "13900000001")} {
			if err := tx.CreateUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		got, err := tx.GetUser("u2")
		if err != nil {
			return err
		}
		want := *full
		want.Verified, want.PasswordSet = true, true
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("GetUser:\n got %+v\nwant %+v", got, &want)
		}
		for name, f := range map[string]func() (*walletctl.UserRecord, error){
			"UserByPhone":  func() (*walletctl.UserRecord, error) { return tx.UserByPhone("13900000002") },
			"UserByIDHash": func() (*walletctl.UserRecord, error) { return tx.UserByIDHash("idhash-0011") },
		} {
			if u, err := f(); err != nil || u == nil || u.ID != "u2" {
				t.Errorf("%s: %+v, %v", name, u, err)
			}
		}
		for name, f := range map[string]func() (*walletctl.UserRecord, error){
			"GetUser":      func() (*walletctl.UserRecord, error) { return tx.GetUser("u9") },
			"UserByPhone":  func() (*walletctl.UserRecord, error) { return tx.UserByPhone("1") },
			"UserByIDHash": func() (*walletctl.UserRecord, error) { return tx.UserByIDHash("") },
		} {
			if u, err := f(); err != nil || u != nil {
				t.Errorf("%s of nothing: %+v, %v (want nil, nil)", name, u, err)
			}
		}
		list, err := tx.ListUsers()
		if err != nil {
			return err
		}
		if ids := userIDs(list); fmt.Sprint(ids) != "[u1 u2 u10]" {
			t.Errorf("ListUsers %v", ids)
		}
		for _, c := range []struct {
			now  time.Time
			want string
		}{{at(time.Hour - 1), "[]"}, {at(time.Hour), "[u2]"}} {
			due, err := tx.LockedUsersDue(c.now)
			if err != nil {
				return err
			}
			if ids := userIDs(due); fmt.Sprint(ids) != c.want {
				t.Errorf("LockedUsersDue(%v) %v, want %s", c.now, ids, c.want)
			}
		}
		return nil
	})
	// SaveUser clears what was cleared.
	update(t, s, func(tx walletctl.StoreTx) error {
		u, err := tx.GetUser("u2")
		if err != nil {
			return err
		}
		u.LockedUntil, u.FailedAttempts, u.Status = nil, 0, walletctl.StatusFrozen
		return tx.SaveUser(u)
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		u, err := tx.GetUser("u2")
		if err == nil && (u.LockedUntil != nil || u.FailedAttempts != 0 || u.Status != walletctl.StatusFrozen || u.IDHash == "" || u.IDMasked == "" || u.IDSealed == "") {
			t.Errorf("after SaveUser %+v", u)
		}
		return err
	})
}

func userIDs(us []walletctl.UserRecord) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

func bindingsAndCards(t *testing.T, s walletctl.Store) {
	seed(t, s, 2)
	b := &walletctl.BindingRecord{ID: "b1", UserID: "u1", Purpose: "bind", BankBindingID: "bb9", CardHash: "cardhash-1234", CardNoMasked: "622202*********1234",
		Phone: "13900000001", ExpiresAt: at(5 * time.Minute)}
	c10 := &walletctl.CardRecord{Card: walletctl.Card{ID: "c10", UserID: "u1", Bank: "ICBC", BankName: "工商银行", CardType: "debit", BoundAt: at(time.Second)},
		CardHash: "cardhash-1234", CardNoMasked: "622202*********1234", Agreement: "agr_1", Phone: "13900000001"}
	c2 := &walletctl.CardRecord{Card: walletctl.Card{ID: "c2", UserID: "u1", Bank: "CMB", BankName: "招商银行", CardType: "credit", BoundAt: at(2 * time.Second)},
		CardHash: "cardhash-5678", CardNoMasked: "622588******5678", Agreement: "agr_2", Phone: "13900000001"}
	update(t, s, func(tx walletctl.StoreTx) error {
		if err := tx.CreateBinding(b); err != nil {
			return err
		}
		if err := tx.CreateCard(c10); err != nil {
			return err
		}
		return tx.CreateCard(c2)
	})
	if c10.CardMasked != "6222 **** **** 1234" {
		t.Errorf("CreateCard set CardMasked %q", c10.CardMasked)
	}
	view(t, s, func(tx walletctl.StoreTx) error {
		got, err := tx.GetBinding("b1")
		if err != nil || !reflect.DeepEqual(got, b) {
			t.Errorf("GetBinding %+v, %v", got, err)
		}
		if got, err := tx.GetBinding("b2"); got != nil || err != nil {
			t.Errorf("GetBinding of nothing %+v, %v", got, err)
		}
		card, err := tx.GetCard("c10")
		if err != nil {
			return err
		}
		if card.CardMasked != "6222 **** **** 1234" || card.Last4 != "1234" || card.Agreement != "agr_1" || card.CardHash != "cardhash-1234" || card.CardNoMasked != "622202*********1234" || !card.BoundAt.Equal(c10.BoundAt) || card.BankName != "工商银行" {
			t.Errorf("GetCard %+v", card)
		}
		list, err := tx.ListCards("u1")
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].ID != "c2" || list[1].ID != "c10" {
			t.Errorf("ListCards %+v", list)
		}
		if none, err := tx.ListCards("u2"); len(none) != 0 || err != nil {
			t.Errorf("ListCards of a user without cards %+v, %v", none, err)
		}
		return nil
	})
	update(t, s, func(tx walletctl.StoreTx) error {
		c10.Agreement, c10.Phone = "agr_1b", "13900000009"
		if err := tx.SaveCard(c10); err != nil {
			return err
		}
		if err := tx.DeleteBinding("b1"); err != nil {
			return err
		}
		return tx.DeleteCard("c2")
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		if b, err := tx.GetBinding("b1"); b != nil || err != nil {
			t.Errorf("deleted binding %+v, %v", b, err)
		}
		if c, err := tx.GetCard("c2"); c != nil || err != nil {
			t.Errorf("deleted card %+v, %v", c, err)
		}
		c, err := tx.GetCard("c10")
		if err == nil && (c.Agreement != "agr_1b" || c.Phone != "13900000009") {
			t.Errorf("saved card %+v", c)
		}
		return err
	})
}

func txns(t *testing.T, s walletctl.Store) {
	seed(t, s, 3)
	pending := txn("t1", "u1", walletctl.KindTopUp, walletctl.TxnPending, 1000, at(0))
	pending.BankKey, pending.CardID, pending.Source, pending.CardMasked = "wlt-t1", "c1", "card:c1", "6222 **** **** 1234"
	done := txn("t2", "u1", walletctl.KindPay, walletctl.TxnSucceeded, 300, at(time.Minute))
	done.BankKey, done.Counterparty, done.BankTxnID = "wlt-t2", "m-cinema", "B7"
	done.SettledAt, done.BankTime = ptr(at(2*time.Minute)), ptr(at(3*time.Minute))
	in := txn("t3", "u2", walletctl.KindTransfer, walletctl.TxnSucceeded, 50, at(time.Hour))
	in.Counterparty = "u1"
	internal := txn("t10", "u1", walletctl.KindPay, walletctl.TxnFailed, 7, at(2*time.Hour))
	update(t, s, func(tx walletctl.StoreTx) error {
		for _, r := range []*walletctl.TxnRecord{internal, pending, done, in} {
			if err := tx.CreateTxn(r); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		for _, want := range []*walletctl.TxnRecord{pending, done, in, internal} {
			got, err := tx.GetTxn(want.ID)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("GetTxn %s:\n got %+v\nwant %+v", want.ID, got, want)
			}
		}
		if r, err := tx.TxnByIdemKey("auto:t2"); err != nil || r == nil || r.ID != "t2" {
			t.Errorf("TxnByIdemKey %+v, %v", r, err)
		}
		if r, err := tx.TxnByBankKey("wlt-t1"); err != nil || r == nil || r.ID != "t1" {
			t.Errorf("TxnByBankKey %+v, %v", r, err)
		}
		for _, f := range []func() (*walletctl.TxnRecord, error){
			func() (*walletctl.TxnRecord, error) { return tx.GetTxn("t9") },
			func() (*walletctl.TxnRecord, error) { return tx.TxnByIdemKey("nope") },
			func() (*walletctl.TxnRecord, error) { return tx.TxnByBankKey("") }, // internal txns have no bank key
		} {
			if r, err := f(); r != nil || err != nil {
				t.Errorf("lookup of nothing: %+v, %v", r, err)
			}
		}
		list, err := tx.ListTxns("u1") // own and incoming transfers, in creation order
		if err != nil {
			return err
		}
		if ids := txnIDs(list); fmt.Sprint(ids) != "[t1 t2 t3 t10]" {
			t.Errorf("ListTxns(u1) %v", ids)
		}
		if list, _ := tx.ListTxns("u3"); len(list) != 0 {
			t.Errorf("ListTxns(u3) %v", txnIDs(list))
		}
		pend, err := tx.PendingBankTxns()
		if err != nil {
			return err
		}
		if ids := txnIDs(pend); fmt.Sprint(ids) != "[t1]" {
			t.Errorf("PendingBankTxns %v", ids)
		}
		for _, c := range []struct {
			from, to time.Time
			want     string
		}{{at(3 * time.Minute), at(4 * time.Minute), "[t2]"}, {at(0), at(3 * time.Minute), "[]"}, {at(3*time.Minute + 1), at(time.Hour), "[]"}} {
			got, err := tx.BankTxnsSettledBetween(c.from, c.to)
			if err != nil {
				return err
			}
			if ids := txnIDs(got); fmt.Sprint(ids) != c.want {
				t.Errorf("BankTxnsSettledBetween(%v, %v) %v, want %s", c.from, c.to, ids, c.want)
			}
		}
		return nil
	})
	update(t, s, func(tx walletctl.StoreTx) error {
		pending.Status, pending.BankTxnID, pending.Fee, pending.Note = walletctl.TxnFailed, "B8", 2, "refused"
		pending.FailureCode, pending.SettledAt, pending.BankTime = "CARD_FROZEN", ptr(at(time.Second)), ptr(at(time.Second))
		return tx.SaveTxn(pending)
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		got, err := tx.GetTxn("t1")
		if err == nil && !reflect.DeepEqual(got, pending) {
			t.Errorf("after SaveTxn:\n got %+v\nwant %+v", got, pending)
		}
		if p, _ := tx.PendingBankTxns(); len(p) != 0 {
			t.Errorf("PendingBankTxns after settling %v", txnIDs(p))
		}
		return err
	})
}

func txnIDs(ts []walletctl.TxnRecord) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func countTxns(t *testing.T, s walletctl.Store) {
	seed(t, s, 3)
	update(t, s, func(tx walletctl.StoreTx) error {
		bal := txn("t5", "u1", walletctl.KindPay, walletctl.TxnSucceeded, 500, at(time.Hour))
		bal.Source = "balance"
		for _, r := range []*walletctl.TxnRecord{
			txn("t1", "u1", walletctl.KindPay, walletctl.TxnSucceeded, 100, at(0)),
			txn("t2", "u1", walletctl.KindTransfer, walletctl.TxnPending, 20, at(time.Minute)),
			txn("t3", "u1", walletctl.KindPay, walletctl.TxnFailed, 3000, at(time.Minute)),
			txn("t4", "u1", walletctl.KindTopUp, walletctl.TxnSucceeded, 4, at(time.Minute)),
			bal,
			txn("t6", "u2", walletctl.KindPay, walletctl.TxnSucceeded, 60000, at(time.Minute)),
			txn("t7", "u3", walletctl.KindPay, walletctl.TxnSucceeded, 700000, at(time.Minute)),
		} {
			if err := tx.CreateTxn(r); err != nil {
				return err
			}
		}
		return nil
	})
	pt := []string{walletctl.KindPay, walletctl.KindTransfer}
	for _, c := range []struct {
		f walletctl.TxnFilter
		n int
	}{
		{walletctl.TxnFilter{UserID: "u1", Kinds: pt, Since: at(0)}, 3},
		{walletctl.TxnFilter{UserID: "u1", Kinds: pt, Since: at(1)}, 2},
		{walletctl.TxnFilter{UserID: "u1", Since: at(0)}, 4},
		{walletctl.TxnFilter{UserID: "u1", Kinds: []string{walletctl.KindWithdraw}, Since: at(0)}, 0},
		{walletctl.TxnFilter{UserID: "u9", Since: at(0)}, 0},
	} {
		view(t, s, func(tx walletctl.StoreTx) error {
			n, err := tx.CountTxns(c.f)
			if err == nil && n != c.n {
				t.Errorf("CountTxns(%+v) = %d; want %d", c.f, n, c.n)
			}
			return err
		})
	}
}

func ledger(t *testing.T, s walletctl.Store) {
	seed(t, s, 1)
	update(t, s, func(tx walletctl.StoreTx) error {
		for _, id := range []string{"t1", "t2"} {
			if err := tx.CreateTxn(txn(id, "u1", walletctl.KindTopUp, walletctl.TxnSucceeded, 5, at(0))); err != nil {
				return err
			}
		}
		// Lines in order, an account named twice moved twice, entries numbered per txn.
		if err := tx.Post("t1", []walletctl.Posting{pp("bank:ICBC:clearing", -5), pp("user:u1", 3), pp("user:u1", 2)}); err != nil {
			return err
		}
		if err := tx.Post("t1", []walletctl.Posting{pp("user:u1", -1), pp("merchant:m", 1)}); err != nil {
			return err
		}
		return tx.Post("t2", []walletctl.Posting{pp("bank:ICBC:clearing", -7), pp("user:u1", 7)})
	})
	// The store refuses an unbalanced entry or a single line, and the transaction fails whole.
	for _, bad := range [][]walletctl.Posting{{pp("user:u1", -5), pp("merchant:m", 4)}, {pp("user:u1", 0)}} {
		err := s.Update(ctx, func(tx walletctl.StoreTx) error {
			if err := tx.CreateTxn(txn("t3", "u1", walletctl.KindPay, walletctl.TxnSucceeded, 5, at(0))); err != nil {
				return err
			}
			return tx.Post("t3", bad)
		})
		if err == nil {
			t.Errorf("Post(%v) stored", bad)
		}
	}
	view(t, s, func(tx walletctl.StoreTx) error {
		ps, err := tx.Postings("t1")
		if err != nil {
			return err
		}
		want := []walletctl.Posting{pp("bank:ICBC:clearing", -5), pp("user:u1", 3), pp("user:u1", 2), pp("user:u1", -1), pp("merchant:m", 1)}
		if !reflect.DeepEqual(ps, want) {
			t.Errorf("Postings(t1) %v, want %v", ps, want)
		}
		if ps, err := tx.Postings("t3"); len(ps) != 0 || err != nil {
			t.Errorf("Postings of a rolled-back txn %v, %v", ps, err)
		}
		if r, _ := tx.GetTxn("t3"); r != nil {
			t.Error("the txn of a refused entry was kept")
		}
		for acct, want := range map[string]int64{"user:u1": 11, "bank:ICBC:clearing": -12, "merchant:m": 1, "nobody": 0} {
			if b, err := tx.AccountBalance(acct); err != nil || b != want {
				t.Errorf("AccountBalance(%s) %d, %v; want %d", acct, b, err, want)
			}
		}
		rep, err := tx.LedgerCheck()
		if err != nil {
			return err
		}
		if !rep.Clean() || rep.Sum != 0 {
			t.Errorf("LedgerCheck of a sound ledger %+v", rep)
		}
		return nil
	})
	// A balance read after a clean audit is the audited balance plus what was posted since: the
	// same as every posting summed, for every account (a store may read a shared account that way).
	update(t, s, func(tx walletctl.StoreTx) error {
		rep, err := tx.LedgerCheck()
		if err != nil {
			return err
		}
		if err := tx.MarkLedgerAudited(rep.Upto); err != nil {
			return err
		}
		return tx.Post("t2", []walletctl.Posting{pp("user:u1", -4), pp("merchant:m", 3), pp("merchant:n", 1)})
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		for acct, want := range map[string]int64{"user:u1": 7, "bank:ICBC:clearing": -12, "merchant:m": 4, "merchant:n": 1, "nobody": 0} {
			if b, err := tx.AccountBalance(acct); err != nil || b != want {
				t.Errorf("after an audit, AccountBalance(%s) %d, %v; want %d", acct, b, err, want)
			}
		}
		return nil
	})
	// LedgerCheck sees a user account below zero (the engine never lets one go there).
	update(t, s, func(tx walletctl.StoreTx) error {
		return tx.Post("t2", []walletctl.Posting{pp("user:u1", -20), pp("bank:ICBC:clearing", 20)})
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		rep, err := tx.LedgerCheck()
		if err == nil && (rep.Sum != 0 || fmt.Sprint(rep.NegativeAccounts) != "[user:u1]" || len(rep.UnbalancedTxns)+len(rep.DriftedAccounts) != 0) {
			t.Errorf("LedgerCheck %+v, want user:u1 negative", rep)
		}
		return err
	})
}

func transfers(t *testing.T, s walletctl.Store) {
	seed(t, s, 3)
	mk := func(id, from, to, status string, created time.Duration) *walletctl.Transfer {
		return &walletctl.Transfer{ID: id, From: from, To: to, PayeeNameMasked: "*三", Amount: 100, Status: status, Delay: "2h",
			CreatedAt: at(created), ArrivesAt: at(created + 2*time.Hour), RefundAt: at(created + 26*time.Hour)}
	}
	sched := mk("t1", "u1", "u2", walletctl.TransferScheduled, 0)
	arrived := mk("t2", "u2", "u3", walletctl.TransferArrived, -time.Hour)
	accepted := mk("t3", "u3", "u1", walletctl.TransferAccepted, time.Minute)
	accepted.DoneAt = ptr(at(time.Hour))
	update(t, s, func(tx walletctl.StoreTx) error {
		for _, tr := range []*walletctl.Transfer{sched, arrived, accepted} {
			if err := tx.CreateTxn(txn(tr.ID, tr.From, walletctl.KindTransfer, walletctl.TxnPending, tr.Amount, tr.CreatedAt)); err != nil {
				return err
			}
			if err := tx.CreateTransfer(tr); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		for _, want := range []*walletctl.Transfer{sched, arrived, accepted} {
			if got, err := tx.GetTransfer(want.ID); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("GetTransfer(%s)\n got %+v, %v\nwant %+v", want.ID, got, err, want)
			}
		}
		if got, err := tx.GetTransfer("t9"); got != nil || err != nil {
			t.Errorf("GetTransfer of nothing %+v, %v", got, err)
		}
		list, err := tx.ListTransfers("u1")
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].ID != "t1" || list[1].ID != "t3" {
			t.Errorf("ListTransfers(u1) %+v", list)
		}
		for _, c := range []struct {
			now  time.Time
			want string
		}{{at(time.Hour), "[]"}, {at(2 * time.Hour), "[t1]"}, {at(25 * time.Hour), "[t1 t2]"}} {
			due, err := tx.TransfersDue(c.now)
			if err != nil {
				return err
			}
			ids := []string{}
			for _, d := range due {
				ids = append(ids, d.ID)
			}
			if fmt.Sprint(ids) != c.want {
				t.Errorf("TransfersDue(%v) %v, want %s", c.now, ids, c.want)
			}
		}
		for _, c := range []struct {
			a, b string
			want bool
		}{{"u1", "u3", true}, {"u3", "u1", true}, {"u1", "u2", false}} {
			if got, err := tx.AcceptedBetween(c.a, c.b); err != nil || got != c.want {
				t.Errorf("AcceptedBetween(%s, %s) %v, %v", c.a, c.b, got, err)
			}
		}
		next, err := tx.NextDue()
		if err == nil && (next == nil || !next.Equal(at(2*time.Hour))) {
			t.Errorf("NextDue %v, want %v", next, at(2*time.Hour))
		}
		return err
	})
	update(t, s, func(tx walletctl.StoreTx) error {
		sched.Status, sched.DoneAt = walletctl.TransferCancelled, ptr(at(time.Minute))
		if err := tx.SaveTransfer(sched); err != nil {
			return err
		}
		u, _ := tx.GetUser("u2")
		u.LockedUntil = ptr(at(10 * time.Hour))
		return tx.SaveUser(u)
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		got, err := tx.GetTransfer("t1")
		if err == nil && !reflect.DeepEqual(got, sched) {
			t.Errorf("after SaveTransfer %+v", got)
		}
		// Next due: the lock expiry at +10h comes before the refund of t2 at +25h.
		next, err := tx.NextDue()
		if err == nil && (next == nil || !next.Equal(at(10*time.Hour))) {
			t.Errorf("NextDue %v, want %v", next, at(10*time.Hour))
		}
		return err
	})
	// Nothing due at all.
	update(t, s, func(tx walletctl.StoreTx) error {
		for _, tr := range []*walletctl.Transfer{arrived} {
			tr.Status = walletctl.TransferRefunded
			if err := tx.SaveTransfer(tr); err != nil {
				return err
			}
		}
		u, _ := tx.GetUser("u2")
		u.LockedUntil = nil
		return tx.SaveUser(u)
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		next, err := tx.NextDue()
		if err == nil && next != nil {
			t.Errorf("NextDue with nothing due %v", next)
		}
		return err
	})
}

func securityLog(t *testing.T, s walletctl.Store) {
	seed(t, s, 2)
	evs := []*walletctl.SecurityEvent{
		{UserID: "u1", Time: at(0), Event: "password_set"},
		{UserID: "u2", Time: at(time.Second), Event: "password_wrong", Detail: "attempt 1 of 5"},
		{UserID: "u1", Time: at(time.Minute), Event: "password_reset", Detail: "verified"},
	}
	update(t, s, func(tx walletctl.StoreTx) error {
		for _, ev := range evs {
			if err := tx.AppendSecurity(ev); err != nil {
				return err
			}
		}
		return nil
	})
	if !(evs[0].Seq > 0 && evs[1].Seq > evs[0].Seq && evs[2].Seq > evs[1].Seq) {
		t.Errorf("AppendSecurity sequence numbers %d %d %d: want increasing", evs[0].Seq, evs[1].Seq, evs[2].Seq)
	}
	view(t, s, func(tx walletctl.StoreTx) error {
		log, err := tx.SecurityLog("u1")
		if err == nil && !reflect.DeepEqual(log, []walletctl.SecurityEvent{*evs[0], *evs[2]}) {
			t.Errorf("SecurityLog(u1) %+v", log)
		}
		return err
	})
}

func nextID(t *testing.T, s walletctl.Store) {
	got := map[string][]int64{}
	update(t, s, func(tx walletctl.StoreTx) error {
		for _, seq := range []string{"txn", "user", "txn", "other", "txn", "other"} {
			n, err := tx.NextID(seq)
			if err != nil {
				return err
			}
			got[seq] = append(got[seq], n)
		}
		return nil
	})
	if fmt.Sprint(got) != "map[other:[1 2] txn:[1 2 3] user:[1]]" {
		t.Errorf("NextID %v", got)
	}
	// A number once committed is never handed out again.
	var n int64
	update(t, s, func(tx walletctl.StoreTx) error {
		var err error
		n, err = tx.NextID("txn")
		return err
	})
	if n != 4 {
		t.Errorf("NextID after commit %d, want 4", n)
	}
}

var errRefused = errors.New("refused")

func rollback(t *testing.T, s walletctl.Store) {
	seed(t, s, 1)
	err := s.Update(ctx, func(tx walletctl.StoreTx) error {
		if err := tx.CreateUser(user("u2", "13900000002")); err != nil {
			return err
		}
		u, _ := tx.GetUser("u1")
		u.Status = walletctl.StatusFrozen
		if err := tx.SaveUser(u); err != nil {
			return err
		}
		if _, err := tx.NextID("other"); err != nil {
			return err
		}
		return errRefused
	})
	if !errors.Is(err, errRefused) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	view(t, s, func(tx walletctl.StoreTx) error {
		if u, _ := tx.GetUser("u2"); u != nil {
			t.Error("a failed Update kept its insert")
		}
		if u, _ := tx.GetUser("u1"); u == nil || u.Status != walletctl.StatusNormal {
			t.Errorf("a failed Update kept its change: %+v", u)
		}
		return nil
	})
	update(t, s, func(tx walletctl.StoreTx) error {
		n, err := tx.NextID("other")
		if err == nil && n != 1 {
			t.Errorf("transactional sequence after rollback %d, want 1", n)
		}
		return err
	})
}

func viewDoesNotWrite(t *testing.T, s walletctl.Store) {
	_ = s.View(ctx, func(tx walletctl.StoreTx) error {
		return tx.CreateUser(user("u1", "13900000001")) // refused or rolled back, never kept
	})
	view(t, s, func(tx walletctl.StoreTx) error {
		if u, _ := tx.GetUser("u1"); u != nil {
			t.Error("a write inside View was kept")
		}
		return nil
	})
}

func uniqueKeys(t *testing.T, s walletctl.Store) {
	seed(t, s, 2)
	update(t, s, func(tx walletctl.StoreTx) error {
		r := txn("t1", "u1", walletctl.KindPay, walletctl.TxnPending, 1, at(0))
		r.BankKey = "wlt-t1"
		return tx.CreateTxn(r)
	})
	dupIdem := txn("t2", "u1", walletctl.KindPay, walletctl.TxnPending, 1, at(0))
	dupIdem.IdempotencyKey = "auto:t1"
	dupBank := txn("t3", "u1", walletctl.KindPay, walletctl.TxnPending, 1, at(0))
	dupBank.BankKey = "wlt-t1"
	twoInternal := []*walletctl.TxnRecord{txn("t4", "u1", walletctl.KindTransfer, walletctl.TxnSucceeded, 1, at(0)),
		txn("t5", "u1", walletctl.KindTransfer, walletctl.TxnSucceeded, 1, at(0))}
	for name, fn := range map[string]func(walletctl.StoreTx) error{
		"same txn id":          func(tx walletctl.StoreTx) error { return tx.CreateTxn(txn("t1", "u2", "pay", "pending", 1, at(0))) },
		"same idempotency key": func(tx walletctl.StoreTx) error { return tx.CreateTxn(dupIdem) },
		"same bank key":        func(tx walletctl.StoreTx) error { return tx.CreateTxn(dupBank) },
		"same phone":           func(tx walletctl.StoreTx) error { return tx.CreateUser(user("u3", "13900000001")) },
		"same ID hash": func(tx walletctl.StoreTx) error {
			for _, id := range []string{"u1", "u2"} {
				u, err := tx.GetUser(id)
				if err != nil {
					return err
				}
				u.IDHash = "idhash-same"
				if err := tx.SaveUser(u); err != nil {
					return err
				}
			}
			return nil
		},
		"same card twice for a user": func(tx walletctl.StoreTx) error {
			for _, id := range []string{"c1", "c2"} {
				c := &walletctl.CardRecord{Card: walletctl.Card{ID: id, UserID: "u1", Bank: "ICBC", BankName: "工商银行", CardType: "debit", BoundAt: at(0)},
					CardHash: "cardhash-same", CardNoMasked: "622202*********1234", Agreement: "agr_" + id}
				if err := tx.CreateCard(c); err != nil {
					return err
				}
			}
			return nil
		},
	} {
		if err := s.Update(ctx, fn); err == nil {
			t.Errorf("%s: stored", name)
		}
	}
	// Many txns without a bank key are fine (NULL is not a duplicate).
	update(t, s, func(tx walletctl.StoreTx) error {
		for _, r := range twoInternal {
			if err := tx.CreateTxn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// concurrentUpdates: many goroutines read-modify-write the same rows; serialised (or retried)
// transactions make every change land exactly once.
func concurrentUpdates(t *testing.T, s walletctl.Store) {
	seed(t, s, 1)
	const n = 24
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := s.Update(ctx, func(tx walletctl.StoreTx) error {
				u, err := tx.GetUser("u1")
				if err != nil {
					return err
				}
				u.FailedAttempts++ // a lost update would show as a lower count
				if err := tx.SaveUser(u); err != nil {
					return err
				}
				id, err := tx.NextID("txn")
				if err != nil {
					return err
				}
				tid := fmt.Sprintf("t%d", id)
				if err := tx.CreateTxn(txn(tid, "u1", walletctl.KindTopUp, walletctl.TxnSucceeded, 1, at(0))); err != nil {
					return err
				}
				// Nothing here may block on the other callers: a retried fn runs again.
				return tx.Post(tid, []walletctl.Posting{pp("bank:X:clearing", -1), pp("user:u1", 1)})
			})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	view(t, s, func(tx walletctl.StoreTx) error {
		u, err := tx.GetUser("u1")
		if err != nil {
			return err
		}
		if u.FailedAttempts != n {
			t.Errorf("counter %d after %d concurrent increments", u.FailedAttempts, n)
		}
		if b, _ := tx.AccountBalance("user:u1"); b != n {
			t.Errorf("balance %d after %d concurrent postings", b, n)
		}
		list, _ := tx.ListTxns("u1")
		if len(list) != n {
			t.Errorf("%d txns after %d concurrent inserts", len(list), n)
		}
		rep, err := tx.LedgerCheck()
		if err == nil && !rep.Clean() {
			t.Errorf("ledger %+v", rep)
		}
		return err
	})
}

func pp(account string, amount int64) walletctl.Posting {
	return walletctl.Posting{Account: account, Amount: amount}
}
