package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
)

// The wallet trusts no answer about money that it did not check (DESIGN.md section 6): a bank
// that mixes up callers, a sandbox pointed at another bank, or a partner's buggy implementation
// must never settle a txn from someone else's record. Every debit or credit answer, status query
// answer and statement line is compared with what the wallet sent; a difference leaves the txn
// pending with BANK_ANSWER_MISMATCH, and reconcile reports it.

// sent is what the wallet sent the bank for one txn: what every answer about it must repeat.
type sent struct {
	key       string
	kind      string // bankapi.OpDebit or bankapi.OpCredit
	amount    int64  // fen, as the bank sees it (a withdrawal's fee stays with the wallet)
	agreement string // "" when the card is gone: not compared
	bank      string
	last4     string
}

func sentFor(rec *walletctl.TxnRecord, card *walletctl.CardRecord) sent {
	s := sent{key: rec.BankKey, kind: bankapi.OpDebit, amount: rec.Amount}
	if rec.Kind == walletctl.KindWithdraw || rec.Kind == walletctl.KindRefund {
		s.kind, s.amount = bankapi.OpCredit, rec.Amount-rec.Fee
	}
	if card != nil {
		s.agreement, s.bank, s.last4 = card.Agreement, card.Bank, last4(card.CardNoMasked)
	}
	return s
}

// last4 of a full or a stored masked card number.
func last4(no string) string {
	if len(no) < 4 {
		return no
	}
	return no[len(no)-4:]
}

// diff lists how the bank's record t differs from what was sent, as "field: sent X, bank says Y"
// (never a full card number: the bank gives last 4 digits only).
func (s sent) diff(t *bankapi.Transaction) []string {
	var out []string
	add := func(field, want, got string) {
		out = append(out, fmt.Sprintf("%s: sent %q, bank says %q", field, want, got))
	}
	if t.IdempotencyKey != s.key {
		add("idempotency_key", s.key, t.IdempotencyKey)
	}
	if t.Kind != s.kind {
		add("kind", s.kind, t.Kind)
	}
	if t.Amount != s.amount {
		add("amount", walletctl.FormatAmount(s.amount), walletctl.FormatAmount(t.Amount))
	}
	if t.Currency != "" && t.Currency != bankapi.Currency {
		add("currency", bankapi.Currency, t.Currency)
	}
	if t.Status != bankapi.TxnSucceeded && t.Status != bankapi.TxnFailed {
		add("status", bankapi.TxnSucceeded+" or "+bankapi.TxnFailed, t.Status)
	}
	if s.agreement != "" {
		if t.Agreement != s.agreement {
			add("agreement", s.agreement, t.Agreement)
		}
		if t.Bank != s.bank {
			add("bank", s.bank, t.Bank)
		}
		if t.CardLast4 != s.last4 {
			add("card_last4", s.last4, t.CardLast4)
		}
	}
	return out
}

// mismatchErr is the error of a txn whose bank answer did not match; the txn stays pending.
func mismatchErr(rec *walletctl.TxnRecord, diffs []string) *walletctl.Error {
	e := errf(walletctl.CodeBankAnswerMismatch, "%s %s: the bank's answer does not match what the wallet sent (%s); it stays pending and nothing was settled",
		rec.Kind, rec.ID, strings.Join(diffs, "; "))
	return withDetails(e, "txn_id", rec.ID, "idempotency_key", rec.BankKey)
}

// noteMismatch records on a pending txn why it stays pending, for tx show.
func (e *Engine) noteMismatch(ctx context.Context, txnID string, diffs []string) error {
	return e.update(ctx, func(tx walletctl.StoreTx) error {
		rec, err := tx.GetTxn(txnID)
		if err != nil || rec == nil || rec.Status != walletctl.TxnPending {
			return err
		}
		rec.Note = "the bank's answer did not match what was sent (" + strings.Join(diffs, "; ") + "); left pending"
		return tx.SaveTxn(rec)
	})
}

// checkAgreement compares a confirmed binding with the card the wallet asked to bind: a bank that
// answers with another card's agreement would have the wallet debit a stranger. cardNo is the
// stored masked number: its BIN and last 4 are all the comparison needs.
func (e *Engine) checkAgreement(ctx context.Context, ag *bankapi.Agreement, cardNo string) error {
	var diffs []string
	if ag.Agreement == "" {
		diffs = append(diffs, "agreement: the bank gave none")
	}
	if ag.CardLast4 != last4(cardNo) {
		diffs = append(diffs, fmt.Sprintf("card_last4: sent %q, bank says %q", last4(cardNo), ag.CardLast4))
	}
	if want := e.bankByBIN(ctx, cardNo); want != "" && ag.Bank != want {
		diffs = append(diffs, fmt.Sprintf("bank: the card is %q's, bank says %q", want, ag.Bank))
	}
	if len(diffs) == 0 {
		return nil
	}
	if ag.Agreement != "" {
		_ = e.bank.Unbind(ctx, ag.Agreement) // best effort: the wallet never quotes it
	}
	return errf(walletctl.CodeBankAnswerMismatch, "the bank confirmed a binding for another card (%s); the card was not bound", strings.Join(diffs, "; "))
}
