package wechatpay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
)

// ParsePrivateKey reads an RSA private key from PEM: PKCS#8 ("PRIVATE KEY", what PrivateKeyPEM
// writes and WeChat Pay issues) or PKCS#1 ("RSA PRIVATE KEY").
func ParsePrivateKey(p string) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("wechatpay: no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("wechatpay: not an RSA key")
	}
	return x509.ParsePKCS1PrivateKey(b.Bytes)
}

// ParseCertificate reads a certificate from PEM.
func ParseCertificate(p string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("wechatpay: no PEM block")
	}
	return x509.ParseCertificate(b.Bytes)
}

// CertificatePublicKey is the RSA public key of a PEM certificate.
func CertificatePublicKey(p string) (*rsa.PublicKey, error) {
	c, err := ParseCertificate(p)
	if err != nil {
		return nil, err
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("wechatpay: not an RSA certificate")
	}
	return pub, nil
}
