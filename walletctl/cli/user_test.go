package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/mock"
)

// The user's own records on a fake wallet: user, kyc, card, tx and security log; what each
// command makes of its flags and what it prints.

// verified is a verified user as the service shows it: name and ID number masked.
func verified(id string) *walletctl.User {
	return &walletctl.User{ID: id, Phone: "13800138000", Status: walletctl.StatusNormal, Class: 2, Verified: true,
		NameMasked: "*伟", IDMasked: "1101**********1230", PasswordSet: true, CreatedAt: time.Date(2024, 3, 1, 16, 30, 0, 0, time.UTC)}
}

func TestUserRegister(t *testing.T) {
	checkFlags(t, cli.NewCmdUserRegister, []flagCase[*cli.UserRegisterOptions]{
		{args: []string{"--phone", "13900000001"}, ok: func(o *cli.UserRegisterOptions) bool { return o.Phone == "13900000001" }},
		{args: []string{}, code: invalid},
		{args: []string{"13900000001"}, code: invalid},
		{args: []string{"--phone"}, code: invalid},
	})

	// The bare id, for U=$(walletctl user register ...); -o json, the user.
	registers := func(k *fake) {
		k.svc.RegisterFn = func(_ context.Context, phone string) (*walletctl.User, error) {
			return &walletctl.User{ID: "u7", Phone: phone}, nil
		}
	}
	k := newFake("table", registers)
	if out := k.must(t, cli.NewCmdUserRegister(k.f, nil), "--phone", "13900000001"); out != "u7\n" {
		t.Errorf("stdout %q", out)
	}
	k = newFake("table", failing("Register", walletctl.CodeInvalidPhone))
	k.refuses(t, walletctl.CodeInvalidPhone, cli.NewCmdUserRegister(k.f, nil), "--phone", "12345")
	k = newFake("json", registers)
	k.must(t, cli.NewCmdUserRegister(k.f, nil), "--phone", "13900000001")
	var u walletctl.User
	if k.decode(t, &u); u.ID != "u7" || u.Phone != "13900000001" {
		t.Errorf("%s", k.out.String())
	}
}

// TestUserShow: with an argument, that user (not --as); without, --as. The table carries what
// -o json does, masked.
func TestUserShow(t *testing.T) {
	asked := ""
	k := newFake("table", func(k *fake) {
		k.svc.UserFn = func(_ context.Context, ref string) (*walletctl.User, error) {
			asked = ref
			return verified("u1"), nil
		}
	})
	k.f.Actor = func(context.Context) (walletctl.Service, *walletctl.User, error) {
		t.Error("user show u2 resolved --as")
		return nil, nil, walletctl.Errorf(walletctl.CodeInvalidArgument, "no --as")
	}
	out := k.must(t, cli.NewCmdUserShow(k.f, nil), "13800138000")
	if asked != "13800138000" {
		t.Fatalf("asked %q", asked)
	}
	u := verified("u1")
	contains(t, "user show", out, "│ ID           │ u1", "│ PHONE        │ 13800138000", "│ STATUS       │ normal", "│ CLASS        │ II",
		"│ VERIFIED     │ yes", "│ NAME         │ *伟", "│ ID NUMBER    │ "+u.IDMasked, "│ PASSWORD SET │ yes",
		"│ CREATED      │ 2024-03-02 00:30:00")

	k = newFake("json", func(k *fake) {
		k.svc.UserFn = func(_ context.Context, ref string) (*walletctl.User, error) { return verified(ref), nil }
	})
	k.must(t, cli.NewCmdUserShow(k.f, nil))
	var got walletctl.User
	if k.decode(t, &got); got.ID != "u1" || got.IDMasked != u.IDMasked || got.NameMasked != "*伟" {
		t.Errorf("%s", k.out.String())
	}
	refusesArgs(t, cli.NewCmdUserShow, []string{"u1", "u2"})
}

func TestUserList(t *testing.T) {
	k := newFake("table", func(k *fake) {
		k.svc.UsersFn = mock.List(func(context.Context) ([]walletctl.User, error) {
			fresh := walletctl.User{ID: "u2", Phone: "13900000002", Status: walletctl.StatusFrozen}
			return []walletctl.User{*verified("u1"), fresh}, nil
		})
	})
	contains(t, "user list", k.must(t, cli.NewCmdUserList(k.f, nil)),
		"│ ID │ PHONE       │ STATUS │ CLASS │ VERIFIED │ NAME │ PASSWORD │",
		"│ u1 │ 13800138000 │ normal │ II    │ yes      │ *伟  │ yes      │",
		"│ u2 │ 13900000002 │ frozen │ -     │ no       │      │ no       │")
	// None: an empty list for scripts, never null.
	k = newFake("json", func(k *fake) {
		k.svc.UsersFn = mock.List(func(context.Context) ([]walletctl.User, error) { return nil, nil })
	})
	if out := k.must(t, cli.NewCmdUserList(k.f, nil)); out != "[]\n" {
		t.Errorf("no users, -o json: %q", out)
	}
}

func TestUserSetStatus(t *testing.T) {
	refusesArgs(t, cli.NewCmdUserSetStatus, []string{}, []string{"gone"}, []string{"Frozen"}, []string{"frozen", "normal"})
	var gotUser string
	var gotStatus walletctl.UserStatus
	k := newFake("table", func(k *fake) {
		k.svc.SetUserStatusFn = func(_ context.Context, uid string, st walletctl.UserStatus) (*walletctl.User, error) {
			gotUser, gotStatus = uid, st
			return &walletctl.User{ID: uid, Status: st}, nil
		}
	})
	out := k.must(t, cli.NewCmdUserSetStatus(k.f, nil), "restricted")
	if gotUser != "u1" || gotStatus != walletctl.StatusRestricted {
		t.Fatalf("SetUserStatus(%q, %q)", gotUser, gotStatus)
	}
	if out != "u1 is now restricted\n" {
		t.Errorf("stdout %q", out)
	}
}

func TestUserOpenID(t *testing.T) {
	refusesArgs(t, cli.NewCmdUserOpenID, []string{}) // no --appid
	k := newFake("table")
	if out := k.must(t, cli.NewCmdUserOpenID(k.f, nil), "--appid", "wx1234"); out != walletctl.OpenID("wx1234", "u1")+"\n" {
		t.Errorf("stdout %q", out)
	}
	k = newFake("json")
	out := k.must(t, cli.NewCmdUserOpenID(k.f, nil), "--appid", "wx1234")
	var v struct{ AppID, UserID, OpenID string }
	if k.decode(t, &v); v.OpenID != walletctl.OpenID("wx1234", "u1") {
		t.Errorf("%s", out)
	}
	contains(t, "user openid -o json", out, `"appid": "wx1234"`, `"user_id": "u1"`)
}

func TestKYCSubmitFlags(t *testing.T) {
	checkFlags(t, cli.NewCmdKYCSubmit, []flagCase[*cli.KYCSubmitOptions]{
		{args: []string{"--name", "张伟", "--id", "110105198503071230"}, ok: func(o *cli.KYCSubmitOptions) bool {
			return o.Name == "张伟" && o.ID == "110105198503071230"
		}},
		{args: []string{"--name", "张伟"}, code: invalid},
		{args: []string{"--id", "110105198503071230"}, code: invalid},
		{args: []string{"--name", "a", "--id", "b", "extra"}, code: invalid},
		{args: []string{"--nmae", "a"}, code: invalid},
	})
}

func TestKYCSubmitRun(t *testing.T) {
	var gotUser, gotName, gotID string
	k := newFake("table", func(k *fake) {
		k.svc.SubmitKYCFn = func(_ context.Context, uid, name, id string) (*walletctl.KYC, error) {
			gotUser, gotName, gotID = uid, name, id
			return &walletctl.KYC{UserID: uid, Verified: true, NameMasked: "*伟", IDMasked: "1101**********1230", Class: 2,
				Checks: []string{"id", "phone"}, LimitFen: 10_000_000, UsedFen: 1250, LimitPeriod: "year"}, nil
		}
	})
	out := k.must(t, cli.NewCmdKYCSubmit(k.f, nil), "--name", "张伟", "--id", "110105198503071230")
	if gotUser != "u1" || gotName != "张伟" || gotID != "110105198503071230" {
		t.Fatalf("SubmitKYC(%q, %q, %q)", gotUser, gotName, gotID)
	}
	contains(t, "kyc submit", out, "VERIFIED", "yes", "*伟", "id, phone", "12.50 of 100000.00 (year)")
	lacks(t, "kyc submit (the full ID number)", out, "110105198503071230")
}

func TestKYCStatusJSONAndErrors(t *testing.T) {
	k := newFake("json", func(k *fake) {
		k.svc.KYCStatusFn = func(_ context.Context, uid string) (*walletctl.KYC, error) {
			return &walletctl.KYC{UserID: uid, Class: 1}, nil
		}
	})
	k.must(t, cli.NewCmdKYCStatus(k.f, nil))
	var got walletctl.KYC
	if k.decode(t, &got); got.UserID != "u1" || got.Class != 1 {
		t.Fatalf("%s", k.out.String())
	}
	// The service's error is the command's, code and all.
	k = newFake("table", failing("KYCStatus", walletctl.CodeNotFound))
	k.refuses(t, walletctl.CodeNotFound, cli.NewCmdKYCStatus(k.f, nil))
}

const fullCard = "6222020000000000018"

func TestCardBind(t *testing.T) {
	refusesArgs(t, cli.NewCmdCardBind, []string{}, []string{"--phone", "13800138000"}, []string{"--card", fullCard, "extra"})
	// The phone reserved at the bank is the user's own unless given.
	for _, c := range []struct {
		args  []string
		phone string
	}{
		{[]string{"--card", fullCard}, "13800138000"},
		{[]string{"--card", fullCard, "--phone", "13900000009"}, "13900000009"},
	} {
		var got []string
		k := newFake("table", func(k *fake) {
			k.svc.BindCardFn = func(_ context.Context, uid, card, phone string) (*walletctl.CardBinding, error) {
				got = []string{uid, card, phone}
				return &walletctl.CardBinding{BindingID: "b4", UserID: uid, Bank: "ICBC", CardMasked: "6222 **** **** 0018",
					PhoneMasked: "139****0009", ExpiresAt: time.Date(2024, 3, 1, 2, 5, 0, 0, time.UTC)}, nil
			}
		})
		out := k.must(t, cli.NewCmdCardBind(k.f, nil), c.args...)
		if strings.Join(got, " ") != "u1 "+fullCard+" "+c.phone {
			t.Errorf("%q: BindCard%q", c.args, got)
		}
		contains(t, "card bind", out, "│ BINDING     │ b4", "│ BANK        │ ICBC", "│ CARD        │ 6222 **** **** 0018",
			"│ SMS SENT TO │ 139****0009", "│ EXPIRES     │ 2024-03-01 10:05:00", "│ NEXT        │ walletctl card confirm --binding b4 --otp CODE")
		lacks(t, "card bind (the full card number)", out, fullCard)
	}
}

func TestCardConfirm(t *testing.T) {
	checkFlags(t, cli.NewCmdCardConfirm, []flagCase[*cli.CardConfirmOptions]{
		{args: []string{}, code: invalid, msg: ": --binding and --otp are required"},
		{args: []string{"--binding", "b1"}, code: invalid, msg: ": --binding and --otp are required"},
		{args: []string{"--otp", "123456"}, code: invalid, msg: ": --binding and --otp are required"},
	})
	var got []string
	k := newFake("json", func(k *fake) {
		k.svc.ConfirmCardFn = func(_ context.Context, uid, binding, otp string) (*walletctl.Card, error) {
			got = []string{uid, binding, otp}
			return &walletctl.Card{ID: "c2", UserID: uid, Bank: "ICBC", CardMasked: "6222 **** **** 0018"}, nil
		}
	})
	if k.must(t, cli.NewCmdCardConfirm(k.f, nil), "--binding", "b1", "--otp", "123456"); strings.Join(got, " ") != "u1 b1 123456" {
		t.Fatalf("ConfirmCard%q", got)
	}
	var c walletctl.Card
	if k.decode(t, &c); c.ID != "c2" {
		t.Errorf("%s", k.out.String())
	}
	k = newFake("table", failing("ConfirmCard", walletctl.CodeOTPInvalid))
	k.refuses(t, walletctl.CodeOTPInvalid, cli.NewCmdCardConfirm(k.f, nil), "--binding", "b1", "--otp", "000000")
}

// TestCardShowAndList: one card and the list, masked, with the data of -o json.
func TestCardShowAndList(t *testing.T) {
	card := walletctl.Card{ID: "c1", UserID: "u1", Bank: "ICBC", BankName: "Gongshang", CardType: "debit",
		CardMasked: "6222 **** **** 0018", Last4: "0018", BoundAt: time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC)}
	k := newFake("table", func(k *fake) {
		k.svc.ConfirmCardFn = func(context.Context, string, string, string) (*walletctl.Card, error) { return &card, nil }
	})
	contains(t, "card confirm", k.must(t, cli.NewCmdCardConfirm(k.f, nil), "--binding", "b1", "--otp", "123456"),
		"│ CARD   │ c1", "│ BANK   │ ICBC Gongshang", "│ TYPE   │ debit", "│ NUMBER │ 6222 **** **** 0018", "│ BOUND  │ 2024-03-01 10:00:00")

	cards := func(list ...walletctl.Card) func(k *fake) {
		return func(k *fake) {
			k.svc.CardsFn = mock.ListOf(func(_ context.Context, uid string) ([]walletctl.Card, error) {
				if uid != "u1" {
					t.Errorf("Cards(%q)", uid)
				}
				return list, nil
			})
		}
	}
	k = newFake("table", cards(card))
	contains(t, "card list", k.must(t, cli.NewCmdCardList(k.f, nil)),
		"│ ID │ BANK │ BANK NAME │ TYPE  │ CARD                │ BOUND               │",
		"│ c1 │ ICBC │ Gongshang │ debit │ 6222 **** **** 0018 │ 2024-03-01 10:00:00 │")
	k = newFake("json", cards(card))
	k.must(t, cli.NewCmdCardList(k.f, nil))
	var list []walletctl.Card
	if k.decode(t, &list); len(list) != 1 || list[0] != card {
		t.Errorf("%s", k.out.String())
	}
	// No cards: the table says so.
	k = newFake("table", cards())
	if out := k.must(t, cli.NewCmdCardList(k.f, nil)); !strings.HasSuffix(out, "(none)\n") {
		t.Errorf("no cards:\n%s", out)
	}
}

func TestCardUnbind(t *testing.T) {
	refusesArgs(t, cli.NewCmdCardUnbind, []string{}, []string{"c1", "c2"})
	for format, want := range map[string]string{"table": "card c1 unbound\n", "json": "{\n  \"unbound\": \"c1\"\n}\n"} {
		var got []string
		k := newFake(format, func(k *fake) {
			k.svc.UnbindCardFn = func(_ context.Context, uid, card string) error {
				got = []string{uid, card}
				return nil
			}
		})
		if out := k.must(t, cli.NewCmdCardUnbind(k.f, nil), "c1"); strings.Join(got, " ") != "u1 c1" || out != want {
			t.Errorf("%s: UnbindCard%q, stdout %q", format, got, out)
		}
	}
	k := newFake("table", failing("UnbindCard", walletctl.CodeNotFound))
	k.refuses(t, walletctl.CodeNotFound, cli.NewCmdCardUnbind(k.f, nil), "c9")
}

// history is a payee's: a top-up by card, a withdrawal with its fee, a transfer received (its
// ledger pending, the transfer arrived) and a failed payment.
func history() []walletctl.Txn {
	at := time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC)
	return []walletctl.Txn{
		{ID: "t1", Kind: walletctl.KindTopUp, Status: walletctl.TxnSucceeded, Amount: 10000, Direction: walletctl.DirectionIn, Source: "card:c1", CreatedAt: at},
		{ID: "t2", Kind: walletctl.KindWithdraw, Status: walletctl.TxnSucceeded, Amount: 300, Fee: 10, Direction: walletctl.DirectionOut, Source: "balance", CreatedAt: at},
		{ID: "t3", Kind: walletctl.KindTransfer, Status: walletctl.TxnPending, TransferStatus: walletctl.TransferArrived, Amount: 500,
			Direction: walletctl.DirectionIn, Counterparty: "u9", Source: "card:c7", CreatedAt: at},
		{ID: "t4", Kind: walletctl.KindPay, Status: "failed", Amount: 1250, Direction: walletctl.DirectionOut, Counterparty: "m-cafe",
			Source: "balance", FailureCode: "INSUFFICIENT_FUNDS", CreatedAt: at},
	}
}

func TestTxList(t *testing.T) {
	list := func(format string, getenv func(string) string, args ...string) *fake {
		t.Helper()
		k := newFake(format, func(k *fake) {
			k.svc.TransactionsFn = mock.ListOf(func(_ context.Context, uid string) ([]walletctl.Txn, error) {
				if uid != "u1" {
					t.Errorf("Transactions(%q)", uid)
				}
				return history(), nil
			})
		})
		k.f.Out.Getenv = getenv
		k.must(t, cli.NewCmdTxList(k.f, nil), args...)
		return k
	}
	// 80 columns: SOURCE goes first, then FEE; one status a row, the transfer's own.
	narrow := list("table", nil).out.String()
	within80(t, "tx list", narrow)
	contains(t, "tx list", narrow, "│ t3 │", "│ in  │ arrived", "│ 5.00", "│ u9", "│ t4 │", "INSUFFICIENT_FUNDS")
	lacks(t, "tx list (SOURCE at 80 columns, or the ledger status of a transfer)", narrow, "SOURCE", "pending")
	// --wide: every column; the payer's source of a transfer received is not the payee's, and a
	// fee shows only where there is one.
	contains(t, "tx list --wide", list("table", nil, "--wide").out.String(),
		"│ ID │ TIME                │ KIND     │ DIR │ STATUS    │ AMOUNT │ COUNTERPARTY │ FEE  │ SOURCE  │ FAILURE",
		"│ t1 │ 2024-03-01 10:00:00 │ topup    │ in  │ succeeded │ 100.00 │              │      │ card:c1 │",
		"│ t2 │ 2024-03-01 10:00:00 │ withdraw │ out │ succeeded │ 3.00   │              │ 0.10 │ balance │",
		"│ t3 │ 2024-03-01 10:00:00 │ transfer │ in  │ arrived   │ 5.00   │ u9           │      │         │")
	// A wider terminal keeps more of them.
	contains(t, "tx list at COLUMNS=200", list("table", func(k string) string { return map[string]string{"COLUMNS": "200"}[k] }).out.String(), "SOURCE")
	// -o json: every field, the ledger status and the transfer's both.
	var txns []walletctl.Txn
	if list("json", nil).decode(t, &txns); len(txns) != 4 || txns[2].Status != walletctl.TxnPending ||
		txns[2].TransferStatus != walletctl.TransferArrived || txns[2].Source != "card:c7" {
		t.Errorf("%+v", txns)
	}
}

func TestTxShow(t *testing.T) {
	refusesArgs(t, cli.NewCmdTxShow, []string{}, []string{"t1", "t2"})
	show := func(format string) *fake {
		k := newFake(format, func(k *fake) {
			k.svc.TransactionFn = func(_ context.Context, uid, id string) (*walletctl.Txn, error) {
				x := history()[1]
				x.ID, x.Postings = id, []walletctl.Posting{{Account: "user:" + uid, Amount: 310}, {Account: "bank:clearing", Amount: -300}, {Account: "fees", Amount: -10}}
				return &x, nil
			}
		})
		k.must(t, cli.NewCmdTxShow(k.f, nil), "t2")
		return k
	}
	contains(t, "tx show", show("table").out.String(), "│ TXN       │ t2", "│ FEE       │ 0.10", "│ DIRECTION │ out",
		"│ ACCOUNT       │ DEBIT │ CREDIT │", "│ user:u1       │ 3.10  │        │", "│ bank:clearing │       │ 3.00   │", "│ fees          │       │ 0.10   │")
	// -o json: the txn with its postings, and no table after it.
	var x walletctl.Txn
	if show("json").decode(t, &x); len(x.Postings) != 3 || x.Postings[2].Account != "fees" {
		t.Errorf("%+v", x)
	}
}

func TestSecurityLog(t *testing.T) {
	k := newFake("table", func(k *fake) {
		k.svc.SecurityLogFn = mock.ListOf(func(_ context.Context, uid string) ([]walletctl.SecurityEvent, error) {
			return []walletctl.SecurityEvent{{Seq: 1, UserID: uid, Time: time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC), Event: "password_set"},
				{Seq: 2, UserID: uid, Time: time.Date(2024, 3, 1, 3, 0, 0, 0, time.UTC), Event: "password_wrong", Detail: "1 of 5"}}, nil
		})
	})
	contains(t, "security log", k.must(t, cli.NewCmdSecurityLog(k.f, nil)),
		"│ SEQ │ TIME                │ EVENT          │ DETAIL │", "│   1 │ 2024-03-01 10:00:00 │ password_set   │        │",
		"│   2 │ 2024-03-01 11:00:00 │ password_wrong │ 1 of 5 │")
	k = newFake("json", func(k *fake) {
		k.svc.SecurityLogFn = mock.ListOf(func(context.Context, string) ([]walletctl.SecurityEvent, error) { return nil, nil })
	})
	if out := k.must(t, cli.NewCmdSecurityLog(k.f, nil)); out != "[]\n" {
		t.Errorf("no events, -o json: %q", out)
	}
	k = newFake("json", failing("SecurityLog", walletctl.CodeNotFound))
	k.refuses(t, walletctl.CodeNotFound, cli.NewCmdSecurityLog(k.f, nil))
}
