package cli_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/fixtures"
	"github.com/walletctl/walletctl/walletctl/mock"
)

// The commands over an in-memory mock bank (withMockBank) on a fake wallet: bank, and the
// workflows flow open-wallet and trigger (tested themselves in walletctl/fixtures, in a real
// world); here, what each command makes of its flags and what it prints.

// withMockBank gives the fake an in-memory mock bank (seed 1, 5 generated customers besides the
// test cards), and the identity as its idempotency key.
func withMockBank(k *fake) *bankmock.Engine {
	eng := bankmock.New(bankmock.Config{Seed: 1, Customers: 5})
	withBank(k, eng)
	k.f.IdempotencyKey = func(ctx context.Context, _ string) (context.Context, error) { return ctx, nil }
	return eng
}

// withBank makes bank the fake's bank.
func withBank(k *fake, bank cli.BankBackend) *fake {
	k.f.Bank = func(context.Context) (cli.BankBackend, error) { return bank, nil }
	return k
}

// brokenBank is a bank whose journal and OTPs fail with err.
type brokenBank struct {
	cli.BankBackend
	err error
}

func (b brokenBank) Journal(context.Context, bankapi.Page) (*bankapi.List[bankapi.JournalEntry], error) {
	return nil, b.err
}
func (b brokenBank) LastOTP(context.Context, string) (string, error) { return "", b.err }

// startBinding starts binding the test card key at the bank, which sends its holder an OTP.
func startBinding(t *testing.T, eng *bankmock.Engine, key string) bankapi.Customer {
	t.Helper()
	for _, c := range bankmock.TestCards {
		if c.Key == key {
			x := c.Customer
			if _, err := eng.CreateBinding(context.Background(), bankapi.CardRequest{CardNo: x.CardNo, Name: x.Name, IDNo: x.IDNo, Phone: x.Phone}); err != nil {
				t.Fatal(err)
			}
			return x
		}
	}
	t.Fatalf("no test card %q", key)
	return bankapi.Customer{}
}

func TestBankCustomersFlags(t *testing.T) {
	lists := func(bank, status, kind string, wide bool) func(o *cli.BankCustomersOptions) bool {
		return func(o *cli.BankCustomersOptions) bool {
			return o.BankCode == bank && o.Status == status && o.Type == kind && o.Wide == wide
		}
	}
	checkFlags(t, cli.NewCmdBankCustomers, []flagCase[*cli.BankCustomersOptions]{
		{args: []string{"--bank", "icbc", "--status", "active", "--type", "debit", "--wide"}, ok: lists("ICBC", "active", "debit", true)},
		{args: []string{"--bank", "http://127.0.0.1:8086"}, ok: lists("", "", "", false)}, // a URL is the global --bank, not a code
		{args: []string{}, ok: lists("", "", "", false)},
		{args: []string{"extra"}, code: invalid},
		{args: []string{"--stauts", "active"}, code: invalid},
		{args: []string{"--limit", "5", "--starting-after", "6222020000000000018", "--all"}, ok: func(o *cli.BankCustomersOptions) bool {
			return o.Limit == 5 && o.StartingAfter == "6222020000000000018" && o.All
		}},
		{args: []string{"--limit", "101"}, code: invalid},
		{args: []string{"--starting-after", "a", "--ending-before", "b"}, code: invalid},
	})
}

func TestBankCustomersRun(t *testing.T) {
	k := newFake("json")
	withMockBank(k)
	k.must(t, cli.NewCmdBankCustomers(k.f, nil), "--bank", "ccb", "--status", "active", "--type", "debit")
	var list []bankapi.Customer
	if k.decode(t, &list); len(list) == 0 {
		t.Fatalf("%s", k.out.String())
	}
	for _, c := range list {
		if c.Bank != "CCB" || c.Status != bankapi.CardActive || c.Type != bankapi.CardDebit {
			t.Errorf("filtered in: %+v", c)
		}
	}
	// Nothing matches: an empty list, not null; "(none)" in the table.
	customers := func(format string, args ...string) string {
		k := newFake(format)
		withMockBank(k)
		runCmd(t, cli.NewCmdBankCustomers(k.f, nil), args...)
		return k.out.String()
	}
	if out := customers("json", "--bank", "NOSUCH"); strings.TrimSpace(out) != "[]" {
		t.Errorf("no match -o json: %q", out)
	}
	contains(t, "bank customers matching nothing", customers("table", "--bank", "NOSUCH"), "(none)")
	// The fixture listing is the one that shows full card and ID numbers.
	ok := bankmock.TestCards[0].Customer
	contains(t, "bank customers", customers("table", "--wide"), ok.CardNo, ok.IDNo, ok.Phone, "CARD", "BALANCE")
}

// bank customers pages in catalogue order; its filters apply to the whole list, read from as
// many of the bank's pages as a page of matches takes.
func TestBankCustomersPages(t *testing.T) {
	eng := bankmock.New(bankmock.Config{Seed: 3, Customers: 400})
	all, err := bankapi.AllCustomers(context.Background(), eng)
	if err != nil || len(all) != len(bankmock.TestCards)+400 {
		t.Fatalf("%d customers %v", len(all), err)
	}
	list := func(args ...string) ([]bankapi.Customer, string) {
		t.Helper()
		k := withBank(newFake("json"), eng)
		k.must(t, cli.NewCmdBankCustomers(k.f, nil), args...)
		var cs []bankapi.Customer
		k.decode(t, &cs)
		return cs, k.errOut.String()
	}
	cards := func(cs []bankapi.Customer) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.CardNo
		}
		return out
	}
	// The first page: the first 20 in catalogue order, and the way on, on standard error.
	first, note := list()
	if !slices.Equal(cards(first), cards(all[:20])) {
		t.Fatalf("first page %v", cards(first))
	}
	// The cursor is a full card number: the note names its column, never the number.
	if note != "(20 shown; more follow: --starting-after <the last row's CARD> for the next page, or --all for every one)\n" || strings.Contains(note, all[19].CardNo) {
		t.Errorf("note %q", note)
	}
	if cs, _ := list("--limit", "3", "--starting-after", all[19].CardNo); !slices.Equal(cards(cs), cards(all[20:23])) {
		t.Errorf("--starting-after: %v", cards(cs))
	}
	if cs, _ := list("--limit", "3", "--ending-before", all[20].CardNo); !slices.Equal(cards(cs), cards(all[17:20])) {
		t.Errorf("--ending-before: %v", cards(cs))
	}
	if cs, note := list("--all", "--limit", "7"); !slices.Equal(cards(cs), cards(all)) || note != "" {
		t.Errorf("--all: %d of %d, note %q", len(cs), len(all), note)
	}

	// Filtered: the same customers as filtering the whole list, page by page or at once, each
	// page the matches nearest its cursor.
	var want []bankapi.Customer
	for _, c := range all {
		if c.Bank == "CCB" && c.Type == bankapi.CardDebit {
			want = append(want, c)
		}
	}
	if len(want) < 12 {
		t.Fatalf("only %d CCB debit cards: the test needs more", len(want))
	}
	filter := []string{"--bank", "CCB", "--type", "debit"}
	if cs, _ := list(append(filter, "--all")...); !slices.Equal(cards(cs), cards(want)) {
		t.Errorf("filtered --all: %d, want %d", len(cs), len(want))
	}
	var walked []bankapi.Customer
	for after := ""; ; {
		args := append(filter, "--limit", "5")
		if after != "" {
			args = append(args, "--starting-after", after)
		}
		cs, note := list(args...)
		walked = append(walked, cs...)
		if note == "" {
			break
		}
		after = cs[len(cs)-1].CardNo
	}
	if !slices.Equal(cards(walked), cards(want)) {
		t.Errorf("filtered pages: %d, want %d", len(walked), len(want))
	}
	if cs, note := list(append(filter, "--limit", "4", "--ending-before", want[9].CardNo)...); !slices.Equal(cards(cs), cards(want[5:9])) || note == "" {
		t.Errorf("filtered --ending-before: %v (note %q), want %v", cards(cs), note, cards(want[5:9]))
	}
	// A cursor the bank does not know is its error, card number masked.
	k := withBank(newFake("json"), eng)
	_, err = execute(cli.NewCmdBankCustomers(k.f, nil), "--starting-after", "6222029999999999999")
	if err == nil || !strings.Contains(err.Error(), "622202*********9999") || strings.Contains(err.Error(), "6222029999999999999") {
		t.Errorf("unknown cursor: %v", err)
	}
}

func TestBankOTP(t *testing.T) {
	refusesArgs(t, cli.NewCmdBankOTP, []string{}) // no --phone

	k := newFake("table")
	eng := withMockBank(k)
	if code := runCmd(t, cli.NewCmdBankOTP(k.f, nil), "--phone", "13999999999"); code != walletctl.CodeNotFound {
		t.Fatalf("no SMS: code %q", code)
	}
	c := startBinding(t, eng, "ok")
	otp, _ := eng.LastOTP(context.Background(), c.Phone)
	if out := k.must(t, cli.NewCmdBankOTP(k.f, nil), "--phone", c.Phone); strings.TrimSpace(out) != otp {
		t.Fatalf("printed %q, want %q", out, otp)
	}
	k = withBank(newFake("json"), eng)
	k.must(t, cli.NewCmdBankOTP(k.f, nil), "--phone", c.Phone)
	var got struct{ Phone, OTP string }
	if k.decode(t, &got); got.Phone != c.Phone || got.OTP != otp {
		t.Fatalf("%+v", got)
	}
	// Another failure of the bank is passed on as it is.
	k = withBank(newFake("table"), brokenBank{eng, walletctl.Errorf(walletctl.CodeNetwork, "bank gone")})
	k.refuses(t, walletctl.CodeNetwork, cli.NewCmdBankOTP(k.f, nil), "--phone", c.Phone)
}

func TestBankNoSMSMessageMasksPhone(t *testing.T) {
	k := newFake("table")
	withMockBank(k)
	_, err := execute(cli.NewCmdBankOTP(k.f, nil), "--phone", "13912345678")
	if err == nil || strings.Contains(err.Error(), "13912345678") || !strings.Contains(err.Error(), "139****5678") {
		t.Fatalf("%v", err)
	}
}

func TestBankJournal(t *testing.T) {
	checkFlags(t, cli.NewCmdBankJournal, []flagCase[*cli.BankJournalOptions]{
		{args: []string{"--last", "3", "--wide"}, ok: func(o *cli.BankJournalOptions) bool { return o.Last == 3 && o.Wide }},
		{args: []string{"--last", "many"}, code: invalid},
		{args: []string{"--last", "0"}, ok: func(o *cli.BankJournalOptions) bool { return o.Last == 0 && o.Limit == 20 }},
		{args: []string{"--last", "101"}, code: invalid, msg: "--last must be 1 to 100"},
		{args: []string{"--last", "3", "--limit", "4"}, code: invalid, msg: "--last N is --limit N"},
		{args: []string{"--last", "3", "--limit", "3"}, ok: func(o *cli.BankJournalOptions) bool { return o.Last == 3 && o.Limit == 3 }},
		{args: []string{"--limit", "0"}, code: invalid},
		{args: []string{"--all", "--ending-before", "3"}, code: invalid},
	})

	k := newFake("json")
	eng := withMockBank(k)
	startBinding(t, eng, "ok")
	startBinding(t, eng, "credit")
	k.must(t, cli.NewCmdBankJournal(k.f, nil), "--last", "1")
	var entries []bankapi.JournalEntry
	all, _ := bankapi.AllJournal(context.Background(), eng) // newest first
	if k.decode(t, &entries); len(entries) != 1 || len(all) < 2 || entries[0].Seq != all[0].Seq {
		t.Fatalf("--last 1: %+v of %d", entries, len(all))
	}
	k = withBank(newFake("table"), eng)
	out := k.must(t, cli.NewCmdBankJournal(k.f, nil), "--wide")
	contains(t, "journal table", out, "bind", "SEQ")
	for _, c := range bankmock.TestCards[:2] {
		lacks(t, "the journal (a full card number)", out, c.Customer.CardNo)
	}
	k = withBank(newFake("table"), brokenBank{eng, walletctl.Errorf(walletctl.CodeNetwork, "bank gone")})
	k.refuses(t, walletctl.CodeNetwork, cli.NewCmdBankJournal(k.f, nil))
}

// bank journal pages newest first; --last N is --limit N; --all -o json is the whole journal,
// streamed as one JSON array.
func TestBankJournalPages(t *testing.T) {
	eng := bankmock.New(bankmock.Config{Seed: 1, Customers: 1})
	for range 45 {
		if _, err := eng.Banks(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	seqs := func(args ...string) ([]int64, string) {
		t.Helper()
		k := withBank(newFake("json"), eng)
		k.must(t, cli.NewCmdBankJournal(k.f, nil), args...)
		var j []bankapi.JournalEntry
		k.decode(t, &j)
		out := make([]int64, len(j))
		for i, e := range j {
			out[i] = e.Seq
		}
		return out, k.errOut.String()
	}
	down := func(from, to int64) []int64 {
		var s []int64
		for q := from; q >= to; q-- {
			s = append(s, q)
		}
		return s
	}
	if s, note := seqs(); !slices.Equal(s, down(45, 26)) || note != "(20 shown; more follow: --starting-after 26 for the next page, or --all for every one)\n" {
		t.Errorf("first page %v, note %q", s, note)
	}
	if s, _ := seqs("--last", "3"); !slices.Equal(s, down(45, 43)) {
		t.Errorf("--last 3: %v", s)
	}
	if s, _ := seqs("--limit", "4", "--starting-after", "26"); !slices.Equal(s, down(25, 22)) {
		t.Errorf("--starting-after: %v", s)
	}
	if s, _ := seqs("--limit", "4", "--ending-before", "26"); !slices.Equal(s, down(30, 27)) {
		t.Errorf("--ending-before: %v", s)
	}
	if s, note := seqs("--all", "--limit", "7"); !slices.Equal(s, down(45, 1)) || note != "" {
		t.Errorf("--all: %v, note %q", s, note)
	}
	k := withBank(newFake("json"), eng)
	k.refuses(t, walletctl.CodeInvalidArgument, cli.NewCmdBankJournal(k.f, nil), "--starting-after", "46")
}

// bank cards lists the mock's fixtures: no bank, no sandbox.
func TestBankCards(t *testing.T) {
	k := newFake("table")
	k.f.Bank = func(context.Context) (cli.BankBackend, error) { t.Fatal("bank cards asked the bank"); return nil, nil }
	contains(t, "bank cards", k.must(t, cli.NewCmdBankCards(k.f, nil), "--wide"),
		bankmock.TestCards[0].Customer.CardNo, bankmock.TestCards[0].Customer.IDNo, "666.66", "http_error 503", "EXPECT")
	k = newFake("json")
	k.must(t, cli.NewCmdBankCards(k.f, nil))
	var got struct {
		TestCards    []bankmock.TestCard    `json:"test_cards"`
		MagicAmounts []bankmock.MagicAmount `json:"magic_amounts"`
	}
	if k.decode(t, &got); len(got.TestCards) != len(bankmock.TestCards) || len(got.MagicAmounts) != len(bankmock.MagicAmounts) {
		t.Fatalf("%d cards, %d amounts", len(got.TestCards), len(got.MagicAmounts))
	}
	refusesArgs(t, cli.NewCmdBankCards, []string{"extra"})
}

func TestFlowOpenWalletFlags(t *testing.T) {
	opens := func(nth int, phone string, stdin bool) func(o *cli.FlowOpenWalletOptions) bool {
		return func(o *cli.FlowOpenWalletOptions) bool {
			return o.SeedCustomer == nth && o.Phone == phone && o.PasswordStdin == stdin
		}
	}
	checkFlags(t, cli.NewCmdFlowOpenWallet, []flagCase[*cli.FlowOpenWalletOptions]{
		{args: []string{}, ok: opens(-1, "", false)},
		{args: []string{"--seed-customer", "3", "--phone", "13900000001", "--password-stdin"}, ok: opens(3, "13900000001", true)},
		{args: []string{"--seed-customer", "x"}, code: invalid},
		{args: []string{"now"}, code: invalid},
	})
}

// flowFake is a fake wallet that opens u1's wallet with card c1 against a real in-memory mock
// bank (customers, OTPs); what it was asked is kept.
type flowFake struct {
	*fake
	bank      *bankmock.Engine
	kyc       bankapi.CardRequest // the identity verified (name, ID number)
	password  string
	pay       walletctl.PayRequest
	keys      int
	confirmed bool
}

func newFlowFake(format string) *flowFake {
	k := &flowFake{fake: newFake(format)}
	k.bank = withMockBank(k.fake)
	k.f.IdempotencyKey = func(ctx context.Context, _ string) (context.Context, error) { k.keys++; return ctx, nil }
	s := k.svc
	s.UsersFn = mock.List(func(context.Context) ([]walletctl.User, error) { return nil, nil })
	s.RegisterFn = func(_ context.Context, phone string) (*walletctl.User, error) {
		return &walletctl.User{ID: "u1", Phone: phone, Status: "normal"}, nil
	}
	s.BalanceFn = func(context.Context, string) (*walletctl.Balance, error) {
		return &walletctl.Balance{Currency: "CNY"}, nil
	}
	s.SubmitKYCFn = func(_ context.Context, _, name, id string) (*walletctl.KYC, error) {
		k.kyc.Name, k.kyc.IDNo = name, id
		return &walletctl.KYC{NameMasked: "*伟", IDMasked: "1101**********1230", Class: 2}, nil
	}
	s.BindCardFn = func(ctx context.Context, _, card, phone string) (*walletctl.CardBinding, error) {
		k.kyc.CardNo, k.kyc.Phone = card, phone
		b, err := k.bank.CreateBinding(ctx, k.kyc)
		if err != nil {
			return nil, err
		}
		return &walletctl.CardBinding{BindingID: b.BindingID, PhoneMasked: b.PhoneMasked}, nil
	}
	s.ConfirmCardFn = func(ctx context.Context, _, _, otp string) (*walletctl.Card, error) {
		want, _ := k.bank.LastOTP(ctx, k.kyc.Phone)
		if otp != want {
			return nil, walletctl.Errorf(walletctl.CodeOTPInvalid, "otp %q", otp)
		}
		k.confirmed = true
		return &walletctl.Card{ID: "c1", Bank: "ICBC", CardType: "debit", CardMasked: "6222 **** **** 0018"}, nil
	}
	s.SetPasswordFn = func(_ context.Context, _, p string) error { k.password = p; return nil }
	s.MerchantsFn = mock.List(func(context.Context) ([]walletctl.Merchant, error) {
		return []walletctl.Merchant{{ID: "m-cafe", Name: "Cafe"}}, nil
	})
	s.PayFn = func(_ context.Context, r walletctl.PayRequest) (*walletctl.Txn, error) {
		k.pay = r
		return &walletctl.Txn{ID: "t1", Amount: r.Amount, Status: walletctl.TxnSucceeded}, nil
	}
	return k
}

func TestFlowOpenWalletRun(t *testing.T) {
	k := newFlowFake("table")
	out := k.must(t, cli.NewCmdFlowOpenWallet(k.f, nil))
	// The identity is an eligible customer's, the OTP the bank's, the password the documented one.
	for _, c := range bankmock.TestCards {
		if c.Customer.CardNo == k.kyc.CardNo {
			t.Errorf("a magic test card was picked: %s", c.Key)
		}
	}
	if k.kyc.Name == "" || !k.confirmed || k.password != cli.SandboxPassword {
		t.Errorf("identity %+v, confirmed %v, password %q", k.kyc, k.confirmed, k.password)
	}
	if k.pay.UserID != "u1" || k.pay.Merchant != "m-cafe" || k.pay.Amount != 100 || k.pay.Source != "card:c1" || k.pay.Password != cli.SandboxPassword || k.keys != 1 {
		t.Errorf("payment %+v, %d keys", k.pay, k.keys)
	}
	contains(t, "flow open-wallet", out, "✓ 3.1 install and register: u1 with phone "+k.kyc.Phone, "✓ 3.2 enter the wallet: balance 0.00 CNY",
		"✓ 3.3 real-name verification: *伟 1101**********1230 verified, class II", "✓ 3.4 bind a bank card: ICBC debit 6222 **** **** 0018 bound as c1",
		"✓ 3.5 set the payment password: 6 digits", "✓ 3.6 done: first payment: paid 1.00 to Cafe from card c1: t1 succeeded",
		"│ USER │ u1", "│ NEXT │ walletctl --as u1 balance")
	lacks(t, "flow open-wallet (a full card or ID number)", out, k.kyc.CardNo, k.kyc.IDNo)
}

func TestFlowOpenWalletStepFails(t *testing.T) {
	fail := func(k *flowFake) {
		k.svc.SubmitKYCFn = func(context.Context, string, string, string) (*walletctl.KYC, error) {
			return nil, &walletctl.Error{Code: walletctl.CodeKYCFailed, Message: "name and ID do not match", Hint: "check them"}
		}
	}
	k := newFlowFake("table")
	fail(k)
	if code := runCmd(t, cli.NewCmdFlowOpenWallet(k.f, nil)); code != walletctl.CodeKYCFailed {
		t.Fatalf("code %q", code)
	}
	out := k.out.String()
	if !strings.Contains(out, "✓ 3.2 enter the wallet") || !strings.Contains(out, "✗ 3.3 real-name verification: KYC_FAILED\n") ||
		strings.Contains(out, "3.4") || strings.Contains(out, "USER") {
		t.Fatalf("output:\n%s", out)
	}

	k = newFlowFake("json")
	fail(k)
	runCmd(t, cli.NewCmdFlowOpenWallet(k.f, nil))
	var res struct {
		UserID string `json:"user_id"`
		CardID string `json:"card_id"`
		Steps  []struct {
			Step, Title, Status, Detail string
			Error                       *struct{ Code, Message, Hint string }
		} `json:"steps"`
	}
	if k.decode(t, &res); res.UserID != "u1" || res.CardID != "" || len(res.Steps) != 3 {
		t.Fatalf("%s", k.out.String())
	}
	if s := res.Steps[0]; s.Step != "3.1" || s.Status != "ok" || s.Detail == "" || s.Error != nil {
		t.Errorf("step 3.1: %+v", s)
	}
	if s := res.Steps[2]; s.Step != "3.3" || s.Status != "failed" || s.Detail != "" || s.Error == nil ||
		*s.Error != (struct{ Code, Message, Hint string }{walletctl.CodeKYCFailed, "name and ID do not match", "check them"}) {
		t.Errorf("step 3.3: %+v", s)
	}
}

// --password-stdin: the password is read (as "password") before anything is asked of the wallet.
func TestFlowOpenWalletPasswordStdin(t *testing.T) {
	k := newFlowFake("table")
	var what string
	readLine := func(_ context.Context, w string) (string, error) { what = w; return "258036", nil }
	cmd := cli.NewCmdFlowOpenWallet(k.f, func(ctx context.Context, o *cli.FlowOpenWalletOptions) error {
		o.ReadLine = readLine
		return cli.FlowOpenWalletRun(ctx, o)
	})
	if code := runCmd(t, cmd, "--password-stdin"); code != "" || what != "password" || k.password != "258036" || k.pay.Password != "258036" {
		t.Fatalf("code %q, read %q, password set %q, paid with %q", code, what, k.password, k.pay.Password)
	}
	k = newFlowFake("table")
	k.svc.UsersFn = nil // asking the wallet anything now would be INTERNAL
	cmd = cli.NewCmdFlowOpenWallet(k.f, func(ctx context.Context, o *cli.FlowOpenWalletOptions) error {
		o.ReadLine = func(context.Context, string) (string, error) {
			return "", walletctl.Errorf(walletctl.CodePasswordMissing, "no password")
		}
		return cli.FlowOpenWalletRun(ctx, o)
	})
	k.refuses(t, walletctl.CodePasswordMissing, cmd, "--password-stdin")
}

func TestTriggerFlags(t *testing.T) {
	checkFlags(t, cli.NewCmdTrigger, []flagCase[*cli.TriggerOptions]{
		{args: []string{"transaction.success"}, ok: func(o *cli.TriggerOptions) bool {
			return o.Trigger.Event == "TRANSACTION.SUCCESS" && o.MchID == "" && o.NotifyURL == fixtures.DefaultNotifyURL && o.Card == "" &&
				o.Amount == 100 && !o.PasswordStdin
		}},
		{args: []string{" REFUND.closed ", "--amount", "12.50", "--mchid", "1900000001", "--notify-url", "http://127.0.0.1:8090/n",
			"--card", "c2", "--password-stdin"}, ok: func(o *cli.TriggerOptions) bool {
			return o.Trigger.Event == "REFUND.CLOSED" && o.MchID == "1900000001" && o.NotifyURL == "http://127.0.0.1:8090/n" && o.Card == "c2" &&
				o.Amount == 1250 && o.PasswordStdin
		}},
		{args: []string{"PAYMENT.DONE"}, code: invalid},
		{args: []string{}, code: invalid},
		{args: []string{"REFUND.SUCCESS", "REFUND.CLOSED"}, code: invalid},
		{args: []string{"REFUND.SUCCESS", "--amount", "1.234"}, code: walletctl.CodeInvalidAmount},
		{args: []string{"REFUND.SUCCESS", "--amount", ""}, code: invalid},
		{args: []string{"REFUND.SUCCESS", "--notify-url", "ftp://x"}, code: invalid},
	})
}

// triggerFake is a fake wallet in which a TRANSACTION.SUCCESS trigger by u1, at merchant
// 1900000001, with a balance that covers it, goes through; what it was asked is kept.
type triggerFake struct {
	*fake
	order  walletctl.OrderRequest
	pay    walletctl.PayOrderRequest
	prompt string
	stdin  bool
	keys   int
}

func newTriggerFake(format string) *triggerFake {
	k := &triggerFake{fake: newFake(format)}
	withMockBank(k.fake)
	k.f.IdempotencyKey = func(ctx context.Context, key string) (context.Context, error) { k.keys++; return ctx, nil }
	k.f.As = func() string { return "u1" }
	k.f.Secret = func(_ context.Context, prompt string, fromStdin bool) (string, error) {
		k.prompt, k.stdin = prompt, fromStdin
		return "258036", nil
	}
	k.svc.MerchantFn = func(_ context.Context, id string) (*walletctl.MerchantInfo, error) {
		if id != "1900000001" {
			return nil, walletctl.Errorf(walletctl.CodeNotFound, "no merchant %q", id)
		}
		return &walletctl.MerchantInfo{Merchant: walletctl.Merchant{ID: id}}, nil
	}
	k.svc.BalanceFn = func(context.Context, string) (*walletctl.Balance, error) {
		return &walletctl.Balance{Available: 100_00, Currency: "CNY"}, nil
	}
	k.svc.CreateOrderFn = func(_ context.Context, r walletctl.OrderRequest) (*walletctl.Order, error) {
		k.order = r
		return &walletctl.Order{MchID: r.MchID, OutTradeNo: r.OutTradeNo, Amount: r.Amount, TradeState: walletctl.StateNotPay, CodeURL: "weixin://wxpay/bizpayurl?pr=X"}, nil
	}
	k.svc.PayOrderFn = func(_ context.Context, r walletctl.PayOrderRequest) (*walletctl.Order, error) {
		k.pay = r
		o := &walletctl.Order{MchID: k.order.MchID, OutTradeNo: k.order.OutTradeNo, Amount: k.order.Amount, TradeState: walletctl.StateSuccess,
			TransactionID: "4200000001"}
		return o, nil
	}
	k.svc.NotificationsFn = mock.Notifications(func(context.Context, walletctl.NotificationFilter) ([]walletctl.Notification, error) {
		return []walletctl.Notification{{ID: "n7", MchID: k.order.MchID, EventType: walletctl.EventTransactionSuccess, URL: k.order.NotifyURL,
			Status: walletctl.NotifyPending, Order: &walletctl.Order{OutTradeNo: k.order.OutTradeNo},
			Attempts: []walletctl.NotifyAttempt{{N: 1, Error: "could not connect: connection refused"}}}}, nil
	})
	return k
}

func TestTriggerAsUser(t *testing.T) {
	k := newTriggerFake("table")
	out := k.must(t, cli.NewCmdTrigger(k.f, nil), "TRANSACTION.SUCCESS", "--mchid", "1900000001", "--amount", "2", "--password-stdin")
	if k.prompt != "Payment password: " || !k.stdin {
		t.Errorf("password asked with %q, from stdin %v", k.prompt, k.stdin)
	}
	if k.order.MchID != "1900000001" || k.order.Amount != 200 || k.order.NotifyURL != fixtures.DefaultNotifyURL ||
		k.order.Description != "walletctl trigger TRANSACTION.SUCCESS" || !strings.HasPrefix(k.order.OutTradeNo, "trigger-") {
		t.Errorf("order asked: %+v", k.order)
	}
	if k.pay.UserID != "u1" || k.pay.Password != "258036" || k.pay.Source != "balance" || k.pay.Ref != "weixin://wxpay/bizpayurl?pr=X" {
		t.Errorf("payment asked: %+v", k.pay)
	}
	if k.keys != 1 {
		t.Errorf("%d idempotency keys asked for, want 1 (the payment)", k.keys)
	}
	contains(t, "trigger", out, "│ PAYER        │ u1 ", "│ PAID FROM    │ balance", k.order.OutTradeNo+" SUCCESS 2.00", "4200000001",
		"n7 pending", "- could not connect: connection refused", "walletctl notify show n7")
	lacks(t, "trigger (nothing was created)", out, "(created)")

	k = newTriggerFake("json")
	runCmd(t, cli.NewCmdTrigger(k.f, nil), "TRANSACTION.SUCCESS", "--mchid", "1900000001")
	var res fixtures.Triggered
	if k.decode(t, &res); res.Event != walletctl.EventTransactionSuccess || res.Payer != "u1" ||
		res.Notification == nil || res.Notification.ID != "n7" || res.Order.TradeState != walletctl.StateSuccess {
		t.Fatalf("%s", k.out.String())
	}
	if k.stdin {
		t.Error("--password-stdin not given, yet asked for")
	}
}

// With --as, a trigger that pays by card finds the card before the password is asked.
func TestTriggerAsUserNeedsACard(t *testing.T) {
	k := newTriggerFake("table")
	k.svc.CardsFn = mock.ListOf(func(context.Context, string) ([]walletctl.Card, error) { return []walletctl.Card{{ID: "c1"}}, nil })
	if code := runCmd(t, cli.NewCmdTrigger(k.f, nil), "REFUND.ABNORMAL", "--card", "c9"); code != walletctl.CodeNotFound || k.prompt != "" {
		t.Fatalf("an unknown --card: code %q, password asked %q", code, k.prompt)
	}
	k.svc.CardsFn = mock.ListOf(func(context.Context, string) ([]walletctl.Card, error) { return nil, nil })
	if code := runCmd(t, cli.NewCmdTrigger(k.f, nil), "REFUND.CLOSED"); code != walletctl.CodeNotFound || k.prompt != "" {
		t.Fatalf("no card: code %q, password asked %q", code, k.prompt)
	}
	if k.out.Len() != 0 {
		t.Fatalf("printed: %s", k.out.String())
	}
}

func TestTriggerCardWithoutAs(t *testing.T) {
	k := newFake("table")
	withMockBank(k)
	// Nothing may be asked of the wallet: mock.Service answers INTERNAL to any call.
	if code := runCmd(t, cli.NewCmdTrigger(k.f, nil), "REFUND.CLOSED", "--card", "c1"); code != walletctl.CodeInvalidArgument {
		t.Fatalf("code %q", code)
	}
}

// A trigger that fails after the order was made prints what it made, and the error's code.
func TestTriggerFailurePrintsWhatWasMade(t *testing.T) {
	k := newTriggerFake("table")
	failing("PayOrder", walletctl.CodePasswordWrong)(k.fake)
	if code := runCmd(t, cli.NewCmdTrigger(k.f, nil), "TRANSACTION.SUCCESS", "--mchid", "1900000001"); code != walletctl.CodePasswordWrong {
		t.Fatalf("code %q", code)
	}
	if !strings.Contains(k.out.String(), k.order.OutTradeNo+" NOTPAY 1.00") || strings.Contains(k.out.String(), "NOTIFICATION") {
		t.Fatalf("table:\n%s", k.out.String())
	}
	// Before any order, nothing is printed.
	k = newTriggerFake("table")
	k.refuses(t, walletctl.CodeNotFound, cli.NewCmdTrigger(k.f, nil), "TRANSACTION.SUCCESS", "--mchid", "1999999999")
}
