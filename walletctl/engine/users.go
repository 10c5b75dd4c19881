package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/walletctl"
)

// Verification checks, in the order they are usually passed. The account class follows their
// number (PBOC 2015): one check (the ID against the registry) is class I; three (ID, the phone
// reserved at a bank and a bound same-name card, all verified by the bank's four-element check)
// are class II; five (those plus a second card at another bank and the bank-reserved phone
// matching the phone the account registered with) are class III.
const (
	CheckID         = "id"
	CheckPhone      = "phone"
	CheckBankCard   = "bank_card"
	CheckSecondBank = "second_bank"
	CheckPhoneMatch = "registered_phone"
)

func classFor(checks []string) walletctl.AccountClass {
	switch n := len(checks); {
	case n >= 5:
		return 3
	case n >= 3:
		return 2
	case n >= 1:
		return 1
	}
	return 0
}

func addCheck(u *walletctl.UserRecord, c string) bool {
	if slices.Contains(u.Checks, c) {
		return false
	}
	u.Checks = append(u.Checks, c)
	return true
}

// Register opens an account for a phone number.
func (e *Engine) Register(ctx context.Context, phone string) (*walletctl.User, error) {
	if err := cnid.ValidatePhone(phone); err != nil {
		return nil, errf(walletctl.CodeInvalidPhone, "%v", err)
	}
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var out *walletctl.User
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		if u, err := tx.UserByPhone(phone); err != nil {
			return err
		} else if u != nil {
			return withHint(withDetails(errf(walletctl.CodeAlreadyExists, "phone %s is already registered as %s", cnid.MaskPhone(phone), u.ID), "user_id", u.ID),
				"act as that user: --as "+u.ID)
		}
		id, err := seqID(tx, "user", "u")
		if err != nil {
			return err
		}
		u := &walletctl.UserRecord{User: walletctl.User{ID: id, Phone: phone, Status: walletctl.StatusNormal, CreatedAt: e.now()}}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		out = publicUser(u)
		return nil
	})
	return out, err
}

// resolveUser finds a user by id ("u3") or phone.
func resolveUser(tx walletctl.StoreTx, ref string) (*walletctl.UserRecord, error) {
	u, err := tx.GetUser(ref)
	if err != nil || u != nil {
		return u, err
	}
	u, err = tx.UserByPhone(ref)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, errf(walletctl.CodeNotFound, "no user %q (give a user id like u1 or a registered phone)", ref)
	}
	return u, nil
}

// User returns a user by id or phone.
func (e *Engine) User(ctx context.Context, ref string) (*walletctl.User, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var out *walletctl.User
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		u, err := resolveUser(tx, ref)
		if err != nil {
			return err
		}
		out = publicUser(u)
		return nil
	})
	return out, err
}

// Users lists every user, oldest first.
func (e *Engine) Users(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.User], error) {
	return pageOf(e, ctx, func(tx walletctl.StoreTx) ([]walletctl.User, bool, error) {
		us, more, err := tx.PageUsers(p)
		out := make([]walletctl.User, 0, len(us))
		for i := range us {
			out = append(out, *publicUser(&us[i]))
		}
		return out, more, err
	})
}

// SetUserStatus is the admin's switch between normal, restricted and frozen.
func (e *Engine) SetUserStatus(ctx context.Context, userID string, status walletctl.UserStatus) (*walletctl.User, error) {
	switch status {
	case walletctl.StatusNormal, walletctl.StatusRestricted, walletctl.StatusFrozen:
	default:
		return nil, errf(walletctl.CodeInvalidArgument, "status must be normal, restricted or frozen, not %q", status)
	}
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var out *walletctl.User
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		if u.Status != status {
			old := u.Status
			u.Status = status
			if err := tx.SaveUser(u); err != nil {
				return err
			}
			if err := e.logEvent(tx, u.ID, "status_changed", string(old)+" -> "+string(status)); err != nil {
				return err
			}
		}
		out = publicUser(u)
		return nil
	})
	return out, err
}

// normID upper-cases a trailing x: the check character X is written either way.
func normID(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }

// SubmitKYC verifies the user's real name and resident ID against the identity registry.
func (e *Engine) SubmitKYC(ctx context.Context, userID, name, idNo string) (*walletctl.KYC, error) {
	name, idNo = strings.TrimSpace(name), normID(idNo)
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var u *walletctl.UserRecord
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		u, err = getUser(tx, userID)
		return err
	}); err != nil {
		return nil, err
	}
	if u.IDHash != "" {
		return nil, errf(walletctl.CodeKYCDone, "user %s already passed real-name verification", u.ID)
	}
	if name == "" {
		return nil, errf(walletctl.CodeInvalidArgument, "the real name is required")
	}
	if err := cnid.ValidateResidentID(idNo, e.now()); err != nil {
		return nil, errf(walletctl.CodeInvalidIDNumber, "%v", err)
	}
	if err := e.identity.Check(ctx, name, idNo); err != nil {
		return nil, err
	}
	idHash := e.secret.IDHash(idNo)
	sealed, err := e.sealID(idNo)
	if err != nil {
		return nil, internal(err)
	}
	var out *walletctl.KYC
	err = e.update(ctx, func(tx walletctl.StoreTx) error {
		other, err := tx.UserByIDHash(idHash)
		if err != nil {
			return err
		}
		if other != nil {
			// One identity, one wallet: say so without naming the other account.
			return withHint(errf(walletctl.CodeAlreadyExists, "this ID number is already verified on another account"),
				"one identity can verify only one wallet; use the account already verified, or contact customer service")
		}
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		if u.IDHash != "" {
			return errf(walletctl.CodeKYCDone, "user %s already passed real-name verification", u.ID)
		}
		now := e.now()
		u.Name, u.IDHash, u.IDMasked, u.IDSealed, u.VerifiedAt = name, idHash, walletctl.MaskIDNo(idNo), sealed, &now
		addCheck(u, CheckID)
		u.Class = classFor(u.Checks)
		if err := tx.SaveUser(u); err != nil {
			return err
		}
		if err := e.logEvent(tx, u.ID, "kyc_verified", "ID "+maskID(idNo)+", class I"); err != nil {
			return err
		}
		out, err = e.kyc(tx, u)
		return err
	})
	return out, err
}

// KYCStatus reports the verification state, the account class and its limit use.
func (e *Engine) KYCStatus(ctx context.Context, userID string) (*walletctl.KYC, error) {
	if err := e.tick(ctx); err != nil {
		return nil, err
	}
	var out *walletctl.KYC
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		out, err = e.kyc(tx, u)
		return err
	})
	return out, err
}

func (e *Engine) kyc(tx walletctl.StoreTx, u *walletctl.UserRecord) (*walletctl.KYC, error) {
	k := &walletctl.KYC{UserID: u.ID, Verified: u.IDHash != "", Class: u.Class, Checks: append([]string{}, u.Checks...), VerifiedAt: u.VerifiedAt}
	if k.Verified {
		k.NameMasked, k.IDMasked = maskName(u.Name), u.IDMasked
	}
	k.LimitFen, k.LimitPeriod = e.set.ClassLimit(u.Class)
	if u.Class > 0 {
		used, err := e.classUsed(tx, u)
		if err != nil {
			return nil, err
		}
		k.UsedFen = used
	}
	return k, nil
}

// classUsed is what the user paid and transferred from the balance in the class limit's period:
// since opening for class I (every txn of the user is younger than the account), since 1 January
// (Shanghai) for classes II and III. Both are kept as counters where the txns are written, so a
// class upgrade changes only which one is read.
func (e *Engine) classUsed(tx walletctl.StoreTx, u *walletctl.UserRecord) (int64, error) {
	f := walletctl.UsageFilter{UserID: u.ID, Scope: walletctl.UsageBalanceLife}
	if _, period := e.set.ClassLimit(u.Class); period == "year" {
		f.Scope, f.Since = walletctl.UsageBalanceYear, walletctl.UsageYear(e.now())
	}
	return tx.Usage(f)
}

// sealID seals an ID number with the wallet's key (a nonce from the engine's entropy).
func (e *Engine) sealID(idNo string) (string, error) {
	e.entropyMu.Lock()
	defer e.entropyMu.Unlock()
	return e.secret.SealID(idNo, e.entropy)
}

// idNo opens the user's sealed ID number, in memory only: for the bank's four-element check of a
// new card and the payment password's birth-date rule. Comparisons use the hash instead.
func (e *Engine) idNo(u *walletctl.UserRecord) (string, error) {
	if u.IDHash == "" {
		return "", nil
	}
	id, err := e.secret.OpenID(u.IDSealed)
	if err != nil {
		return "", fmt.Errorf("user %s: %w", u.ID, err)
	}
	return id, nil
}
