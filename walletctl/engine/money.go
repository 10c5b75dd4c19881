package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/walletctl"
)

// Ledger accounts. A posting's amount is the change of its account's balance: a user account
// holds what the user owns (never below zero); bank:<code>:clearing goes negative as money comes
// in from that bank's cards and back up as it goes out; every entry sums to zero.
func userAcct(id string) string     { return "user:" + id }
func merchantAcct(id string) string { return "merchant:" + id }
func clearingAcct(bank string) string {
	return "bank:" + bank + ":clearing"
}

const (
	acctTransfers   = "transit:transfers"
	acctWithdrawals = "transit:withdrawals"
	acctFees        = "fees:withdrawal"
	acctRefunds     = "transit:refunds" // merchant refunds on their way to a card
)

func entry(lines ...walletctl.Posting) []walletctl.Posting {
	out := lines[:0:0]
	for _, l := range lines {
		if l.Amount != 0 {
			out = append(out, l)
		}
	}
	return out
}

func p(acct string, amount int64) walletctl.Posting {
	return walletctl.Posting{Account: acct, Amount: amount}
}

// checkLimits applies the anti-fraud limits (velocity, daily) to payments and transfers, and
// the account-class limit to those paid from the balance.
func (e *Engine) checkLimits(tx walletctl.StoreTx, u *walletctl.UserRecord, amount int64, fromBalance bool) error {
	now := e.now()
	kinds := []string{walletctl.KindPay, walletctl.KindTransfer}
	if e.set.VelocityMax > 0 {
		n, err := tx.CountTxns(walletctl.TxnFilter{UserID: u.ID, Kinds: kinds, Since: now.Add(-e.set.VelocityWindow.D() + 1)}) // window (now-w, now]
		if err != nil {
			return err
		}
		if n >= e.set.VelocityMax {
			return withDetails(errf(walletctl.CodeVelocityLimit, "at most %d payments and transfers per %s", e.set.VelocityMax, e.set.VelocityWindow.D()),
				"limit", e.set.VelocityMax, "window", e.set.VelocityWindow.D().String())
		}
	}
	if e.set.DailyLimit > 0 {
		sum, err := tx.Usage(walletctl.UsageFilter{UserID: u.ID, Scope: walletctl.UsagePaidDay, Since: walletctl.UsageDay(now)})
		if err != nil {
			return err
		}
		if sum+amount > e.set.DailyLimit {
			return withDetails(errf(walletctl.CodeDailyLimit, "payments and transfers today would exceed the daily limit of %s CNY", walletctl.FormatAmount(e.set.DailyLimit)),
				"limit", e.set.DailyLimit, "used", sum)
		}
	}
	if fromBalance {
		limit, period := e.set.ClassLimit(u.Class)
		used, err := e.classUsed(tx, u)
		if err != nil {
			return err
		}
		if used+amount > limit {
			return withDetails(errf(walletctl.CodeClassLimit, "class %d accounts may pay at most %s CNY from balance (%s); %s CNY used",
				u.Class, walletctl.FormatAmount(limit), period, walletctl.FormatAmount(used)),
				"class", int(u.Class), "limit", limit, "used", used, "period", period)
		}
	}
	return nil
}

// checkAmount refuses what no bank would move, before anything is recorded: the bank would
// refuse more than MaxAmount only after the wallet had recorded a pending txn, and sums of larger
// amounts could overflow.
func checkAmount(amount int64) error {
	if amount <= 0 {
		return errf(walletctl.CodeInvalidAmount, "the amount must be more than zero")
	}
	if amount > walletctl.MaxAmount {
		return walletctl.TooLarge(walletctl.FormatAmount(amount) + " CNY")
	}
	return nil
}

// idemKey is the wallet-level key of a movement: the caller's key (scoped to the user) or one
// derived from the txn id.
func idemKey(ctx context.Context, userID, txnID string) string {
	if k := walletctl.IdempotencyKey(ctx); k != "" {
		return userID + ":" + k
	}
	return "auto:" + txnID
}

// replay returns the txn already recorded under the caller's idempotency key, if any; different
// parameters under the same key are a conflict.
func replay(ctx context.Context, tx walletctl.StoreTx, userID, kind, source string, amount int64, counterparty string) (*walletctl.TxnRecord, error) {
	k := walletctl.IdempotencyKey(ctx)
	if k == "" {
		return nil, nil
	}
	t, err := tx.TxnByIdemKey(userID + ":" + k)
	if err != nil || t == nil {
		return nil, err
	}
	if t.Kind != kind || t.Amount != amount || t.Source != source || t.Counterparty != counterparty {
		return nil, withDetails(errf(walletctl.CodeConflict, "idempotency key %q was used for a different operation (%s)", k, t.ID), "txn_id", t.ID)
	}
	return t, nil
}

// outcome turns a recorded txn into what the caller of the original operation got: the txn, or
// PENDING, or the failure it settled with.
func outcome(t *walletctl.TxnRecord) (*walletctl.Txn, error) {
	pub := t.Public()
	switch t.Status {
	case walletctl.TxnPending:
		return &pub, pendingErr(t)
	case walletctl.TxnFailed:
		e := errf(t.FailureCode, "%s %s failed: %s", t.Kind, t.ID, t.Note)
		if e.Hint == "" && t.FailureCode == "" {
			e.Code = walletctl.CodeInternal
		}
		return &pub, withDetails(e, "txn_id", t.ID)
	}
	return &pub, nil
}

func pendingErr(t *walletctl.TxnRecord) *walletctl.Error {
	return withDetails(errf(walletctl.CodePending, "%s %s is pending: the bank's answer was lost; it will be settled by the status query or reconcile", t.Kind, t.ID),
		"txn_id", t.ID, "idempotency_key", t.BankKey)
}

// bankMove is a movement backed by the bank: a debit (top-up, card payment) or a credit
// (withdrawal).
type bankMove struct {
	kind         string
	source       string
	counterparty string
	amount       int64 // what the user sees
	fee          int64
	credit       bool
	note         string
	// created runs in the transaction that records the pending txn (a merchant order or refund
	// linking itself to it, so that the two are never apart).
	created func(tx walletctl.StoreTx, rec *walletctl.TxnRecord) error
}

func (m bankMove) bankAmount() int64 { return m.amount - m.fee }

// hold is posted when the txn is created: money leaving the balance is reserved at once so that
// nothing is spent twice while the bank works.
func holdEntry(t *walletctl.TxnRecord) []walletctl.Posting {
	switch t.Kind {
	case walletctl.KindWithdraw:
		return entry(p(userAcct(t.UserID), -t.Amount), p(acctWithdrawals, t.Amount))
	case walletctl.KindRefund: // a merchant refund to a card: out of the merchant's account at once
		return entry(p(merchantAcct(t.Counterparty), -t.Amount), p(acctRefunds, t.Amount))
	}
	return nil
}

// settleEntry is posted when the bank confirms; releaseEntry when it refuses.
func settleEntry(t *walletctl.TxnRecord, bank string) []walletctl.Posting {
	switch t.Kind {
	case walletctl.KindTopUp:
		return entry(p(clearingAcct(bank), -t.Amount), p(userAcct(t.UserID), t.Amount))
	case walletctl.KindPay:
		return entry(p(clearingAcct(bank), -t.Amount), p(merchantAcct(t.Counterparty), t.Amount))
	case walletctl.KindWithdraw:
		return entry(p(acctWithdrawals, -t.Amount), p(clearingAcct(bank), t.Amount-t.Fee), p(acctFees, t.Fee))
	case walletctl.KindRefund:
		return entry(p(acctRefunds, -t.Amount), p(clearingAcct(bank), t.Amount))
	}
	return nil
}

func releaseEntry(t *walletctl.TxnRecord) []walletctl.Posting {
	switch t.Kind {
	case walletctl.KindWithdraw:
		return entry(p(acctWithdrawals, -t.Amount), p(userAcct(t.UserID), t.Amount))
	case walletctl.KindRefund:
		return entry(p(acctRefunds, -t.Amount), p(merchantAcct(t.Counterparty), t.Amount))
	}
	return nil
}

// runBankMove is the shared body of TopUp, Withdraw and card payments, after authorization:
// check (inside the write transaction), record pending, call the bank, settle.
func (e *Engine) runBankMove(ctx context.Context, userID, cardID, hash string, mv movement, m bankMove,
	check func(tx walletctl.StoreTx, u *walletctl.UserRecord, m *bankMove) error) (*walletctl.Txn, error) {
	// A caller's key may arrive twice at once (a retry racing its original, or the same request
	// sent to two servers). Hold it for the whole operation, so that the second waits and replays
	// the first's outcome instead of querying the bank before the first has called it.
	if k := walletctl.IdempotencyKey(ctx); k != "" {
		unlock, err := e.lockCall(ctx, "idem:"+userID+":"+k)
		if err != nil {
			if ctx.Err() != nil {
				return nil, callerGone(ctx)
			}
			return nil, internal(err)
		}
		defer unlock()
	}
	// From the commit of the pending record on, the work must finish whatever the caller does: a
	// record left pending with no bank call behind it is money in limbo until a reconcile. So the
	// caller's cancellation is looked at once, inside the transaction that would write the record,
	// and everything after it (the write, the bank call, the settlement) runs on bctx, which the
	// caller leaving (a client timing out, a dropped connection) does not cancel.
	bctx := context.WithoutCancel(ctx)
	if err := e.bankReady(ctx); err != nil {
		return nil, err
	}
	var rec *walletctl.TxnRecord
	var card *walletctl.CardRecord
	var replayed *walletctl.TxnRecord
	err := e.update(bctx, func(tx walletctl.StoreTx) error {
		u, err := e.recheck(tx, userID, hash, mv)
		if err != nil {
			return err
		}
		if card, err = userCard(tx, userID, cardID); err != nil {
			return err
		}
		if replayed, err = replay(ctx, tx, userID, m.kind, m.source, m.amount, m.counterparty); err != nil || replayed != nil {
			return err
		}
		if check != nil {
			if err := check(tx, u, &m); err != nil {
				return err
			}
		}
		// The last moment at which nothing has changed: a caller that has gone is not served.
		if ctx.Err() != nil {
			return callerGone(ctx)
		}
		id, err := seqID(tx, "txn", "t")
		if err != nil {
			return err
		}
		rec = &walletctl.TxnRecord{Txn: walletctl.Txn{ID: id, Kind: m.kind, Status: walletctl.TxnPending, UserID: userID, Amount: m.amount, Fee: m.fee,
			Counterparty: m.counterparty, Source: m.source, CardMasked: cnid.MaskCardGrouped(card.CardNoMasked), IdempotencyKey: idemKey(ctx, userID, id),
			Note: m.note, CreatedAt: e.now()}, CardID: card.ID, BankKey: e.prefix + id}
		if err := tx.CreateTxn(rec); err != nil {
			return err
		}
		if m.created != nil {
			if err := m.created(tx, rec); err != nil {
				return err
			}
		}
		if h := holdEntry(rec); h != nil {
			return tx.Post(rec.ID, h)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if replayed != nil {
		if replayed.Status == walletctl.TxnPending {
			e.query(bctx, replayed.ID)
			if err := e.view(bctx, func(tx walletctl.StoreTx) error {
				var err error
				replayed, err = tx.GetTxn(replayed.ID)
				return err
			}); err != nil {
				return nil, err
			}
		}
		return outcome(replayed)
	}
	bt, settled, err := e.callBank(bctx, rec, card, m)
	if settled != nil {
		return outcome(settled)
	}
	return e.settle(bctx, rec, card.Bank, sentFor(rec, card), bt, err)
}

// callerGone is the answer to a caller that gave up (its ctx is done) before anything changed:
// no txn was recorded and the bank was not called, so a retry is safe.
func callerGone(ctx context.Context) *walletctl.Error {
	return &walletctl.Error{Code: walletctl.CodeNetwork,
		Message: fmt.Sprintf("the caller gave up (%v) before the bank was called; nothing was done", ctx.Err()),
		Hint:    "nothing was recorded or charged: it is safe to retry", Err: ctx.Err()}
}

// settle records the bank's answer for a pending txn. It is idempotent: a txn that is no longer
// pending is left alone (another path settled it first).
// A bank record that does not match what was sent (want) settles nothing: the txn stays pending
// with BANK_ANSWER_MISMATCH.
func (e *Engine) settle(ctx context.Context, sentRec *walletctl.TxnRecord, bank string, want sent, bt *bankapi.Transaction, callErr error) (*walletctl.Txn, error) {
	txnID := sentRec.ID
	var failure *walletctl.Error
	succeeded := false
	if callErr == nil && bt != nil {
		if diffs := want.diff(bt); len(diffs) > 0 {
			if err := e.noteMismatch(ctx, txnID, diffs); err != nil {
				return nil, err
			}
			pub := sentRec.Public()
			pub.Status = walletctl.TxnPending
			return &pub, mismatchErr(sentRec, diffs)
		}
	}
	switch {
	case callErr != nil && damagedBank(callErr) != nil:
		// The sandbox's bank found its own file damaged while it worked and did nothing of it
		// (bankReady passed: the damage is deeper in bank.db): failed, nothing charged, and the
		// user hears about the file.
		failure = damagedBank(callErr)
	case callErr != nil:
		be, ok := bankapi.AsError(callErr)
		if !ok || be.Code == bankapi.CodeOutcomeUnknown || be.Code == bankapi.CodeDuplicate {
			var rec *walletctl.TxnRecord
			if err := e.view(ctx, func(tx walletctl.StoreTx) error {
				var err error
				rec, err = tx.GetTxn(txnID)
				return err
			}); err != nil {
				return nil, err
			}
			pub := rec.Public()
			pe := pendingErr(rec) // no fault detail: an unknown outcome cannot know it (see bankError)
			pe.Err = callErr
			return &pub, pe
		}
		failure = bankError(callErr, walletctl.CodePending)
	case bt.Status == walletctl.TxnSucceeded:
		succeeded = true
	default:
		if bt.Error != nil {
			failure = bankError(bt.Error, walletctl.CodePending)
		} else {
			failure = errf(walletctl.CodeInternal, "the bank reported the txn failed without a reason")
		}
	}
	var out *walletctl.TxnRecord
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		rec, err := tx.GetTxn(txnID)
		if err != nil {
			return err
		}
		out = rec
		if rec.Status != walletctl.TxnPending {
			return nil
		}
		now := e.now()
		rec.SettledAt = &now
		if succeeded {
			rec.Status, rec.BankTxnID = walletctl.TxnSucceeded, bt.TxnID
			bankTime := bt.Time
			if bankTime.IsZero() {
				bankTime = now
			}
			rec.BankTime = &bankTime
			if err := tx.Post(rec.ID, settleEntry(rec, bank)); err != nil {
				return err
			}
		} else {
			rec.Status, rec.FailureCode = walletctl.TxnFailed, failure.Code
			rec.Note = failure.Message
			if rc, ok := failure.Details["resp_code"]; ok {
				rec.Note += fmt.Sprintf(" (bank %v %v)", failure.Details["bank_code"], rc)
			}
			if r := releaseEntry(rec); r != nil {
				if err := tx.Post(rec.ID, r); err != nil {
					return err
				}
			}
		}
		if err := tx.SaveTxn(rec); err != nil {
			return err
		}
		return e.settled(tx, rec)
	})
	if err != nil {
		return nil, err
	}
	pub := out.Public()
	if out.Status == walletctl.TxnFailed {
		if failure == nil { // settled as failed by someone else meanwhile
			return outcome(out)
		}
		return &pub, withDetails(failure, "txn_id", out.ID)
	}
	if out.Status == walletctl.TxnPending {
		return &pub, pendingErr(out)
	}
	return &pub, nil
}

// queryMismatch is query's answer for a txn whose bank record does not match what was sent.
const queryMismatch = "mismatch"

// query asks the bank for the outcome of a pending txn and settles it when the bank knows.
// It returns TxnSucceeded, TxnFailed, TxnPending, or queryMismatch (still pending: the bank's
// record is not the one sent).
func (e *Engine) query(ctx context.Context, txnID string) string {
	unlockLocal, free := e.calls.tryLock(txnID)
	if !free {
		return walletctl.TxnPending // this process is calling the bank for it right now
	}
	defer unlockLocal()
	if g, shared := e.store.(walletctl.CallGuard); shared {
		unlock, free, err := g.TryLockCall(ctx, txnID)
		if err != nil || !free {
			return walletctl.TxnPending // another process is calling the bank for it (or we cannot tell)
		}
		defer unlock()
	}
	var rec *walletctl.TxnRecord
	var card *walletctl.CardRecord
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		if rec, err = tx.GetTxn(txnID); err != nil || rec == nil {
			return err
		}
		card, err = tx.GetCard(rec.CardID)
		return err
	}); err != nil || rec == nil || rec.Status != walletctl.TxnPending || rec.BankKey == "" {
		return walletctl.TxnPending
	}
	bank := "unknown" // the card is gone (it cannot be unbound while pending, so only by hand)
	if card != nil {
		bank = card.Bank
	}
	bt, err := e.bank.Transaction(ctx, rec.BankKey)
	// What the bank said is recorded even if the caller has gone meanwhile.
	ctx = context.WithoutCancel(ctx)
	if err != nil {
		be, ok := bankapi.AsError(err)
		if !ok || be.Code != bankapi.CodeNotFound {
			return walletctl.TxnPending // still unknown: never guess
		}
		// The bank never processed it: fail it and release any hold.
		if _, serr := e.settleNotFound(ctx, rec.ID); serr != nil {
			return walletctl.TxnPending
		}
		return walletctl.TxnFailed
	}
	t, err := e.settle(ctx, rec, bank, sentFor(rec, card), bt, nil)
	if walletctl.ErrorCode(err) == walletctl.CodeBankAnswerMismatch {
		return queryMismatch
	}
	if t != nil && t.Status == walletctl.TxnSucceeded {
		return walletctl.TxnSucceeded
	}
	return walletctl.TxnFailed
}

func (e *Engine) settleNotFound(ctx context.Context, txnID string) (*walletctl.TxnRecord, error) {
	var out *walletctl.TxnRecord
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		rec, err := tx.GetTxn(txnID)
		if err != nil || rec == nil || rec.Status != walletctl.TxnPending {
			out = rec
			return err
		}
		now := e.now()
		rec.Status, rec.FailureCode, rec.SettledAt = walletctl.TxnFailed, walletctl.CodeBankUnavailable, &now
		rec.Note = "the bank never received it (no record under its idempotency key); nothing was charged"
		if r := releaseEntry(rec); r != nil {
			if err := tx.Post(rec.ID, r); err != nil {
				return err
			}
		}
		out = rec
		if err := tx.SaveTxn(rec); err != nil {
			return err
		}
		return e.settled(tx, rec)
	})
	return out, err
}

// TopUp moves money from a bound card into the balance (a bank debit).
func (e *Engine) TopUp(ctx context.Context, userID, cardID string, amount int64, password string) (*walletctl.Txn, error) {
	if err := checkAmount(amount); err != nil {
		return nil, err
	}
	hash, err := e.authorize(ctx, userID, password, moveIn)
	if err != nil {
		return nil, err
	}
	return e.runBankMove(ctx, userID, cardID, hash, moveIn,
		bankMove{kind: walletctl.KindTopUp, source: "card:" + cardID, amount: amount}, nil)
}

// withdrawFee applies the fee rule: 0.1 % (rounded half up to the fen) of the part of the amount
// above what is left of the lifetime free quota, at least the minimum fee when any part is
// charged.
func (e *Engine) withdrawFee(usedQuota, amount int64) int64 {
	free := e.set.WithdrawFreeQuota - usedQuota
	if free < 0 {
		free = 0
	}
	charged := amount - free
	if charged <= 0 {
		return 0
	}
	fee := (charged*e.set.WithdrawFeeBasisPoints + 5000) / 10000
	if fee < e.set.WithdrawFeeMin {
		fee = e.set.WithdrawFeeMin
	}
	return fee
}

// Withdraw moves money from the balance to a bound card of the user's own (a bank credit of the
// amount less the fee). It does not count against the account-class limit.
func (e *Engine) Withdraw(ctx context.Context, userID, cardID string, amount int64, password string) (*walletctl.Txn, error) {
	if err := checkAmount(amount); err != nil {
		return nil, err
	}
	hash, err := e.authorize(ctx, userID, password, moveIn)
	if err != nil {
		return nil, err
	}
	return e.runBankMove(ctx, userID, cardID, hash, moveIn,
		bankMove{kind: walletctl.KindWithdraw, source: "balance", counterparty: "card:" + cardID, amount: amount, credit: true},
		func(tx walletctl.StoreTx, u *walletctl.UserRecord, m *bankMove) error {
			// Per person: every account with the user's ID number (an unverified user has none).
			used, err := tx.Usage(walletctl.UsageFilter{IDHash: u.IDHash, Scope: walletctl.UsageWithdrawn})
			if err != nil {
				return err
			}
			m.fee = e.withdrawFee(used, m.amount)
			if m.fee >= m.amount {
				return withDetails(errf(walletctl.CodeInvalidAmount, "the amount must be more than the fee of %s CNY", walletctl.FormatAmount(m.fee)), "fee", m.fee)
			}
			if m.fee > 0 {
				m.note = fmt.Sprintf("fee %s CNY; %s CNY to the card", walletctl.FormatAmount(m.fee), walletctl.FormatAmount(m.amount-m.fee))
			}
			return e.needBalance(tx, u, m.amount)
		})
}

// spendBalance is what every payment from the balance checks first (the class limits, then the
// balance) and the id and time of the txn it makes.
func (e *Engine) spendBalance(tx walletctl.StoreTx, u *walletctl.UserRecord, amount int64) (id string, now time.Time, err error) {
	if err = e.checkLimits(tx, u, amount, true); err != nil {
		return "", now, err
	}
	if err = e.needBalance(tx, u, amount); err != nil {
		return "", now, err
	}
	if id, err = seqID(tx, "txn", "t"); err != nil {
		return "", now, err
	}
	return id, e.now(), nil
}

func (e *Engine) needBalance(tx walletctl.StoreTx, u *walletctl.UserRecord, amount int64) error {
	bal, err := tx.AccountBalance(userAcct(u.ID))
	if err != nil {
		return err
	}
	if bal < amount {
		return withDetails(errf(walletctl.CodeInsufficientBalance, "the balance is %s CNY, %s CNY needed", walletctl.FormatAmount(bal), walletctl.FormatAmount(amount)),
			"available", bal, "needed", amount)
	}
	return nil
}

// Pay pays a merchant from the balance or from a bound card.
func (e *Engine) Pay(ctx context.Context, req walletctl.PayRequest) (*walletctl.Txn, error) {
	if err := checkAmount(req.Amount); err != nil {
		return nil, err
	}
	m := merchant(req.Merchant)
	if m == nil {
		return nil, errf(walletctl.CodeNotFound, "no merchant %q (see: walletctl merchant list)", req.Merchant)
	}
	source := req.Source
	if source == "" {
		source = "balance"
	}
	cardID := ""
	if source != "balance" {
		if len(source) <= 5 || source[:5] != "card:" {
			return nil, errf(walletctl.CodeInvalidArgument, "source must be balance or card:<card id>, not %q", source)
		}
		cardID = source[5:]
	}
	hash, err := e.authorize(ctx, req.UserID, req.Password, movePay)
	if err != nil {
		return nil, err
	}
	if cardID != "" {
		return e.runBankMove(ctx, req.UserID, cardID, hash, movePay,
			bankMove{kind: walletctl.KindPay, source: source, counterparty: m.ID, amount: req.Amount, note: m.Name},
			func(tx walletctl.StoreTx, u *walletctl.UserRecord, _ *bankMove) error {
				return e.checkLimits(tx, u, req.Amount, false)
			})
	}
	var out *walletctl.TxnRecord
	err = e.update(ctx, func(tx walletctl.StoreTx) error {
		u, err := e.recheck(tx, req.UserID, hash, movePay)
		if err != nil {
			return err
		}
		if out, err = replay(ctx, tx, u.ID, walletctl.KindPay, source, req.Amount, m.ID); err != nil || out != nil {
			return err
		}
		id, now, err := e.spendBalance(tx, u, req.Amount)
		if err != nil {
			return err
		}
		out = &walletctl.TxnRecord{Txn: walletctl.Txn{ID: id, Kind: walletctl.KindPay, Status: walletctl.TxnSucceeded, UserID: u.ID, Amount: req.Amount,
			Counterparty: m.ID, Source: source, IdempotencyKey: idemKey(ctx, u.ID, id), Note: m.Name, CreatedAt: now, SettledAt: &now}}
		if err := tx.CreateTxn(out); err != nil {
			return err
		}
		return tx.Post(id, entry(p(userAcct(u.ID), -req.Amount), p(merchantAcct(m.ID), req.Amount)))
	})
	if err != nil {
		return nil, err
	}
	return outcome(out)
}

// Balance reports what the user holds and what is in flight.
func (e *Engine) Balance(ctx context.Context, userID string) (*walletctl.Balance, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	b := &walletctl.Balance{UserID: userID, Currency: "CNY"}
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		if _, err := getUser(tx, userID); err != nil {
			return err
		}
		var err error
		if b.Available, err = tx.AccountBalance(userAcct(userID)); err != nil {
			return err
		}
		// What is still open, never the history: a balance read costs the same after a million
		// operations (DESIGN.md section 12).
		b.Pending, b.InTransit, b.Incoming, err = tx.OpenAmounts(userID)
		return err
	})
	return b, err
}

// Transactions lists the user's txns (and transfers sent to them), oldest first, each with its
// direction for this user: top-ups, refunds and transfers sent to them are "in" (a transfer's
// counterparty is then the payer), the rest "out". A transfer carries its transfer status too
// (scheduled, arrived, accepted, ...).
func (e *Engine) Transactions(ctx context.Context, userID string, p walletctl.Page) (*walletctl.List[walletctl.Txn], error) {
	return listOfUser(e, ctx, userID, func(tx walletctl.StoreTx) ([]walletctl.Txn, bool, error) {
		recs, more, err := tx.PageTxns(userID, p)
		if err != nil {
			return nil, false, err
		}
		out := make([]walletctl.Txn, 0, len(recs))
		for i := range recs {
			t, err := forUser(tx, &recs[i], userID)
			if err != nil {
				return nil, false, err
			}
			out = append(out, t)
		}
		return out, more, nil
	})
}

// forUser is the txn as the user who lists or shows it sees it: its direction for them (top-ups,
// refunds and transfers received are "in"; a received transfer's counterparty is the payer) and,
// for a transfer, the transfer's own status.
func forUser(tx walletctl.StoreTx, r *walletctl.TxnRecord, userID string) (walletctl.Txn, error) {
	t := r.Public()
	t.Direction = walletctl.DirectionOut
	if t.Kind == walletctl.KindTopUp || t.Kind == walletctl.KindRefund {
		t.Direction = walletctl.DirectionIn
	}
	if t.Kind == walletctl.KindTransfer {
		if t.UserID != userID {
			t.Direction, t.Counterparty = walletctl.DirectionIn, t.UserID
		}
		tr, err := tx.GetTransfer(t.ID)
		if err != nil {
			return t, err
		}
		if tr != nil {
			t.TransferStatus = tr.Status
		}
	}
	return t, nil
}

// listOfUser is the common path of the user's lists: run due work, check the user exists, read.
// It never returns a nil slice, so JSON shows [] for an empty list.
func listOfUser[T any](e *Engine, ctx context.Context, userID string, list func(walletctl.StoreTx) ([]T, bool, error)) (*walletctl.List[T], error) {
	return pageOf(e, ctx, func(tx walletctl.StoreTx) ([]T, bool, error) {
		if _, err := getUser(tx, userID); err != nil {
			return nil, false, err
		}
		return list(tx)
	})
}

// pageOf reads one page of a list in one read snapshot, after running what fell due.
func pageOf[T any](e *Engine, ctx context.Context, list func(walletctl.StoreTx) ([]T, bool, error)) (*walletctl.List[T], error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	out := &walletctl.List[T]{Data: []T{}}
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		items, more, err := list(tx)
		out.Data, out.HasMore = append(out.Data, items...), more
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Transaction shows one txn with its ledger postings, as the user sees it (forUser). A pending
// bank-backed txn is first settled by a status query when the bank knows its outcome.
func (e *Engine) Transaction(ctx context.Context, userID, txnID string) (*walletctl.Txn, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	get := func() (*walletctl.TxnRecord, error) {
		var rec *walletctl.TxnRecord
		err := e.view(ctx, func(tx walletctl.StoreTx) error {
			var err error
			rec, err = tx.GetTxn(txnID)
			if err != nil {
				return err
			}
			if rec == nil || !(rec.UserID == userID || (rec.Kind == walletctl.KindTransfer && rec.Counterparty == userID)) {
				return errf(walletctl.CodeNotFound, "no transaction %q for %s", txnID, userID)
			}
			rec.Postings, err = tx.Postings(txnID)
			return err
		})
		return rec, err
	}
	rec, err := get()
	if err != nil {
		return nil, err
	}
	if rec.Status == walletctl.TxnPending && rec.BankKey != "" {
		e.query(ctx, txnID)
		if rec, err = get(); err != nil {
			return nil, err
		}
	}
	var out walletctl.Txn
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		out, err = forUser(tx, rec, userID)
		return err
	}); err != nil {
		return nil, err
	}
	if out.Postings == nil {
		out.Postings = []walletctl.Posting{}
	}
	return &out, nil
}

// callBank sends the debit or credit of a pending txn. On a store that several processes share
// (walletctl.CallGuard) it holds the txn's call lock and first re-reads the txn: if another
// process's status query has settled it meanwhile (the bank had not seen it), the bank is not
// called and the settled record is returned instead.
func (e *Engine) callBank(ctx context.Context, rec *walletctl.TxnRecord, card *walletctl.CardRecord, m bankMove) (*bankapi.Transaction, *walletctl.TxnRecord, error) {
	// The pending record is committed before this lock is taken, so a status query may have
	// slipped in between and settled it (as failed: the bank had not seen it yet). Once the lock
	// is held, look again, and never send a txn that is no longer pending.
	unlock, err := e.lockCall(ctx, rec.ID)
	if err != nil {
		return nil, nil, err // not sent: it stays pending, and the status query fails it
	}
	defer unlock()
	var cur *walletctl.TxnRecord
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		cur, err = tx.GetTxn(rec.ID)
		return err
	}); err != nil {
		return nil, nil, err
	}
	if cur != nil && cur.Status != walletctl.TxnPending {
		return nil, cur, nil
	}
	if m.credit {
		bt, err := e.bank.Credit(ctx, rec.BankKey, bankapi.MoneyRequest{Agreement: card.Agreement, Amount: m.bankAmount(), Currency: bankapi.Currency})
		return bt, nil, err
	}
	bt, err := e.bank.Debit(ctx, rec.BankKey, bankapi.MoneyRequest{Agreement: card.Agreement, Amount: m.amount, Currency: bankapi.Currency})
	return bt, nil, err
}

// lockCall takes the named call lock in this process and, on a store that several processes
// share, across them (walletctl.CallGuard), waiting for whoever holds it.
func (e *Engine) lockCall(ctx context.Context, name string) (func(), error) {
	unlockLocal := e.calls.lock(name)
	g, shared := e.store.(walletctl.CallGuard)
	if !shared {
		return unlockLocal, nil
	}
	unlockShared, err := g.LockCall(ctx, name)
	if err != nil {
		unlockLocal()
		return nil, err
	}
	return func() { unlockShared(); unlockLocal() }, nil
}
