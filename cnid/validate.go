// Package cnid holds the formats of the outside world that both the bank and the wallet check:
// 18-digit resident IDs (GB 11643-1999, ISO 7064 MOD 11-2 check digit), Luhn card numbers,
// mainland mobile numbers, and how each is masked for display.
package cnid

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// ResidentIDCheckDigit computes the ISO 7064 MOD 11-2 check character of the first 17 digits.
func ResidentIDCheckDigit(first17 string) (byte, error) {
	if len(first17) != 17 || !allASCIIDigits(first17) {
		return 0, errors.New("need exactly 17 ASCII digits")
	}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheckChars[sum%11], nil
}

// ValidateResidentID checks an 18-digit resident ID: shape, province code, birth date (not in the
// future relative to now, not before 1900) and the check digit. The error says which part is wrong.
func ValidateResidentID(id string, now time.Time) error {
	if len(id) != 18 {
		return fmt.Errorf("resident ID must have 18 characters, got %d", utf8.RuneCountInString(id))
	}
	if !allASCIIDigits(id[:17]) {
		return errors.New("resident ID: the first 17 characters must be ASCII digits")
	}
	last := id[17]
	if last == 'x' {
		last = 'X'
	}
	if !(last >= '0' && last <= '9') && last != 'X' {
		return errors.New("resident ID: the last character must be a digit or X")
	}
	if _, ok := Provinces[id[:2]]; !ok {
		return fmt.Errorf("resident ID: %s is not a province code", id[:2])
	}
	birth, err := time.Parse("20060102", id[6:14])
	if err != nil {
		return errors.New("resident ID: digits 7-14 are not a valid birth date")
	}
	if birth.Year() < 1900 || (!now.IsZero() && birth.After(now)) {
		return errors.New("resident ID: birth date out of range")
	}
	want, _ := ResidentIDCheckDigit(id[:17])
	if want != last {
		return errors.New("resident ID: check digit does not match")
	}
	return nil
}

// BirthDate returns the birth date encoded in a resident ID (digits 7-14, YYYYMMDD).
func BirthDate(id string) string {
	if len(id) != 18 {
		return ""
	}
	return id[6:14]
}

// Provinces maps the first two digits of a resident ID to the province.
var Provinces = map[string]string{
	"11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古",
	"21": "辽宁", "22": "吉林", "23": "黑龙江",
	"31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西", "37": "山东",
	"41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
	"50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏",
	"61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏", "65": "新疆",
}

// LuhnCheckDigit returns the digit that makes partial+digit pass the Luhn check.
func LuhnCheckDigit(partial string) byte {
	sum := 0
	double := true // the check digit will sit to the right, so the rightmost digit here doubles
	for i := len(partial) - 1; i >= 0; i-- {
		d := int(partial[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// LuhnValid reports whether s is all ASCII digits and passes the Luhn check.
func LuhnValid(s string) bool {
	if len(s) < 2 || !allASCIIDigits(s) {
		return false
	}
	return LuhnCheckDigit(s[:len(s)-1]) == s[len(s)-1]
}

// ValidateCardNumber checks a card number's shape (13-19 ASCII digits) and its Luhn digit.
func ValidateCardNumber(card string) error {
	if !allASCIIDigits(card) {
		return errors.New("card number must be ASCII digits only")
	}
	if len(card) < 13 || len(card) > 19 {
		return fmt.Errorf("card number must have 13 to 19 digits, got %d", len(card))
	}
	if !LuhnValid(card) {
		return errors.New("card number fails the Luhn check (a digit is wrong)")
	}
	return nil
}

// ValidatePhone checks a mainland mobile number: 11 digits, 1[3-9]xxxxxxxxx.
func ValidatePhone(phone string) error {
	if len(phone) != 11 || !allASCIIDigits(phone) || phone[0] != '1' || phone[1] < '3' {
		return errors.New("phone must be 11 ASCII digits starting with 13-19")
	}
	return nil
}

// MaskCard keeps the BIN's first 6 and the last 4 digits: 622202******1234.
func MaskCard(card string) string {
	if len(card) <= 10 {
		return strings.Repeat("*", len(card))
	}
	return card[:6] + strings.Repeat("*", len(card)-10) + card[len(card)-4:]
}

// MaskCardGrouped is the wallet's display of a card: the BIN's first four digits and the last
// four in groups, the middle starred whole ("6222 **** **** 1234": starring digit by digit would
// tell the length). card is a full number or one MaskCard masked (both ends are kept by both).
func MaskCardGrouped(card string) string {
	if len(card) < 8 {
		return strings.Repeat("*", len(card))
	}
	return card[:4] + " **** **** " + card[len(card)-4:]
}

// MaskID keeps the first 4 and last 4 characters of a resident ID: 1101**********123X.
func MaskID(id string) string {
	if len(id) <= 8 {
		return strings.Repeat("*", len(id))
	}
	return id[:4] + strings.Repeat("*", len(id)-8) + id[len(id)-4:]
}

// MaskPhone keeps the first 3 and last 4 digits: 138****5678.
func MaskPhone(phone string) string {
	if len(phone) != 11 {
		return strings.Repeat("*", len(phone))
	}
	return phone[:3] + "****" + phone[7:]
}

// MaskName keeps only the last character: 张三丰 -> **丰, as wallets show a payee.
func MaskName(name string) string {
	r := []rune(name)
	if len(r) == 0 {
		return ""
	}
	if len(r) == 1 {
		return "*"
	}
	return strings.Repeat("*", len(r)-1) + string(r[len(r)-1])
}

func allASCIIDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
