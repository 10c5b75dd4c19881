package cnid

import (
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"
)

func TestGeneratorsProduceValidValues(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	now := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	males, twoCharSurname := 0, 0
	for i := 0; i < 2000; i++ {
		male := i%2 == 0
		id := ResidentID(r, male)
		if err := ValidateResidentID(id, now); err != nil {
			t.Fatalf("ResidentID %s: %v", id, err)
		}
		if b := BirthDate(id); b < "19500101" || b > "20051231" {
			t.Fatalf("birth date %s out of 1950-2005", b)
		}
		if (id[16]-'0')%2 == 1 {
			males++
			if !male {
				t.Fatalf("female ID %s has an odd sex digit", id)
			}
		}
		if c := CardNumber(r, "622202", 19); len(c) != 19 || !LuhnValid(c) || c[:6] != "622202" {
			t.Fatalf("CardNumber %s", c)
		}
		if p := Phone(r); ValidatePhone(p) != nil {
			t.Fatalf("Phone %s invalid", p)
		}
		n := ChineseName(r)
		if l := utf8.RuneCountInString(n); l < 2 || l > 4 {
			t.Fatalf("name %q has %d runes", n, l)
		}
		if []rune(n)[0] == '欧' || []rune(n)[0] == '司' || []rune(n)[0] == '诸' || []rune(n)[0] == '上' || []rune(n)[0] == '东' {
			twoCharSurname++
		}
	}
	if males != 1000 {
		t.Fatalf("sex digit: %d odd of 2000, want exactly the 1000 males", males)
	}
	if twoCharSurname == 0 {
		t.Fatal("no compound surname in 2000 names")
	}
}

func TestAreaCodesHaveKnownProvinces(t *testing.T) {
	for _, a := range AreaCodes {
		if _, ok := Provinces[a[:2]]; !ok || len(a) != 6 {
			t.Errorf("area code %s", a)
		}
	}
}
