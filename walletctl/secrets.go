package walletctl

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/walletctl/walletctl/cnid"
)

// SecretKeySize is the length of a wallet's secret key.
const SecretKeySize = 32

// SecretKey is a wallet's key for what it keeps of card and ID numbers (DESIGN.md section 7): a
// keyed hash to compare them (HMAC-SHA256: without the key, a stolen database cannot be searched
// for a known number, and the few unknown digits of a masked ID cannot be brute-forced) and, for
// the ID number only, a sealed copy (see SealID). It lives apart from the database: the sandbox's
// sandbox.json, or the tenant's schema on PostgreSQL (walletctl/postgres says why).
type SecretKey []byte

// NewSecretKey draws a fresh key from crypto/rand.
func NewSecretKey() (SecretKey, error) {
	k := make(SecretKey, SecretKeySize)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		return nil, fmt.Errorf("generate the wallet's secret key: %w", err)
	}
	return k, nil
}

// Valid reports whether the key is long enough to be one.
func (k SecretKey) Valid() bool { return len(k) >= 16 }

func (k SecretKey) mac(domain, v string) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(domain))
	m.Write([]byte{0}) // the domain keeps a card's hash from ever equalling an ID's
	m.Write([]byte(v))
	return m.Sum(nil)
}

// CardHash is the keyed hash of a card number (digits only, as the engine normalises it).
func (k SecretKey) CardHash(cardNo string) string { return hex.EncodeToString(k.mac("card", cardNo)) }

// IDHash is the keyed hash of a resident ID number (upper-case X, as the engine normalises it).
func (k SecretKey) IDHash(idNo string) string {
	return hex.EncodeToString(k.mac("id", strings.ToUpper(idNo)))
}

// MaskCardNo is what the wallet keeps of a card number besides its hash: the BIN (first 6) and
// the last 4 digits, enough to find the issuing bank, check the bank's last 4 and show the card.
func MaskCardNo(cardNo string) string { return cnid.MaskCard(cardNo) }

// MaskIDNo is what the wallet keeps to show an ID number: its first 4 and last 4 characters.
func MaskIDNo(idNo string) string { return cnid.MaskID(idNo) }

// sealed IDs are "v1:" + base64(nonce || AES-256-GCM ciphertext).
const sealPrefix = "v1:"

func (k SecretKey) aead() (cipher.AEAD, error) {
	// A subkey of its own: the sealing key is never the HMAC key.
	b, err := aes.NewCipher(k.mac("seal-id", ""))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// SealID encrypts an ID number. The wallet needs the full number again in one place only: a
// card binding's four-element check at the bank (name, ID, card, reserved phone), which the user
// starts with the card and phone but not the ID already verified. Comparisons never open it
// (they use IDHash), and the birth-date rule of payment passwords opens it in memory only.
// entropy supplies the nonce (nil: crypto/rand).
func (k SecretKey) SealID(idNo string, entropy io.Reader) (string, error) {
	a, err := k.aead()
	if err != nil {
		return "", err
	}
	if entropy == nil {
		entropy = rand.Reader
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := io.ReadFull(entropy, nonce); err != nil {
		return "", err
	}
	return sealPrefix + base64.RawStdEncoding.EncodeToString(a.Seal(nonce, nonce, []byte(idNo), []byte("id"))), nil
}

// OpenID is the inverse of SealID; it fails on another key or a damaged value.
func (k SecretKey) OpenID(sealed string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", errors.New("sealed ID: unknown format")
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil {
		return "", fmt.Errorf("sealed ID: %w", err)
	}
	a, err := k.aead()
	if err != nil {
		return "", err
	}
	if len(b) < a.NonceSize() {
		return "", errors.New("sealed ID: too short")
	}
	id, err := a.Open(nil, b[:a.NonceSize()], b[a.NonceSize():], []byte("id"))
	if err != nil {
		return "", errors.New("sealed ID: cannot be opened with this wallet's key")
	}
	return string(id), nil
}
