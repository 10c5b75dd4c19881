package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// Merchants as parties (DESIGN.md section 8). A merchant's keys are not stored: they are derived
// from the wallet's secret key and the mchid whenever needed (and cached by wechatpay.DeriveKey),
// so each sandbox has its own keys, the same ones every time, and no file holds them unless the
// merchant writes them out (`merchant keys --out`). Ids, serials, code URLs and prepay ids are
// derived from sequence numbers and the virtual clock only, so transcripts stay deterministic.

// certValidity: certificates are checked by merchants' SDKs against the real clock, so they are
// valid over a wide real-time window rather than around the virtual clock.
var (
	certNotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	certNotAfter  = time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	platformName = "walletctl sandbox platform"
	// balanceAccount is v3's user_received_account of a refund to the wallet balance.
	balanceAccount = "支付用户零钱"
	maxRefunds     = 50 // v3: at most 50 refunds per order
	maxField       = 127
)

func (e *Engine) derive(label string) []byte {
	m := hmac.New(sha256.New, e.secret)
	m.Write([]byte("walletctl v3\x00" + label))
	return m.Sum(nil)
}

// serialOf is a deterministic certificate serial: 40 upper-case hex digits, not starting with 0.
func serialOf(label string) string {
	sum := sha256.Sum256([]byte("walletctl serial\x00" + label))
	s := strings.ToUpper(hex.EncodeToString(sum[:20]))
	return "5" + s[1:]
}

func appIDOf(mchid string) string {
	sum := sha256.Sum256([]byte("walletctl appid\x00" + mchid))
	return "wx" + hex.EncodeToString(sum[:8])
}

// PublicKeyID is the platform public key's id in public-key mode (the same in every sandbox, like
// the platform serial: what differs is the key).
const PublicKeyID = "PUB_KEY_ID_0100000000000000000000000000000001"

// Platform returns the wallet's v3 signing identity (walletctl.PlatformService).
func (e *Engine) Platform(ctx context.Context) (*walletctl.Platform, error) {
	key := wechatpay.DeriveKey(e.derive("platform key"))
	serial := serialOf("platform")
	der, err := wechatpay.Certificate(key, serial, platformName, "walletctl", certNotBefore, certNotAfter)
	if err != nil {
		return nil, internal(err)
	}
	return &walletctl.Platform{Serial: serial, PublicKeyID: PublicKeyID, PrivateKey: string(wechatpay.PrivateKeyPEM(key)),
		Cert: string(wechatpay.CertificatePEM(der)), PublicKey: string(wechatpay.PublicKeyPEM(&key.PublicKey))}, nil
}

var _ walletctl.PlatformService = (*Engine)(nil)

// apiV3Key is the merchant's 32-character APIv3 key.
func (e *Engine) apiV3Key(mchid string) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	raw := e.derive("apiv3 key " + mchid)
	raw = append(raw, e.derive("apiv3 key 2 "+mchid)...)
	out := make([]byte, 32)
	for i := range out {
		out[i] = alphabet[int(raw[i])%len(alphabet)]
	}
	return string(out)
}

// CreateMerchant makes a merchant party with v3 credentials.
func (e *Engine) CreateMerchant(ctx context.Context, spec walletctl.MerchantSpec) (*walletctl.Merchant, error) {
	if len(spec.Name) > 128 || len(spec.Category) > 64 || len(spec.AppID) > 32 {
		return nil, errf(walletctl.CodeInvalidArgument, "merchant name (128), category (64) or appid (32 bytes) too long")
	}
	// Shown in tables, payers' screens, ledger notes and the trade bill.
	for _, f := range [][2]string{{"name", spec.Name}, {"category", spec.Category}, {"appid", spec.AppID}} {
		if err := walletctl.CheckText(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	var out *walletctl.Merchant
	err := e.update(ctx, func(tx walletctl.StoreTx) error {
		n, err := tx.NextID("merchant")
		if err != nil {
			return err
		}
		mchid := fmt.Sprintf("19%08d", n)
		now := e.now()
		m := &walletctl.Merchant{ID: mchid, Name: spec.Name, Category: spec.Category, AppID: spec.AppID,
			CertSerial: serialOf("merchant " + mchid), CreatedAt: &now, PublicKeyMode: spec.PublicKeyMode}
		if m.Name == "" {
			m.Name = "Sandbox merchant " + mchid
		}
		if m.Category == "" {
			m.Category = "merchant"
		}
		if m.AppID == "" {
			m.AppID = appIDOf(mchid)
		}
		out = m
		return tx.CreateMerchant(m)
	})
	return out, err
}

func getMerchant(tx walletctl.StoreTx, id string) (*walletctl.Merchant, error) {
	if m := merchant(id); m != nil {
		return m, nil
	}
	m, err := tx.GetMerchant(id)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errf(walletctl.CodeNotFound, "no merchant %q (see: walletctl merchant list)", id)
	}
	return m, nil
}

// v3Merchant is a merchant with v3 credentials (not one of the catalogue's).
func v3Merchant(tx walletctl.StoreTx, mchid string) (*walletctl.Merchant, error) {
	m, err := tx.GetMerchant(mchid)
	if err != nil {
		return nil, err
	}
	if m == nil {
		hint := "create one: walletctl merchant create"
		if merchant(mchid) != nil {
			hint = mchid + " is a catalogue merchant without v3 credentials; create one: walletctl merchant create"
		}
		return nil, withHint(errf(walletctl.CodeNotFound, "no merchant %q", mchid), hint)
	}
	return m, nil
}

// Merchant shows a merchant with what it holds.
func (e *Engine) Merchant(ctx context.Context, id string) (*walletctl.MerchantInfo, error) {
	var out *walletctl.MerchantInfo
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		m, err := getMerchant(tx, id)
		if err != nil {
			return err
		}
		bal, err := tx.AccountBalance(merchantAcct(m.ID))
		if err != nil {
			return err
		}
		out = &walletctl.MerchantInfo{Merchant: *m, Balance: bal}
		if m.CreatedAt == nil {
			return nil
		}
		// Kept by the store as orders and refunds are written: one row, whatever the history.
		tot, err := tx.MerchantTotals(m.ID)
		if err != nil {
			return err
		}
		out.Orders, out.Paid, out.Refunded = int(tot.Orders), tot.Paid, tot.Refunded
		return nil
	})
	return out, err
}

// merchantsCreated lists the merchants made with CreateMerchant (Merchants puts them after the
// catalogue).
func (e *Engine) merchantsCreated(ctx context.Context) ([]walletctl.Merchant, error) {
	var out []walletctl.Merchant
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		out, err = tx.ListMerchants()
		return err
	})
	return out, err
}

// MerchantCredentials derives a merchant's key, certificate and APIv3 key, with the platform's
// certificate and public key.
func (e *Engine) MerchantCredentials(ctx context.Context, mchid string) (*walletctl.MerchantCredentials, error) {
	var m *walletctl.Merchant
	if err := e.view(ctx, func(tx walletctl.StoreTx) error {
		var err error
		m, err = v3Merchant(tx, mchid)
		return err
	}); err != nil {
		return nil, err
	}
	key := wechatpay.DeriveKey(e.derive("merchant key " + m.ID))
	der, err := wechatpay.Certificate(key, m.CertSerial, m.ID, m.Name, certNotBefore, certNotAfter)
	if err != nil {
		return nil, internal(err)
	}
	pf, err := e.Platform(ctx)
	if err != nil {
		return nil, err
	}
	return &walletctl.MerchantCredentials{MchID: m.ID, AppID: m.AppID, CertSerial: m.CertSerial,
		PrivateKey: string(wechatpay.PrivateKeyPEM(key)), Cert: string(wechatpay.CertificatePEM(der)), APIv3Key: e.apiV3Key(m.ID),
		PlatformSerial: pf.Serial, PlatformCert: pf.Cert, PlatformPublicKey: pf.PublicKey, PublicKeyID: pf.PublicKeyID,
		PublicKeyMode: m.PublicKeyMode}, nil
}
