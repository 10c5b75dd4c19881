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
	"math"
	"math/big"
	"strings"
	"sync"
	"time"
)

// keyBits is the modulus size WeChat Pay uses for merchant and platform keys.
const keyBits = 2048

// keyCache memoises DeriveKey: a key costs tens of milliseconds, and tests, sandboxes and a
// server's tenants derive the same few keys over and over.
var keyCache = &keyLRU{size: 256} // a 2048-bit key with its precomputed values is about 2 KiB

// keyLRU holds derived keys by a hash of their seed (never the seed, which is secret material),
// at most size of them, dropping the least recently used first. It derives each key once even
// when asked for it concurrently, without making callers for other keys wait.
type keyLRU struct {
	mu   sync.Mutex
	m    map[[sha256.Size]byte]*cachedKey
	tick uint64 // counts uses: an entry's last one orders the drops
	size int
}

type cachedKey struct {
	once sync.Once
	key  *rsa.PrivateKey
	used uint64 // under keyLRU.mu
}

func (c *keyLRU) get(seed []byte, derive func([]byte) *rsa.PrivateKey) *rsa.PrivateKey {
	id := sha256.Sum256(seed)
	c.mu.Lock()
	e, ok := c.m[id]
	if !ok {
		if c.m == nil {
			c.m = map[[sha256.Size]byte]*cachedKey{}
		}
		if len(c.m) >= c.size {
			c.dropOldest()
		}
		e = &cachedKey{}
		c.m[id] = e
	}
	c.tick++
	e.used = c.tick
	c.mu.Unlock()
	e.once.Do(func() { e.key = derive(seed) })
	return e.key
}

// dropOldest drops the least recently used key (mu held): a scan, since the cache is small and
// only a miss on a full cache pays for it.
func (c *keyLRU) dropOldest() {
	var oldest [sha256.Size]byte
	var least uint64
	first := true
	for id, e := range c.m {
		if first || e.used < least {
			oldest, least, first = id, e.used, false
		}
	}
	delete(c.m, oldest)
}

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
// low bit set, stepped by 2 to the first prime with gcd(p-1, e) = 1 (see drbg.prime).
//
// The returned key is shared through a process-wide cache: callers must not modify it.
func DeriveKey(seed []byte) *rsa.PrivateKey { return keyCache.get(seed, deriveKey) }

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

// prime draws a 1024-bit prime p with gcd(p-1, e) = 1: from a drawn start (the top two bits and
// the low bit set), the first candidate stepping by 2 that is prime with gcd(p-1, e) = 1.
//
// Every sandbox key costs this twice, so what cannot be the answer is skipped cheaply: candidates
// with a factor below 2^16 are sieved out a window at a time, without a modular exponentiation,
// and the rest get Go's Baillie-PSW test (ProbablyPrime(0)), which accepts every prime and no
// known composite, at a fraction of the cost of 20 Miller-Rabin rounds more. The prime found is
// the one the plain definition gives (ProbablyPrime(20), no sieve): keys never change
// (TestDeriveKeyGolden, TestDeriveKeyMatchesPlainSearch).
func (d *drbg) prime(e *big.Int) *big.Int {
	const bits = keyBits / 2
	one := big.NewInt(1)
	pm1, g := new(big.Int), new(big.Int)
	small := sievePrimes()
	rem := make([]uint32, len(small.primes))
	var composite [sieveWindow]bool
draw:
	for {
		b := d.read(bits / 8)
		b[0] |= 0xC0
		b[len(b)-1] |= 1
		start := new(big.Int).SetBytes(b)
		small.residues(start, rem)
		p := new(big.Int)
		for base := 0; ; base += sieveWindow {
			small.sieve(rem, base, &composite)
			for k := range composite {
				if composite[k] {
					continue
				}
				p.SetInt64(int64(2 * (base + k)))
				p.Add(p, start)
				if p.BitLen() != bits {
					continue draw // stepped past 2^1024 (astronomically unlikely): draw a fresh start
				}
				if p.ProbablyPrime(0) && g.GCD(nil, nil, pm1.Sub(p, one), e).Cmp(one) == 0 {
					return p
				}
			}
		}
	}
}

// sieveWindow is how many candidates (start, start+2, ...) are sieved at once: a few times the
// ~355 a 1024-bit prime takes on average.
const sieveWindow = 4096

// smallPrimes are the odd primes below 2^16 (far below the 1024-bit candidates, so a zero
// residue always means composite), and their products in groups that fit a word, so that a
// candidate's residues cost one short division per group.
type smallPrimes struct {
	primes []uint32
	moduli []*big.Int
	ends   []int // group i is primes[ends[i-1]:ends[i]]
}

// sievePrimes is made on first use: most processes never derive a key.
var sievePrimes = sync.OnceValue(func() *smallPrimes {
	const limit = 1 << 16
	composite := make([]bool, limit)
	t := &smallPrimes{}
	for i := 3; i < limit; i += 2 {
		if composite[i] {
			continue
		}
		t.primes = append(t.primes, uint32(i))
		for j := i * i; j < limit; j += 2 * i {
			composite[j] = true
		}
	}
	m := uint64(1)
	for i, q := range t.primes {
		if m > math.MaxUint64/uint64(q) {
			t.moduli, t.ends = append(t.moduli, new(big.Int).SetUint64(m)), append(t.ends, i)
			m = 1
		}
		m *= uint64(q)
	}
	t.moduli, t.ends = append(t.moduli, new(big.Int).SetUint64(m)), append(t.ends, len(t.primes))
	return t
})

// residues sets rem[i] = n mod t.primes[i].
func (t *smallPrimes) residues(n *big.Int, rem []uint32) {
	r := new(big.Int)
	from := 0
	for i, m := range t.moduli {
		r.Rem(n, m)
		v := r.Uint64()
		for j := from; j < t.ends[i]; j++ {
			rem[j] = uint32(v % uint64(t.primes[j]))
		}
		from = t.ends[i]
	}
}

// sieve marks composite[k] when start+2(base+k) has a factor among t.primes, rem being start's
// residues.
func (t *smallPrimes) sieve(rem []uint32, base int, composite *[sieveWindow]bool) {
	*composite = [sieveWindow]bool{}
	for i, q64 := range t.primes {
		q := uint64(q64)
		// start + 2j ≡ 0 (mod q) for j ≡ -rem·2⁻¹ (mod q), and 2⁻¹ = (q+1)/2.
		j := (q - uint64(rem[i])) % q * ((q + 1) / 2) % q
		// The first such j at or after base, as an offset in the window.
		k := (j + q - uint64(base)%q) % q
		for ; k < sieveWindow; k += q {
			composite[k] = true
		}
	}
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
