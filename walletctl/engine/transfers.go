package engine

import (
	"context"
	"strings"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// preview resolves the payee and decides whether the transfer needs the payee's name confirmed.
func (e *Engine) preview(tx walletctl.StoreTx, payer *walletctl.UserRecord, to string, amount int64) (*walletctl.UserRecord, *walletctl.TransferPreview, error) {
	payee, err := resolveUser(tx, strings.TrimSpace(to))
	if err != nil {
		return nil, nil, err
	}
	if payee.ID == payer.ID {
		return nil, nil, errf(walletctl.CodeInvalidArgument, "cannot transfer to yourself; to move money to your own card use withdraw")
	}
	if payee.IDHash == "" {
		return nil, nil, errf(walletctl.CodeKYCRequired, "the payee %s has not finished real-name verification and cannot receive transfers", payee.ID)
	}
	known, err := tx.AcceptedBetween(payer.ID, payee.ID)
	if err != nil {
		return nil, nil, err
	}
	pv := &walletctl.TransferPreview{To: payee.ID, PayeeNameMasked: maskName(payee.Name), Stranger: !known, Amount: amount}
	if !known && amount >= e.set.ConfirmThreshold {
		pv.NeedsConfirmation = true
		pv.ConfirmationReason = "first transfer to this person and at least " + walletctl.FormatAmount(e.set.ConfirmThreshold) +
			" CNY: confirm who they are another way, then give their full real name"
	}
	return payee, pv, nil
}

// PreviewTransfer shows who the payee is (masked real name) and whether the transfer needs
// explicit confirmation, before the payer commits to it.
func (e *Engine) PreviewTransfer(ctx context.Context, userID, to string, amount int64) (*walletctl.TransferPreview, error) {
	if err := checkAmount(amount); err != nil {
		return nil, err
	}
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var out *walletctl.TransferPreview
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		_, out, err = e.preview(tx, u, to, amount)
		return err
	})
	return out, err
}

func (e *Engine) delay(d string) (string, time.Duration, error) {
	switch d {
	case "", "none", "0":
		return "none", 0, nil
	case "2h":
		return "2h", e.set.Delay2h.D(), nil
	case "24h", "next-day", "nextday":
		return "24h", e.set.DelayNextDay.D(), nil
	}
	return "", 0, errf(walletctl.CodeInvalidArgument, "delay must be none, 2h or 24h, not %q", d)
}

// Transfer sends money to another verified user. The money leaves the payer at once into
// transit; the payee accepts it after it arrives; a delayed transfer can be cancelled before it
// arrives; one not accepted within the accept window goes back to the payer.
func (e *Engine) Transfer(ctx context.Context, req walletctl.TransferRequest) (*walletctl.Transfer, error) {
	if err := checkAmount(req.Amount); err != nil {
		return nil, err
	}
	delayName, delay, err := e.delay(req.Delay)
	if err != nil {
		return nil, err
	}
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	// Who is being paid comes before the password: the payer must see it before committing.
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		u, err := getUser(tx, req.UserID)
		if err != nil {
			return err
		}
		if err := checkStatus(u, movePay); err != nil {
			return err
		}
		payee, pv, err := e.preview(tx, u, req.To, req.Amount)
		if err != nil {
			return err
		}
		return e.confirmPayee(payee, pv, req.ConfirmPayee)
	}); err != nil {
		return nil, err
	}
	hash, err := e.authorize(ctx, req.UserID, req.Password, movePay)
	if err != nil {
		return nil, err
	}
	var out *walletctl.Transfer
	err = e.update(ctx, func(tx walletctl.StoreTx) error {
		u, err := e.recheck(tx, req.UserID, hash, movePay)
		if err != nil {
			return err
		}
		payee, pv, err := e.preview(tx, u, req.To, req.Amount)
		if err != nil {
			return err
		}
		if err := e.confirmPayee(payee, pv, req.ConfirmPayee); err != nil {
			return err
		}
		if prev, err := replay(ctx, tx, u.ID, walletctl.KindTransfer, "balance", req.Amount, payee.ID); err != nil {
			return err
		} else if prev != nil {
			out, err = tx.GetTransfer(prev.ID)
			return err
		}
		id, now, err := e.spendBalance(tx, u, req.Amount)
		if err != nil {
			return err
		}
		rec := &walletctl.TxnRecord{Txn: walletctl.Txn{ID: id, Kind: walletctl.KindTransfer, Status: walletctl.TxnPending, UserID: u.ID, Amount: req.Amount,
			Counterparty: payee.ID, Source: "balance", IdempotencyKey: idemKey(ctx, u.ID, id), Note: "to " + payee.ID + " " + pv.PayeeNameMasked, CreatedAt: now}}
		if err := tx.CreateTxn(rec); err != nil {
			return err
		}
		if err := tx.Post(id, entry(p(userAcct(u.ID), -req.Amount), p(acctTransfers, req.Amount))); err != nil {
			return err
		}
		arrives := now.Add(delay)
		out = &walletctl.Transfer{ID: id, From: u.ID, To: payee.ID, PayeeNameMasked: pv.PayeeNameMasked, Amount: req.Amount,
			Status: walletctl.TransferArrived, Delay: delayName, CreatedAt: now, ArrivesAt: arrives, RefundAt: arrives.Add(e.set.AcceptWindow.D())}
		if delay > 0 {
			out.Status = walletctl.TransferScheduled
		}
		if err := tx.CreateTransfer(out); err != nil {
			return err
		}
		if pv.NeedsConfirmation {
			return e.logEvent(tx, u.ID, "large_transfer_confirmed", id+" "+walletctl.FormatAmount(req.Amount)+" CNY to "+payee.ID+" "+pv.PayeeNameMasked+", payee name confirmed")
		}
		return nil
	})
	return out, err
}

func (e *Engine) confirmPayee(payee *walletctl.UserRecord, pv *walletctl.TransferPreview, given string) error {
	given = strings.TrimSpace(given)
	if given != "" && given != payee.Name {
		return withDetails(errf(walletctl.CodePayeeMismatch, "the name given is not the payee's real name (%s)", pv.PayeeNameMasked),
			"payee", pv.To, "payee_name_masked", pv.PayeeNameMasked)
	}
	if pv.NeedsConfirmation && given == "" {
		return withDetails(errf(walletctl.CodePayeeConfirm, "%s", "transfer to "+pv.To+" ("+pv.PayeeNameMasked+") needs confirmation: "+pv.ConfirmationReason),
			"payee", pv.To, "payee_name_masked", pv.PayeeNameMasked, "threshold", e.set.ConfirmThreshold)
	}
	return nil
}

// returnTransfer gives a transfer's money back to the payer (cancelled or not accepted in time)
// as a refund txn of its own.
func (e *Engine) returnTransfer(tx walletctl.StoreTx, tr *walletctl.Transfer, status string, at time.Time) error {
	rec, err := tx.GetTxn(tr.ID)
	if err != nil {
		return err
	}
	id, err := seqID(tx, "txn", "t")
	if err != nil {
		return err
	}
	why := "not accepted within " + e.set.AcceptWindow.D().String()
	code := "TRANSFER_REFUNDED"
	if status == walletctl.TransferCancelled {
		why, code = "cancelled by the payer", "TRANSFER_CANCELLED"
	}
	now := e.now()
	ref := &walletctl.TxnRecord{Txn: walletctl.Txn{ID: id, Kind: walletctl.KindRefund, Status: walletctl.TxnSucceeded, UserID: tr.From, Amount: tr.Amount,
		Counterparty: tr.ID, Source: "transfer", IdempotencyKey: "refund:" + tr.ID, Note: "transfer " + tr.ID + " " + why, CreatedAt: at, SettledAt: &now}}
	if err := tx.CreateTxn(ref); err != nil {
		return err
	}
	if err := tx.Post(id, entry(p(acctTransfers, -tr.Amount), p(userAcct(tr.From), tr.Amount))); err != nil {
		return err
	}
	rec.Status, rec.FailureCode, rec.SettledAt, rec.Note = walletctl.TxnFailed, code, &now, rec.Note+"; "+why+", refunded as "+id
	if err := tx.SaveTxn(rec); err != nil {
		return err
	}
	tr.Status, tr.DoneAt = status, &at
	return tx.SaveTransfer(tr)
}

func (e *Engine) transferFor(tx walletctl.StoreTx, id string) (*walletctl.Transfer, error) {
	tr, err := tx.GetTransfer(id)
	if err != nil {
		return nil, err
	}
	if tr == nil {
		return nil, errf(walletctl.CodeNotFound, "no transfer %q", id)
	}
	return tr, nil
}

// changeTransfer runs fn on one transfer, in one transaction after the clock's due work; it must
// be the user's: as its payee, or as its payer (else it is not found, whoever's it is).
func (e *Engine) changeTransfer(ctx context.Context, userID, transferID string, asPayee bool, fn func(tx walletctl.StoreTx, tr *walletctl.Transfer) error) (*walletctl.Transfer, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var out *walletctl.Transfer
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		tr, err := e.transferFor(tx, transferID)
		if err != nil {
			return err
		}
		if asPayee && tr.To != userID {
			return errf(walletctl.CodeNotFound, "no transfer %q to %s", transferID, userID)
		}
		if !asPayee && tr.From != userID {
			return errf(walletctl.CodeNotFound, "no transfer %q from %s", transferID, userID)
		}
		if err := fn(tx, tr); err != nil {
			return err
		}
		out = tr
		return nil
	})
	return out, err
}

// AcceptTransfer credits an arrived transfer to the payee.
func (e *Engine) AcceptTransfer(ctx context.Context, userID, transferID string) (*walletctl.Transfer, error) {
	return e.changeTransfer(ctx, userID, transferID, true, func(tx walletctl.StoreTx, tr *walletctl.Transfer) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		if err := checkStatus(u, moveIn); err != nil {
			return err
		}
		if tr.Status != walletctl.TransferArrived {
			return withDetails(errf(walletctl.CodeTransferState, "transfer %s is %s, not waiting to be accepted", tr.ID, tr.Status), "status", tr.Status)
		}
		now := e.now()
		if err := tx.Post(tr.ID, entry(p(acctTransfers, -tr.Amount), p(userAcct(userID), tr.Amount))); err != nil {
			return err
		}
		rec, err := tx.GetTxn(tr.ID)
		if err != nil {
			return err
		}
		rec.Status, rec.SettledAt = walletctl.TxnSucceeded, &now
		if err := tx.SaveTxn(rec); err != nil {
			return err
		}
		tr.Status, tr.DoneAt = walletctl.TransferAccepted, &now
		return tx.SaveTransfer(tr)
	})
}

// CancelTransfer takes back a delayed transfer before it arrives.
func (e *Engine) CancelTransfer(ctx context.Context, userID, transferID string) (*walletctl.Transfer, error) {
	return e.changeTransfer(ctx, userID, transferID, false, func(tx walletctl.StoreTx, tr *walletctl.Transfer) error {
		if tr.Status != walletctl.TransferScheduled || !e.now().Before(tr.ArrivesAt) {
			return withDetails(errf(walletctl.CodeTransferState, "transfer %s is %s; only a delayed transfer can be cancelled before it arrives", tr.ID, tr.Status),
				"status", tr.Status)
		}
		if err := e.returnTransfer(tx, tr, walletctl.TransferCancelled, e.now()); err != nil {
			return err
		}
		return e.logEvent(tx, userID, "transfer_cancelled", tr.ID)
	})
}

// Transfers lists transfers sent or received by the user.
func (e *Engine) Transfers(ctx context.Context, userID string, p walletctl.Page) (*walletctl.List[walletctl.Transfer], error) {
	return listOfUser(e, ctx, userID, func(tx walletctl.StoreTx) ([]walletctl.Transfer, bool, error) { return tx.PageTransfers(userID, p) })
}

// SecurityLog pages the user's security events, newest first.
func (e *Engine) SecurityLog(ctx context.Context, userID string, p walletctl.Page) (*walletctl.List[walletctl.SecurityEvent], error) {
	return listOfUser(e, ctx, userID, func(tx walletctl.StoreTx) ([]walletctl.SecurityEvent, bool, error) {
		return tx.PageSecurityLog(userID, p)
	})
}
