package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// Reconcile settles every pending bank-backed txn by asking the bank for its outcome, then matches
// the bank's statement for the date (Shanghai calendar day; "" = today) line by line against the
// wallet's txns by idempotency key, and checks the ledger invariant.
func (e *Engine) Reconcile(ctx context.Context, date string) (*walletctl.ReconcileReport, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	day, rep, err := e.reconcileDay(date)
	if err != nil {
		return nil, err
	}

	var pending []walletctl.TxnRecord
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		pending, err = tx.PendingBankTxns()
		return err
	}); err != nil {
		return nil, err
	}
	for _, t := range pending {
		rep.Checked++
		switch e.query(ctx, t.ID) {
		case walletctl.TxnSucceeded:
			rep.Settled++
		case walletctl.TxnFailed:
			rep.Failed++
		case queryMismatch:
			rep.StillPending++
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("%s: the bank's record under key %s does not match what the wallet sent; left pending", t.ID, t.BankKey))
		default:
			rep.StillPending++
		}
	}

	ledger, err := e.agreement(ctx, rep, day, false)
	if err != nil {
		return nil, err
	}
	if ledger.Clean() {
		// The next audit starts here. Recording it is what keeps the next reconcile's audit to
		// the postings since; when it cannot be recorded (a read-only home) the next one
		// simply checks more, so its failure changes nothing of this answer.
		e.update(ctx, func(tx walletctl.StoreTx) error { return tx.MarkLedgerAudited(ledger.Upto) })
	}
	return rep, nil
}

// ReconcileDryRun is what Reconcile would report for date, changing nothing (walletctl sandbox
// check): no due work runs, pending txns are counted as still pending (Reconcile would ask the
// bank about them), the bank's statement is matched against the wallet's txns with Reconcile's
// own comparison, the ledger audited, and no audit is recorded. Its bank should read the
// statement without side effects of its own (the sandbox's in-process bank reads its records).
func (e *Engine) ReconcileDryRun(ctx context.Context, date string) (*walletctl.ReconcileReport, error) {
	day, rep, err := e.reconcileDay(date)
	if err != nil {
		return nil, err
	}
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		pending, err := tx.PendingBankTxns()
		rep.Checked, rep.StillPending = len(pending), len(pending)
		return err
	}); err != nil {
		return nil, err
	}
	if _, err := e.agreement(ctx, rep, day, true); err != nil {
		return nil, err
	}
	return rep, nil
}

// agreement matches the bank's statement of rep.Date (day) against the wallet's txns line by
// line, by idempotency key, and audits the ledger, adding what disagrees to rep. With dry, a
// txn still pending in the wallet is left out of the match: a reconcile would have settled it
// first (rep counts it as pending).
func (e *Engine) agreement(ctx context.Context, rep *walletctl.ReconcileReport, day time.Time, dry bool) (*walletctl.LedgerReport, error) {
	st, err := e.bank.Statement(ctx, rep.Date)
	if err != nil {
		return nil, bankError(err, walletctl.CodeNetwork)
	}
	var wallet []walletctl.TxnRecord
	var ledger *walletctl.LedgerReport
	seen := map[string]bool{}
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		for _, line := range st.Transactions {
			seen[line.IdempotencyKey] = true
			rec, err := tx.TxnByBankKey(line.IdempotencyKey)
			if err != nil {
				return err
			}
			if rec == nil {
				rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("bank %s %s %s CNY (key %s) has no wallet txn",
					line.TxnID, line.Kind, walletctl.FormatAmount(line.Amount), line.IdempotencyKey))
				continue
			}
			if dry && rec.Status == walletctl.TxnPending {
				continue
			}
			card, err := tx.GetCard(rec.CardID)
			if err != nil {
				return err
			}
			sent := sentFor(rec, card)
			want := sent.amount
			switch diffs := sent.diff(&line); {
			case len(diffs) > 0 && line.Amount == want:
				rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("%s: bank %s is not what the wallet sent (%s)", rec.ID, line.TxnID, strings.Join(diffs, "; ")))
			case line.Status != rec.Status:
				rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("%s: wallet says %s, bank %s says %s", rec.ID, rec.Status, line.TxnID, line.Status))
			case line.Amount != want:
				rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("%s: wallet amount %s CNY, bank %s amount %s CNY", rec.ID,
					walletctl.FormatAmount(want), line.TxnID, walletctl.FormatAmount(line.Amount)))
			default:
				rep.Matched++
			}
		}
		var err error
		if wallet, err = tx.BankTxnsSettledBetween(day, day.Add(24*time.Hour)); err != nil {
			return err
		}
		ledger, err = tx.LedgerCheck()
		return err
	}); err != nil {
		return nil, err
	}
	for _, t := range wallet {
		if t.Status == walletctl.TxnSucceeded && !seen[t.BankKey] {
			rep.Mismatches = append(rep.Mismatches, fmt.Sprintf("%s: wallet %s of %s CNY (key %s) is missing from the bank statement",
				t.ID, t.Kind, walletctl.FormatAmount(t.Amount), t.BankKey))
		}
	}
	rep.LedgerSum = ledger.Sum
	for _, x := range ledger.UnbalancedTxns {
		rep.Mismatches = append(rep.Mismatches, "ledger entry "+x+" does not balance")
	}
	for _, x := range ledger.DriftedAccounts {
		rep.Mismatches = append(rep.Mismatches, "account "+x+" balance differs from its postings")
	}
	for _, x := range ledger.NegativeAccounts {
		rep.Mismatches = append(rep.Mismatches, "account "+x+" is negative")
	}
	return ledger, nil
}

// reconcileDay reads the day a reconcile is for (today on the sandbox's clock when date is empty)
// and starts its report.
func (e *Engine) reconcileDay(date string) (time.Time, *walletctl.ReconcileReport, error) {
	if date == "" {
		date = vclock.Day(e.now())
	}
	day, err := time.ParseInLocation("2006-01-02", date, vclock.Shanghai)
	if err != nil {
		return time.Time{}, nil, errf(walletctl.CodeInvalidArgument, "date must be YYYY-MM-DD, not %q", date)
	}
	return day, &walletctl.ReconcileReport{Date: date, Mismatches: []string{}}, nil
}
