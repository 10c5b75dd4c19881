package wechatpay

import (
	"crypto/rsa"
	"math"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
)

// plainPrime is the derivation's definition of a prime, with neither the sieve nor the cheaper
// test: from the drawn start, the first candidate stepping by 2 that ProbablyPrime(20) accepts and
// with gcd(p-1, e) = 1. Candidates divisible by an odd prime below 2^16 are composite and skipped
// first (by trial division of each, not the sieve), to keep the test quick.
func plainPrime(d *drbg, e *big.Int) *big.Int {
	one, two := big.NewInt(1), big.NewInt(2)
	var groups [][]uint64 // odd primes below 2^16, grouped so that each group's product fits 64 bits
	var products []*big.Int
	m := uint64(1)
	for q := uint64(3); q < 1<<16; q += 2 {
		if !oddPrime(q) {
			continue
		}
		if len(groups) == 0 || m > math.MaxUint64/q {
			groups, products, m = append(groups, nil), append(products, nil), 1
		}
		m *= q
		groups[len(groups)-1] = append(groups[len(groups)-1], q)
		products[len(products)-1] = new(big.Int).SetUint64(m)
	}
	smallFactor := func(p *big.Int) bool {
		r := new(big.Int)
		for i, g := range groups {
			v := r.Rem(p, products[i]).Uint64()
			for _, q := range g {
				if v%q == 0 {
					return true
				}
			}
		}
		return false
	}
	for {
		b := d.read(keyBits / 8 / 2)
		b[0] |= 0xC0
		b[len(b)-1] |= 1
		for p := new(big.Int).SetBytes(b); p.BitLen() == keyBits/2; p.Add(p, two) {
			if !smallFactor(p) && p.ProbablyPrime(20) && new(big.Int).GCD(nil, nil, new(big.Int).Sub(p, one), e).Cmp(one) == 0 {
				return p
			}
		}
	}
}

func oddPrime(q uint64) bool {
	for d := uint64(3); d*d <= q; d += 2 {
		if q%d == 0 {
			return false
		}
	}
	return true
}

// The sieved search finds the very prime the plain definition does, so no sandbox key changes
// (TestDeriveKeyGolden pins another seed's whole key).
func TestDeriveKeyMatchesPlainSearch(t *testing.T) {
	e := big.NewInt(65537)
	const seed = "merchant 1900000001"
	if p, q := newDRBG([]byte(seed)).prime(e), plainPrime(newDRBG([]byte(seed)), e); p.Cmp(q) != 0 {
		t.Fatalf("seed %q: the sieved search found %x, the plain one %x", seed, p, q)
	}
}

// The residues are the candidate's, and the sieve marks exactly the candidates with a factor
// below 2^16, in every window.
func TestSieveMarksSmallFactors(t *testing.T) {
	start := new(big.Int).Lsh(big.NewInt(3), keyBits/2-2)
	start.Add(start, big.NewInt(1))
	small := sievePrimes()
	rem := make([]uint32, len(small.primes))
	small.residues(start, rem)
	for i, q := range small.primes {
		if want := new(big.Int).Mod(start, big.NewInt(int64(q))).Uint64(); uint64(rem[i]) != want {
			t.Fatalf("residue mod %d = %d, want %d", q, rem[i], want)
		}
	}
	var composite [sieveWindow]bool
	for _, base := range []int{0, sieveWindow} {
		small.sieve(rem, base, &composite)
		for k := 0; k < sieveWindow; k += 7 {
			j := uint64(base + k) // the candidate start+2j
			want := false
			for i, q := range small.primes {
				if (uint64(rem[i])+2*j)%uint64(q) == 0 {
					want = true
					break
				}
			}
			if composite[k] != want {
				t.Fatalf("window %d, candidate %d: marked %v, has a small factor: %v", base, k, composite[k], want)
			}
		}
	}
}

func TestKeyCacheIsBoundedAndDerivesOnce(t *testing.T) {
	var derived atomic.Int32
	fake := func(seed []byte) *rsa.PrivateKey {
		derived.Add(1)
		return &rsa.PrivateKey{D: new(big.Int).SetBytes(seed)}
	}
	c := &keyLRU{size: 2}
	var wg sync.WaitGroup
	keys := make([]*rsa.PrivateKey, 8)
	for i := range keys {
		wg.Go(func() { keys[i] = c.get([]byte("a"), fake) })
	}
	wg.Wait()
	for _, k := range keys {
		if k != keys[0] {
			t.Fatal("concurrent callers got different keys for one seed")
		}
	}
	if n := derived.Load(); n != 1 {
		t.Fatalf("one seed asked for concurrently was derived %d times", n)
	}
	c.get([]byte("b"), fake)
	c.get([]byte("a"), fake) // a is now the most recently used
	c.get([]byte("c"), fake) // full: drops b
	if len(c.m) != 2 {
		t.Fatalf("the cache holds %d keys, want at most 2", len(c.m))
	}
	before := derived.Load()
	c.get([]byte("a"), fake)
	if derived.Load() != before {
		t.Error("the most recently used key was dropped")
	}
	c.get([]byte("b"), fake)
	if derived.Load() != before+1 {
		t.Error("the least recently used key was kept")
	}
}

func BenchmarkDeriveKeyUncached(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		deriveKey([]byte{byte(i), byte(i >> 8)})
	}
}
