package bankmock

import (
	"math"

	"github.com/brianvoe/gofakeit/v7"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/cnid"
)

// Generation streams. Every generated thing is a pure function of (seed, stream, index), so
// GenerateCustomers appends exactly what a bigger initial world would have held, and a restored
// snapshot only needs the counters to continue.
const (
	streamPerson = 1
	streamCard   = 2
	streamAdmin  = 3
)

// streamSeed derives a non-zero seed for one item of one stream (gofakeit.New(0) would be random).
func streamSeed(seed int64, stream, i uint64) uint64 {
	s := splitmix64(uint64(seed) ^ splitmix64(stream<<40^i))
	if s == 0 {
		s = 1
	}
	return s
}

// bankWeights makes big banks more common among generated customers, in catalogue order.
var bankWeights = map[string]int{
	"ICBC": 18, "ABC": 14, "BOC": 12, "CCB": 16, "BOCOM": 8, "PSBC": 8, "CMB": 10,
	"BJRCB": 4, "WJRCB": 4, "SDRCU": 3, "BOCFCB": 3,
}

var bankWeightTotal = func() int {
	t := 0
	for _, w := range bankWeights {
		t += w
	}
	return t
}()

func pickBank(f cnid.Rand) *bankapi.BankInfo {
	n := f.IntN(bankWeightTotal)
	for i := range catalogue {
		n -= bankWeights[catalogue[i].Code]
		if n < 0 {
			return &catalogue[i]
		}
	}
	return &catalogue[0]
}

// person is the holder identity number j of the world.
func person(seed int64, j int) (name, id, phone string) {
	f := gofakeit.New(streamSeed(seed, streamPerson, uint64(j)))
	male := f.IntN(2) == 0
	return cnid.ChineseName(f), cnid.ResidentID(f, male), cnid.Phone(f)
}

// cardFor draws a card number on bank b for the given type that is not in taken.
func cardFor(f cnid.Rand, b *bankapi.BankInfo, typ bankapi.CardType, taken func(string) bool) string {
	length := b.CardLengths[len(b.CardLengths)-1] // debit: the longest (19 at most banks)
	if typ == bankapi.CardCredit {
		length = b.CardLengths[0] // credit: the shortest (16)
	}
	for {
		c := cnid.CardNumber(f, b.BINs[f.IntN(len(b.BINs))], length)
		if !taken(c) {
			return c
		}
	}
}

// generateCustomer is customer i of the seed's world stream. About one in ten is a second card of
// the previous customer's holder, so that "try another card" flows find real people.
func generateCustomer(seed int64, i int, taken func(string) bool) bankapi.Customer {
	f := gofakeit.New(streamSeed(seed, streamCard, uint64(i)))
	j := i
	if i > 0 && f.IntN(10) == 0 {
		j = i - 1
	}
	name, id, phone := person(seed, j)
	b := pickBank(f)
	c := bankapi.Customer{Bank: b.Code, Type: bankapi.CardDebit, Status: bankapi.CardActive, Name: name, IDNo: id, Phone: phone}
	if f.IntN(100) < 15 {
		c.Type = bankapi.CardCredit
	}
	c.CardNo = cardFor(f, b, c.Type, taken)
	switch r := f.IntN(100); {
	case r < 4:
		c.Status = bankapi.CardFrozen
	case r < 8:
		c.Status = bankapi.CardLost
	case r < 12:
		c.Status = bankapi.CardExpired
	}
	if c.Type == bankapi.CardCredit {
		c.Balance = int64(f.IntN(10)+1) * 5000 * yuan // available credit, 5,000-50,000 CNY
	} else if f.IntN(10) == 0 {
		c.Balance = int64(f.IntN(1000)) // near zero: at most 9.99 CNY
	} else {
		// Log-uniform from 10 CNY to about 200,000 CNY: many modest balances, a few large ones.
		c.Balance = int64(1000 * math.Pow(10, 4.3*f.Float64()))
	}
	if c.Status == bankapi.CardActive && f.IntN(20) == 0 {
		c.Note = bankapi.NoteCNPDisabled
	}
	return c
}
