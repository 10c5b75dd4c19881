package bankmock

import (
	"strings"

	"github.com/walletctl/walletctl/bankapi"
)

// Limits in fen, named so the table below reads in yuan.
const yuan = 100

// catalogue is the banks the mock knows. BIN prefixes are the banks' real debit and credit BINs
// (or, for the small banks, realistic ones); card lengths follow the banks' practice (CMB issues
// 16-digit debit cards, most others 19-digit debit and 16-digit credit cards).
var catalogue = []bankapi.BankInfo{
	{Code: "ICBC", Name: "中国工商银行", NameEN: "Industrial and Commercial Bank of China", Kind: "state",
		BINs: []string{"622202", "621226", "625330"}, CardLengths: []int{16, 19}, OnlineBinding: true,
		SingleLimit: 50000 * yuan, DailyLimit: 50000 * yuan},
	{Code: "ABC", Name: "中国农业银行", NameEN: "Agricultural Bank of China", Kind: "state",
		BINs: []string{"622848", "622845", "622836"}, CardLengths: []int{16, 19}, OnlineBinding: true,
		SingleLimit: 20000 * yuan, DailyLimit: 50000 * yuan},
	{Code: "BOC", Name: "中国银行", NameEN: "Bank of China", Kind: "state",
		BINs: []string{"621661", "456351", "601382"}, CardLengths: []int{16, 19}, OnlineBinding: true,
		SingleLimit: 50000 * yuan, DailyLimit: 100000 * yuan},
	{Code: "CCB", Name: "中国建设银行", NameEN: "China Construction Bank", Kind: "state",
		BINs: []string{"621700", "622700", "436742"}, CardLengths: []int{16, 19}, OnlineBinding: true,
		SingleLimit: 50000 * yuan, DailyLimit: 50000 * yuan},
	{Code: "BOCOM", Name: "交通银行", NameEN: "Bank of Communications", Kind: "state",
		BINs: []string{"622262", "622260", "521899"}, CardLengths: []int{16, 19}, OnlineBinding: true,
		SingleLimit: 50000 * yuan, DailyLimit: 50000 * yuan},
	{Code: "PSBC", Name: "中国邮政储蓄银行", NameEN: "Postal Savings Bank of China", Kind: "postal",
		BINs: []string{"621799", "622188", "625919"}, CardLengths: []int{16, 19}, OnlineBinding: true,
		SingleLimit: 20000 * yuan, DailyLimit: 50000 * yuan},
	{Code: "CMB", Name: "招商银行", NameEN: "China Merchants Bank", Kind: "joint_stock",
		BINs: []string{"621483", "622588", "622609", "439225"}, CardLengths: []int{16}, OnlineBinding: true,
		SingleLimit: 50000 * yuan, DailyLimit: 100000 * yuan},
	{Code: "BJRCB", Name: "北京农村商业银行", NameEN: "Beijing Rural Commercial Bank", Kind: "rural",
		BINs: []string{"621067", "622138"}, CardLengths: []int{19}, OnlineBinding: true,
		SingleLimit: 5000 * yuan, DailyLimit: 10000 * yuan},
	{Code: "WJRCB", Name: "吴江农村商业银行", NameEN: "Wujiang Rural Commercial Bank", Kind: "rural",
		BINs: []string{"623166", "622488"}, CardLengths: []int{19}, OnlineBinding: true,
		SingleLimit: 5000 * yuan, DailyLimit: 20000 * yuan},
	{Code: "SDRCU", Name: "山东省农村信用社联合社", NameEN: "Shandong Rural Credit Cooperative Union", Kind: "rural",
		BINs: []string{"623190", "622319"}, CardLengths: []int{19}, OnlineBinding: false,
		SingleLimit: 2000 * yuan, DailyLimit: 5000 * yuan},
	{Code: "BOCFCB", Name: "中银富登村镇银行", NameEN: "BOC Fullerton Community Bank (village bank)", Kind: "rural",
		BINs: []string{"623599"}, CardLengths: []int{19}, OnlineBinding: false,
		SingleLimit: 1000 * yuan, DailyLimit: 3000 * yuan},
}

// BankProfiles are the banks' own misbehaviour, the lowest-precedence fault source: a flaky rural
// bank refuses one debit in ten (by seeded probability). The big banks have none. The fault ID is
// the bank code; counters live in the engine state so a restored snapshot continues the sequence.
var BankProfiles = map[string]bankapi.Fault{
	"WJRCB": {ID: "WJRCB", Source: bankapi.SourceProfile, Kind: bankapi.FaultRefuse, Op: bankapi.OpDebit, Bank: "WJRCB", Probability: bankapi.Chance(0.1)},
}

var bankByCode = index(catalogue, func(b *bankapi.BankInfo) string { return b.Code })

// index maps each element of s by its key, pointing into s.
func index[K comparable, V any](s []V, key func(*V) K) map[K]*V {
	m := make(map[K]*V, len(s))
	for i := range s {
		m[key(&s[i])] = &s[i]
	}
	return m
}

// Catalogue returns a copy of the bank catalogue, in a fixed order.
func Catalogue() []bankapi.BankInfo {
	out := make([]bankapi.BankInfo, len(catalogue))
	for i, b := range catalogue {
		b.BINs = append([]string(nil), b.BINs...)
		b.CardLengths = append([]int(nil), b.CardLengths...)
		out[i] = b
	}
	return out
}

// BankByCode returns the catalogue entry for a bank code.
func BankByCode(code string) (bankapi.BankInfo, bool) {
	b, ok := bankByCode[code]
	if !ok {
		return bankapi.BankInfo{}, false
	}
	return *b, true
}

// BankForCard finds the bank whose BIN is the longest prefix of cardNo. It does not check the
// length or the Luhn digit.
func BankForCard(cardNo string) (bankapi.BankInfo, bool) {
	best, bestLen := -1, 0
	for i, b := range catalogue {
		for _, bin := range b.BINs {
			if len(bin) > bestLen && strings.HasPrefix(cardNo, bin) {
				best, bestLen = i, len(bin)
			}
		}
	}
	if best < 0 {
		return bankapi.BankInfo{}, false
	}
	return catalogue[best], true
}

func validLength(b *bankapi.BankInfo, n int) bool {
	for _, l := range b.CardLengths {
		if l == n {
			return true
		}
	}
	return false
}
