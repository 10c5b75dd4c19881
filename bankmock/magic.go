package bankmock

import (
	"strconv"
	"time"

	"github.com/walletctl/walletctl/bankapi"
)

// TestCard is a documented magic card: it exists in every world, whatever the seed, with a fixed
// holder, like a payment processor's test cards. Cards with a Fault fire it on every debit and
// credit (never on verification or binding, so that they can be bound first); the fault's source
// is "magic" and its ID "card:<Key>".
type TestCard struct {
	Key      string            `json:"key"` // short name, used in the fault ID
	Customer bankapi.Customer  `json:"customer"`
	Purpose  string            `json:"purpose"` // what it demonstrates
	Expect   string            `json:"expect"`  // what a caller sees
	Fault    bankapi.FaultKind `json:"fault,omitempty"`
	Delay    time.Duration     `json:"delay,omitempty"`
	Status   int               `json:"status,omitempty"`
}

const testBalance = 10000 * yuan

func tc(key, bank, card, name, id, phone string, typ bankapi.CardType, st bankapi.CardStatus, bal int64, note, purpose, expect string) TestCard {
	return TestCard{Key: key, Purpose: purpose, Expect: expect, Customer: bankapi.Customer{
		CardNo: card, Bank: bank, Type: typ, Status: st, Name: name, IDNo: id, Phone: phone, Balance: bal, Note: note}}
}

// firing is t with the fault it fires on every debit and credit.
func (t TestCard) firing(k bankapi.FaultKind, d time.Duration, status int) TestCard {
	t.Fault, t.Delay, t.Status = k, d, status
	return t
}

// TestCards are the documented magic cards. Their holders' names, resident IDs and phones are
// valid and fixed; the cards are Luhn-valid on their banks' BINs.
var TestCards = []TestCard{
	tc("ok", "ICBC", "6222020000000000018", "张伟", "110105198503071230", "13800138000", bankapi.CardDebit, bankapi.CardActive, 1000000*yuan, "",
		"healthy debit card with a large balance", "binds and pays"),
	tc("no_funds", "CCB", "6217000000000000020", "李娜", "310104199008151247", "13800138001", bankapi.CardDebit, bankapi.CardActive, 0, "",
		"empty debit card", "debit: INSUFFICIENT_FUNDS (51)"),
	tc("frozen", "ABC", "6228480000000000034", "王芳", "440106199201011280", "13800138002", bankapi.CardDebit, bankapi.CardFrozen, testBalance, "",
		"frozen by the issuer", "verify, bind, debit, credit: ISSUER_RESTRICTED (77)"),
	tc("lost", "BOC", "6216610000000000040", "刘洋", "33010619880520135X", "13800138003", bankapi.CardDebit, bankapi.CardLost, testBalance, "",
		"reported lost", "verify, bind, debit, credit: ISSUER_RESTRICTED (77)"),
	tc("expired", "BOCOM", "6222620000000000053", "陈静", "510107199506121469", "13800138004", bankapi.CardDebit, bankapi.CardExpired, testBalance, "",
		"expired card", "verify, bind, debit, credit: CARD_EXPIRED (78)"),
	tc("no_online_binding", "SDRCU", "6231900000000000063", "杨磊", "370202198009091572", "13800138005", bankapi.CardDebit, bankapi.CardActive, testBalance, "",
		"rural bank that refuses online binding", "verify matches; bind: BINDING_NOT_SUPPORTED (68)"),
	tc("drop_after", "ICBC", "6212260000000000075", "赵敏", "420106199303031684", "13800138006", bankapi.CardDebit, bankapi.CardActive, 1000000*yuan, "",
		"the bank processes every debit and credit but the answer is lost", "OUTCOME_UNKNOWN (05); the query by key shows it succeeded").firing(bankapi.FaultDropAfter, 0, 0),
	tc("hang", "CCB", "6227000000000000086", "黄强", "610113198707071716", "13800138007", bankapi.CardDebit, bankapi.CardActive, testBalance, "",
		"the bank never answers a debit or credit and never processes it", "OUTCOME_UNKNOWN (03) after the client timeout; the query says NOT_FOUND").firing(bankapi.FaultHang, 0, 0),
	tc("unavailable", "PSBC", "6217990000000000097", "周婷", "320102199102021827", "13800138008", bankapi.CardDebit, bankapi.CardActive, testBalance, "",
		"the issuer is down for debits and credits", "ISSUER_UNAVAILABLE (96), HTTP 503; safe to retry").firing(bankapi.FaultHTTPError, 0, 503),
	tc("credit", "CMB", "4392250000000108", "吴磊", "350203198404041930", "13800138009", bankapi.CardCredit, bankapi.CardActive, 50000*yuan, "",
		"credit card with 50,000 CNY available credit", "binds; debit over the credit: INSUFFICIENT_FUNDS (64)"),
	tc("cnp_disabled", "BOC", "4563510000000000113", "徐丽", "430104199606062049", "13800138010", bankapi.CardDebit, bankapi.CardActive, testBalance, bankapi.NoteCNPDisabled,
		"card-not-present payments not enabled", "verify matches; bind: CNP_NOT_ENABLED (72)"),
	tc("malformed", "ABC", "6228450000000000121", "孙杰", "500103198911112150", "13800138011", bankapi.CardDebit, bankapi.CardActive, testBalance, "",
		"the bank processes debits and credits and answers garbage", "OUTCOME_UNKNOWN (05); the query by key shows it succeeded").firing(bankapi.FaultMalformed, 0, 0),
	tc("slow", "CCB", "6217000000000000137", "马超", "130102198608082213", "13800138012", bankapi.CardDebit, bankapi.CardActive, testBalance, "",
		"debits and credits answer after 2 s, inside the default 5 s client timeout", "normal result, late").firing(bankapi.FaultDelay, 2*time.Second, 0),
	tc("refuse", "BOCOM", "6222600000000000149", "朱红", "210102199404042361", "13800138013", bankapi.CardDebit, bankapi.CardActive, testBalance, "",
		"the connection is closed before the bank sees a debit or credit", "OUTCOME_UNKNOWN (03); the query says NOT_FOUND").firing(bankapi.FaultRefuse, 0, 0),
	tc("flaky_bank", "WJRCB", "6231660000000000154", "胡明", "22010219830303241X", "13800138014", bankapi.CardDebit, bankapi.CardActive, testBalance, "",
		"healthy card at the flaky rural bank (profile: refuses 10% of debits)", "mostly pays; sometimes OUTCOME_UNKNOWN (03)"),
}

// MagicAmount is a documented amount (in fen) that fires a fault on any debit or credit, whatever
// the card. The values are repeated digits no one types by accident; the fault's source is "magic"
// and its ID "amount:<fen>". A magic card takes precedence over a magic amount.
type MagicAmount struct {
	Amount  int64             `json:"amount"` // fen
	Fault   bankapi.FaultKind `json:"fault"`
	Delay   time.Duration     `json:"delay,omitempty"`
	Status  int               `json:"status,omitempty"`
	Purpose string            `json:"purpose"`
}

// MagicAmounts are the documented magic amounts.
var MagicAmounts = []MagicAmount{
	{Amount: 44444, Fault: bankapi.FaultRefuse, Purpose: "444.44 CNY: connection closed before processing"},
	{Amount: 66666, Fault: bankapi.FaultDropAfter, Purpose: "666.66 CNY: processed, answer lost"},
	{Amount: 77777, Fault: bankapi.FaultMalformed, Purpose: "777.77 CNY: processed, garbage answer"},
	{Amount: 88888, Fault: bankapi.FaultDelay, Delay: 10 * time.Second, Purpose: "888.88 CNY: processed after 10 s, past the default client timeout"},
	{Amount: 99999, Fault: bankapi.FaultHang, Purpose: "999.99 CNY: never answered, never processed"},
	{Amount: 50002, Fault: bankapi.FaultHTTPError, Status: 502, Purpose: "500.02 CNY: HTTP 502, not processed"},
	{Amount: 50003, Fault: bankapi.FaultHTTPError, Status: 503, Purpose: "500.03 CNY: HTTP 503, not processed"},
}

var (
	testCardByNo  = index(TestCards, func(t *TestCard) string { return t.Customer.CardNo })
	magicByAmount = index(MagicAmounts, func(m *MagicAmount) int64 { return m.Amount })
)

// magicFault returns the magic fault for a money operation, if the card or the amount is magic.
func magicFault(op, card string, amount int64) *bankapi.Fault {
	if op != bankapi.OpDebit && op != bankapi.OpCredit {
		return nil
	}
	if t, ok := testCardByNo[card]; ok && t.Fault != "" {
		return &bankapi.Fault{ID: "card:" + t.Key, Source: bankapi.SourceMagic, Kind: t.Fault, Op: op, CardNo: card, Delay: t.Delay, Status: t.Status}
	}
	if m, ok := magicByAmount[amount]; ok {
		return &bankapi.Fault{ID: "amount:" + strconv.FormatInt(amount, 10), Source: bankapi.SourceMagic, Kind: m.Fault, Op: op,
			MinAmount: amount, MaxAmount: amount, Delay: m.Delay, Status: m.Status}
	}
	return nil
}
