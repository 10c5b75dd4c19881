package engine

import (
	"context"
	"errors"
	"strings"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/walletctl"
)

// damagedBank is a copy of the SANDBOX_DAMAGED in err, or nil: the sandbox's in-process bank
// found its file damaged and did nothing of the call (bankadapter passes it through).
func damagedBank(err error) *walletctl.Error {
	var we *walletctl.Error
	if !errors.As(err, &we) || we.Code != walletctl.CodeSandboxDamaged {
		return nil
	}
	cp := *we
	cp.Details = map[string]any{}
	for k, v := range we.Details {
		cp.Details[k] = v
	}
	return &cp
}

// bankReady asks the bank, when it can tell (bankadapter's Ready: the sandbox's in-process bank),
// whether it can work at all, before an operation records what it will send: a damaged bank.db
// is SANDBOX_DAMAGED with nothing recorded, not a pending txn left behind.
func (e *Engine) bankReady(ctx context.Context) error {
	if r, ok := e.bank.(interface{ Ready(context.Context) error }); ok {
		return r.Ready(ctx)
	}
	return nil
}

// normCard drops the spaces and dashes people type inside card numbers.
func normCard(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// bankError maps a bank failure to the wallet's error: the code and hint from the seed's advice,
// the bank's details (network response code, fields, OTP tries left) in Details. unknown is the
// code for an unknown outcome (NETWORK_ERROR for bindings, PENDING is handled by the caller for
// money).
func bankError(err error, unknown string) *walletctl.Error {
	if d := damagedBank(err); d != nil {
		return d
	}
	be, ok := bankapi.AsError(err)
	if !ok {
		be = &bankapi.Error{Code: bankapi.CodeOutcomeUnknown, Message: err.Error()}
	}
	var e *walletctl.Error
	switch be.Code {
	case bankapi.CodeInfoMismatch:
		e = errf(walletctl.CodeCardInfoMismatch, "the bank's records do not match: %s", strings.Join(be.Fields, ", "))
		e.Details = map[string]any{"fields": append([]string{}, be.Fields...)}
	case bankapi.CodeBindingNotSupported:
		e = errf(walletctl.CodeBankBindingDenied, "this bank does not allow binding its cards online")
	case bankapi.CodeIssuerRestricted:
		e = errf(walletctl.CodeCardRestricted, "the issuing bank restricts this card")
	case bankapi.CodeCardExpired:
		e = errf(walletctl.CodeCardRestricted, "the card has expired")
	case bankapi.CodeCNPNotEnabled:
		e = errf(walletctl.CodeCardNotSupported, "online (card-not-present) payments are not enabled on this card")
	case bankapi.CodeOutcomeUnknown, bankapi.CodeDuplicate:
		e = errf(unknown, "no answer from the bank")
	case bankapi.CodeIssuerUnavailable:
		if errors.Is(err, bankapi.ErrNotSent) {
			// Nothing listening, no route: the request never left, so nothing is pending.
			e = errf(walletctl.CodeNetwork, "cannot reach the bank: %s", be.Message)
			break
		}
		e = errf(walletctl.CodeBankUnavailable, "the bank is unavailable")
	case bankapi.CodeCardUnknown:
		e = errf(walletctl.CodeInvalidCardNo, "the bank does not know this card number")
	case bankapi.CodeOTPInvalid:
		if be.Remaining != nil && *be.Remaining <= 0 {
			e = errf(walletctl.CodeOTPExpired, "wrong SMS code, and no tries are left")
			e.Details = map[string]any{"remaining": 0}
			break
		}
		e = errf(walletctl.CodeOTPInvalid, "wrong SMS code")
		if be.Remaining != nil {
			e.Details = map[string]any{"remaining": *be.Remaining}
		}
	case bankapi.CodeOTPExpired:
		e = errf(walletctl.CodeOTPExpired, "the SMS code expired or was tried too often")
	case bankapi.CodeInsufficientFunds:
		e = errf(walletctl.CodeInsufficientFunds, "the card has too little money for this amount")
	case bankapi.CodeLimitExceeded:
		e = errf(walletctl.CodeBankLimit, "the bank's limit for this card is reached")
	case bankapi.CodeNotFound:
		e = errf(walletctl.CodeNotFound, "the bank does not know this binding or agreement")
	case bankapi.CodeUnauthenticated, bankapi.CodeUnauthorized:
		e = errf(walletctl.CodeBankAuth, "the bank refused this wallet's credentials: %s", be.Message)
	default:
		e = errf(walletctl.CodeInternal, "unexpected answer from the bank: %s", be.Code)
	}
	e = withDetails(e, "bank_code", be.Code)
	// An unknown outcome cannot say which fault fired nor carry the bank's response code: over
	// HTTP the answer is simply lost (the client's code is its own guess), and in-process and
	// HTTP must read the same.
	if be.Code != bankapi.CodeOutcomeUnknown {
		if be.RespCode != "" {
			e = withDetails(e, "resp_code", be.RespCode)
		}
		if be.Fault != "" {
			e = withDetails(e, "fault", be.Fault)
		}
	}
	e.Err = err
	return e
}

func bindError(err error) *walletctl.Error { return bankError(err, walletctl.CodeNetwork) }

func publicCard(c *walletctl.CardRecord) walletctl.Card {
	out := c.Card
	out.CardMasked, out.Last4 = cnid.MaskCardGrouped(c.CardNoMasked), last4(c.CardNoMasked)
	return out
}

// BindCard starts binding a card in the user's verified name: the bank checks the four elements
// and sends an SMS code to the phone reserved at the bank.
func (e *Engine) BindCard(ctx context.Context, userID, cardNo, phone string) (*walletctl.CardBinding, error) {
	cardNo = normCard(cardNo)
	cardHash := e.secret.CardHash(cardNo)
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var u *walletctl.UserRecord
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		if u, err = getUser(tx, userID); err != nil {
			return err
		}
		if u.IDHash == "" {
			return errf(walletctl.CodeKYCRequired, "bank cards can be bound only after real-name verification")
		}
		cards, err := tx.ListCards(userID)
		if err != nil {
			return err
		}
		for _, c := range cards {
			if c.CardHash == cardHash {
				return withHint(withDetails(errf(walletctl.CodeAlreadyExists, "this card is already bound as %s", c.ID), "card_id", c.ID), hintCardList)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := cnid.ValidateCardNumber(cardNo); err != nil {
		return nil, errf(walletctl.CodeInvalidCardNo, "%v", err)
	}
	if err := cnid.ValidatePhone(phone); err != nil {
		return nil, errf(walletctl.CodeInvalidPhone, "the phone reserved at the bank: %v", err)
	}
	idNo, err := e.idNo(u)
	if err != nil {
		return nil, internal(err)
	}
	b, err := e.bank.CreateBinding(ctx, bankapi.CardRequest{CardNo: cardNo, Name: u.Name, IDNo: idNo, Phone: phone})
	if err != nil {
		return nil, bindError(err)
	}
	var out *walletctl.CardBinding
	err = e.update(ctx, func(tx walletctl.StoreTx) error {
		id, err := seqID(tx, "binding", "b")
		if err != nil {
			return err
		}
		rec := &walletctl.BindingRecord{ID: id, UserID: userID, Purpose: "bind", BankBindingID: b.BindingID, CardHash: cardHash,
			CardNoMasked: walletctl.MaskCardNo(cardNo), Phone: phone, ExpiresAt: b.ExpiresAt}
		if err := tx.CreateBinding(rec); err != nil {
			return err
		}
		pm := b.PhoneMasked
		if pm == "" {
			pm = cnid.MaskPhone(phone)
		}
		out = &walletctl.CardBinding{BindingID: id, UserID: userID, Bank: e.bankByBIN(ctx, cardNo), CardMasked: cnid.MaskCardGrouped(cardNo), PhoneMasked: pm, ExpiresAt: b.ExpiresAt}
		return nil
	})
	return out, err
}

// ConfirmCard completes a binding with the SMS code: the bank issues the agreement token (kept,
// never shown) and the card counts as a verification check for the account class.
func (e *Engine) ConfirmCard(ctx context.Context, userID, bindingID, otp string) (*walletctl.Card, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var rec *walletctl.BindingRecord
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		rec, err = tx.GetBinding(bindingID)
		return err
	}); err != nil {
		return nil, err
	}
	if rec == nil || rec.UserID != userID || rec.Purpose != "bind" {
		return nil, errf(walletctl.CodeNotFound, "no pending binding %q for %s", bindingID, userID)
	}
	if err := checkOTPFormat(strings.TrimSpace(otp)); err != nil { // no bank attempt for a typo
		return nil, err
	}
	ag, err := e.bank.ConfirmBinding(ctx, rec.BankBindingID, strings.TrimSpace(otp))
	if err != nil {
		if be, ok := bankapi.AsError(err); ok && (be.Code == bankapi.CodeOTPExpired || be.Code == bankapi.CodeNotFound || bindError(err).Code == walletctl.CodeOTPExpired) {
			_ = e.update(ctx, func(tx walletctl.StoreTx) error { return tx.DeleteBinding(bindingID) })
			if be.Code == bankapi.CodeNotFound {
				return nil, withDetails(errf(walletctl.CodeOTPExpired, "the binding expired at the bank; bind the card again"), "bank_code", be.Code)
			}
		}
		return nil, bindError(err)
	}
	if err := e.checkAgreement(ctx, ag, rec.CardNoMasked); err != nil {
		_ = e.update(ctx, func(tx walletctl.StoreTx) error { return tx.DeleteBinding(bindingID) })
		return nil, err
	}
	bankName := e.bankName(ctx, ag.Bank)
	var out *walletctl.Card
	var dup bool
	err = e.update(ctx, func(tx walletctl.StoreTx) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		cards, err := tx.ListCards(userID)
		if err != nil {
			return err
		}
		otherBank := false
		for _, c := range cards {
			if c.CardHash == rec.CardHash {
				dup = true
				return tx.DeleteBinding(bindingID)
			}
			if c.Bank != ag.Bank {
				otherBank = true
			}
		}
		id, err := seqID(tx, "card", "c")
		if err != nil {
			return err
		}
		c := &walletctl.CardRecord{Card: walletctl.Card{ID: id, UserID: userID, Bank: ag.Bank, BankName: bankName, CardType: string(ag.CardType), BoundAt: e.now()},
			CardHash: rec.CardHash, CardNoMasked: rec.CardNoMasked, Agreement: ag.Agreement, Phone: rec.Phone}
		if err := tx.CreateCard(c); err != nil {
			return err
		}
		if err := tx.DeleteBinding(bindingID); err != nil {
			return err
		}
		if err := e.logEvent(tx, userID, "card_bound", id+" "+ag.Bank+" "+cnid.MaskCardGrouped(rec.CardNoMasked)); err != nil {
			return err
		}
		// The bank's four-element check verified the card and its reserved phone.
		addCheck(u, CheckPhone)
		addCheck(u, CheckBankCard)
		if otherBank {
			addCheck(u, CheckSecondBank)
		}
		if rec.Phone == u.Phone {
			addCheck(u, CheckPhoneMatch)
		}
		if cl := classFor(u.Checks); cl != u.Class {
			if err := e.logEvent(tx, userID, "class_changed", classNames[u.Class]+" -> "+classNames[cl]); err != nil {
				return err
			}
			u.Class = cl
		}
		if err := tx.SaveUser(u); err != nil {
			return err
		}
		pc := publicCard(c)
		out = &pc
		return nil
	})
	if err != nil {
		return nil, err
	}
	if dup {
		_ = e.bank.Unbind(ctx, ag.Agreement) // the second agreement for a card already bound is extra
		return nil, withHint(errf(walletctl.CodeAlreadyExists, "this card is already bound"), hintCardList)
	}
	return out, nil
}

var classNames = map[walletctl.AccountClass]string{0: "none", 1: "class I", 2: "class II", 3: "class III"}

// Cards lists the user's bound cards, masked.
func (e *Engine) Cards(ctx context.Context, userID string, p walletctl.Page) (*walletctl.List[walletctl.Card], error) {
	return listOfUser(e, ctx, userID, func(tx walletctl.StoreTx) ([]walletctl.Card, bool, error) {
		cs, more, err := tx.PageCards(userID, p)
		out := make([]walletctl.Card, 0, len(cs))
		for i := range cs {
			out = append(out, publicCard(&cs[i]))
		}
		return out, more, err
	})
}

func userCard(tx walletctl.StoreTx, userID, cardID string) (*walletctl.CardRecord, error) {
	c, err := tx.GetCard(cardID)
	if err != nil {
		return nil, err
	}
	if c == nil || c.UserID != userID {
		return nil, errf(walletctl.CodeNotFound, "no card %q bound by %s", cardID, userID)
	}
	return c, nil
}

// UnbindCard releases the agreement at the bank and removes the card. A card with pending
// operations stays until they settle.
func (e *Engine) UnbindCard(ctx context.Context, userID, cardID string) error {
	if err := e.tick(ctx); err != nil {
		return err
	}
	var c *walletctl.CardRecord
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		if c, err = userCard(tx, userID, cardID); err != nil {
			return err
		}
		pend, err := tx.PendingBankTxns()
		if err != nil {
			return err
		}
		for _, t := range pend {
			if t.CardID == cardID {
				return withDetails(errf(walletctl.CodeConflict, "card %s has a pending operation (%s); settle it first", cardID, t.ID), "txn_id", t.ID)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := e.bank.Unbind(ctx, c.Agreement); err != nil {
		if be, ok := bankapi.AsError(err); !ok || be.Code != bankapi.CodeNotFound {
			return bindError(err) // not found at the bank: already released, remove ours too
		}
	}
	return e.update(ctx, func(tx walletctl.StoreTx) error {
		if err := tx.DeleteCard(cardID); err != nil {
			return err
		}
		return e.logEvent(tx, userID, "card_unbound", cardID+" "+c.Bank+" "+cnid.MaskCardGrouped(c.CardNoMasked))
	})
}
