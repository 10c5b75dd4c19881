package cli_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/mock"
)

// The user's money commands on a fake wallet: pay, topup, withdraw, balance, transfer, the
// payment password, paycode and scan; what each makes of its flags, what it checks before the
// password is asked, and what it prints.

// payFake is a fake whose --as user u1 can pay: a password set, card c1 bound, merchant m-cafe,
// 100.00 available. The password prompt answers the next of answers (135790 once they run
// out). calls is what the command did, in order: "actor", "secret PROMPT stdin=BOOL",
// "service" (the wallet opened again), "key KEY" (an idempotency key asked for) and the
// service methods the tests of this file record.
type payFake struct {
	*fake
	user    walletctl.User
	answers []string
	calls   []string
}

func newPayFake(format string) *payFake {
	p := &payFake{fake: newFake(format), user: walletctl.User{ID: "u1", Phone: "13800138000", Status: walletctl.StatusNormal, PasswordSet: true}}
	p.svc.UserFn = func(context.Context, string) (*walletctl.User, error) {
		u := p.user
		return &u, nil
	}
	actor, service := p.f.Actor, p.f.Service
	p.f.Actor = func(ctx context.Context) (walletctl.Service, *walletctl.User, error) {
		p.record("actor")
		return actor(ctx)
	}
	p.f.Service = func(ctx context.Context) (walletctl.Service, error) {
		p.record("service")
		return service(ctx)
	}
	p.f.Secret = func(_ context.Context, prompt string, fromStdin bool) (string, error) {
		p.record(fmt.Sprintf("secret %q stdin=%v", prompt, fromStdin))
		if len(p.answers) == 0 {
			return "135790", nil
		}
		a := p.answers[0]
		p.answers = p.answers[1:]
		return a, nil
	}
	p.f.IdempotencyKey = func(ctx context.Context, key string) (context.Context, error) {
		p.record("key " + key)
		if key != "" {
			ctx = walletctl.WithIdempotencyKey(ctx, key)
		}
		return ctx, nil
	}
	p.svc.MerchantsFn = mock.List(func(context.Context) ([]walletctl.Merchant, error) {
		return []walletctl.Merchant{{ID: "m-cafe", Name: "Cafe"}}, nil
	})
	p.svc.CardsFn = mock.ListOf(func(context.Context, string) ([]walletctl.Card, error) {
		return []walletctl.Card{{ID: "c1", Bank: "ICBC", CardMasked: "6222 **** **** 0018"}}, nil
	})
	p.svc.BalanceFn = func(_ context.Context, uid string) (*walletctl.Balance, error) {
		return &walletctl.Balance{UserID: uid, Available: 10000, Currency: "CNY"}, nil
	}
	return p
}

func (p *payFake) record(call string) { p.calls = append(p.calls, call) }

// asked tells whether the command asked for a secret.
func (p *payFake) asked() bool {
	for _, c := range p.calls {
		if strings.HasPrefix(c, "secret ") {
			return true
		}
	}
	return false
}

// wantCalls fails t unless the command did what want says, in that order.
func (p *payFake) wantCalls(t *testing.T, what string, want ...string) {
	t.Helper()
	if strings.Join(p.calls, "|") != strings.Join(want, "|") {
		t.Errorf("%scalls\n %q, want\n %q", what, p.calls, want)
	}
}

// txn is a settled top-up as the service answers it.
func txn(kind string, amount int64) *walletctl.Txn {
	return &walletctl.Txn{ID: "t3", Kind: kind, Status: walletctl.TxnSucceeded, UserID: "u1", Amount: amount,
		Source: "card:c1", CardMasked: "6222 **** **** 0018", BankTxnID: "B123", BankIdempotencyKey: "wlt-t3",
		CreatedAt: time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC)}
}

func TestCardMoveFlags(t *testing.T) {
	moves := func(fen int64) func(o *cli.CardMoveOptions) bool {
		return func(o *cli.CardMoveOptions) bool { return o.Card == "c1" && o.AmountFen == fen }
	}
	cases := []flagCase[*cli.CardMoveOptions]{
		{args: []string{"--card", "c1", "--amount", "12.50"}, ok: moves(1250)},
		{args: []string{"--card", "c1", "--amount", "100", "--password-stdin", "--idempotency-key", "k-1"}, ok: moves(10000)},
		{args: []string{"--amount", "1"}, code: invalid},
		{args: []string{"--card", "c1"}, code: invalid},
		{args: []string{"--card", "c1", "--amount", "1.234"}, code: walletctl.CodeInvalidAmount},
		{args: []string{"--card", "c1", "--amount", "1", "extra"}, code: invalid},
		{args: []string{"--crad", "c1"}, code: invalid},
	}
	for name, newCmd := range map[string]newCmdFunc[*cli.CardMoveOptions]{
		"topup": cli.NewCmdTopUp, "withdraw": cli.NewCmdWithdraw,
	} {
		t.Run(name, func(t *testing.T) { checkFlags(t, newCmd, cases) })
	}
}

// TestAmountsRefusedBeforeThePassword: amounts are typed in yuan; anything else is
// INVALID_AMOUNT, and nothing is asked.
func TestAmountsRefusedBeforeThePassword(t *testing.T) {
	for _, amt := range []string{"0", "-1", "1.234", "１２", "abc", "99999999999999999999", "1e3"} {
		p := newPayFake("table")
		var err error
		code := runCmd(t, keepErr(cli.NewCmdPay(p.f, nil), &err), "--merchant", "m-cafe", "--amount", amt)
		if code != walletctl.CodeInvalidAmount || !strings.Contains(err.Error(), amt) || len(p.calls) > 0 {
			t.Errorf("amount %q: code %q (%v), calls %q", amt, code, err, p.calls)
		}
	}
}

func TestPayFlags(t *testing.T) {
	pays := func(source string) func(o *cli.PayOptions) bool {
		return func(o *cli.PayOptions) bool {
			return o.Merchant == "m-cafe" && o.AmountFen == 880 && o.Source == source
		}
	}
	checkFlags(t, cli.NewCmdPay, []flagCase[*cli.PayOptions]{
		{args: []string{"--merchant", "m-cafe", "--amount", "8.80"}, ok: pays("balance")},
		{args: []string{"--merchant", "m-cafe", "--amount", "8.80", "--source", "card:c1"}, ok: pays("card:c1")},
		{args: []string{"--amount", "8.80"}, code: invalid, msg: "--merchant is required"},
		{args: []string{"--merchant", "m-cafe", "--amount", "8.80", "--source", "wechat"}, code: invalid, msg: `unknown source "wechat"`},
		// The merchant is checked first, then the source, then the amount.
		{args: []string{"--source", "x", "--amount", "x"}, code: invalid, msg: "--merchant is required"},
		{args: []string{"--merchant", "m", "--source", "x"}, code: invalid, msg: "unknown source"},
		{args: []string{"--merchant", "m"}, code: invalid, msg: "--amount is required"},
	})
}

// TestChecksBeforeThePrompt: what needs no secret (an unknown merchant or card, more than the
// balance, no password set, a frozen account) fails before the password is asked.
func TestChecksBeforeThePrompt(t *testing.T) {
	for _, c := range []struct {
		code   string
		user   func(*walletctl.User)
		newCmd func(*cli.Factory) *cobra.Command
		args   []string
	}{
		{code: walletctl.CodeNotFound, newCmd: payCmd, args: []string{"--merchant", "m-nosuch", "--amount", "1"}},
		{code: walletctl.CodeNotFound, newCmd: payCmd, args: []string{"--merchant", "m-cafe", "--amount", "1", "--source", "card:c99"}},
		{code: walletctl.CodeNotFound, newCmd: topupCmd, args: []string{"--card", "c99", "--amount", "1"}},
		{code: walletctl.CodeNotFound, newCmd: withdrawCmd, args: []string{"--card", "c99", "--amount", "1"}},
		{code: walletctl.CodeInsufficientBalance, newCmd: payCmd, args: []string{"--merchant", "m-cafe", "--amount", "100.01"}},
		{code: walletctl.CodeInsufficientBalance, newCmd: withdrawCmd, args: []string{"--card", "c1", "--amount", "999999"}},
		{code: walletctl.CodePasswordNotSet, newCmd: payCmd, args: []string{"--merchant", "m-cafe", "--amount", "1"},
			user: func(u *walletctl.User) { u.PasswordSet = false }},
		{code: walletctl.CodeAccountFrozen, newCmd: topupCmd, args: []string{"--card", "c1", "--amount", "1"},
			user: func(u *walletctl.User) { u.Status = walletctl.StatusFrozen }},
	} {
		p := newPayFake("table")
		if c.user != nil {
			c.user(&p.user)
		}
		if code := runCmd(t, c.newCmd(p.f), c.args...); code != c.code || p.asked() {
			t.Errorf("%q: code %q, want %q; calls %q", c.args, code, c.code, p.calls)
		}
	}
	// More than the balance: how much there is and how much is needed, in the details too.
	p := newPayFake("table")
	var err error
	runCmd(t, keepErr(payCmd(p.f), &err), "--merchant", "m-cafe", "--amount", "250")
	var we *walletctl.Error
	if !errors.As(err, &we) || we.Message != "the balance is 100.00 CNY, 250.00 CNY needed" || we.Details["needed"] != int64(25000) {
		t.Errorf("insufficient balance: %#v", err)
	}
	// A top-up needs no balance: it never asks for it, and a movement that can happen asks.
	p = newPayFake("table")
	p.svc.BalanceFn = nil
	p.svc.TopUpFn = func(context.Context, string, string, int64, string) (*walletctl.Txn, error) {
		return txn(walletctl.KindTopUp, 100), nil
	}
	if code := runCmd(t, topupCmd(p.f), "--card", "c1", "--amount", "999999"); code != "" || !p.asked() {
		t.Errorf("topup: code %q, calls %q", code, p.calls)
	}
}

func payCmd(f *cli.Factory) *cobra.Command      { return cli.NewCmdPay(f, nil) }
func topupCmd(f *cli.Factory) *cobra.Command    { return cli.NewCmdTopUp(f, nil) }
func withdrawCmd(f *cli.Factory) *cobra.Command { return cli.NewCmdWithdraw(f, nil) }

// TestCardMoveRun: the password is asked after the checks, with the wallet released; the wallet
// is opened again before the movement is sent under its idempotency key.
func TestCardMoveRun(t *testing.T) {
	p := newPayFake("table")
	var gotKey, gotPassword string
	p.svc.WithdrawFn = func(ctx context.Context, uid, card string, fen int64, password string) (*walletctl.Txn, error) {
		p.record(fmt.Sprintf("Withdraw %s %s %d", uid, card, fen))
		gotKey, gotPassword = walletctl.IdempotencyKey(ctx), password
		t := txn(walletctl.KindWithdraw, fen)
		t.Fee = 10
		return t, nil
	}
	p.svc.BalanceFn = func(_ context.Context, uid string) (*walletctl.Balance, error) {
		p.record("Balance")
		return &walletctl.Balance{UserID: uid, Available: 10000}, nil
	}
	out := p.must(t, withdrawCmd(p.f), "--card", "c1", "--amount", "12.50", "--password-stdin", "--idempotency-key", "k-1")
	p.wantCalls(t, "", "actor", "Balance", `secret "Payment password: " stdin=true`, "service", "key k-1", "Withdraw u1 c1 1250")
	if gotKey != "k-1" || gotPassword != "135790" {
		t.Errorf("key %q, password %q", gotKey, gotPassword)
	}
	contains(t, "txn table", out, "│ TXN      │ t3", "│ KIND     │ withdraw", "│ STATUS   │ succeeded", "│ AMOUNT   │ 12.50",
		"│ FEE      │ 0.10", "│ SOURCE   │ card:c1", "│ CARD     │ 6222 **** **** 0018", "│ BANK TXN │ B123", "│ BANK KEY │ wlt-t3",
		"│ CREATED  │ 2024-03-01 10:00:00")
	// Rows the txn has no value for are left out.
	lacks(t, "txn table", out, "DIRECTION", "COUNTERPARTY", "FAILURE", "NOTE", "SETTLED")
	if p.errOut.Len() != 0 {
		t.Errorf("stderr: %s", p.errOut.String())
	}
}

func TestPayRunJSONAndErrors(t *testing.T) {
	p := newPayFake("json")
	var got walletctl.PayRequest
	p.svc.PayFn = func(ctx context.Context, req walletctl.PayRequest) (*walletctl.Txn, error) {
		p.record("Pay")
		got = req
		return txn(walletctl.KindPay, req.Amount), nil
	}
	p.must(t, payCmd(p.f), "--merchant", "m-cafe", "--amount", "8.80", "--source", "card:c1")
	if got != (walletctl.PayRequest{UserID: "u1", Merchant: "m-cafe", Amount: 880, Source: "card:c1", Password: "135790"}) {
		t.Errorf("Pay(%+v)", got)
	}
	var shown walletctl.Txn
	if p.decode(t, &shown); shown.ID != "t3" || shown.Amount != 880 {
		t.Errorf("%s", p.out.String())
	}
	// Without --idempotency-key, the invocation still chooses (none embedded, a fresh one remote).
	if p.calls[len(p.calls)-2] != "key " {
		t.Errorf("calls %q", p.calls)
	}
	// The service's refusal is the command's, and nothing is printed.
	p = newPayFake("table")
	failing("Pay", walletctl.CodePasswordWrong)(p.fake)
	p.refuses(t, walletctl.CodePasswordWrong, payCmd(p.f), "--merchant", "m-cafe", "--amount", "1")
	// A bad key (found by the invocation) stops the movement.
	p = newPayFake("table")
	p.f.IdempotencyKey = func(context.Context, string) (context.Context, error) {
		return nil, walletctl.Errorf(walletctl.CodeInvalidArgument, "bad key")
	}
	if code := runCmd(t, payCmd(p.f), "--merchant", "m-cafe", "--amount", "1", "--idempotency-key", "a b"); code != walletctl.CodeInvalidArgument {
		t.Errorf("bad key: code %q", code)
	}
}

func TestBalance(t *testing.T) {
	k := newFake("table", func(k *fake) {
		k.svc.BalanceFn = func(_ context.Context, uid string) (*walletctl.Balance, error) {
			return &walletctl.Balance{UserID: uid, Available: 123456, Pending: 100, InTransit: 2000, Incoming: 5, Currency: "CNY"}, nil
		}
	})
	contains(t, "balance", k.must(t, cli.NewCmdBalance(k.f, nil)),
		"│ USER       │ u1", "│ AVAILABLE  │ 1234.56 CNY", "│ PENDING    │ 1.00", "│ IN TRANSIT │ 20.00", "│ INCOMING   │ 0.05")
	refusesArgs(t, cli.NewCmdBalance, []string{"u2"})
	k = newFake("json", func(k *fake) {
		k.svc.BalanceFn = func(_ context.Context, uid string) (*walletctl.Balance, error) {
			return &walletctl.Balance{UserID: uid, Available: 1}, nil
		}
	})
	contains(t, "balance -o json", k.must(t, cli.NewCmdBalance(k.f, nil)), `"available": 1,`)
}

func TestTransferFlags(t *testing.T) {
	sends := func(delay string) func(o *cli.TransferOptions) bool {
		return func(o *cli.TransferOptions) bool { return o.To == "u2" && o.AmountFen == 1000 && o.Delay == delay }
	}
	checkFlags(t, cli.NewCmdTransfer, []flagCase[*cli.TransferOptions]{
		{args: []string{"--to", "u2", "--amount", "10"}, ok: sends("none")},
		{args: []string{"--to", "u2", "--amount", "10", "--delay", "24h", "--confirm-payee", "李四"}, ok: sends("24h")},
		{args: []string{"--amount", "10"}, code: invalid, msg: "--to is required"},
		{args: []string{"--to", "u2", "--amount", "10", "--delay", "1h"}, code: invalid, msg: `unknown delay "1h"`},
		{args: []string{"--to", "u2", "--delay", "1h"}, code: invalid, msg: "unknown delay"},
		{args: []string{"--to", "u2"}, code: invalid, msg: "--amount is required"},
		{args: []string{"--to", "u2", "--amount", "ten"}, code: walletctl.CodeInvalidAmount},
		{args: []string{"--to", "u2", "--amount", "10", "u3"}, code: invalid},
	})
}

// transferFake is a payFake whose payee u2 is 李四 (*四), a stranger.
func transferFake(format string, needsConfirmation bool) *payFake {
	p := newPayFake(format)
	p.svc.PreviewTransferFn = func(_ context.Context, uid, to string, fen int64) (*walletctl.TransferPreview, error) {
		p.record(fmt.Sprintf("PreviewTransfer %s %s %d", uid, to, fen))
		return &walletctl.TransferPreview{To: "u2", PayeeNameMasked: "*四", Stranger: true, NeedsConfirmation: needsConfirmation, Amount: fen}, nil
	}
	p.svc.TransferFn = func(ctx context.Context, req walletctl.TransferRequest) (*walletctl.Transfer, error) {
		p.record(fmt.Sprintf("Transfer %+v key=%s", req, walletctl.IdempotencyKey(ctx)))
		return &walletctl.Transfer{ID: "t5", From: req.UserID, To: "u2", PayeeNameMasked: "*四", Amount: req.Amount, Status: walletctl.TransferArrived,
			Delay: "none", ArrivesAt: time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC), RefundAt: time.Date(2024, 3, 2, 2, 0, 0, 0, time.UTC)}, nil
	}
	return p
}

// TestTransferRun: the payee is shown before anything is asked; a transfer that needs the
// payee confirmed stops there without it.
func TestTransferRun(t *testing.T) {
	p := transferFake("table", false)
	out := p.must(t, cli.NewCmdTransfer(p.f, nil), "--to", "13900000002", "--amount", "10", "--idempotency-key", "k-2")
	p.wantCalls(t, "", "actor", "PreviewTransfer u1 13900000002 1000", `secret "Payment password: " stdin=false`, "service", "key k-2",
		"Transfer {UserID:u1 To:13900000002 Amount:1000 Delay:none ConfirmPayee: Password:135790} key=k-2")
	if !strings.HasPrefix(out, "payee: u2 *四 (a stranger: no earlier transfer between you)\n┌") {
		t.Errorf("no payee line first:\n%s", out)
	}
	contains(t, "transfer", out, "│ TRANSFER  │ t5", "│ FROM      │ u1", "│ TO        │ u2", "│ PAYEE     │ *四", "│ AMOUNT    │ 10.00",
		"│ STATUS    │ arrived", "│ DELAY     │ none", "│ ARRIVES   │ 2024-03-01 10:00:00", "│ REFUND AT │ 2024-03-02 10:00:00")

	// Needs confirmation and has none: PAYEE_CONFIRMATION_REQUIRED, before the password.
	p = transferFake("table", true)
	var err error
	if code := runCmd(t, keepErr(cli.NewCmdTransfer(p.f, nil), &err), "--to", "u2", "--amount", "30"); code != walletctl.CodePayeeConfirm || p.asked() {
		t.Fatalf("code %q, calls %q", code, p.calls)
	}
	var we *walletctl.Error
	if !errors.As(err, &we) || we.Message != "confirm the payee *四 before sending 30.00: a transfer to a stranger above the threshold" ||
		we.Details["to"] != "u2" || we.Details["stranger"] != true {
		t.Errorf("%#v", err)
	}
	if !strings.HasPrefix(p.out.String(), "payee: u2 *四") {
		t.Errorf("the payee is not shown before the refusal: %q", p.out.String())
	}
	// ... and goes with it, the name sent for the service to check.
	p = transferFake("table", true)
	if code := runCmd(t, cli.NewCmdTransfer(p.f, nil), "--to", "u2", "--amount", "30", "--confirm-payee", "李四"); code != "" ||
		!strings.Contains(p.calls[len(p.calls)-1], "ConfirmPayee:李四") {
		t.Errorf("code %q, calls %q", code, p.calls)
	}

	// More than the balance: refused before the password, after the payee is known.
	p = transferFake("table", false)
	if code := runCmd(t, cli.NewCmdTransfer(p.f, nil), "--to", "u2", "--amount", "100.01"); code != walletctl.CodeInsufficientBalance || p.asked() {
		t.Errorf("code %q, calls %q", code, p.calls)
	}
}

// TestTransferJSON: -o json is the preview and the transfer, with no payee line.
func TestTransferJSON(t *testing.T) {
	p := transferFake("json", false)
	p.must(t, cli.NewCmdTransfer(p.f, nil), "--to", "u2", "--amount", "10", "--delay", "2h", "--password-stdin")
	var got struct {
		Preview  walletctl.TransferPreview `json:"preview"`
		Transfer walletctl.Transfer        `json:"transfer"`
	}
	if p.decode(t, &got); got.Preview.PayeeNameMasked != "*四" || got.Transfer.ID != "t5" {
		t.Errorf("%s", p.out.String())
	}
}

func TestTransferAcceptCancel(t *testing.T) {
	for name, newCmd := range map[string]newCmdFunc[*cli.TransferActionOptions]{
		"accept": cli.NewCmdTransferAccept, "cancel": cli.NewCmdTransferCancel,
	} {
		refusesArgs(t, newCmd, []string{}, []string{"t1", "t2"})
		var got string
		act := func(_ context.Context, uid, id string) (*walletctl.Transfer, error) {
			got = name + " " + uid + " " + id
			return &walletctl.Transfer{ID: id, From: "u2", To: uid, Status: name + "ed"}, nil
		}
		k := newFake("table", func(k *fake) { k.svc.AcceptTransferFn, k.svc.CancelTransferFn = act, act })
		if out := k.must(t, newCmd(k.f, nil), "t5"); got != name+" u1 t5" || !strings.Contains(out, "│ TRANSFER  │ t5") {
			t.Errorf("%s: called %q:\n%s", name, got, out)
		}
	}
	k := newFake("table", failing("AcceptTransfer", walletctl.CodeTransferState))
	k.refuses(t, walletctl.CodeTransferState, cli.NewCmdTransferAccept(k.f, nil), "t5")
}

func TestTransferList(t *testing.T) {
	k := newFake("table", func(k *fake) {
		k.svc.TransfersFn = mock.ListOf(func(context.Context, string) ([]walletctl.Transfer, error) {
			return []walletctl.Transfer{{ID: "t5", From: "u1", To: "u2", PayeeNameMasked: "*四", Amount: 500, Status: "scheduled", Delay: "2h",
				ArrivesAt: time.Date(2024, 3, 1, 4, 0, 0, 0, time.UTC), RefundAt: time.Date(2024, 3, 2, 4, 0, 0, 0, time.UTC)}}, nil
		})
	})
	out := k.must(t, cli.NewCmdTransferList(k.f, nil))
	contains(t, "transfer list", out, "│ ID │ FROM │ TO │ PAYEE │ AMOUNT │ STATUS    │ DELAY │ ARRIVES", "│ t5 │ u1   │ u2 │ *四   │ 5.00   │ scheduled │ 2h    │ 2024-03-0 │")
	within80(t, "transfer list", out)
}

// TestPasswordSet: asked twice at a prompt (the two must match), once with --password-stdin;
// the wallet is opened again after the prompt and only then told.
func TestPasswordSet(t *testing.T) {
	refusesArgs(t, cli.NewCmdPasswordSet, []string{"135790"}) // the password as an argument
	for _, c := range []struct {
		args    []string
		answers []string
		code    string
		calls   []string
	}{
		{answers: []string{"258036", "258036"}, calls: []string{"actor", `secret "New 6-digit payment password: " stdin=false`,
			`secret "Repeat it: " stdin=false`, "service", "SetPassword u1 258036"}},
		{args: []string{"--password-stdin"}, answers: []string{"258036"}, calls: []string{"actor",
			`secret "New 6-digit payment password: " stdin=true`, "service", "SetPassword u1 258036"}},
		{answers: []string{"258036", "258037"}, code: walletctl.CodeInvalidArgument, calls: []string{"actor",
			`secret "New 6-digit payment password: " stdin=false`, `secret "Repeat it: " stdin=false`}},
		// The domain's rule refuses the first entry before it is asked again (issue 22 item 12).
		{answers: []string{"12"}, code: walletctl.CodePasswordFormat, calls: []string{"actor",
			`secret "New 6-digit payment password: " stdin=false`}},
		{answers: []string{"111111"}, code: walletctl.CodePasswordWeak, calls: []string{"actor",
			`secret "New 6-digit payment password: " stdin=false`}},
	} {
		p := newPayFake("table")
		p.answers = c.answers
		p.svc.SetPasswordFn = func(_ context.Context, uid, pw string) error {
			p.record("SetPassword " + uid + " " + pw)
			return nil
		}
		if code := runCmd(t, cli.NewCmdPasswordSet(p.f, nil), c.args...); code != c.code {
			t.Errorf("%q %q: code %q, want %q", c.args, c.answers, code, c.code)
		}
		p.wantCalls(t, fmt.Sprintf("%q %q: ", c.args, c.answers), c.calls...)
		if want := "payment password set for u1\n"; c.code == "" && p.out.String() != want {
			t.Errorf("stdout %q", p.out.String())
		}
	}
	p := newPayFake("json")
	p.svc.SetPasswordFn = func(context.Context, string, string) error { return nil }
	runCmd(t, cli.NewCmdPasswordSet(p.f, nil), "--password-stdin")
	if want := "{\n  \"user_id\": \"u1\",\n  \"password_set\": true\n}\n"; p.out.String() != want {
		t.Errorf("-o json: %q", p.out.String())
	}
	lacks(t, "password set (the password)", p.out.String()+p.errOut.String(), "135790")
}

func TestPasswordResetFlags(t *testing.T) {
	checkFlags(t, cli.NewCmdPasswordReset, []flagCase[*cli.PasswordResetOptions]{
		{args: []string{"--name", "张伟", "--id", "110105198503071230", "--card", fullCard}},
		{args: []string{"--reset-id", "r1", "--otp", "123456", "--password-stdin"}},
		{args: []string{"--reset-id", "r1"}},
		{args: []string{"--name", "张伟", "--id", "110105198503071230"}, code: invalid},
		{args: []string{"--otp", "123456"}, code: invalid},
		{args: []string{}, code: invalid},
	})
}

// resetFake is a payFake whose bank sends the reset's SMS code to 138****8000.
func resetFake(format string, inTTY bool) *payFake {
	p := newPayFake(format)
	p.f.IO.InTTY = inTTY
	p.svc.StartPasswordResetFn = func(_ context.Context, uid, name, id, card string) (*walletctl.PasswordReset, error) {
		p.record(fmt.Sprintf("StartPasswordReset %s %s %s %s", uid, name, id, card))
		return &walletctl.PasswordReset{ResetID: "r1", UserID: uid, PhoneMasked: "138****8000", ExpiresAt: time.Date(2024, 3, 1, 2, 5, 0, 0, time.UTC)}, nil
	}
	p.svc.CompletePasswordResetFn = func(_ context.Context, uid, reset, otp, pw string) error {
		p.record(fmt.Sprintf("CompletePasswordReset %s %s %s %s", uid, reset, otp, pw))
		return nil
	}
	return p
}

func TestPasswordResetRun(t *testing.T) {
	start := []string{"--name", "张伟", "--id", "110105198503071230", "--card", fullCard}
	startCall := "StartPasswordReset u1 张伟 110105198503071230 " + fullCard

	// Step 1 for a script: the reset to finish later, and nothing asked.
	p := resetFake("table", false)
	out := p.must(t, cli.NewCmdPasswordReset(p.f, nil), start...)
	p.wantCalls(t, "", "actor", startCall)
	contains(t, "step 1", out, "│ RESET       │ r1", "│ SMS SENT TO │ 138****8000", "│ EXPIRES     │ 2024-03-01 10:05:00",
		"│ NEXT        │ walletctl password reset --reset-id r1 --otp CODE", "│             │ --password-stdin")
	lacks(t, "step 1 (a full number)", out, fullCard, "110105198503071230")

	// Step 1 at a terminal goes on: the note on stderr, the code and the new password asked.
	p = resetFake("table", true)
	p.answers = []string{"654321", "258036", "258036"}
	out = p.must(t, cli.NewCmdPasswordReset(p.f, nil), start...)
	p.wantCalls(t, "", "actor", startCall, `secret "SMS code: " stdin=false`, `secret "New 6-digit payment password: " stdin=false`,
		`secret "Repeat it: " stdin=false`, "service", "CompletePasswordReset u1 r1 654321 258036")
	if p.errOut.String() != "identity checked; the bank sent an SMS code to 138****8000\n" {
		t.Errorf("stderr %q", p.errOut.String())
	}
	if out != "payment password reset for u1; any lock is cleared (see: walletctl security log)\n" {
		t.Errorf("stdout %q", out)
	}

	// A refused first entry ends it before "Repeat it:": format, weakness, and (step 1 gave the
	// ID) the birth date in the ID (1985-03-07: 850307).
	for pw, code := range map[string]string{"12": walletctl.CodePasswordFormat, "123456": walletctl.CodePasswordWeak,
		"850307": walletctl.CodePasswordWeak} {
		p = resetFake("table", true)
		p.answers = []string{"654321", pw}
		p.refuses(t, code, cli.NewCmdPasswordReset(p.f, nil), start...)
		p.wantCalls(t, pw+": ", "actor", startCall, `secret "SMS code: " stdin=false`, `secret "New 6-digit payment password: " stdin=false`)
	}

	// Step 2 with the code given: no code asked, one line of standard input for the password.
	p = resetFake("json", true)
	p.must(t, cli.NewCmdPasswordReset(p.f, nil), "--reset-id", "r9", "--otp", "111111", "--password-stdin")
	p.wantCalls(t, "", "actor", `secret "New 6-digit payment password: " stdin=true`, "service", "CompletePasswordReset u1 r9 111111 135790")
	var got map[string]any
	if p.decode(t, &got); got["reset"] != true || got["password_set"] != true || p.errOut.Len() != 0 {
		t.Errorf("%s / %s", p.out.String(), p.errOut.String())
	}

	// The service's refusal is the command's.
	p = resetFake("table", false)
	failing("StartPasswordReset", walletctl.CodeIdentityFailed)(p.fake)
	p.refuses(t, walletctl.CodeIdentityFailed, cli.NewCmdPasswordReset(p.f, nil), start...)
}

const payCode = "134567890123456789"

// paycodeFake is a fake whose --as user gets payCode, from the source asked, until 10:01.
func paycodeFake(format string, outTTY bool) (*fake, *string) {
	source := new(string)
	k := newFake(format, func(k *fake) {
		k.svc.NewPayCodeFn = func(_ context.Context, uid, src string) (*walletctl.PayCode, error) {
			*source = uid + " " + src
			return &walletctl.PayCode{Code: payCode, UserID: uid, Source: src, ExpiresAt: time.Date(2024, 3, 1, 2, 1, 0, 0, time.UTC)}, nil
		}
	})
	k.f.IO.OutTTY = outTTY
	return k, source
}

// TestPaycode: only the digits on a standard output that is no terminal (the expiry on
// standard error), so that CODE=$(walletctl paycode) works; -o json, the code with its expiry.
func TestPaycode(t *testing.T) {
	refusesArgs(t, cli.NewCmdPaycode, []string{"--source", "alipay"}, []string{"extra"})
	k, source := paycodeFake("table", false)
	if out := k.must(t, cli.NewCmdPaycode(k.f, nil), "--source", "card:c1"); *source != "u1 card:c1" || out != payCode+"\n" ||
		k.errOut.String() != "valid until 2024-03-01 10:01:00 (one minute of the sandbox clock), from card:c1\n" {
		t.Errorf("NewPayCode(%s): stdout %q, stderr %q", *source, out, k.errOut.String())
	}
	k, _ = paycodeFake("json", true)
	k.must(t, cli.NewCmdPaycode(k.f, nil))
	var pc walletctl.PayCode
	if k.decode(t, &pc); pc.Code != payCode || pc.Source != "balance" || pc.ExpiresAt.IsZero() {
		t.Errorf("%s", k.out.String())
	}
}

// TestPaycodeQROnTerminal: on a terminal the code is drawn as a QR code that fits 80 columns,
// with the digits and the expiry below it.
func TestPaycodeQROnTerminal(t *testing.T) {
	k, _ := paycodeFake("table", true)
	out := k.must(t, cli.NewCmdPaycode(k.f, nil))
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 17 || !strings.ContainsAny(out, "█▀▄") || lines[15] != payCode || !strings.HasPrefix(lines[16], "valid until ") {
		t.Fatalf("paycode on a terminal:\n%s", out)
	}
	within80(t, "paycode on a terminal", out)
	if k.errOut.Len() != 0 {
		t.Errorf("stderr %q", k.errOut.String())
	}
}

func TestPaycodeConfirm(t *testing.T) {
	refusesArgs(t, cli.NewCmdPaycodeConfirm, []string{}, []string{" "}, []string{"o3", "o4"}, []string{"o3", "--idempotency-key", "k"})
	// Waiting for the password: the payee first, then the password; no idempotency key.
	for _, c := range []struct {
		state  string
		payee  bool
		scanOK bool
	}{
		{walletctl.StateUserPaying, true, true},
		{walletctl.StateSuccess, false, true},
		{"", false, false},
	} {
		p := newPayFake("table")
		p.svc.ScanOrderFn = func(context.Context, string, string) (*walletctl.Order, error) {
			if !c.scanOK {
				return nil, walletctl.Errorf(walletctl.CodeNotFound, "no order")
			}
			return latte(c.state), nil
		}
		p.svc.ConfirmOrderFn = func(_ context.Context, uid, ref, pw string) (*walletctl.Order, error) {
			p.record(fmt.Sprintf("ConfirmOrder %s %s %s", uid, ref, pw))
			return latte(walletctl.StateSuccess), nil
		}
		out := p.must(t, cli.NewCmdPaycodeConfirm(p.f, nil), " o3 ", "--password-stdin")
		p.wantCalls(t, c.state+": ", "actor", `secret "Payment password: " stdin=true`, "service", "ConfirmOrder u1 o3 135790")
		if shown := p.errOut.String() == "Pay 8.80 CNY to Demo Cafe (1900000001): Latte\n"; shown != c.payee {
			t.Errorf("%s: stderr %q", c.state, p.errOut.String())
		}
		contains(t, c.state+": paycode confirm", out, "│ STATE       │ SUCCESS")
	}
	// No password set: refused before the prompt.
	p := newPayFake("table")
	p.user.PasswordSet = false
	p.svc.ScanOrderFn = func(context.Context, string, string) (*walletctl.Order, error) {
		return latte(walletctl.StateUserPaying), nil
	}
	if code := runCmd(t, cli.NewCmdPaycodeConfirm(p.f, nil), "o3"); code != walletctl.CodePasswordNotSet || p.asked() {
		t.Errorf("code %q, calls %q", code, p.calls)
	}
}

const codeURL = "weixin://wxpay/bizpayurl?pr=abc123"

// latte is an order of Demo Cafe, 8.80 CNY, in state; paid ones carry how.
func latte(state string) *walletctl.Order {
	o := &walletctl.Order{ID: "o3", MchID: "1900000001", MerchantName: "Demo Cafe", Amount: 880, Description: "Latte", TradeState: state}
	if state == walletctl.StateSuccess {
		paid := time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC)
		o.TransactionID, o.Source, o.TxnID, o.SuccessTime = "4200000001", "balance", "t9", &paid
	}
	return o
}

func TestScanFlags(t *testing.T) {
	scans := func(ref string) func(o *cli.ScanOptions) bool {
		return func(o *cli.ScanOptions) bool { return o.Ref == ref }
	}
	checkFlags(t, cli.NewCmdScan, []flagCase[*cli.ScanOptions]{
		{args: []string{" " + codeURL + "\n"}, ok: scans(codeURL)},
		{args: []string{"wx123", "--source", "card:c1", "--password-stdin"}, ok: scans("wx123")},
		{args: []string{}, code: invalid},
		{args: []string{"  "}, code: invalid},
		{args: []string{"wx123", "--source", "paypal"}, code: invalid},
		{args: []string{"wx123", "wx456"}, code: invalid},
	})
}

// scanFake is a payFake with latte to pay.
func scanFake(format string) *payFake {
	p := newPayFake(format)
	p.svc.ScanOrderFn = func(_ context.Context, uid, ref string) (*walletctl.Order, error) {
		p.record(fmt.Sprintf("ScanOrder %s %s", uid, ref))
		return latte(walletctl.StateNotPay), nil
	}
	p.svc.PayOrderFn = func(ctx context.Context, req walletctl.PayOrderRequest) (*walletctl.Order, error) {
		p.record(fmt.Sprintf("PayOrder %+v", req))
		return latte(walletctl.StateSuccess), nil
	}
	return p
}

// TestScanShowsPayee: what is paid for is on standard error before the password is asked; the
// checks that need no secret run on the order's amount.
func TestScanShowsPayee(t *testing.T) {
	p := scanFake("table")
	var errAtPrompt string
	secret := p.f.Secret
	p.f.Secret = func(ctx context.Context, prompt string, fromStdin bool) (string, error) {
		errAtPrompt = p.errOut.String()
		return secret(ctx, prompt, fromStdin)
	}
	out := p.must(t, cli.NewCmdScan(p.f, nil), codeURL, "--idempotency-key", "k-3")
	if errAtPrompt != "Pay 8.80 CNY to Demo Cafe (1900000001): Latte\n" {
		t.Errorf("stderr at the prompt: %q", errAtPrompt)
	}
	p.wantCalls(t, "", "actor", "ScanOrder u1 "+codeURL, `secret "Payment password: " stdin=false`, "service", "key k-3",
		"PayOrder {UserID:u1 Ref:"+codeURL+" Source:balance Password:135790}")
	contains(t, "paid order", out, "│ TRANSACTION │ 4200000001", "│ STATE       │ SUCCESS", "│ PAYEE       │ Demo Cafe", "│ MCHID       │ 1900000001",
		"│ AMOUNT      │ 8.80 CNY", "│ DESCRIPTION │ Latte", "│ SOURCE      │ balance", "│ TXN         │ t9", "│ PAID        │ 2024-03-01 10:00:00")

	// More than the balance, or a card not bound: refused before the password, the payee shown.
	for _, c := range []struct {
		source string
		code   string
		order  int64
	}{
		{"balance", walletctl.CodeInsufficientBalance, 10001},
		{"card:c9", walletctl.CodeNotFound, 880},
	} {
		p := scanFake("table")
		p.svc.ScanOrderFn = func(context.Context, string, string) (*walletctl.Order, error) {
			o := latte(walletctl.StateNotPay)
			o.Amount = c.order
			return o, nil
		}
		if code := runCmd(t, cli.NewCmdScan(p.f, nil), codeURL, "--source", c.source); code != c.code || p.asked() || !strings.HasPrefix(p.errOut.String(), "Pay ") {
			t.Errorf("%s: code %q, calls %q, stderr %q", c.source, code, p.calls, p.errOut.String())
		}
	}
	// An order that cannot be paid: its error, nothing shown.
	p = scanFake("table")
	failing("ScanOrder", walletctl.CodeOrderState)(p.fake)
	if p.refuses(t, walletctl.CodeOrderState, cli.NewCmdScan(p.f, nil), codeURL); p.errOut.Len() != 0 {
		t.Errorf("stderr %q", p.errOut.String())
	}
}

// TestSlowBankSaysWhatItWaitsFor: a top-up that waits on the bank says so on a terminal's
// standard error once the wait passes SlowAfter, and ends the line when the answer comes; never
// on a pipe, never with -o json, never for a quick answer.
func TestSlowBankSaysWhatItWaitsFor(t *testing.T) {
	run := func(format string, tty bool, wait time.Duration) (stdout, stderr string) {
		p := newPayFake(format)
		p.f.IO.ErrTTY = tty
		p.f.SlowAfter = 20 * time.Millisecond
		p.svc.TopUpFn = func(context.Context, string, string, int64, string) (*walletctl.Txn, error) {
			time.Sleep(wait)
			return txn(walletctl.KindTopUp, 100), nil
		}
		if code := runCmd(t, topupCmd(p.f), "--card", "c1", "--amount", "1", "--password-stdin"); code != "" {
			t.Fatalf("topup: %q", code)
		}
		return p.out.String(), p.errOut.String()
	}
	const said = "… waiting for the bank's answer"
	if _, e := run("table", true, 300*time.Millisecond); strings.Count(e, said) != 1 || !strings.HasSuffix(e, ")\n") {
		t.Errorf("slow bank on a terminal: stderr %q", e)
	}
	for _, c := range []struct {
		format string
		tty    bool
		wait   time.Duration
	}{{"table", false, 300 * time.Millisecond}, {"json", true, 300 * time.Millisecond}, {"table", true, 0}} {
		if o, e := run(c.format, c.tty, c.wait); strings.Contains(e, said) || strings.Contains(o, said) {
			t.Errorf("%+v: said it waited: stdout %q stderr %q", c, o, e)
		}
	}
}
