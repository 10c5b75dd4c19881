package cnid

import (
	"strings"
	"testing"
	"time"
)

func TestResidentIDCheckDigit(t *testing.T) {
	// Worked examples of GB 11643-1999 (the check character may be X).
	cases := map[string]byte{
		"11010519491231002": 'X',
		"44052418800101001": '4',
	}
	for first17, want := range cases {
		got, err := ResidentIDCheckDigit(first17)
		if err != nil || got != want {
			t.Errorf("ResidentIDCheckDigit(%s) = %c, %v; want %c", first17, got, err, want)
		}
	}
	if _, err := ResidentIDCheckDigit("1234"); err == nil {
		t.Error("short input accepted")
	}
}

func TestValidateResidentID(t *testing.T) {
	now := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		id, wantErr string
	}{
		{"11010519491231002X", ""},
		{"11010519491231002x", ""},
		{"440524188001010014", "birth date out of range"},
		{"110105194912310021", "check digit"},
		{"99010519491231002X", "province"},
		{"11010519491331002X", "birth date"},
		{"1101051949123100", "18 characters"},
		{"11010520300101002X", "out of range"},
		{"１10105194912310021", "18 characters"},
		{"1101051949123100A2", "ASCII digits"},
	}
	for _, c := range cases {
		err := ValidateResidentID(c.id, now)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", c.id, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: error %v, want one mentioning %q", c.id, err, c.wantErr)
		}
	}
}

func TestLuhn(t *testing.T) {
	valid := []string{"4111111111111111", "6222020200112233441"[:0] + "79927398713", "6011111111111117"}
	for _, v := range valid {
		if !LuhnValid(v) {
			t.Errorf("%s should be Luhn-valid", v)
		}
	}
	for _, v := range []string{"4111111111111112", "79927398710", "", "1", "41111111111111１1"} {
		if LuhnValid(v) {
			t.Errorf("%q should not be Luhn-valid", v)
		}
	}
	partial := "622202123456789"
	full := partial + string(LuhnCheckDigit(partial))
	if !LuhnValid(full) {
		t.Errorf("LuhnCheckDigit produced an invalid number %s", full)
	}
	if err := ValidateCardNumber("4111111111111111"); err != nil {
		t.Error(err)
	}
	for card, want := range map[string]string{"4111 1111": "ASCII digits", "411111111111": "13 to 19", "4111111111111112": "Luhn"} {
		if err := ValidateCardNumber(card); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateCardNumber(%q) = %v, want %q", card, err, want)
		}
	}
}

func TestPhoneAndMasks(t *testing.T) {
	for _, p := range []string{"13800138000", "19912345678"} {
		if err := ValidatePhone(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range []string{"12800138000", "1380013800", "2380013800a", "138001380001"} {
		if ValidatePhone(p) == nil {
			t.Errorf("%s accepted", p)
		}
	}
	checks := map[string]string{
		MaskCard("6222021234567890123"):                  "622202*********0123",
		MaskCardGrouped("6222021234567890123"):           "6222 **** **** 0123",
		MaskCardGrouped(MaskCard("6222021234567890123")): "6222 **** **** 0123", // a stored masked number
		MaskCardGrouped("6222012"):                       "*******",
		MaskID("11010519491231002X"):                     "1101**********002X",
		MaskPhone("13800138000"):                         "138****8000",
		MaskName("张三丰"):                                  "**丰",
		MaskName("李"):                                    "*",
	}
	for got, want := range checks {
		if got != want {
			t.Errorf("mask = %q, want %q", got, want)
		}
	}
}
