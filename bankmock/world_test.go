package bankmock

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/vclock"
)

func TestSameSeedSameBytes(t *testing.T) {
	a, _ := New(Config{Seed: 7, Customers: 200}).Snapshot(bg)
	b, _ := New(Config{Seed: 7, Customers: 200}).Snapshot(bg)
	c, _ := New(Config{Seed: 8, Customers: 200}).Snapshot(bg)
	if !bytes.Equal(a, b) {
		t.Fatal("two engines from one seed differ")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same world")
	}
	// Seed 0 means 1, never a random world.
	z, _ := New(Config{Seed: 0, Customers: 5}).Snapshot(bg)
	o, _ := New(Config{Seed: 1, Customers: 5}).Snapshot(bg)
	if !bytes.Equal(z, o) {
		t.Fatal("seed 0 is not seed 1")
	}
}

func TestGenerateCustomersContinuesTheStream(t *testing.T) {
	big := New(Config{Seed: 3, Customers: 60})
	small := New(Config{Seed: 3, Customers: 40})
	added, err := small.GenerateCustomers(bg, 20)
	if err != nil || len(added) != 20 {
		t.Fatalf("GenerateCustomers: %d, %v", len(added), err)
	}
	want, _ := customersOf(bg, big)
	got, _ := customersOf(bg, small)
	if len(want) != len(got) {
		t.Fatalf("%d customers, want %d", len(got), len(want))
	}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("customer %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := small.GenerateCustomers(bg, 0); err == nil {
		t.Fatal("GenerateCustomers(0) accepted")
	}
}

func TestGeneratedCustomersAreValid(t *testing.T) {
	e := New(Config{Seed: 99, Customers: 1000})
	cs, _ := customersOf(bg, e)
	if len(cs) != 1000+len(TestCards) {
		t.Fatalf("%d customers", len(cs))
	}
	seen := map[string]bool{}
	count := map[string]int{}
	now := vclock.DefaultEpoch
	for i, c := range cs {
		if err := cnid.ValidateResidentID(c.IDNo, now); err != nil {
			t.Fatalf("%d %s: %v", i, c.IDNo, err)
		}
		if err := cnid.ValidateCardNumber(c.CardNo); err != nil {
			t.Fatalf("%d %s: %v", i, c.CardNo, err)
		}
		if err := cnid.ValidatePhone(c.Phone); err != nil {
			t.Fatalf("%d %s: %v", i, c.Phone, err)
		}
		b, ok := BankForCard(c.CardNo)
		if !ok || b.Code != c.Bank || !validLength(bankByCode[b.Code], len(c.CardNo)) {
			t.Fatalf("%d: card %s is not a %s card", i, c.CardNo, c.Bank)
		}
		if seen[c.CardNo] {
			t.Fatalf("card %s twice", c.CardNo)
		}
		seen[c.CardNo] = true
		if c.Balance < 0 || c.Name == "" {
			t.Fatalf("%d: %+v", i, c)
		}
		count[string(c.Status)]++
		count[string(c.Type)]++
		count[c.Bank]++
		if c.Balance < 1000 {
			count["near_zero"]++
		}
		if strings.Contains(c.Note, bankapi.NoteCNPDisabled) {
			count["cnp"]++
		}
		if i > 0 && cs[i-1].IDNo == c.IDNo {
			count["second_card"]++
		}
	}
	for _, k := range []string{"active", "frozen", "lost", "expired", "debit", "credit", "near_zero", "cnp", "second_card", "ICBC", "BOCFCB", "SDRCU", "WJRCB"} {
		if count[k] == 0 {
			t.Errorf("no %s among 1000 generated customers", k)
		}
	}
	if count["active"] < 800 || count["debit"] < 750 {
		t.Errorf("distribution off: %v", count)
	}
}

func TestCatalogue(t *testing.T) {
	cat := Catalogue()
	bins := map[string]string{}
	offline := 0
	for _, b := range cat {
		if !b.OnlineBinding {
			offline++
			if b.Kind != "rural" {
				t.Errorf("%s refuses online binding but is not a small bank", b.Code)
			}
		}
		if b.SingleLimit <= 0 || b.DailyLimit < b.SingleLimit {
			t.Errorf("%s limits %d/%d", b.Code, b.SingleLimit, b.DailyLimit)
		}
		for _, bin := range b.BINs {
			if other, dup := bins[bin]; dup {
				t.Errorf("BIN %s in %s and %s", bin, b.Code, other)
			}
			bins[bin] = b.Code
			if got, ok := BankForCard(bin + "0000000000"); !ok || got.Code != b.Code {
				t.Errorf("BankForCard(%s...) = %s", bin, got.Code)
			}
		}
	}
	for _, code := range []string{"ICBC", "ABC", "BOC", "CCB", "BOCOM", "PSBC", "CMB"} {
		if _, ok := BankByCode(code); !ok {
			t.Errorf("%s missing", code)
		}
	}
	if offline < 2 {
		t.Errorf("%d banks refuse online binding, want at least 2", offline)
	}
	if _, ok := BankForCard("9999990000000000"); ok {
		t.Error("unknown BIN found a bank")
	}
	// Catalogue returns a copy.
	cat[0].BINs[0] = "000000"
	if Catalogue()[0].BINs[0] == "000000" {
		t.Error("Catalogue shares its slices")
	}
}

func TestTestCardsAreValid(t *testing.T) {
	keys := map[string]bool{}
	for _, tc := range TestCards {
		c := tc.Customer
		if keys[tc.Key] {
			t.Errorf("key %s twice", tc.Key)
		}
		keys[tc.Key] = true
		if err := cnid.ValidateResidentID(c.IDNo, vclock.DefaultEpoch); err != nil {
			t.Errorf("%s: %v", tc.Key, err)
		}
		if err := cnid.ValidateCardNumber(c.CardNo); err != nil {
			t.Errorf("%s: %v", tc.Key, err)
		}
		if err := cnid.ValidatePhone(c.Phone); err != nil {
			t.Errorf("%s: %v", tc.Key, err)
		}
		if b, ok := BankForCard(c.CardNo); !ok || b.Code != c.Bank || !validLength(bankByCode[b.Code], len(c.CardNo)) {
			t.Errorf("%s: card not on %s", tc.Key, c.Bank)
		}
	}
	for _, m := range MagicAmounts {
		if !slices.Contains(bankapi.FaultKinds, m.Fault) || m.Amount%100 == 0 {
			t.Errorf("magic amount %d", m.Amount)
		}
	}
}
