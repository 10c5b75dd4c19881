// Package wechatpay implements the cryptography of the WeChat Pay APIv3 wire protocol: RSA keys
// and certificates, the SHA256withRSA request/response signatures and their Authorization and
// Wechatpay-* headers, AEAD_AES_256_GCM resources, the GET /v3/certificates body and
// notifications. It holds no business logic and imports nothing of this repository; its
// behaviour is checked against the official SDK github.com/wechatpay-apiv3/wechatpay-go.
package wechatpay

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"
)

// keyBits is the modulus size WeChat Pay uses for merchant and platform keys.
const keyBits = 2048

// keyCache memoises DeriveKey: generating two 1024-bit primes costs ~100 ms or more, and tests
// and sandboxes derive the same few keys over and over.
var keyCache = struct {
	sync.Mutex
	m map[[sha256.Size]byte]*rsa.PrivateKey
}{m: map[[sha256.Size]byte]*rsa.PrivateKey{}}

// DeriveKey returns a deterministic RSA-2048 key (e = 65537) for seed: the same seed always gives
// the same key, bit for bit, in every process and on every platform; different seeds give
// unrelated keys. It is meant for sandbox merchants and a sandbox "platform", never for real
// money: anyone who knows the seed knows the key.
//
// It is hand-written because the standard library cannot do it: since Go 1.26
// rsa.GenerateKey ignores its io.Reader and always uses the system CSPRNG (unless
// GODEBUG=cryptocustomrand=1, a setting due to be removed), so feeding it a seeded stream does
// not make it deterministic. Instead the primes come from an HMAC-SHA256 counter-mode DRBG over
// the seed: 1024-bit candidates with the top two bits set (so p·q has exactly 2048 bits) and the
// low bit set, stepped by 2 to the first ProbablyPrime(20) with gcd(p-1, e) = 1.
//
// The returned key is shared through a process-wide cache: callers must not modify it.
func DeriveKey(seed []byte) *rsa.PrivateKey {
	id := sha256.Sum256(seed)
	keyCache.Lock()
	defer keyCache.Unlock()
	if k, ok := keyCache.m[id]; ok {
		return k
	}
	k := deriveKey(seed)
	keyCache.m[id] = k
	return k
}

// deriveKey is DeriveKey without the cache.
func deriveKey(seed []byte) *rsa.PrivateKey {
	d := newDRBG(seed)
	e := big.NewInt(65537)
	p := d.prime(e)
	q := d.prime(e)
	for p.Cmp(q) == 0 {
		q = d.prime(e)
	}
	if p.Cmp(q) < 0 {
		p, q = q, p // conventional order p > q; also keeps the result independent of draw order
	}
	one := big.NewInt(1)
	pm1 := new(big.Int).Sub(p, one)
	qm1 := new(big.Int).Sub(q, one)
	// d = e⁻¹ mod λ(n), λ(n) = lcm(p-1, q-1), as FIPS 186-5 asks.
	g := new(big.Int).GCD(nil, nil, pm1, qm1)
	lambda := new(big.Int).Mul(pm1, qm1)
	lambda.Div(lambda, g)
	dExp := new(big.Int).ModInverse(e, lambda)
	if dExp == nil {
		panic("wechatpay: DeriveKey: e is not invertible modulo λ(n)") // excluded by gcd(p-1,e)=gcd(q-1,e)=1
	}
	key := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: int(e.Int64())},
		D:         dExp,
		Primes:    []*big.Int{p, q},
	}
	key.Precompute()
	if err := key.Validate(); err != nil {
		panic("wechatpay: DeriveKey built an invalid key: " + err.Error())
	}
	if key.N.BitLen() != keyBits {
		panic(fmt.Sprintf("wechatpay: DeriveKey built a %d-bit modulus", key.N.BitLen()))
	}
	return key
}

// drbg is HMAC-SHA256 in counter mode keyed by a hash of the seed: block i is
// HMAC(K, "walletctl/wechatpay DeriveKey v1" || uint64be(i)). Changing it changes every derived
// key, so it is frozen (TestDeriveKeyGolden pins it).
type drbg struct {
	key     [sha256.Size]byte
	counter uint64
}

func newDRBG(seed []byte) *drbg {
	return &drbg{key: sha256.Sum256(append([]byte("walletctl/wechatpay DeriveKey seed\x00"), seed...))}
}

func (d *drbg) read(n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for len(out) < n {
		m := hmac.New(sha256.New, d.key[:])
		m.Write([]byte("walletctl/wechatpay DeriveKey v1"))
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], d.counter)
		d.counter++
		m.Write(c[:])
		out = m.Sum(out)
	}
	return out[:n]
}

// prime draws a 1024-bit prime p with gcd(p-1, e) = 1.
func (d *drbg) prime(e *big.Int) *big.Int {
	const bits = keyBits / 2
	one := big.NewInt(1)
	two := big.NewInt(2)
	pm1, g := new(big.Int), new(big.Int)
	rem := make([]uint32, len(sievePrimes))
	for {
		b := d.read(bits / 8)
		b[0] |= 0xC0
		b[len(b)-1] |= 1
		p := new(big.Int).SetBytes(b)
		// The candidate's residues modulo the small primes, stepped along with it: a candidate
		// with a small factor is skipped without a modular exponentiation. It would fail
		// ProbablyPrime anyway, so the prime found (the first from the drawn start, stepping by 2)
		// is exactly the one found without the sieve: keys stay the same (TestDeriveKeyGolden),
		// at about half the cost, which every command that signs as a merchant pays once.
		for i, sp := range sievePrimes {
			rem[i] = uint32(new(big.Int).Mod(p, big.NewInt(int64(sp))).Uint64())
		}
		for p.BitLen() == bits {
			if !hasSmallFactor(rem) && p.ProbablyPrime(20) && g.GCD(nil, nil, pm1.Sub(p, one), e).Cmp(one) == 0 {
				return p
			}
			p.Add(p, two)
			for i, sp := range sievePrimes {
				if rem[i] += 2; rem[i] >= sp {
					rem[i] -= sp
				}
			}
		}
		// Stepped past 2^1024 (astronomically unlikely): draw a fresh candidate.
	}
}

// sievePrimes are the odd primes below 2^12, by which a candidate is tried before the
// probabilistic test (far below the 1024-bit candidates, so a zero residue always means composite).
var sievePrimes = func() []uint32 {
	const limit = 1 << 12
	composite := make([]bool, limit)
	var out []uint32
	for i := 3; i < limit; i += 2 {
		if composite[i] {
			continue
		}
		out = append(out, uint32(i))
		for j := i * i; j < limit; j += 2 * i {
			composite[j] = true
		}
	}
	return out
}()

func hasSmallFactor(rem []uint32) bool {
	for _, r := range rem {
		if r == 0 {
			return true
		}
	}
	return false
}

// Issuer is the certificate and key that sign a certificate made by Certificate; without one
// the certificate is self-signed.
type Issuer struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

// Certificate returns the DER of an X.509 certificate for key's public key whose serial number
// is the integer written by serialHex (WeChat Pay serials are upper-case hex, 40 characters for
// merchant and platform certificates, e.g. "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"). It is
// signed with SHA256WithRSA by issuer[0] if given, else self-signed (and then a CA certificate
// able to act as an Issuer), and deterministic: the same
// inputs give the same bytes (PKCS#1 v1.5 signatures use no randomness; times are truncated to
// the second).
//
// serialHex must survive the round trip through SerialHex (which is what the SDK's
// utils.GetCertificateSerialNumber computes): an even number of hex digits, not starting with
// "00", at most 20 bytes, not zero. Lower case is accepted; the serial reads back upper case.
func Certificate(key *rsa.PrivateKey, serialHex, commonName, org string, notBefore, notAfter time.Time, issuer ...Issuer) ([]byte, error) {
	if key == nil {
		return nil, errors.New("wechatpay: Certificate: nil key")
	}
	serial, err := parseSerial(serialHex)
	if err != nil {
		return nil, err
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("wechatpay: Certificate: notAfter %s is not after notBefore %s", notAfter, notBefore)
	}
	if len(issuer) > 1 {
		return nil, errors.New("wechatpay: Certificate: at most one issuer")
	}
	subject := pkix.Name{Country: []string{"CN"}, CommonName: commonName}
	if org != "" {
		subject.Organization = []string{org}
		subject.OrganizationalUnit = []string{org}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore.UTC().Truncate(time.Second),
		NotAfter:              notAfter.UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	parent, signer := tmpl, key
	if len(issuer) == 0 {
		// A self-signed certificate is its own CA, so that it can also serve as an Issuer
		// (like WeChat Pay's own CA above its platform and merchant certificates).
		tmpl.IsCA = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		if issuer[0].Cert == nil || issuer[0].Key == nil {
			return nil, errors.New("wechatpay: Certificate: issuer needs both Cert and Key")
		}
		parent, signer = issuer[0].Cert, issuer[0].Key
	}
	// rand.Reader is required by the API but unused: PKCS#1 v1.5 signing is deterministic and the
	// serial is given.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("wechatpay: Certificate: %w", err)
	}
	return der, nil
}

func parseSerial(serialHex string) (*big.Int, error) {
	b, err := hex.DecodeString(serialHex)
	switch {
	case err != nil:
		return nil, fmt.Errorf("wechatpay: serial %q is not an even-length hex string: %v", serialHex, err)
	case len(b) == 0:
		return nil, errors.New("wechatpay: empty certificate serial")
	case len(b) > 20:
		return nil, fmt.Errorf("wechatpay: serial %q is longer than 20 bytes (RFC 5280)", serialHex)
	case b[0] == 0:
		return nil, fmt.Errorf("wechatpay: serial %q starts with a zero byte, which the SDK's serial helper would drop", serialHex)
	}
	return new(big.Int).SetBytes(b), nil
}

// SerialHex is the certificate's serial as WeChat Pay writes it in Wechatpay-Serial and
// serial_no: exactly the SDK's utils.GetCertificateSerialNumber, fmt.Sprintf("%X",
// SerialNumber.Bytes()) — upper-case hex, two digits per byte, leading zero bytes dropped.
func SerialHex(cert *x509.Certificate) string {
	return strings.ToUpper(hex.EncodeToString(cert.SerialNumber.Bytes()))
}

// PrivateKeyPEM encodes key as PKCS#8 "PRIVATE KEY", the only form the SDK's
// utils.LoadPrivateKey accepts (apiclient_key.pem).
func PrivateKeyPEM(key *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic("wechatpay: PrivateKeyPEM: " + err.Error()) // only fails for invalid keys
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// PublicKeyPEM encodes pub as PKIX "PUBLIC KEY", what the SDK's utils.LoadPublicKey accepts (the
// "WeChat Pay public key" of PUB_KEY_ID mode).
func PublicKeyPEM(pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic("wechatpay: PublicKeyPEM: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// CertificatePEM wraps a DER certificate as "CERTIFICATE", what utils.LoadCertificate accepts.
func CertificatePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
