package wechatpay

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// AlgorithmAESGCM is the only resource algorithm of APIv3 RSA merchants.
const AlgorithmAESGCM = "AEAD_AES_256_GCM"

// ChinaStandardTime is the +08:00 zone WeChat Pay writes its RFC 3339 times in.
var ChinaStandardTime = time.FixedZone("CST", 8*60*60)

func newGCM(apiV3Key, nonce string) (cipher.AEAD, error) {
	if len(apiV3Key) != 32 {
		return nil, fmt.Errorf("wechatpay: APIv3 key must be 32 bytes, got %d", len(apiV3Key))
	}
	if len(nonce) != 12 {
		return nil, fmt.Errorf("wechatpay: AEAD_AES_256_GCM nonce must be 12 bytes, got %d", len(nonce))
	}
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// EncryptAESGCM seals plaintext with AEAD_AES_256_GCM as WeChat Pay does for notifications and
// platform certificates: the key is the merchant's 32-character APIv3 key, the nonce a
// 12-character string and the associated data a string, all used as their bytes; the result is
// base64(ciphertext || 16-byte tag). The SDK's utils.DecryptAES256GCM opens it.
func EncryptAESGCM(apiV3Key, associatedData, nonce string, plaintext []byte) (string, error) {
	gcm, err := newGCM(apiV3Key, nonce)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plaintext, []byte(associatedData))), nil
}

// DecryptAESGCM opens what EncryptAESGCM (or WeChat Pay) sealed, like utils.DecryptAES256GCM
// but with errors instead of panics on a bad nonce length.
func DecryptAESGCM(apiV3Key, associatedData, nonce, ciphertextB64 string) ([]byte, error) {
	gcm, err := newGCM(apiV3Key, nonce)
	if err != nil {
		return nil, err
	}
	ct, err := base64.StdEncoding.DecodeString(ciphertextB64)
	if err != nil {
		return nil, fmt.Errorf("wechatpay: ciphertext is not base64: %w", err)
	}
	pt, err := gcm.Open(nil, []byte(nonce), ct, []byte(associatedData))
	if err != nil {
		return nil, errors.New("wechatpay: AEAD_AES_256_GCM authentication failed (wrong APIv3 key, nonce, associated data or ciphertext)")
	}
	return pt, nil
}

// Resource is an encrypted resource of a notification (and, without OriginalType, the
// encrypt_certificate of GET /v3/certificates).
type Resource struct {
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	OriginalType   string `json:"original_type"`
	Nonce          string `json:"nonce"`
}

// EncryptResource seals plaintext into a Resource (algorithm AEAD_AES_256_GCM).
// originalType is e.g. "transaction" or "refund"; associatedData is "transaction" for payment
// notifications, "refund" for refunds, as WeChat Pay sends them.
func EncryptResource(apiV3Key, originalType, associatedData, nonce string, plaintext []byte) (Resource, error) {
	ct, err := EncryptAESGCM(apiV3Key, associatedData, nonce, plaintext)
	if err != nil {
		return Resource{}, err
	}
	return Resource{
		Algorithm:      AlgorithmAESGCM,
		Ciphertext:     ct,
		AssociatedData: associatedData,
		OriginalType:   originalType,
		Nonce:          nonce,
	}, nil
}

// Decrypt opens r with the APIv3 key.
func (r Resource) Decrypt(apiV3Key string) ([]byte, error) {
	if r.Algorithm != AlgorithmAESGCM {
		return nil, fmt.Errorf("wechatpay: unsupported resource algorithm %q", r.Algorithm)
	}
	return DecryptAESGCM(apiV3Key, r.AssociatedData, r.Nonce, r.Ciphertext)
}

// PlatformCert is one entry of GET /v3/certificates.
type PlatformCert struct {
	SerialNo      string    // serial_no, normally SerialHex of the certificate
	EffectiveTime time.Time // effective_time
	ExpireTime    time.Time // expire_time
	PEM           []byte    // the certificate, PEM ("-----BEGIN CERTIFICATE-----")
}

type certificatesBody struct {
	Data []certificateEntry `json:"data"`
}

type certificateEntry struct {
	SerialNo           string             `json:"serial_no"`
	EffectiveTime      string             `json:"effective_time"`
	ExpireTime         string             `json:"expire_time"`
	EncryptCertificate encryptCertificate `json:"encrypt_certificate"`
}

type encryptCertificate struct {
	Algorithm      string `json:"algorithm"`
	Nonce          string `json:"nonce"`
	AssociatedData string `json:"associated_data"`
	Ciphertext     string `json:"ciphertext"`
}

// CertificatesBody renders the JSON body of GET /v3/certificates as the SDK's certificate
// downloader parses it (core/downloader/models.go): {"data":[{"serial_no", "effective_time",
// "expire_time" (RFC 3339, written in +08:00), "encrypt_certificate":{"algorithm":
// "AEAD_AES_256_GCM", "nonce", "associated_data":"certificate", "ciphertext"}}]}, each PEM sealed
// with the merchant's APIv3 key. nonceFor(i) gives the 12-character nonce of entry i; if nil, a
// nonce is derived from the entry (deterministic, distinct for distinct certificates).
func CertificatesBody(certs []PlatformCert, apiV3Key string, nonceFor func(i int) string) ([]byte, error) {
	body := certificatesBody{Data: make([]certificateEntry, 0, len(certs))}
	for i, c := range certs {
		if c.SerialNo == "" || len(c.PEM) == 0 {
			return nil, fmt.Errorf("wechatpay: CertificatesBody: certificate %d needs SerialNo and PEM", i)
		}
		var nonce string
		if nonceFor != nil {
			nonce = nonceFor(i)
		} else {
			h := sha256.Sum256(append([]byte(c.SerialNo+"\x00"), c.PEM...))
			nonce = hex.EncodeToString(h[:6])
		}
		const ad = "certificate"
		ct, err := EncryptAESGCM(apiV3Key, ad, nonce, c.PEM)
		if err != nil {
			return nil, fmt.Errorf("wechatpay: CertificatesBody: certificate %d: %w", i, err)
		}
		body.Data = append(body.Data, certificateEntry{
			SerialNo:      c.SerialNo,
			EffectiveTime: c.EffectiveTime.In(ChinaStandardTime).Format(time.RFC3339),
			ExpireTime:    c.ExpireTime.In(ChinaStandardTime).Format(time.RFC3339),
			EncryptCertificate: encryptCertificate{
				Algorithm:      AlgorithmAESGCM,
				Nonce:          nonce,
				AssociatedData: ad,
				Ciphertext:     ct,
			},
		})
	}
	return JSON(body)
}
