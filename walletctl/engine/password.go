package engine

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

const (
	saltLen = 16
	keyLen  = 32
)

// hashPassword returns the PHC string $argon2id$v=19$m=..,t=..,p=..$salt$hash.
func (e *Engine) hashPassword(pw string) (string, error) {
	salt := make([]byte, saltLen)
	e.entropyMu.Lock()
	_, err := io.ReadFull(e.entropy, salt)
	e.entropyMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	p := e.set.PasswordHash
	if p.Time == 0 || p.MemoryKiB == 0 || p.Threads == 0 {
		p = walletctl.ProductionHash
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword recomputes the hash with the stored parameters and compares in constant time.
func verifyPassword(pw, phc string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, fmt.Errorf("password hash: unknown format")
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, fmt.Errorf("password hash: unsupported version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, fmt.Errorf("password hash: bad parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("password hash: bad salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("password hash: bad key: %w", err)
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// checkPasswordFormat refuses what cannot be a payment password: the domain's rule, which the
// CLI's prompts apply too.
func checkPasswordFormat(pw string) error { return walletctl.CheckPasswordFormat(pw) }

// checkOTPFormat refuses what cannot be a bank SMS code (6 ASCII digits) before the bank sees
// it, so that a typo (full-width digits, a space) costs none of the bank's attempts.
func checkOTPFormat(otp string) error {
	if !walletctl.SixDigits(otp) {
		return withHint(errf(walletctl.CodeInvalidArgument, "the SMS code must be exactly 6 digits (0-9 only)"),
			"type the 6 digits of the bank's SMS (in the sandbox: walletctl bank otp --phone P)")
	}
	return nil
}

// checkPasswordRules enforces the format (exactly 6 ASCII digits) and refuses weak ones: the
// domain's rule (walletctl.CheckPassword), which the CLI's prompts apply before asking twice.
func checkPasswordRules(pw, idNo string) error { return walletctl.CheckPassword(pw, idNo) }

// SetPassword sets the payment password for the first time. A set password is changed only
// through the reset flow (identity + bound card + bank OTP), never by simply setting it again.
func (e *Engine) SetPassword(ctx context.Context, userID, password string) error {
	if err := e.tick(ctx); err != nil {
		return err
	}
	var u *walletctl.UserRecord
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		u, err = getUser(tx, userID)
		return err
	}); err != nil {
		return err
	}
	if u.IDHash == "" {
		return errf(walletctl.CodeKYCRequired, "set the payment password after real-name verification")
	}
	if u.PasswordHash != "" {
		return withHint(errf(walletctl.CodeAlreadyExists, "the payment password is already set"), hintReset)
	}
	idNo, err := e.idNo(u)
	if err != nil {
		return internal(err)
	}
	if err := checkPasswordRules(password, idNo); err != nil {
		return err
	}
	hash, err := e.hashPassword(password)
	if err != nil {
		return internal(err)
	}
	return e.update(ctx, func(tx walletctl.StoreTx) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		if u.PasswordHash != "" {
			return withHint(errf(walletctl.CodeAlreadyExists, "the payment password is already set"), hintReset)
		}
		u.PasswordHash, u.FailedAttempts, u.LockedUntil = hash, 0, nil
		if err := tx.SaveUser(u); err != nil {
			return err
		}
		return e.logEvent(tx, u.ID, "password_set", "")
	})
}

// movement says what kind of money movement asks for the password, for the status rules:
// restricted accounts cannot pay or transfer, frozen ones move no money at all.
type movement int

const (
	moveIn  movement = iota // top-up, withdraw to own card, accept
	movePay                 // pay, transfer
)

func checkStatus(u *walletctl.UserRecord, m movement) error {
	switch u.Status {
	case walletctl.StatusFrozen:
		return withDetails(errf(walletctl.CodeAccountFrozen, "account %s is frozen", u.ID), "status", string(u.Status))
	case walletctl.StatusRestricted:
		if m == movePay {
			return withDetails(errf(walletctl.CodeAccountRestricted, "account %s is restricted and cannot pay or transfer", u.ID), "status", string(u.Status))
		}
	}
	return nil
}

func lockedErr(u *walletctl.UserRecord) *walletctl.Error {
	return withDetails(errf(walletctl.CodePasswordLocked, "the payment password is locked after %d wrong attempts", u.FailedAttempts),
		"locked_until", u.LockedUntil.In(vclock.Shanghai).Format(time.RFC3339), "attempts_remaining", 0)
}

// authorize checks the user's status and payment password before a money movement. The slow hash
// runs outside any transaction; a wrong password is recorded (and may lock) in its own committed
// transaction. On success it returns the hash that matched, which the caller's write transaction
// passes to recheck.
//
// It also does tick's work: the due-work check shares the read transaction that loads the user
// (one read transaction per payment instead of two), and when work fell due it runs first and the
// user is read again, exactly as tick followed by the read would.
func (e *Engine) authorize(ctx context.Context, userID, password string, m movement) (string, error) {
	var u *walletctl.UserRecord
	var due *time.Time
	load := func(withDue bool) error {
		return e.view(ctx, func(tx walletctl.StoreTx) error {
			if withDue {
				var err error
				if due, err = tx.NextDue(); err != nil {
					return err
				}
				if due != nil && !due.After(e.now()) {
					return nil // run the due work before reading the user
				}
			}
			var err error
			u, err = getUser(tx, userID)
			return err
		})
	}
	if err := load(true); err != nil {
		return "", err
	}
	if u == nil {
		now := e.now()
		if err := e.update(ctx, func(tx walletctl.StoreTx) error { return e.runDue(tx, now) }); err != nil {
			return "", err
		}
		if err := load(false); err != nil {
			return "", err
		}
	}
	if err := checkStatus(u, m); err != nil {
		return "", err
	}
	if u.PasswordHash == "" {
		return "", errf(walletctl.CodePasswordNotSet, "no payment password is set")
	}
	if u.LockedUntil != nil && u.LockedUntil.After(e.now()) {
		return "", lockedErr(u)
	}
	if password == "" {
		return "", errf(walletctl.CodePasswordMissing, "this operation needs the payment password")
	}
	// What cannot be a password is no guess at this one: it uses no attempt.
	if err := checkPasswordFormat(password); err != nil {
		return "", err
	}
	ok, err := verifyPassword(password, u.PasswordHash)
	if err != nil {
		return "", internal(err)
	}
	if ok {
		return u.PasswordHash, nil
	}
	var out error
	err = e.update(ctx, func(tx walletctl.StoreTx) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		if u.LockedUntil != nil && u.LockedUntil.After(e.now()) {
			out = lockedErr(u)
			return nil
		}
		u.FailedAttempts++
		left := e.set.PasswordMaxAttempts - u.FailedAttempts
		if err := e.logEvent(tx, u.ID, "password_wrong", fmt.Sprintf("attempt %d of %d", u.FailedAttempts, e.set.PasswordMaxAttempts)); err != nil {
			return err
		}
		if left <= 0 {
			until := e.now().Add(e.set.PasswordLock.D())
			u.LockedUntil = &until
			out = lockedErr(u)
			if err := e.logEvent(tx, u.ID, "password_locked", "until "+until.In(vclock.Shanghai).Format(time.RFC3339)); err != nil {
				return err
			}
		} else {
			out = withDetails(errf(walletctl.CodePasswordWrong, "wrong payment password, %d attempt(s) left before it locks", left), "attempts_remaining", left)
		}
		return tx.SaveUser(u)
	})
	if err != nil {
		return "", err
	}
	return "", out
}

// recheck runs inside the movement's write transaction: the user still has the password that was
// verified, is not locked or blocked meanwhile; a successful attempt clears the counter.
func (e *Engine) recheck(tx walletctl.StoreTx, userID, hash string, m movement) (*walletctl.UserRecord, error) {
	u, err := getUser(tx, userID)
	if err != nil {
		return nil, err
	}
	if err := checkStatus(u, m); err != nil {
		return nil, err
	}
	if u.PasswordHash != hash {
		return nil, errf(walletctl.CodeConflict, "the payment password changed meanwhile; try again")
	}
	if u.LockedUntil != nil && u.LockedUntil.After(e.now()) {
		return nil, lockedErr(u)
	}
	if u.FailedAttempts > 0 || u.LockedUntil != nil {
		u.FailedAttempts, u.LockedUntil = 0, nil
		if err := tx.SaveUser(u); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// StartPasswordReset verifies the identity (real name, ID number, one of the user's bound cards)
// and has that card's bank send an OTP to the reserved phone by opening a binding with the four
// elements.
func (e *Engine) StartPasswordReset(ctx context.Context, userID, name, idNo, cardNo string) (*walletctl.PasswordReset, error) {
	name, idNo, cardNo = strings.TrimSpace(name), normID(idNo), normCard(cardNo)
	// The wallet keeps hashes, not the numbers: the identity is checked by hashing what was typed.
	idHash, cardHash := e.secret.IDHash(idNo), e.secret.CardHash(cardNo)
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var card *walletctl.CardRecord
	var mismatch error
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		if u.IDHash == "" {
			return errf(walletctl.CodeKYCRequired, "real-name verification is needed to recover the payment password")
		}
		cards, err := tx.ListCards(userID)
		if err != nil {
			return err
		}
		for i := range cards {
			if cards[i].CardHash == cardHash {
				card = &cards[i]
			}
		}
		if u.Name != name || u.IDHash != idHash || card == nil {
			// One message for every field: a guesser learns nothing about which one was wrong.
			mismatch = errf(walletctl.CodeIdentityFailed, "the name, ID number and card do not match this account's verified identity and bound cards")
			return e.logEvent(tx, u.ID, "password_reset_failed", "identity did not match")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if mismatch != nil {
		return nil, mismatch
	}
	// The numbers typed, which hash as the stored ones: the bank checks the four elements again.
	b, err := e.bank.CreateBinding(ctx, bankapi.CardRequest{CardNo: cardNo, Name: name, IDNo: idNo, Phone: card.Phone})
	if err != nil {
		return nil, bindError(err)
	}
	var out *walletctl.PasswordReset
	err = e.update(ctx, func(tx walletctl.StoreTx) error {
		id, err := seqID(tx, "reset", "r")
		if err != nil {
			return err
		}
		rec := &walletctl.BindingRecord{ID: id, UserID: userID, Purpose: "reset", BankBindingID: b.BindingID, CardHash: card.CardHash, CardNoMasked: card.CardNoMasked,
			Phone: card.Phone, CardID: card.ID, ExpiresAt: b.ExpiresAt}
		if err := tx.CreateBinding(rec); err != nil {
			return err
		}
		out = &walletctl.PasswordReset{ResetID: id, UserID: userID, PhoneMasked: cnid.MaskPhone(card.Phone), ExpiresAt: b.ExpiresAt}
		return e.logEvent(tx, userID, "password_reset_started", "OTP sent by the bank of card "+card.ID)
	})
	return out, err
}

// CompletePasswordReset confirms the bank's OTP and sets the new password: the lock and the
// attempt counter are cleared and the event goes to the security log. The bank's new agreement
// replaces the card's old one, which is then released at the bank.
func (e *Engine) CompletePasswordReset(ctx context.Context, userID, resetID, otp, newPassword string) error {
	if err := e.tick(ctx); err != nil {
		return err
	}
	var u *walletctl.UserRecord
	var rec *walletctl.BindingRecord
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		if u, err = getUser(tx, userID); err != nil {
			return err
		}
		rec, err = tx.GetBinding(resetID)
		return err
	}); err != nil {
		return err
	}
	if rec == nil || rec.UserID != userID || rec.Purpose != "reset" {
		return errf(walletctl.CodeNotFound, "no password reset %q for %s", resetID, userID)
	}
	idNo, err := e.idNo(u)
	if err != nil {
		return internal(err)
	}
	if err := checkPasswordRules(newPassword, idNo); err != nil {
		return err
	}
	otp = strings.TrimSpace(otp)
	if err := checkOTPFormat(otp); err != nil {
		return err
	}
	ag, err := e.bank.ConfirmBinding(ctx, rec.BankBindingID, otp)
	if err != nil {
		if be, ok := bankapi.AsError(err); ok && (be.Code == bankapi.CodeOTPExpired || be.Code == bankapi.CodeNotFound || bindError(err).Code == walletctl.CodeOTPExpired) {
			_ = e.update(ctx, func(tx walletctl.StoreTx) error { return tx.DeleteBinding(resetID) })
		}
		return bindError(err)
	}
	if err := e.checkAgreement(ctx, ag, rec.CardNoMasked); err != nil {
		_ = e.update(ctx, func(tx walletctl.StoreTx) error { return tx.DeleteBinding(resetID) })
		return err
	}
	hash, err := e.hashPassword(newPassword)
	if err != nil {
		return internal(err)
	}
	var release string
	err = e.update(ctx, func(tx walletctl.StoreTx) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		card, err := tx.GetCard(rec.CardID)
		if err != nil {
			return err
		}
		if card != nil {
			release, card.Agreement = card.Agreement, ag.Agreement
			if err := tx.SaveCard(card); err != nil {
				return err
			}
		} else {
			release = ag.Agreement // the card was unbound meanwhile: the new agreement is extra
		}
		u.PasswordHash, u.FailedAttempts, u.LockedUntil = hash, 0, nil
		if err := tx.SaveUser(u); err != nil {
			return err
		}
		if err := tx.DeleteBinding(resetID); err != nil {
			return err
		}
		return e.logEvent(tx, userID, "password_reset", "verified by identity and the bank OTP of card "+rec.CardID+"; lock cleared")
	})
	if err != nil {
		return err
	}
	if release != "" {
		// Best effort: a stale agreement left at the bank is harmless (nothing quotes it).
		_ = e.bank.Unbind(ctx, release)
	}
	return nil
}
