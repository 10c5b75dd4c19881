package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/mock"
)

// The merchant's commands on a fake wallet: merchant, merchant order, codepay, refund, bill, and
// the notifications a merchant gets: notify and listen; what each makes of its flags and what it
// prints.

func TestMerchantListRun(t *testing.T) {
	catalogue := []walletctl.Merchant{{ID: "m-cafe", Name: "街角咖啡 Corner Café", Category: "coffee"}, {ID: "m-cinema", Name: "Cinema", Category: "films"}}
	created := append(catalogue, walletctl.Merchant{ID: "1900000001", Name: "Demo Cafe", Category: "coffee", AppID: "wx9b257f739bdc8d4a"})
	checkFlags(t, cli.NewCmdMerchantList, []flagCase[*cli.MerchantListOptions]{
		{args: []string{"--wide"}, ok: func(o *cli.MerchantListOptions) bool { return o.Wide }},
		{args: []string{"m-cafe"}, code: invalid, msg: "unknown command"},
	})
	list := func(format string, ms []walletctl.Merchant, args ...string) *fake {
		t.Helper()
		k := newFake(format, func(k *fake) {
			k.svc.MerchantsFn = mock.List(func(context.Context) ([]walletctl.Merchant, error) { return ms, nil })
		})
		k.must(t, cli.NewCmdMerchantList(k.f, nil), args...)
		return k
	}
	// The catalogue's merchants have no app: no APPID column for them alone.
	out := list("table", catalogue).out.String()
	contains(t, "catalogue", out, "m-cinema", "街角咖啡 Corner Café", "CATEGORY")
	lacks(t, "catalogue", out, "APPID")
	contains(t, "--wide with a v3 merchant", list("table", created, "--wide").out.String(), "APPID", "wx9b257f739bdc8d4a")
	out = list("table", created).out.String()
	contains(t, "merchant list", out, "1900000001")
	within80(t, "merchant list", out)
	var ms []walletctl.Merchant
	if list("json", created).decode(t, &ms); len(ms) != 3 || ms[2].AppID == "" {
		t.Errorf("-o json: %+v", ms)
	}
	if out := list("json", nil).out.String(); strings.TrimSpace(out) != "[]" {
		t.Errorf("no merchants, -o json: %q", out)
	}
}

func TestMerchantCreateAndShowRun(t *testing.T) {
	created := time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)
	m := walletctl.Merchant{ID: "1900000001", Name: "Demo Cafe", Category: "coffee", AppID: "wx9b257f739bdc8d4a",
		CertSerial: "5DD840446C1155A76B2D4298971992C516FB78C6", CreatedAt: &created}
	checkFlags(t, cli.NewCmdMerchantCreate, []flagCase[*cli.MerchantCreateOptions]{
		{args: nil, ok: func(o *cli.MerchantCreateOptions) bool { return o.Spec == walletctl.MerchantSpec{} }},
		{args: []string{"--name", "Demo Cafe", "--category", "coffee", "--appid", "wx1", "--public-key-mode"}, ok: func(o *cli.MerchantCreateOptions) bool {
			return o.Spec == walletctl.MerchantSpec{Name: "Demo Cafe", Category: "coffee", AppID: "wx1", PublicKeyMode: true}
		}},
		{args: []string{"Demo"}, code: invalid},
	})
	for _, c := range []struct {
		publicKey bool
		verifies  string
	}{{false, "platform certificate"}, {true, "platform public key (PUB_KEY_ID)"}} {
		k := newFake("table", func(k *fake) {
			k.svc.CreateMerchantFn = func(_ context.Context, spec walletctl.MerchantSpec) (*walletctl.Merchant, error) {
				x := m
				x.PublicKeyMode = spec.PublicKeyMode
				return &x, nil
			}
		})
		args := []string{"--name", "Demo Cafe"}
		if c.publicKey {
			args = append(args, "--public-key-mode")
		}
		out := k.must(t, cli.NewCmdMerchantCreate(k.f, nil), args...)
		contains(t, "merchant create", out, "MCHID", "1900000001", "CERT SERIAL", m.CertSerial, "VERIFIES BY", c.verifies, "2026-01-05 09:00:00")
		lacks(t, "merchant create", out, "PRIVATE KEY", "BALANCE")
		within80(t, "merchant create", out)
	}

	checkFlags(t, cli.NewCmdMerchantShow, []flagCase[*cli.MerchantShowOptions]{
		{args: []string{"1900000001"}, ok: func(o *cli.MerchantShowOptions) bool { return o.MchID == "1900000001" }},
		{args: nil, code: invalid, msg: "accepts 1 arg"},
		{args: []string{"a", "b"}, code: invalid},
	})
	var asked string
	k := newFake("table", func(k *fake) {
		k.svc.MerchantFn = func(_ context.Context, id string) (*walletctl.MerchantInfo, error) {
			asked = id
			return &walletctl.MerchantInfo{Merchant: m, Balance: 600, Orders: 5, Paid: 1850, Refunded: 1250}, nil
		}
	})
	out := k.must(t, cli.NewCmdMerchantShow(k.f, nil), "1900000001")
	if asked != "1900000001" {
		t.Fatalf("asked %q", asked)
	}
	contains(t, "merchant show", out, "BALANCE", "6.00 CNY", "ORDERS", "18.50", "12.50", "wx9b257f739bdc8d4a")
	lacks(t, "merchant show", out, "VERIFIES BY")
	within80(t, "merchant show", out)
	k = newFake("json", func(k *fake) {
		k.svc.MerchantFn = func(context.Context, string) (*walletctl.MerchantInfo, error) {
			return &walletctl.MerchantInfo{Merchant: m, Orders: 5}, nil
		}
	})
	k.must(t, cli.NewCmdMerchantShow(k.f, nil), "1900000001")
	var info walletctl.MerchantInfo
	if k.decode(t, &info); info.ID != "1900000001" || info.Orders != 5 {
		t.Errorf("-o json: %s", k.out.String())
	}
	k = newFake("table", failing("Merchant", walletctl.CodeNotFound))
	k.refuses(t, walletctl.CodeNotFound, cli.NewCmdMerchantShow(k.f, nil), "1999999999")
}

// merchant keys writes the credentials to files, the private key and merchant.json (which holds
// the APIv3 key) readable by the owner only, prints only where, and overwrites only with --force.
func TestMerchantKeysRun(t *testing.T) {
	checkFlags(t, cli.NewCmdMerchantKeys, []flagCase[*cli.MerchantKeysOptions]{
		{args: []string{"1900000001", "--out", "k", "--force"}, ok: func(o *cli.MerchantKeysOptions) bool {
			return o.MchID == "1900000001" && o.Dir == "k" && o.Force
		}},
		{args: []string{"1900000001"}, code: invalid, msg: "--out DIR is required"},
		{args: []string{"--out", "k"}, code: invalid, msg: "accepts 1 arg"},
	})
	// The hint names the merchant: the command to type next.
	_, err := execute(cli.NewCmdMerchantKeys(newFake("table").f, nil), "1900000001")
	var we *walletctl.Error
	if !errors.As(err, &we) || !strings.Contains(we.Hint, "walletctl merchant keys 1900000001 --out DIR") {
		t.Errorf("no --out: %v", err)
	}

	creds := &walletctl.MerchantCredentials{MchID: "1900000001", AppID: "wx9b257f739bdc8d4a", CertSerial: "5DD8", APIv3Key: "0123456789abcdef0123456789abcdef",
		PrivateKey: "-----BEGIN PRIVATE KEY-----\nSECRETKEYLINE\n-----END PRIVATE KEY-----\n", Cert: "CERT\n", PlatformSerial: "PS1",
		PlatformCert: "PCERT\n", PlatformPublicKey: "PPUB\n", PublicKeyID: "PUB_KEY_ID_0111"}
	keys := func(format string, args ...string) (*fake, string) {
		t.Helper()
		k := newFake(format)
		k.svc.MerchantCredentialsFn = func(_ context.Context, mchid string) (*walletctl.MerchantCredentials, error) {
			if mchid != "1900000001" {
				return nil, walletctl.Errorf(walletctl.CodeNotFound, "no merchant %s", mchid)
			}
			return creds, nil
		}
		return k, runCmd(t, cli.NewCmdMerchantKeys(k.f, nil), args...)
	}
	dir := filepath.Join(t.TempDir(), "keys")
	k, code := keys("table", "1900000001", "--out", dir)
	if code != "" {
		t.Fatal(code)
	}
	var paths []string
	for name, c := range map[string]struct {
		mode    os.FileMode
		content string
	}{"apiclient_key.pem": {0o600, creds.PrivateKey}, "apiclient_cert.pem": {0o644, "CERT\n"}, "platform_cert.pem": {0o644, "PCERT\n"},
		"platform_public_key.pem": {0o644, "PPUB\n"}, "merchant.json": {0o600, ""}} {
		p := filepath.Join(dir, name)
		paths = append(paths, p)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != c.mode {
			t.Errorf("%s: mode %v, want %v", name, st.Mode().Perm(), c.mode)
		}
		if got, _ := os.ReadFile(p); c.content != "" && string(got) != c.content {
			t.Errorf("%s: %q", name, got)
		}
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the folder: %v %v", err, st)
	}
	var mf map[string]string
	b, _ := os.ReadFile(filepath.Join(dir, "merchant.json"))
	if err := json.Unmarshal(b, &mf); err != nil {
		t.Fatalf("merchant.json: %v\n%s", err, b)
	}
	for key, want := range map[string]string{"mchid": "1900000001", "appid": creds.AppID, "cert_serial": "5DD8", "apiv3_key": creds.APIv3Key,
		"platform_serial": "PS1", "public_key_id": "PUB_KEY_ID_0111", "private_key_file": "apiclient_key.pem",
		"certificate_file": "apiclient_cert.pem", "platform_certificate_file": "platform_cert.pem", "platform_public_key_file": "platform_public_key.pem"} {
		if mf[key] != want {
			t.Errorf("merchant.json %s = %q, want %q", key, mf[key], want)
		}
	}
	// Only the paths, one a line: never what is in them.
	if lines := strings.Split(strings.TrimSpace(k.out.String()), "\n"); len(lines) != 5 {
		t.Errorf("keys prints %d lines, want the 5 paths:\n%s", len(lines), k.out.String())
	}
	contains(t, "keys", k.out.String(), paths...)
	lacks(t, "keys", k.out.String()+k.errOut.String(), "SECRETKEYLINE", creds.APIv3Key)

	// Files already there are kept, all of them, unless --force.
	os.WriteFile(filepath.Join(dir, "apiclient_cert.pem"), []byte("mine"), 0o644)
	if k, code := keys("table", "1900000001", "--out", dir); code != walletctl.CodeAlreadyExists || k.out.Len() != 0 {
		t.Errorf("over existing files: %q %q", code, k.out.String())
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "apiclient_cert.pem")); string(got) != "mine" {
		t.Errorf("overwritten without --force: %q", got)
	}
	k, code = keys("json", "1900000001", "--out", dir, "--force")
	var v struct {
		MchID string   `json:"mchid"`
		Dir   string   `json:"dir"`
		Files []string `json:"files"`
	}
	if err := json.Unmarshal(k.out.Bytes(), &v); code != "" || err != nil || v.MchID != "1900000001" || v.Dir != dir || len(v.Files) != 5 {
		t.Errorf("--force -o json: %q %v %s", code, err, k.out.String())
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "apiclient_cert.pem")); string(got) != "CERT\n" {
		t.Errorf("--force kept the old file: %q", got)
	}
	// The wallet's refusal: its code, and no folder made.
	other := filepath.Join(t.TempDir(), "other")
	if k, code := keys("table", "1999999999", "--out", other); code != walletctl.CodeNotFound || k.out.Len() != 0 {
		t.Errorf("unknown merchant: %q %q", code, k.out.String())
	}
	if _, err := os.Stat(other); err == nil {
		t.Errorf("a folder was made for an unknown merchant")
	}
}

func TestOrderCreateFlags(t *testing.T) {
	full := []string{"--mchid", "1900000001", "--out-trade-no", "order-0001", "--amount", "12.50", "--description", "Tea"}
	checkFlags(t, cli.NewCmdOrderCreate, []flagCase[*cli.OrderCreateOptions]{
		{args: full, ok: func(o *cli.OrderCreateOptions) bool {
			want := walletctl.OrderRequest{MchID: "1900000001", TradeType: walletctl.TradeNative, OutTradeNo: "order-0001", Amount: 1250, Description: "Tea"}
			return o.Request == want && o.Expire == ""
		}},
		{args: append(full, "--type", "JSAPI", "--openid", "oX", "--notify-url", "https://example.com/n", "--attach", "t7", "--expire", "30m"),
			ok: func(o *cli.OrderCreateOptions) bool {
				r := o.Request
				return r.TradeType == walletctl.TradeJSAPI && r.PayerOpenID == "oX" && r.NotifyURL == "https://example.com/n" && r.Attach == "t7" && o.Expire == "30m"
			}},
		{args: append(full, "--type", "h5"), check: func(t *testing.T, o *cli.OrderCreateOptions) {
			if o.Request.TradeType != walletctl.TradeH5 {
				t.Errorf("--type h5: %q", o.Request.TradeType)
			}
		}},
		{args: full[2:], code: invalid, msg: "--mchid is required"},
		{args: append(full, "--type", "cash"), code: invalid, msg: `unknown order type "cash"`},
		{args: []string{"--mchid", "M", "--amount", "1", "--description", "Tea"}, code: invalid, msg: "--out-trade-no is required"},
		{args: []string{"--mchid", "M", "--amount", "1", "--out-trade-no", "order-0001"}, code: invalid, msg: "--description is required"},
		{args: append(full, "--type", "jsapi"), code: invalid, msg: "a jsapi order needs --openid"},
		{args: full[:6], code: invalid, msg: "--description is required"},
		{args: []string{"--mchid", "M", "--out-trade-no", "order-0001", "--description", "Tea"}, code: invalid, msg: "--amount is required"},
		{args: []string{"--mchid", "M", "--out-trade-no", "order-0001", "--description", "Tea", "--amount", "ten"}, code: walletctl.CodeInvalidAmount, msg: `"ten"`},
		{args: append(full, "extra"), code: invalid},
		{args: append(full, "--colour", "red"), code: invalid, msg: "unknown flag"},
	})
}

func TestOrderCreateRun(t *testing.T) {
	now := time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)
	var got walletctl.OrderRequest
	k := newFake("table", func(k *fake) {
		k.svc.NowFn = func(context.Context) (time.Time, error) { return now, nil }
		k.svc.CreateOrderFn = func(_ context.Context, req walletctl.OrderRequest) (*walletctl.Order, error) {
			got = req
			return &walletctl.Order{ID: "o1", MchID: req.MchID, MerchantName: "Demo Cafe", OutTradeNo: req.OutTradeNo, TradeType: req.TradeType,
				TradeState: walletctl.StateNotPay, Amount: req.Amount, Description: req.Description, CodeURL: "weixin://wxpay/bizpayurl?pr=abc" + strings.Repeat("x", 60),
				CreatedAt: now, TimeExpire: req.TimeExpire}, nil
		}
	})
	out := k.must(t, cli.NewCmdOrderCreate(k.f, nil), "--mchid", "1900000001", "--out-trade-no", "order-0001", "--amount", "12.50",
		"--description", "Coffee beans", "--expire", "30m")
	if got.MchID != "1900000001" || got.Amount != 1250 || !got.TimeExpire.Equal(now.Add(30*time.Minute)) {
		t.Fatalf("CreateOrder(%+v)", got)
	}
	// The sandbox's calendar (China Standard Time); what does not apply is left out.
	contains(t, "order table", out, "weixin://wxpay/bizpayurl?pr=abc", "NOTPAY", "12.50 CNY", "Demo Cafe",
		"2026-01-05 09:00:00", "EXPIRES", "2026-01-05 09:30:00")
	lacks(t, "order table", out, "ATTACH", "PREPAY ID", "REFUNDED", "PAID", "STATE DESC")
	// A URL too long for its cell is never wrapped inside it: it leaves the table for a line of
	// its own, whole, so that a copy from the terminal gives it; every other line fits.
	url := "weixin://wxpay/bizpayurl?pr=abc" + strings.Repeat("x", 60)
	rest, whole := []string{}, false
	for _, l := range strings.Split(out, "\n") {
		if l == url {
			whole = true
			continue
		}
		rest = append(rest, l)
	}
	if !whole || !strings.Contains(out, "CODE URL:\n"+url+"\n") {
		t.Errorf("order table: the code URL is not whole on a line of its own below the table:\n%s", out)
	}
	within80(t, "order table", strings.Join(rest, "\n"))

	// --expire is read with the wallet open: a bad one asks nothing of it.
	for _, bad := range []string{"0s", "-5m", "soon"} {
		k := newFake("table")
		k.refuses(t, invalid, cli.NewCmdOrderCreate(k.f, nil), "--mchid", "M", "--out-trade-no", "order-0001", "--amount", "1",
			"--description", "Tea", "--expire", bad)
	}

	// The wallet's refusal is the command's, code and all; nothing printed.
	k = newFake("json", failing("CreateOrder", walletctl.CodeAlreadyExists))
	k.refuses(t, walletctl.CodeAlreadyExists, cli.NewCmdOrderCreate(k.f, nil), "--mchid", "M", "--out-trade-no", "order-0001", "--amount", "1", "--description", "Tea")
}

func TestOrderQueryFlags(t *testing.T) {
	for _, c := range []struct {
		name          string
		new           newCmdFunc[*cli.OrderOptions]
		byTransaction bool
	}{
		{"show", cli.NewCmdOrderShow, true},
		{"close", cli.NewCmdOrderClose, false},
		{"reverse", cli.NewCmdOrderReverse, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cases := []flagCase[*cli.OrderOptions]{
				{args: []string{"--mchid", "M", "--out-trade-no", "order-0001"}, ok: func(o *cli.OrderOptions) bool {
					return o.Query == walletctl.OrderQuery{MchID: "M", OutTradeNo: "order-0001"}
				}},
				{args: []string{"--out-trade-no", "order-0001"}, code: invalid, msg: "--mchid is required"},
				{args: []string{"--mchid", "M"}, code: invalid, msg: "give exactly one of --out-trade-no and --transaction-id"},
				{args: []string{"--mchid", "M", "--out-trade-no", "order-0001", "x"}, code: invalid},
			}
			byTxn := []string{"--mchid", "M", "--transaction-id", "4200000001"}
			if c.byTransaction {
				cases = append(cases,
					flagCase[*cli.OrderOptions]{args: byTxn, ok: func(o *cli.OrderOptions) bool {
						return o.Query == walletctl.OrderQuery{MchID: "M", TransactionID: "4200000001"}
					}},
					flagCase[*cli.OrderOptions]{args: append(byTxn, "--out-trade-no", "order-0001"), code: invalid, msg: "exactly one"})
			} else {
				cases = append(cases, flagCase[*cli.OrderOptions]{args: byTxn, code: invalid, msg: "unknown flag: --transaction-id"})
			}
			checkFlags(t, c.new, cases)
		})
	}
}

// Show, close and reverse each ask the wallet their own question, and print the order it answers.
func TestOrderQueryRun(t *testing.T) {
	paid := time.Date(2026, 1, 5, 1, 2, 3, 0, time.UTC)
	answer := func(state string) func(context.Context, walletctl.OrderQuery) (*walletctl.Order, error) {
		return func(_ context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
			return &walletctl.Order{ID: "o1", MchID: q.MchID, OutTradeNo: "order-0001", TransactionID: q.TransactionID, TradeState: state,
				Amount: 300, Refunded: 100, Attach: "table 7", PayerUserID: "u1", Source: "card:c1", SuccessTime: &paid}, nil
		}
	}
	type answerFn = func(context.Context, walletctl.OrderQuery) (*walletctl.Order, error)
	for _, c := range []struct {
		new   newCmdFunc[*cli.OrderOptions]
		state string
		fn    func(s *mock.Service) *answerFn
	}{
		{cli.NewCmdOrderShow, walletctl.StateSuccess, func(s *mock.Service) *answerFn { return &s.OrderFn }},
		{cli.NewCmdOrderClose, walletctl.StateClosed, func(s *mock.Service) *answerFn { return &s.CloseOrderFn }},
		{cli.NewCmdOrderReverse, walletctl.StateRevoked, func(s *mock.Service) *answerFn { return &s.ReverseOrderFn }},
	} {
		k := newFake("table", func(k *fake) { *c.fn(k.svc) = answer(c.state) })
		out := k.must(t, c.new(k.f, nil), "--mchid", "1900000001", "--out-trade-no", "order-0001")
		// Only the fields that apply: paid and refunded in part, no expiry once out of NOTPAY.
		contains(t, c.state, out, c.state, "1900000001", "ATTACH", "table 7", "REFUNDED", "1.00", "card:c1", "PAID", "2026-01-05 09:02:03")
		lacks(t, c.state, out, "EXPIRES", "CODE URL", "PAYER TXN")
		within80(t, c.state, out)
	}

	k := newFake("json", func(k *fake) { k.svc.OrderFn = answer(walletctl.StateSuccess) })
	k.must(t, cli.NewCmdOrderShow(k.f, nil), "--mchid", "1900000001", "--transaction-id", "4200000001")
	var o walletctl.Order
	if k.decode(t, &o); o.TransactionID != "4200000001" || o.Refunded != 100 {
		t.Fatalf("-o json: %s", k.out.String())
	}
	k = newFake("table", failing("CloseOrder", walletctl.CodeOrderState))
	k.refuses(t, walletctl.CodeOrderState, cli.NewCmdOrderClose(k.f, nil), "--mchid", "M", "--out-trade-no", "order-0001")
}

// The lists of a merchant's orders and refunds: --mchid, columns left out to fit unless --wide,
// every field in JSON and never null.
func TestOrderAndRefundLists(t *testing.T) {
	at := time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)
	orders := []walletctl.Order{{OutTradeNo: "order-0001", TradeType: walletctl.TradeNative, TradeState: walletctl.StateSuccess, Amount: 1250,
		Refunded: 500, Description: "Coffee beans from a small farm high in the hills", TransactionID: "4200000000202601050000000001", CreatedAt: at}}
	refunds := []walletctl.Refund{{OutRefundNo: "refund-r-1", OutTradeNo: "order-0001", Status: walletctl.RefundSuccess, Amount: 500, Total: 1250,
		Source: "card:c1", RefundID: "50300000002026010500000000001", CreatedAt: at}}
	for _, c := range []struct {
		name     string
		new      newCmdFunc[*cli.MchidListOptions]
		set      func(k *fake, mchid *string, empty bool)
		row      []string // cells of every table
		wideOnly []string // what only --wide shows at 80 columns
	}{
		{"order list", cli.NewCmdOrderList, func(k *fake, mchid *string, empty bool) {
			k.svc.OrdersFn = mock.ListOf(func(_ context.Context, m string) ([]walletctl.Order, error) {
				*mchid = m
				if empty {
					return nil, nil
				}
				return orders, nil
			})
		}, []string{"OUT TRADE NO", "order-0001", "12.50"}, []string{"TRANSACTION", "4200000000202601050000000001", "CREATED"}},
		{"refund list", cli.NewCmdRefundList, func(k *fake, mchid *string, empty bool) {
			k.svc.RefundsFn = mock.ListOf(func(_ context.Context, m string) ([]walletctl.Refund, error) {
				*mchid = m
				if empty {
					return nil, nil
				}
				return refunds, nil
			})
		}, []string{"OUT REFUND NO", "refund-r-1", "5.00"}, []string{"50300000002026010500000000001", "CREATED"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkFlags(t, c.new, []flagCase[*cli.MchidListOptions]{
				{args: []string{"--mchid", "M", "--wide"}, ok: func(o *cli.MchidListOptions) bool { return o.MchID == "M" && o.Wide }},
				{args: nil, code: invalid, msg: "--mchid is required"},
				{args: []string{"--mchid", "M", "x"}, code: invalid},
			})
			var mchid string
			list := func(format string, empty bool, args ...string) string {
				t.Helper()
				k := newFake(format, func(k *fake) { c.set(k, &mchid, empty) })
				return k.must(t, c.new(k.f, nil), append([]string{"--mchid", "1900000001"}, args...)...)
			}
			out := list("table", false)
			if mchid != "1900000001" {
				t.Fatalf("asked for %q", mchid)
			}
			within80(t, c.name, out)
			contains(t, "narrow table", out, c.row...)
			lacks(t, "narrow table", out, c.wideOnly...)
			contains(t, "--wide table", list("table", false, "--wide"), append(c.row, c.wideOnly...)...)
			contains(t, "-o json", list("json", false), c.wideOnly[len(c.wideOnly)-2], `"created_at"`)
			if out := list("json", true); strings.TrimSpace(out) != "[]" {
				t.Errorf("empty -o json: %q", out)
			}
		})
	}
}

func TestCodePayFlags(t *testing.T) {
	full := []string{"--mchid", "M", "--out-trade-no", "till-0001", "--amount", "300", "--description", "Wine", "--code", "134567890123456789"}
	checkFlags(t, cli.NewCmdCodePay, []flagCase[*cli.CodePayOptions]{
		{args: append(full, "--attach", "a", "--notify-url", "https://example.com/n"), ok: func(o *cli.CodePayOptions) bool {
			return o.Request == walletctl.CodePayRequest{MchID: "M", OutTradeNo: "till-0001", Amount: 30000, Description: "Wine", AuthCode: "134567890123456789",
				Attach: "a", NotifyURL: "https://example.com/n"}
		}},
		{args: full[2:], code: invalid, msg: "--mchid is required"},
		{args: append([]string{"--mchid", "M"}, full[4:]...), code: invalid, msg: "--out-trade-no is required"},
		{args: append(full[:6:6], full[8:]...), code: invalid, msg: "--description is required"},
		{args: full[:8], code: invalid, msg: "--code is required"},
		{args: append(full[:4:4], full[6:]...), code: invalid, msg: "--amount is required"},
		{args: append(full, "--type", "native"), code: invalid, msg: "unknown flag"},
	})
}

func TestCodePayRun(t *testing.T) {
	waiting := func(payer, txn string) func(context.Context, walletctl.CodePayRequest) (*walletctl.Order, error) {
		return func(_ context.Context, req walletctl.CodePayRequest) (*walletctl.Order, error) {
			return &walletctl.Order{ID: "o3", MchID: req.MchID, OutTradeNo: req.OutTradeNo, TradeState: walletctl.StateUserPaying, Amount: req.Amount,
				PayerUserID: payer, TransactionID: txn}, nil
		}
	}
	args := []string{"--mchid", "M", "--out-trade-no", "till-0001", "--amount", "300", "--description", "Wine", "--code", "134567890123456789"}
	for _, c := range []struct{ payer, txn, hint string }{
		{"u1", "4200000003", "walletctl --as u1 paycode confirm 4200000003"},
		{"", "", "walletctl --as USER paycode confirm o3"},
	} {
		k := newFake("table", func(k *fake) { k.svc.CodePayFn = waiting(c.payer, c.txn) })
		out := k.must(t, cli.NewCmdCodePay(k.f, nil), args...)
		contains(t, "codepay table", out, "USERPAYING", "300.00 CNY", "EXPIRES")
		within80(t, "codepay table", out)
		if want := "waiting for the payer's password: " + c.hint + "\n"; k.errOut.String() != want {
			t.Errorf("stderr %q, want %q", k.errOut.String(), want)
		}
	}
	// Scripts get the order alone; a paid one needs no hint.
	k := newFake("json", func(k *fake) { k.svc.CodePayFn = waiting("u1", "4200000003") })
	runCmd(t, cli.NewCmdCodePay(k.f, nil), args...)
	var o walletctl.Order
	if k.decode(t, &o); o.TradeState != walletctl.StateUserPaying || k.errOut.Len() != 0 {
		t.Errorf("-o json: %s / %s", k.out.String(), k.errOut.String())
	}
	k = newFake("table", func(k *fake) {
		k.svc.CodePayFn = func(_ context.Context, req walletctl.CodePayRequest) (*walletctl.Order, error) {
			return &walletctl.Order{ID: "o4", TradeState: walletctl.StateSuccess, Amount: req.Amount}, nil
		}
	})
	if runCmd(t, cli.NewCmdCodePay(k.f, nil), args...); k.errOut.Len() != 0 || !strings.Contains(k.out.String(), "SUCCESS") {
		t.Errorf("paid at once: %s / %s", k.out.String(), k.errOut.String())
	}
	k = newFake("table", failing("CodePay", walletctl.CodePayCodeInvalid))
	if k.refuses(t, walletctl.CodePayCodeInvalid, cli.NewCmdCodePay(k.f, nil), args...); k.errOut.Len() != 0 {
		t.Errorf("refused code: stderr %q", k.errOut.String())
	}
}

func TestRefundFlags(t *testing.T) {
	base := []string{"--mchid", "M", "--out-refund-no", "refund-r-1", "--amount", "5"}
	checkFlags(t, cli.NewCmdRefund, []flagCase[*cli.RefundOptions]{
		{args: append(base, "--out-trade-no", "order-0001", "--total", "12.50", "--reason", "short", "--notify-url", "https://example.com/r"),
			ok: func(o *cli.RefundOptions) bool {
				return o.Request == walletctl.RefundRequest{MchID: "M", OutTradeNo: "order-0001", OutRefundNo: "refund-r-1", Amount: 500, Total: 1250,
					Reason: "short", NotifyURL: "https://example.com/r"}
			}},
		{args: append(base, "--transaction-id", "4200000001"), ok: func(o *cli.RefundOptions) bool {
			return o.Request.TransactionID == "4200000001" && o.Request.OutTradeNo == "" && o.Request.Total == 0
		}},
		{args: base, code: invalid, msg: "give exactly one of --out-trade-no and --transaction-id"},
		{args: append(base[2:], "--out-trade-no", "order-0001"), code: invalid, msg: "--mchid is required"},
		{args: []string{"--mchid", "M", "--out-trade-no", "order-0001", "--amount", "5"}, code: invalid, msg: "--out-refund-no is required"},
		{args: append(base[:4:4], "--out-trade-no", "order-0001"), code: invalid, msg: "--amount is required"},
		{args: append(base, "--out-trade-no", "order-0001", "--total", "lots"), code: walletctl.CodeInvalidAmount, msg: `"lots"`},
	})
	// With none of its flags it prints its help and sends nothing.
	ran := false
	help, err := execute(cli.NewCmdRefund(newFake("table").f, func(context.Context, *cli.RefundOptions) error { ran = true; return nil }))
	if err != nil || ran || !strings.Contains(help, "Available Commands") || !strings.Contains(help, "--out-refund-no") {
		t.Errorf("refund with no flags: %v, ran %v\n%s", err, ran, help)
	}
}

func TestRefundRun(t *testing.T) {
	ok := time.Date(2026, 1, 5, 2, 0, 0, 0, time.UTC)
	refund := func(r walletctl.Refund) *walletctl.Refund {
		r.RefundID, r.MchID, r.OutTradeNo, r.Amount, r.Total, r.CreatedAt = "503001", "1900000001", "order-0001", 500, 1250, ok
		return &r
	}
	var got walletctl.RefundRequest
	k := newFake("table", func(k *fake) {
		k.svc.RefundFn = func(_ context.Context, req walletctl.RefundRequest) (*walletctl.Refund, error) {
			got = req
			return refund(walletctl.Refund{OutRefundNo: req.OutRefundNo, Status: walletctl.RefundSuccess, Source: "card:c1",
				UserReceivedAccount: "工商银行借记卡1234", Reason: req.Reason, UserID: "u1", SuccessTime: &ok}), nil
		}
	})
	out := k.must(t, cli.NewCmdRefund(k.f, nil), "--mchid", "1900000001", "--out-trade-no", "order-0001", "--out-refund-no", "refund-r-1",
		"--amount", "5", "--reason", "one bag short")
	if got.OutRefundNo != "refund-r-1" || got.Amount != 500 || got.Reason != "one bag short" {
		t.Fatalf("Refund(%+v)", got)
	}
	contains(t, "refund table", out, "5.00 CNY", "12.50", "card:c1 (工商银行借记卡1234)", "REASON", "one bag short", "SUCCEEDED")
	lacks(t, "refund table", out, "PAYER TXN")
	within80(t, "refund table", out)

	// show: by the merchant's refund number; to the balance, v3's account text says no more.
	checkFlags(t, cli.NewCmdRefundShow, []flagCase[*cli.RefundShowOptions]{
		{args: []string{"--mchid", "M", "refund-r-1"}, ok: func(o *cli.RefundShowOptions) bool { return o.MchID == "M" && o.OutRefundNo == "refund-r-1" }},
		{args: []string{"refund-r-1"}, code: invalid, msg: "--mchid is required"},
		{args: []string{"--mchid", "M"}, code: invalid, msg: "accepts 1 arg"},
	})
	var asked [2]string
	k = newFake("table", func(k *fake) {
		k.svc.RefundByOutNoFn = func(_ context.Context, mchid, no string) (*walletctl.Refund, error) {
			asked = [2]string{mchid, no}
			return refund(walletctl.Refund{OutRefundNo: no, Status: walletctl.RefundProcessing, Source: "balance", UserReceivedAccount: "支付用户零钱"}), nil
		}
	})
	out = k.must(t, cli.NewCmdRefundShow(k.f, nil), "--mchid", "1900000001", "refund-r-1")
	if asked != [2]string{"1900000001", "refund-r-1"} {
		t.Fatalf("asked %q", asked)
	}
	contains(t, "refund show", out, "PROCESSING", "balance")
	lacks(t, "refund show", out, "支付用户零钱", "SUCCEEDED", "REASON")
	k = newFake("json", failing("RefundByOutNo", walletctl.CodeNotFound))
	k.refuses(t, walletctl.CodeNotFound, cli.NewCmdRefundShow(k.f, nil), "--mchid", "M", "refund-r-9")
}

func TestBillFlags(t *testing.T) {
	checkFlags(t, cli.NewCmdBill, []flagCase[*cli.BillOptions]{
		{args: []string{"--mchid", "M"}, ok: func(o *cli.BillOptions) bool { // the defaults
			return o.MchID == "M" && o.Type == "ALL" && o.Date == "" && o.File == "" && !o.Force
		}},
		{args: []string{"--mchid", "M", "--type", "refund", "--date", "2026-01-05", "--out", "b.csv", "--force"}, ok: func(o *cli.BillOptions) bool {
			return o.Type == "REFUND" && o.Date == "2026-01-05" && o.File == "b.csv" && o.Force
		}},
		{args: nil, code: invalid, msg: "--mchid is required"},
		{args: []string{"--mchid", "M", "--type", "weekly"}, code: invalid, msg: `unknown bill type "weekly"`},
		{args: []string{"--mchid", "M", "--date", "2026-13-01"}, code: invalid, msg: `--date "2026-13-01" is not a day`},
		{args: []string{"--mchid", "M", "today"}, code: invalid},
	})
}

func TestBillRun(t *testing.T) {
	const content = "交易时间,商户订单号\n`2026-01-06 04:00:00,`order-0001\n"
	var asked [3]string
	bill := func(format string) *fake {
		return newFake(format, func(k *fake) {
			// 20:00 UTC is the next day on the sandbox's calendar.
			k.svc.NowFn = func(context.Context) (time.Time, error) { return time.Date(2026, 1, 5, 20, 0, 0, 0, time.UTC), nil }
			k.svc.TradeBillFn = func(_ context.Context, mchid, date, kind string) (*walletctl.Bill, error) {
				asked = [3]string{mchid, date, kind}
				return &walletctl.Bill{MchID: mchid, Date: date, Type: kind, HashType: "SHA1", HashValue: "ab12", Rows: 1, Content: content}, nil
			}
			// --out streams the bill into the file.
			k.svc.WriteTradeBillFn = func(_ context.Context, w io.Writer, mchid, date, kind string) (*walletctl.Bill, error) {
				asked = [3]string{mchid, date, kind}
				if _, err := io.WriteString(w, content); err != nil {
					return nil, err
				}
				return &walletctl.Bill{MchID: mchid, Date: date, Type: kind, HashType: "SHA1", HashValue: "ab12", Rows: 1}, nil
			}
		})
	}
	k := bill("table")
	out := k.must(t, cli.NewCmdBill(k.f, nil), "--mchid", "1900000001", "--type", "success")
	if asked != [3]string{"1900000001", "2026-01-06", "SUCCESS"} {
		t.Errorf("TradeBill%q", asked)
	}
	if out != content || k.errOut.String() != "SHA1 ab12 (SUCCESS bill of 1900000001 for 2026-01-06, 1 rows)\n" {
		t.Errorf("stdout %q\nstderr %q", out, k.errOut.String())
	}
	k = bill("json")
	runCmd(t, cli.NewCmdBill(k.f, nil), "--mchid", "1900000001", "--date", "2026-01-05")
	var b walletctl.Bill
	if k.decode(t, &b); b.Content != content || b.HashValue != "ab12" || asked[1] != "2026-01-05" || k.errOut.Len() != 0 {
		t.Errorf("-o json: %s", k.out.String())
	}

	// --out FILE: the bill in the file, where and the hash on stdout; kept unless --force.
	file := filepath.Join(t.TempDir(), "bill.csv")
	k = bill("table")
	out = k.must(t, cli.NewCmdBill(k.f, nil), "--mchid", "1900000001", "--out", file)
	if got, _ := os.ReadFile(file); string(got) != content || out != file+"\nSHA1 ab12 (1 rows)\n" || k.errOut.Len() != 0 {
		t.Errorf("--out: file %q, stdout %q, stderr %q", got, out, k.errOut.String())
	}
	os.WriteFile(file, []byte("mine"), 0o644)
	k = bill("table")
	k.refuses(t, walletctl.CodeAlreadyExists, cli.NewCmdBill(k.f, nil), "--mchid", "1900000001", "--out", file)
	if got, _ := os.ReadFile(file); string(got) != "mine" {
		t.Errorf("the file was overwritten without --force: %q", got)
	}
	k = bill("json")
	runCmd(t, cli.NewCmdBill(k.f, nil), "--mchid", "1900000001", "--out", file, "--force")
	var v map[string]any
	if got, _ := os.ReadFile(file); string(got) != content || json.Unmarshal(k.out.Bytes(), &v) != nil || v["path"] != file || v["content"] != nil || v["hash_value"] != "ab12" {
		t.Errorf("--out --force -o json: file %q, %s", got, k.out.String())
	}
	// A folder that is not there: the path, and what to do.
	k = bill("table")
	if code := runCmd(t, cli.NewCmdBill(k.f, nil), "--mchid", "1900000001", "--out", filepath.Join(file+".d", "x", "bill.csv")); code != invalid {
		t.Errorf("--out in a missing folder: %q", code)
	}
	// The wallet fails half-way through the bill: its error, and the file as it was.
	k = bill("table")
	k.svc.WriteTradeBillFn = func(_ context.Context, w io.Writer, _, _, _ string) (*walletctl.Bill, error) {
		io.WriteString(w, content[:10])
		return nil, walletctl.Errorf(walletctl.CodeInternal, "the store went away")
	}
	before, _ := os.ReadFile(file)
	k.refuses(t, walletctl.CodeInternal, cli.NewCmdBill(k.f, nil), "--mchid", "1900000001", "--out", file, "--force")
	if got, _ := os.ReadFile(file); string(got) != string(before) {
		t.Errorf("a bill that failed half-way replaced the file: %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*tmp*")); len(left) != 0 {
		t.Errorf("a failed bill left %q", left)
	}
}

// notifications are three the fake wallet has sent: one delivered, one pending and held back by
// an out-of-order fault, one of another merchant failed.
func notifications() []walletctl.Notification {
	at := time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)
	next := at.Add(15 * time.Second)
	return []walletctl.Notification{
		{ID: "n1", EventID: "EV-1", MchID: "1900000001", EventType: walletctl.EventTransactionSuccess, Status: walletctl.NotifyDelivered, Tries: 1,
			Summary: "支付成功", URL: "https://example.com/notify", CreatedAt: at, Order: &walletctl.Order{OutTradeNo: "order-0001", TradeState: walletctl.StateSuccess, Amount: 1250},
			Attempts: []walletctl.NotifyAttempt{{N: 1, At: at, Status: 200, LatencyMS: 3, OK: true, Answer: "{\n  \"code\": \"SUCCESS\",\n  \"message\": \"received and stored\"\n}"}}},
		{ID: "n2", EventID: "EV-2", MchID: "1900000001", EventType: walletctl.EventRefundSuccess, Status: walletctl.NotifyPending, Tries: 1, Held: true,
			NextAt: &next, CreatedAt: at, Refund: &walletctl.Refund{OutRefundNo: "refund-r-1", OutTradeNo: "order-0001", Status: walletctl.RefundSuccess, Amount: 500},
			Attempts: []walletctl.NotifyAttempt{{N: 1, At: at, Probe: true, Fault: walletctl.NotifyFaultSignProbe, Error: "connection refused"}}},
		{ID: "n3", MchID: "1900000002", EventType: walletctl.EventTransactionSuccess, Status: walletctl.NotifyFailed, Tries: 16, CreatedAt: at},
	}
}

func TestNotifyListRun(t *testing.T) {
	checkFlags(t, cli.NewCmdNotifyList, []flagCase[*cli.NotifyListOptions]{
		{args: []string{"--mchid", "M", "--status", "pending", "--event", "refund.success", "--wide"}, ok: func(o *cli.NotifyListOptions) bool {
			return o.MchID == "M" && o.Status == "pending" && o.Event == "refund.success" && o.Wide
		}},
		{args: []string{"n1"}, code: invalid},
	})
	var asked walletctl.NotificationFilter
	list := func(format string, args ...string) *fake {
		t.Helper()
		k := newFake(format, func(k *fake) {
			// The wallet filters (the engine's store tests check how); this fake answers as it would.
			k.svc.NotificationsFn = mock.Notifications(func(_ context.Context, f walletctl.NotificationFilter) ([]walletctl.Notification, error) {
				asked = f
				var out []walletctl.Notification
				for _, n := range notifications() {
					if (f.MchID == "" || n.MchID == f.MchID) && (f.Status == "" || n.Status == f.Status) && (f.Event == "" || strings.EqualFold(n.EventType, f.Event)) {
						out = append(out, n)
					}
				}
				return out, nil
			})
		})
		k.must(t, cli.NewCmdNotifyList(k.f, nil), args...)
		return k
	}
	out := list("table").out.String()
	contains(t, "notify list", out, "TRIES", "NEXT", "n1", "n2", "n3", "delivered", "pending (held)", "failed", "01-05 09:00:15")
	within80(t, "notify list", out)
	// The filters: merchant, status, and the event type in any case.
	for _, c := range []struct {
		args []string
		ids  []string
	}{
		{nil, []string{"n1", "n2", "n3"}},
		{[]string{"--mchid", "1900000001"}, []string{"n1", "n2"}},
		{[]string{"--status", "failed"}, []string{"n3"}},
		{[]string{"--event", "transaction.success", "--mchid", "1900000001"}, []string{"n1"}},
		{[]string{"--status", "delivered", "--event", "REFUND.SUCCESS"}, []string{}},
	} {
		var got []walletctl.Notification
		list("json", c.args...).decode(t, &got)
		ids := []string{}
		for _, n := range got {
			ids = append(ids, n.ID)
		}
		if strings.Join(ids, ",") != strings.Join(c.ids, ",") {
			t.Errorf("%q: %v, want %v", c.args, ids, c.ids)
		}
	}
	list("json", "--mchid", "M", "--status", "pending", "--event", "refund.success")
	if want := (walletctl.NotificationFilter{MchID: "M", Status: "pending", Event: "refund.success"}); asked != want {
		t.Errorf("the filter sent: %+v, want %+v", asked, want)
	}
	contains(t, "notify list matching nothing", list("table", "--status", "nope").out.String(), "(none)")
}

func TestNotifyShowAndResendRun(t *testing.T) {
	type call = func(context.Context, string) (*walletctl.Notification, error)
	for _, c := range []struct {
		name string
		new  newCmdFunc[*cli.NotificationOptions]
		fn   func(s *mock.Service) *call
	}{
		{"show", cli.NewCmdNotifyShow, func(s *mock.Service) *call { return &s.NotificationFn }},
		{"resend", cli.NewCmdNotifyResend, func(s *mock.Service) *call { return &s.ResendNotificationFn }},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkFlags(t, c.new, []flagCase[*cli.NotificationOptions]{
				{args: []string{"n1", "--wide"}, ok: func(o *cli.NotificationOptions) bool { return o.ID == "n1" && o.Wide }},
				{args: nil, code: invalid, msg: "accepts 1 arg"},
				{args: []string{"n1", "n2"}, code: invalid},
			})
			show := func(format, id string, args ...string) (*fake, string) {
				t.Helper()
				k := newFake(format, func(k *fake) {
					*c.fn(k.svc) = func(_ context.Context, id string) (*walletctl.Notification, error) {
						for _, n := range notifications() {
							if n.ID == id {
								n.Resends = 1
								return &n, nil
							}
						}
						return nil, walletctl.Errorf(walletctl.CodeNotFound, "no notification %s", id)
					}
					if k.svc.NotificationFn == nil {
						// resend: the schedule is started again, the try sent (Settle), then the
						// notification read back with it.
						resend := k.svc.ResendNotificationFn
						settled := false
						k.svc.ResendNotificationFn = func(ctx context.Context, id string) (*walletctl.Notification, error) {
							n, err := resend(ctx, id)
							if n != nil {
								n.Attempts = nil // what the resend itself answers is not what is shown
							}
							return n, err
						}
						k.svc.DeliverNotificationsFn = func(context.Context) ([]walletctl.Notification, error) {
							settled = true
							return nil, nil
						}
						k.svc.NotificationFn = func(ctx context.Context, id string) (*walletctl.Notification, error) {
							if !settled {
								t.Error("the notification was read back before its try was sent")
							}
							return resend(ctx, id)
						}
					}
				})
				return k, runCmd(t, c.new(k.f, nil), append([]string{id}, args...)...)
			}
			k, code := show("table", "n1")
			if code != "" {
				t.Fatal(code)
			}
			// The record, then the attempts; a long answer on one line, clipped unless --wide.
			out := k.out.String()
			contains(t, "n1", out, "EV-1", "order-0001 SUCCESS 12.50", "1 of 16", "RESENDS", `{ "code": "SUCCESS", "m…`)
			lacks(t, "n1", out, "received and stored")
			within80(t, "notify "+c.name, out)
			k, _ = show("table", "n1", "--wide")
			contains(t, "n1 --wide", k.out.String(), `{ "code": "SUCCESS", "message": "received and stored" }`, "MS", "OK")
			k, _ = show("table", "n2")
			contains(t, "n2", k.out.String(), "refund-r-1 SUCCESS 5.00 (order order-0001)", "pending (held)", "NEXT", "2026-01-05 09:00:15",
				"sign_probe probe", "connection refused", "│ -")
			k, _ = show("json", "n1")
			var n walletctl.Notification
			if k.decode(t, &n); n.ID != "n1" || len(n.Attempts) != 1 || !strings.Contains(n.Attempts[0].Answer, "received and stored") {
				t.Errorf("-o json: %s", k.out.String())
			}
			if k, code := show("table", "n99"); code != walletctl.CodeNotFound || k.out.Len() != 0 {
				t.Errorf("n99: %q %q", code, k.out.String())
			}
		})
	}
}

func TestNotifyFaultAddFlags(t *testing.T) {
	rule := func(want string) func(t *testing.T, o *cli.NotifyFaultAddOptions) {
		return func(t *testing.T, o *cli.NotifyFaultAddOptions) {
			if got := o.Fault.String(); got != want {
				t.Errorf("rule %q, want %q", got, want)
			}
		}
	}
	checkFlags(t, cli.NewCmdNotifyFaultAdd, []flagCase[*cli.NotifyFaultAddOptions]{
		{args: []string{"drop_ack;first=1"}, check: rule("drop_ack;first=1")},
		{args: []string{"--kind", "sign_probe", "--event", "transaction.success", "--mchid", "M", "--first", "1"},
			check: rule("sign_probe;event=TRANSACTION.SUCCESS;mchid=M;first=1")},
		// Flags add to the spec or override it.
		{args: []string{"delay;d=10s;mchid=A", "--delay", "1m", "--mchid", "B"}, check: rule("delay;mchid=B;d=1m0s")},
		{args: []string{"duplicate;first=3", "--kind", "out_of_order"}, check: rule("out_of_order;first=3")},
		{args: nil, code: invalid, msg: "give a fault spec or --kind"},
		{args: []string{"explode"}, code: invalid, msg: "explode"},
		{args: []string{"--kind", "explode"}, code: invalid, msg: "explode"},
		{args: []string{"delay"}, code: invalid},
		{args: []string{"--kind", "delay", "--delay", "soon"}, code: invalid, msg: `invalid duration "soon"`},
		{args: []string{"drop_ack", "duplicate"}, code: invalid},
		{args: []string{"drop_ack", "--first", "x"}, code: invalid},
	})
}

func TestNotifyFaultRun(t *testing.T) {
	var added walletctl.NotifyFault
	k := newFake("table", func(k *fake) {
		k.svc.AddNotifyFaultFn = func(_ context.Context, f walletctl.NotifyFault) (*walletctl.NotifyFault, error) {
			added, f.ID = f, "nf1"
			return &f, nil
		}
	})
	out := k.must(t, cli.NewCmdNotifyFaultAdd(k.f, nil), "drop_ack;first=1")
	if added.Kind != walletctl.NotifyFaultDropAck || added.First != 1 {
		t.Errorf("AddNotifyFault(%+v)", added)
	}
	contains(t, "fault add", out, "nf1", "KIND", "drop_ack;first=1")
	within80(t, "fault add", out)
	k = newFake("table", failing("AddNotifyFault", walletctl.CodeNotFound))
	k.refuses(t, walletctl.CodeNotFound, cli.NewCmdNotifyFaultAdd(k.f, nil), "duplicate;mchid=1999999999")

	faults := []walletctl.NotifyFault{{ID: "nf1", Kind: walletctl.NotifyFaultDropAck, First: 1, Fired: 1},
		{ID: "nf2", Kind: walletctl.NotifyFaultSignProbe, EventType: walletctl.EventTransactionSuccess, MchID: "1900000001", First: 1}}
	list := func(format string, fs []walletctl.NotifyFault) string {
		t.Helper()
		k := newFake(format, func(k *fake) {
			k.svc.NotifyFaultsFn = func(context.Context) ([]walletctl.NotifyFault, error) { return fs, nil }
		})
		return k.must(t, cli.NewCmdNotifyFaultList(k.f, nil))
	}
	out = list("table", faults)
	contains(t, "fault list", out, "FIRED", "nf2", "sign_probe;event=TRANSACTION.SUCCESS;mchid=1900000001;first=1")
	within80(t, "fault list", out)
	contains(t, "fault list, none", list("table", nil), "(none)")
	if out := list("json", nil); strings.TrimSpace(out) != "[]" {
		t.Errorf("no faults, -o json: %q", out)
	}
	refusesArgs(t, cli.NewCmdNotifyFaultList, []string{"nf1"})

	for format, want := range map[string]string{"table": "all notification fault rules cleared\n", "json": "{\n  \"cleared\": true\n}\n"} {
		cleared := false
		k := newFake(format, func(k *fake) { k.svc.ClearNotifyFaultsFn = func(context.Context) error { cleared = true; return nil } })
		if out := k.must(t, cli.NewCmdNotifyFaultClear(k.f, nil)); !cleared || out != want {
			t.Errorf("clear -o %s: cleared %v, printed %q", format, cleared, out)
		}
	}
	k = newFake("table", failing("ClearNotifyFaults", walletctl.CodeConflict))
	k.refuses(t, walletctl.CodeConflict, cli.NewCmdNotifyFaultClear(k.f, nil))
}

func TestListenFlags(t *testing.T) {
	const url = "http://localhost:8080/notify"
	checkFlags(t, cli.NewCmdListen, []flagCase[*cli.ListenOptions]{
		{args: []string{"--forward-to", url}, ok: func(o *cli.ListenOptions) bool {
			return o.ForwardTo == url && len(o.Only) == 0 && o.MaxEvents == 0 && o.Limit == 0 && o.Interval == 500*time.Millisecond
		}},
		{args: []string{"--forward-to", url, "--interval", "20ms"}, ok: func(o *cli.ListenOptions) bool { return o.Interval == 20*time.Millisecond }},
		{args: []string{"--forward-to", url, "--interval", "1ms"}, code: invalid, msg: "--interval 1ms is not between 10ms and 5s"},
		{args: []string{"--forward-to", url, "--interval", "6s"}, code: invalid, msg: "--interval 6s is not between"},
		{args: []string{"--forward-to", url, "--events", " transaction.success, ,REFUND.CLOSED", "--max-events", "3", "--timeout", "1m30s"},
			ok: func(o *cli.ListenOptions) bool {
				return len(o.Only) == 2 && o.Only[walletctl.EventTransactionSuccess] && o.Only[walletctl.EventRefundClosed] && o.MaxEvents == 3 && o.Limit == 90*time.Second
			}},
		{args: nil, code: invalid, msg: "--forward-to is required"},
		{args: []string{"--forward-to", "localhost:8080"}, code: invalid, msg: "--forward-to"},
		{args: []string{"--forward-to", url, "--events", "PAYMENT.DONE"}, code: invalid, msg: `unknown event type "PAYMENT.DONE"`},
		{args: []string{"--forward-to", url, "--max-events", "-1"}, code: invalid, msg: "--max-events must be 0"},
		{args: []string{"--forward-to", url, "--timeout", "0s"}, code: invalid, msg: `--timeout "0s" is not positive`},
		{args: []string{"--forward-to", url, "--timeout", "soon"}, code: invalid, msg: `invalid duration "soon"`},
		{args: []string{"--forward-to", url, "now"}, code: invalid},
	})
}

// listenWallet is a fake wallet for listen: the forward registrations it gets, and notifications
// whose attempts grow after the first read (n1 had one before listen started).
type listenWallet struct {
	*fake
	forwards []string // "url ttl" of every ForwardNotifications
	reads    int
}

func newListenWallet(format string) *listenWallet {
	w := &listenWallet{fake: newFake(format)}
	at := time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)
	attempt := func(n int, d time.Duration, status int) walletctl.NotifyAttempt {
		return walletctl.NotifyAttempt{N: n, At: at.Add(d), Status: status, LatencyMS: 4, OK: status == 200, Answer: `{"code":"SUCCESS"}`}
	}
	w.svc.ForwardNotificationsFn = func(_ context.Context, url string, ttl time.Duration) error {
		w.forwards = append(w.forwards, url+" "+ttl.String())
		return nil
	}
	w.svc.DeliverNotificationsFn = func(context.Context) ([]walletctl.Notification, error) { return nil, nil }
	w.svc.NotificationsFn = mock.Notifications(func(context.Context, walletctl.NotificationFilter) ([]walletctl.Notification, error) {
		w.reads++
		n1 := walletctl.Notification{ID: "n1", EventID: "EV-1", MchID: "1900000001", EventType: walletctl.EventTransactionSuccess,
			Attempts: []walletctl.NotifyAttempt{attempt(1, 0, 500)}}
		if w.reads == 1 {
			return []walletctl.Notification{n1}, nil
		}
		n1.Attempts = append(n1.Attempts, attempt(2, 15*time.Second, 200))
		// Newest first, as the wallet lists them.
		return []walletctl.Notification{
			{ID: "n3", EventType: walletctl.EventTransactionSuccess, Attempts: []walletctl.NotifyAttempt{attempt(1, 10*time.Second, 200)}},
			{ID: "n2", EventType: walletctl.EventRefundSuccess, Attempts: []walletctl.NotifyAttempt{attempt(1, 5*time.Second, 200)}},
			n1,
		}, nil
	})
	return w
}

// listen shows each new attempt once, oldest first, only of the events asked for; it registers
// the forward and drops it on the way out.
func TestListenRun(t *testing.T) {
	const url = "http://localhost:8080/notify"
	w := newListenWallet("table")
	out := w.must(t, cli.NewCmdListen(w.f, nil), "--forward-to", url, "--events", "transaction.success", "--max-events", "2")
	want := "2026-01-05 09:00:10  TRANSACTION.SUCCESS  n3  → 200 4ms  {\"code\":\"SUCCESS\"}\n" +
		"2026-01-05 09:00:15  TRANSACTION.SUCCESS  n1  → 200 4ms  {\"code\":\"SUCCESS\"}\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if !strings.HasPrefix(w.errOut.String(), "Ready: forwarding notifications of ") || !strings.Contains(w.errOut.String(), " to "+url+" (Ctrl-C to stop)\n") {
		t.Errorf("stderr: %q", w.errOut.String())
	}
	if strings.Join(w.forwards, ",") != url+" 15s, 0s" {
		t.Errorf("forwards: %q", w.forwards)
	}

	// -o json: one object a line, with the notification's names.
	w = newListenWallet("json")
	w.must(t, cli.NewCmdListen(w.f, nil), "--forward-to", url, "--max-events", "1")
	var line struct {
		Notification string `json:"notification"`
		EventType    string `json:"event_type"`
		N            int    `json:"n"`
		Status       int    `json:"status"`
	}
	if lines := strings.Split(strings.TrimSpace(w.out.String()), "\n"); len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &line) != nil ||
		line.Notification != "n2" || line.EventType != walletctl.EventRefundSuccess || line.N != 1 || line.Status != 200 {
		t.Errorf("-o json: %s", w.out.String())
	}
}

func TestListenStops(t *testing.T) {
	const url = "http://localhost:8080/notify"
	// --timeout before --max-events: TIMED_OUT (exit 9), and the forward dropped all the same.
	w := newListenWallet("table")
	_, err := execute(cli.NewCmdListen(w.f, nil), "--forward-to", url, "--max-events", "5", "--timeout", "50ms")
	var we *walletctl.Error
	if cli.ErrorCode(err) != walletctl.CodeTimedOut || !errors.As(err, &we) || we.Details["shown"] != 3 || we.Details["max_events"] != 5 {
		t.Fatalf("timed out: %v %+v", err, we)
	}
	if len(w.forwards) != 2 || w.forwards[1] != " 0s" || strings.Count(w.out.String(), "\n") != 3 {
		t.Errorf("forwards %q, stdout:\n%s", w.forwards, w.out.String())
	}
	// --timeout alone: the same outcome, what was shown said.
	w = newListenWallet("table")
	if _, err := execute(cli.NewCmdListen(w.f, nil), "--forward-to", url, "--timeout", "50ms"); cli.ErrorCode(err) != walletctl.CodeTimedOut ||
		!errors.As(err, &we) || we.Details["shown"] != 3 || we.Details["max_events"] != nil || strings.Count(w.out.String(), "\n") != 3 {
		t.Errorf("--timeout alone: %v %+v", err, we)
	}

	// A poll that fails is said once, and listen goes on.
	w = newListenWallet("table")
	w.svc.DeliverNotificationsFn = func(context.Context) ([]walletctl.Notification, error) {
		return nil, walletctl.Errorf(walletctl.CodeConflict, "the home is busy")
	}
	if code := runCmd(t, cli.NewCmdListen(w.f, nil), "--forward-to", url, "--timeout", "700ms"); code != walletctl.CodeTimedOut {
		t.Fatalf("failing polls: %q", code)
	}
	if w.reads != 1 || strings.Count(w.errOut.String(), "walletctl: listen: the home is busy (retrying)\n") != 1 {
		t.Errorf("reads %d, stderr:\n%s", w.reads, w.errOut.String())
	}

	// The registration refused: that error, and no Ready line.
	w = newListenWallet("table")
	failing("ForwardNotifications", invalid)(w.fake)
	if code := runCmd(t, cli.NewCmdListen(w.f, nil), "--forward-to", url); code != invalid || strings.Contains(w.errOut.String(), "Ready") {
		t.Errorf("refused registration: %q %q", code, w.errOut.String())
	}
}
