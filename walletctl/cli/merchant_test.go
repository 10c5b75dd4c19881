package cli_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/fixtures"
)

// The merchant's side end to end, on a real sandbox (world): merchants, their orders paid by
// scan and payment code, refunds, bills, and the notifications and triggers that follow. How
// each command parses and prints is the unit tests' on a fake wallet (merchant_cmd_test.go); here,
// what the wallet does.
func init() {
	for _, c := range []string{
		"merchant create", "merchant show", "merchant order create", "merchant order show", "merchant order list",
		"merchant order close", "merchant order reverse", "merchant codepay", "merchant refund show", "merchant refund list",
		"notify list", "notify show", "notify resend", "notify fault add", "notify fault list",
	} {
		notRendered[c] = "rendered and width-checked on a fake wallet by merchant_cmd_test.go"
	}
	notRendered["merchant keys"] = "prints the paths it wrote (TestMerchantKeysRun)"
	notRendered["merchant bill"] = "prints v3's CSV bill, not a table (TestBillRun)"
	for _, c := range []string{"scan", "paycode confirm", "user openid"} {
		notRendered[c] = "rendered and width-checked by TestMerchantNativeFlow and TestPayCodeFlow (merchant_test.go)"
	}
	notRendered["notify fault clear"] = "prints one line"
	notRendered["trigger"] = "rendered and width-checked by TestTriggerEvents (merchant_test.go)"
	notRendered["listen"] = "prints one line per delivery, not tables (TestListenRun, merchant_cmd_test.go)"
}

// mw is a world with a merchant and a payer with money in the balance and a bound card.
type mw struct {
	*world
	user, card, pw string
	mchid, appid   string
}

func newMerchantWorld(t *testing.T, w *world) *mw {
	t.Helper()
	user, card := w.openWallet(0)
	pw := walletctlSandboxPassword(t, w)
	w.okIn(pw, "--as", user, "topup", "--card", card, "--amount", "800", "--password-stdin")
	var m walletctl.Merchant
	w.jsonOf(&m, "", "merchant", "create", "--name", "Demo Cafe", "--category", "coffee")
	if m.ID == "" || m.AppID == "" || m.CertSerial == "" || m.Name != "Demo Cafe" {
		t.Fatalf("merchant create: %+v", m)
	}
	return &mw{world: w, user: user, card: card, pw: pw, mchid: m.ID, appid: m.AppID}
}

// fits runs a command that must succeed and print nothing wider than 80 columns.
func (w *mw) fits(stdin string, args ...string) result {
	w.t.Helper()
	r := w.okIn(stdin, args...)
	within80(w.t, "walletctl "+strings.Join(args, " "), r.out)
	return r
}

func (w *mw) order(args ...string) walletctl.Order {
	w.t.Helper()
	var o walletctl.Order
	w.jsonOf(&o, "", append([]string{"merchant", "order"}, args...)...)
	return o
}

func (w *mw) available(user string) int64 {
	w.t.Helper()
	var b walletctl.Balance
	w.jsonOf(&b, "", "--as", user, "balance")
	return b.Available
}

// TestMerchantNativeFlow: a merchant is created, shown, listed; its keys go to files; a Native
// order is scanned and paid, queried, refunded in two parts (a third is refused), listed in the
// day's bill; a second order is closed and cannot be paid; JSAPI, App and H5 orders are paid by
// their prepay_id or h5_url. How each command parses and prints is the unit tests'
// (merchant_cmd_test.go): here, what the wallet does.
func TestMerchantNativeFlow(t *testing.T) {
	transports(t, func(t *testing.T, world *world) {
		w := newMerchantWorld(t, world)
		if r := w.fits("", "merchant", "list"); !strings.Contains(r.out, w.mchid) || !strings.Contains(r.out, "m-cinema") {
			t.Errorf("merchant list lacks the new merchant or the catalogue:\n%s", r.out)
		}

		// Keys: the wallet's credentials, the secrets never on stdout.
		dir := filepath.Join(t.TempDir(), "keys")
		r := w.fits("", "merchant", "keys", w.mchid, "--out", dir)
		var mf map[string]string
		b, err := os.ReadFile(filepath.Join(dir, "merchant.json"))
		if err != nil || json.Unmarshal(b, &mf) != nil {
			t.Fatalf("merchant.json: %v\n%s", err, b)
		}
		for _, k := range []string{"mchid", "appid", "cert_serial", "apiv3_key", "platform_serial", "public_key_id",
			"private_key_file", "certificate_file", "platform_certificate_file", "platform_public_key_file"} {
			if mf[k] == "" {
				t.Errorf("merchant.json lacks %s: %s", k, b)
			}
		}
		if mf["mchid"] != w.mchid || len(mf["apiv3_key"]) != 32 || !strings.HasPrefix(mf["public_key_id"], "PUB_KEY_ID_") {
			t.Errorf("merchant.json: %s", b)
		}
		key, _ := os.ReadFile(filepath.Join(dir, "apiclient_key.pem"))
		if !strings.Contains(string(key), "PRIVATE KEY") {
			t.Errorf("apiclient_key.pem: %q", key)
		}
		secrets := []string{mf["apiv3_key"], strings.TrimSpace(string(key))}
		for _, l := range strings.Split(string(key), "\n") {
			if len(l) > 40 && !strings.HasPrefix(l, "-----") {
				secrets = append(secrets, l) // any line of the key's base64
			}
		}

		// A Native order, scanned and paid from the balance.
		r = w.fits("", "merchant", "order", "create", "--mchid", w.mchid, "--type", "native", "--out-trade-no", "order-n-1",
			"--amount", "12.50", "--description", "Coffee beans", "--attach", "table 7", "--notify-url", "https://example.com/notify")
		if !strings.Contains(r.out, "weixin://wxpay/bizpayurl?pr=") || !strings.Contains(r.out, "NOTPAY") {
			t.Errorf("order create native:\n%s", r.out)
		}
		o := w.order("show", "--mchid", w.mchid, "--out-trade-no", "order-n-1")
		if o.TradeState != walletctl.StateNotPay || o.Amount != 1250 || !strings.HasPrefix(o.CodeURL, "weixin://wxpay/bizpayurl?pr=") {
			t.Fatalf("order show: %+v", o)
		}
		before := w.available(w.user)
		r = w.okIn(w.pw, "--as", w.user, "scan", o.CodeURL, "--password-stdin")
		if !strings.Contains(r.errOut, "Pay 12.50 CNY to Demo Cafe") || !strings.Contains(r.errOut, "Coffee beans") || !strings.Contains(r.out, "SUCCESS") {
			t.Errorf("scan:\n%s", r)
		}
		if got := w.available(w.user); got != before-1250 {
			t.Errorf("balance after the scan: %d, want %d", got, before-1250)
		}
		o = w.order("show", "--mchid", w.mchid, "--out-trade-no", "order-n-1")
		if o.TradeState != walletctl.StateSuccess || o.TransactionID == "" || o.PayerUserID != w.user || o.Source != "balance" {
			t.Fatalf("order after the scan: %+v", o)
		}
		if o2 := w.order("show", "--mchid", w.mchid, "--transaction-id", o.TransactionID); o2.OutTradeNo != "order-n-1" {
			t.Errorf("order show --transaction-id: %+v", o2)
		}
		w.fits("", "merchant", "order", "show", "--mchid", w.mchid, "--out-trade-no", "order-n-1")

		// Refunds: 5 then 7.50 (all of it); a cent more is refused.
		r = w.fits("", "merchant", "refund", "--mchid", w.mchid, "--out-trade-no", "order-n-1", "--out-refund-no", "refund-r-1", "--amount", "5", "--reason", "one bag short")
		if !strings.Contains(r.out, "SUCCESS") || !strings.Contains(r.out, "5.00") {
			t.Errorf("refund:\n%s", r.out)
		}
		if got := w.available(w.user); got != before-750 {
			t.Errorf("balance after the refund of 5: %d, want %d", got, before-750)
		}
		var rf walletctl.Refund
		w.jsonOf(&rf, "", "merchant", "refund", "show", "--mchid", w.mchid, "refund-r-1")
		if rf.Status != walletctl.RefundSuccess || rf.Amount != 500 || rf.Total != 1250 || rf.OutTradeNo != "order-n-1" {
			t.Errorf("refund show: %+v", rf)
		}
		w.fits("", "merchant", "refund", "show", "--mchid", w.mchid, "refund-r-1")
		w.ok("merchant", "refund", "--mchid", w.mchid, "--transaction-id", o.TransactionID, "--out-refund-no", "refund-r-2", "--amount", "7.50")
		w.fail("", walletctl.CodeRefundLimit, cli.ExitCode(walletctl.CodeRefundLimit),
			"merchant", "refund", "--mchid", w.mchid, "--out-trade-no", "order-n-1", "--out-refund-no", "refund-r-3", "--amount", "0.01")
		var rfs []walletctl.Refund
		w.jsonOf(&rfs, "", "merchant", "refund", "list", "--mchid", w.mchid)
		if len(rfs) != 2 {
			t.Errorf("refund list: %+v", rfs)
		}
		if r := w.fits("", "merchant", "refund", "list", "--mchid", w.mchid); !strings.Contains(r.out, "refund-r-2") {
			t.Errorf("refund list:\n%s", r.out)
		}
		if o = w.order("show", "--mchid", w.mchid, "--out-trade-no", "order-n-1"); o.TradeState != walletctl.StateRefund || o.Refunded != 1250 {
			t.Errorf("order after the refunds: %+v", o)
		}

		// A second order is closed, and then cannot be paid.
		o3 := w.order("create", "--mchid", w.mchid, "--out-trade-no", "order-n-2", "--amount", "3", "--description", "Tea", "--expire", "30m")
		r = w.fits("", "merchant", "order", "close", "--mchid", w.mchid, "--out-trade-no", "order-n-2")
		if !strings.Contains(r.out, "CLOSED") {
			t.Errorf("order close:\n%s", r.out)
		}
		w.fail(w.pw, walletctl.CodeOrderState, cli.ExitCode(walletctl.CodeOrderState), "--as", w.user, "scan", o3.CodeURL, "--password-stdin")

		// JSAPI for the payer's openid, App and H5: paid by prepay_id or h5_url, from the card too.
		openid := strings.TrimSpace(w.fits("", "--as", w.user, "user", "openid", "--appid", w.appid).out)
		if openid != walletctl.OpenID(w.appid, w.user) {
			t.Errorf("user openid: %q, want %q", openid, walletctl.OpenID(w.appid, w.user))
		}
		for _, c := range []struct{ kind, no, source string }{{"jsapi", "order-j-1", "balance"}, {"app", "order-a-1", "card:" + w.card}, {"h5", "order-h-1", "balance"}} {
			args := []string{"create", "--mchid", w.mchid, "--type", c.kind, "--out-trade-no", c.no, "--amount", "2", "--description", "Muffin"}
			if c.kind == "jsapi" {
				args = append(args, "--openid", openid)
			}
			o := w.order(args...)
			ref := o.PrepayID
			if c.kind == "h5" {
				ref = o.H5URL
			}
			if ref == "" {
				t.Fatalf("%s order has no reference to pay: %+v", c.kind, o)
			}
			w.fits(w.pw, "--as", w.user, "scan", ref, "--source", c.source, "--password-stdin")
			if o := w.order("show", "--mchid", w.mchid, "--out-trade-no", c.no); o.TradeState != walletctl.StateSuccess || o.Source != c.source {
				t.Errorf("%s order after paying: %+v", c.kind, o)
			}
		}
		if r := w.fits("", "merchant", "order", "list", "--mchid", w.mchid); !strings.Contains(r.out, "order-n-2") || !strings.Contains(r.out, "CLOSED") {
			t.Errorf("order list:\n%s", r.out)
		}
		var info walletctl.MerchantInfo
		w.jsonOf(&info, "", "merchant", "show", w.mchid)
		if info.Orders != 5 || info.Paid != 1250+600 || info.Refunded != 1250 || info.Balance != 600 {
			t.Errorf("merchant show: %+v", info)
		}
		w.fits("", "merchant", "show", w.mchid)

		// The day's bill: on stdout with its hash on stderr; by type in JSON.
		r = w.okIn("", "merchant", "bill", "--mchid", w.mchid)
		if !strings.Contains(r.out, "order-n-1") || !strings.Contains(r.out, "`") {
			t.Errorf("bill:\n%s", r.out)
		}
		sum := sha1.Sum([]byte(r.out))
		hash := hex.EncodeToString(sum[:])
		if !strings.Contains(strings.ToLower(r.errOut), hash) {
			t.Errorf("bill's hash on stderr is not the SHA-1 of stdout %s:\n%s", hash, r.errOut)
		}
		var bill walletctl.Bill
		w.jsonOf(&bill, "", "merchant", "bill", "--mchid", w.mchid, "--type", "refund")
		if bill.Type != "REFUND" || !strings.Contains(bill.Content, "refund-r-1") || bill.HashValue == "" {
			t.Errorf("bill -o json --type refund: %+v", bill)
		}

		assertNoSecrets(t, w.outputs, nil, secrets...)
	})
}

// TestScanShowsPayeeBeforePassword: at a terminal prompt, what is paid for is on the screen
// before the password is asked.
func TestScanShowsPayeeBeforePassword(t *testing.T) {
	w := newMerchantWorld(t, newWorld(t, false))
	o := w.order("create", "--mchid", w.mchid, "--out-trade-no", "order-p-1", "--amount", "8.80", "--description", "Latte")
	r := w.runIO(&cli.IOStreams{In: strings.NewReader(w.pw), InTTY: true}, "--as", w.user, "scan", o.CodeURL)
	payee, prompt := strings.Index(r.errOut, "Pay 8.80 CNY to Demo Cafe"), strings.Index(r.errOut, "Payment password:")
	if r.code != 0 || payee < 0 || prompt < payee || strings.Contains(r.out+r.errOut, w.pw) {
		t.Fatalf("scan at a terminal: %s", r)
	}
	// No password at all: nothing is paid, and the payee was shown all the same.
	o = w.order("create", "--mchid", w.mchid, "--out-trade-no", "order-p-2", "--amount", "1", "--description", "Latte")
	r = w.fail("", walletctl.CodePasswordMissing, cli.ExitCode(walletctl.CodePasswordMissing), "--as", w.user, "scan", o.CodeURL)
	if !strings.Contains(r.errOut, "Pay 1.00 CNY") {
		t.Errorf("scan without a password: %s", r)
	}
	if o := w.order("show", "--mchid", w.mchid, "--out-trade-no", "order-p-2"); o.TradeState != walletctl.StateNotPay {
		t.Errorf("order p-2 after a scan without a password: %+v", o)
	}
	// More than the balance: refused before the password is asked.
	o = w.order("create", "--mchid", w.mchid, "--out-trade-no", "order-p-3", "--amount", "90000", "--description", "Espresso machine")
	w.fail(w.pw, walletctl.CodeInsufficientBalance, cli.ExitCode(walletctl.CodeInsufficientBalance), "--as", w.user, "scan", o.CodeURL, "--password-stdin")
	// From the card, the bank's answer lost (magic amount 666.66): pending, exit 10, as pay.
	o = w.order("create", "--mchid", w.mchid, "--out-trade-no", "order-p-4", "--amount", "666.66", "--description", "Rail pass")
	w.fail(w.pw, walletctl.CodePending, 10, "--as", w.user, "scan", o.CodeURL, "--source", "card:"+w.card, "--password-stdin")
	// The bank did debit the card: the order is USERPAYING until the wallet learns it, or already
	// SUCCESS if the query asked the bank; never NOTPAY or PAYERROR.
	if o := w.order("show", "--mchid", w.mchid, "--out-trade-no", "order-p-4"); o.TradeState != walletctl.StateUserPaying && o.TradeState != walletctl.StateSuccess {
		t.Errorf("order paid by a card whose answer was lost: %+v", o)
	}
}

var digits18 = regexp.MustCompile(`^\d{18}$`)

// TestPayCodeFlow: a payment code under the password-free limit is charged at once; above it
// the order waits in USERPAYING until the payer confirms; a code is used once and lasts a minute;
// a waiting code payment can be reversed.
func TestPayCodeFlow(t *testing.T) {
	transports(t, func(t *testing.T, world *world) {
		w := newMerchantWorld(t, world)
		newCode := func(args ...string) string {
			t.Helper()
			r := w.okIn("", append([]string{"--as", w.user, "paycode"}, args...)...)
			code := strings.TrimSpace(r.out)
			if !digits18.MatchString(code) || !strings.Contains(r.errOut, "valid until") {
				t.Fatalf("paycode: %s", r)
			}
			return code
		}
		before := w.available(w.user)

		// Under the limit: paid at once.
		code := newCode()
		r := w.fits("", "merchant", "codepay", "--mchid", w.mchid, "--out-trade-no", "order-c-1", "--amount", "50",
			"--description", "Groceries", "--code", code)
		if !strings.Contains(r.out, "SUCCESS") {
			t.Errorf("codepay under the limit:\n%s", r)
		}
		if got := w.available(w.user); got != before-5000 {
			t.Errorf("balance after codepay 50: %d, want %d", got, before-5000)
		}
		// A code is charged once.
		w.fail("", walletctl.CodePayCodeInvalid, cli.ExitCode(walletctl.CodePayCodeInvalid),
			"merchant", "codepay", "--mchid", w.mchid, "--out-trade-no", "order-c-2", "--amount", "1", "--description", "Gum", "--code", code)

		// Above the limit: USERPAYING, then the payer confirms with the password.
		var o walletctl.Order
		w.jsonOf(&o, "", "merchant", "codepay", "--mchid", w.mchid, "--out-trade-no", "order-c-3", "--amount", "300",
			"--description", "Wine", "--code", newCode())
		if o.TradeState != walletctl.StateUserPaying {
			t.Fatalf("codepay above the limit: %+v", o)
		}
		ref := o.TransactionID
		if ref == "" {
			ref = o.ID
		}
		w.fail("", walletctl.CodePasswordMissing, cli.ExitCode(walletctl.CodePasswordMissing), "--as", w.user, "paycode", "confirm", ref)
		r = w.fits(w.pw, "--as", w.user, "paycode", "confirm", ref, "--password-stdin")
		if !strings.Contains(r.out, "SUCCESS") {
			t.Errorf("paycode confirm:\n%s", r)
		}
		if o := w.order("show", "--mchid", w.mchid, "--out-trade-no", "order-c-3"); o.TradeState != walletctl.StateSuccess {
			t.Errorf("order after the confirmation: %+v", o)
		}
		if got := w.available(w.user); got != before-35000 {
			t.Errorf("balance after codepay 300: %d, want %d", got, before-35000)
		}

		// Above the limit again, from the card, shown in the table: the hint names the command.
		r = w.okIn("", "merchant", "codepay", "--mchid", w.mchid, "--out-trade-no", "order-c-4", "--amount", "250",
			"--description", "Wine", "--code", newCode("--source", "card:"+w.card))
		if !strings.Contains(r.out, "USERPAYING") || !strings.Contains(r.errOut, "paycode confirm") {
			t.Errorf("codepay above the limit, table:\n%s", r)
		}
		// ... and the merchant reverses it instead.
		r = w.fits("", "merchant", "order", "reverse", "--mchid", w.mchid, "--out-trade-no", "order-c-4")
		if !strings.Contains(r.out, walletctl.StateRevoked) {
			t.Errorf("order reverse:\n%s", r.out)
		}

		// A code lasts one minute of the virtual clock.
		code = newCode()
		w.ok("clock", "advance", "2m")
		w.fail("", walletctl.CodePayCodeInvalid, cli.ExitCode(walletctl.CodePayCodeInvalid),
			"merchant", "codepay", "--mchid", w.mchid, "--out-trade-no", "order-c-5", "--amount", "1", "--description", "Gum", "--code", code)

		// -o json: the code with its expiry.
		var pc walletctl.PayCode
		w.jsonOf(&pc, "", "--as", w.user, "paycode")
		if !digits18.MatchString(pc.Code) || pc.ExpiresAt.IsZero() || pc.UserID != w.user {
			t.Errorf("paycode -o json: %+v", pc)
		}
	})
}

// TestMerchantCommandsOverBackend: the same commands through `walletctl serve` and --backend
// (httpapi.Client): a Native order scanned, a code payment confirmed, a refund, the bill and the
// keys, as separate processes.
func TestMerchantCommandsOverBackend(t *testing.T) {
	const key = "merchant-e2e-tenant-key-0123"
	p := startServe(t, nil, "--data", t.TempDir(), "--tenant-key", key, "--seed", "7", "--customers", "20")
	env := []string{"WALLETCTL_BACKEND=" + p.url, "WALLETCTL_API_KEY=" + key}
	run := func(stdin string, args ...string) result {
		t.Helper()
		return succeeded(t, exeEnv(t, env, stdin, args...), args...)
	}
	jsonOf := func(v any, stdin string, args ...string) {
		t.Helper()
		r := run(stdin, append([]string{"-o", "json"}, args...)...)
		if err := json.Unmarshal([]byte(r.out), v); err != nil {
			t.Fatalf("walletctl %s: %v\n%s", strings.Join(args, " "), err, r.out)
		}
	}
	var res struct {
		UserID string `json:"user_id"`
		CardID string `json:"card_id"`
	}
	jsonOf(&res, "", "flow", "open-wallet", "--seed-customer", "0")
	pw := documentedPassword(t, run("", "flow", "open-wallet", "--help").out)
	u := res.UserID
	run(pw, "--as", u, "topup", "--card", res.CardID, "--amount", "500", "--password-stdin")
	var m walletctl.Merchant
	jsonOf(&m, "", "merchant", "create", "--name", "Remote Shop")
	var o walletctl.Order
	jsonOf(&o, "", "merchant", "order", "create", "--mchid", m.ID, "--out-trade-no", "remote-1", "--amount", "3", "--description", "Tea")
	if r := run(pw, "--as", u, "scan", o.CodeURL, "--password-stdin"); !strings.Contains(r.errOut, "Pay 3.00 CNY to Remote Shop") || !strings.Contains(r.out, "SUCCESS") {
		t.Errorf("scan over --backend: %s", r)
	}
	code := strings.TrimSpace(run("", "--as", u, "paycode").out)
	jsonOf(&o, "", "merchant", "codepay", "--mchid", m.ID, "--out-trade-no", "remote-2", "--amount", "300", "--description", "Wine", "--code", code)
	if o.TradeState != walletctl.StateUserPaying {
		t.Fatalf("codepay 300 over --backend: %+v", o)
	}
	run(pw, "--as", u, "paycode", "confirm", o.ID, "--password-stdin")
	jsonOf(&o, "", "merchant", "order", "show", "--mchid", m.ID, "--out-trade-no", "remote-2")
	if o.TradeState != walletctl.StateSuccess {
		t.Errorf("confirmed code payment over --backend: %+v", o)
	}
	run("", "merchant", "refund", "--mchid", m.ID, "--out-trade-no", "remote-1", "--out-refund-no", "remote-r1", "--amount", "1")
	if r := run("", "merchant", "bill", "--mchid", m.ID); !strings.Contains(r.out, "remote-r1") || !strings.Contains(r.errOut, "SHA1") {
		t.Errorf("bill over --backend: %s", r)
	}
	dir := filepath.Join(t.TempDir(), "keys")
	r := run("", "merchant", "keys", m.ID, "--out", dir)
	if st, err := os.Stat(filepath.Join(dir, "apiclient_key.pem")); err != nil || st.Mode().Perm() != 0o600 || strings.Contains(r.out, "PRIVATE KEY") {
		t.Errorf("keys over --backend: %v %v\n%s", err, st, r.out)
	}
}

// payOrder creates a Native order with notifyURL and has the world's payer pay it from the balance.
func (w *mw) payOrder(outTradeNo, notifyURL string) walletctl.Order {
	w.t.Helper()
	o := w.order("create", "--mchid", w.mchid, "--type", "native", "--out-trade-no", outTradeNo, "--amount", "2",
		"--description", "Tea", "--notify-url", notifyURL)
	w.okIn(w.pw+"\n", "--as", w.user, "scan", o.CodeURL, "--password-stdin")
	return o
}

func (w *mw) notification(id string) walletctl.Notification {
	w.t.Helper()
	var n walletctl.Notification
	w.jsonOf(&n, "", "notify", "show", id)
	return n
}

// TestNotifyCommands: a paid order's notification reaches a loopback receiver and is listed and
// shown with its attempt; resend sends it again; a fault added shows in the attempts (drop_ack:
// answered but failed, retried 15 s later on the virtual clock; sign_probe: a probe first). How
// the commands parse and print is the unit tests' (merchant_cmd_test.go): here, what the wallet does.
func TestNotifyCommands(t *testing.T) {
	w := newMerchantWorld(t, newWorld(t, false))
	rcv := newReceiver(t)
	w.payOrder("notify-order-1", rcv.URL+"/notify")
	if got := rcv.got(); len(got) != 1 || got[0] != walletctl.EventTransactionSuccess {
		t.Fatalf("receiver got %v", got)
	}
	var list []walletctl.Notification
	w.jsonOf(&list, "", "notify", "list")
	if len(list) != 1 || list[0].ID != "n1" || list[0].Order == nil || list[0].Order.OutTradeNo != "notify-order-1" || list[0].URL != rcv.URL+"/notify" {
		t.Fatalf("notify list -o json: %+v", list)
	}
	n := w.notification("n1")
	if len(n.Attempts) != 1 || n.Attempts[0].Status != 200 || !n.Attempts[0].OK || n.Attempts[0].Answer != `{"code":"SUCCESS"}` {
		t.Fatalf("notify show -o json: %+v", n)
	}

	// Resend: delivered again (a duplicate the merchant must accept once).
	w.ok("notify", "resend", "n1")
	if n := w.notification("n1"); len(n.Attempts) != 2 || n.Resends != 1 || n.Status != walletctl.NotifyDelivered || len(rcv.got()) != 2 {
		t.Fatalf("after resend: %+v, receiver %v", n, rcv.got())
	}

	// drop_ack: the answer is lost, the try fails; 15 s later on the virtual clock it is retried.
	w.ok("notify", "fault", "add", "drop_ack;first=1")
	w.payOrder("notify-order-2", rcv.URL+"/notify")
	n = w.notification("n2")
	if n.Status != walletctl.NotifyPending || len(n.Attempts) != 1 || n.Attempts[0].Fault != walletctl.NotifyFaultDropAck || n.Attempts[0].OK ||
		n.Attempts[0].Status != 200 || n.NextAt == nil || n.NextAt.Sub(n.Attempts[0].At).Seconds() != 15 {
		t.Fatalf("drop_ack: %+v", n)
	}
	w.ok("clock", "advance", "15s")
	if n := w.notification("n2"); n.Status != walletctl.NotifyDelivered || len(n.Attempts) != 2 || n.Attempts[1].Fault != "" ||
		n.Attempts[1].At.Sub(n.Attempts[0].At).Seconds() != 15 {
		t.Fatalf("drop_ack retried: %+v", n)
	}

	// A fault from flags: a signature probe before the notification.
	w.ok("notify", "fault", "add", "--kind", "sign_probe", "--event", "transaction.success", "--mchid", w.mchid, "--first", "1")
	w.payOrder("notify-order-3", rcv.URL+"/notify")
	n = w.notification("n3")
	if len(n.Attempts) != 2 || !n.Attempts[0].Probe || n.Attempts[0].Fault != walletctl.NotifyFaultSignProbe || n.Attempts[0].OK || !n.Attempts[1].OK {
		t.Fatalf("sign_probe: %+v", n)
	}
	var faults []walletctl.NotifyFault
	w.jsonOf(&faults, "", "notify", "fault", "list")
	want := "sign_probe;event=TRANSACTION.SUCCESS;mchid=" + w.mchid + ";first=1"
	if len(faults) != 2 || faults[0].Fired != 1 || faults[1].Fired != 1 || faults[1].String() != want {
		t.Fatalf("fault list -o json: %+v", faults)
	}
	w.ok("notify", "fault", "clear")
	if w.jsonOf(&faults, "", "notify", "fault", "list"); len(faults) != 0 {
		t.Errorf("after clear: %+v", faults)
	}

	w.fail("", walletctl.CodeNotFound, cli.ExitCode(walletctl.CodeNotFound), "notify", "show", "n99")
	w.fail("", walletctl.CodeNotFound, cli.ExitCode(walletctl.CodeNotFound), "notify", "resend", "n99")
	if out := w.ok("__complete", "notify", "show", "").out; !strings.Contains(out, "n3\t") {
		t.Errorf("completion of notification ids:\n%s", out)
	}
	if out := w.ok("__complete", "notify", "fault", "add", "").out; !strings.Contains(out, "drop_ack") {
		t.Errorf("completion of fault kinds:\n%s", out)
	}
}

// triggered is trigger's result as -o json prints it.
type triggered = fixtures.Triggered

// TestTriggerEvents: trigger makes each event for real; the receiver gets that event_type, and
// the order, refund and notification are what the command printed.
func TestTriggerEvents(t *testing.T) {
	w := newMerchantWorld(t, newWorld(t, false))
	rcv := newReceiver(t)
	url := rcv.URL + "/hook"
	want := map[string]string{walletctl.EventTransactionSuccess: "", walletctl.EventRefundSuccess: walletctl.RefundSuccess,
		walletctl.EventRefundAbnormal: walletctl.RefundAbnormal, walletctl.EventRefundClosed: walletctl.RefundClosed}
	for _, ev := range []string{walletctl.EventTransactionSuccess, walletctl.EventRefundSuccess, walletctl.EventRefundAbnormal, walletctl.EventRefundClosed} {
		before := len(rcv.got())
		var res triggered
		w.jsonOf(&res, "", "trigger", ev, "--notify-url", url)
		if res.Event != ev || res.MchID != w.mchid || !res.PayerCreated || res.Order == nil || res.Order.TradeState == walletctl.StateNotPay || res.Notification == nil ||
			res.Notification.EventType != ev || res.Notification.Status != walletctl.NotifyDelivered {
			t.Fatalf("trigger %s: %+v", ev, res)
		}
		if want[ev] != "" && (res.Refund == nil || res.Refund.Status != want[ev]) {
			t.Fatalf("trigger %s: refund %+v", ev, res.Refund)
		}
		got := rcv.got()[before:]
		if len(got) == 0 || got[len(got)-1] != ev {
			t.Fatalf("trigger %s: the receiver got %v", ev, got)
		}
	}
	// The bank fault of REFUND.CLOSED is gone; the table fits.
	if r := w.ok("-o", "json", "bank", "fault", "list"); strings.TrimSpace(r.out) != "[]" {
		t.Errorf("trigger left a bank fault:\n%s", r.out)
	}
	r := w.fits("", "trigger", "REFUND.CLOSED", "--notify-url", url)
	for _, want := range []string{"REFUND.CLOSED", "CLOSED", "BANK FAULT", "walletctl notify show"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("trigger table lacks %q:\n%s", want, r.out)
		}
	}

	// As a given user, with the password: paid from their balance, refunded to it.
	var res triggered
	w.jsonOf(&res, w.pw+"\n", "--as", w.user, "trigger", "refund.success", "--mchid", w.mchid, "--notify-url", url, "--password-stdin")
	if res.Payer != w.user || res.PayerCreated || res.Refund == nil || res.Refund.Status != walletctl.RefundSuccess || rcv.got()[len(rcv.got())-1] != walletctl.EventRefundSuccess {
		t.Fatalf("trigger --as: %+v", res)
	}
	w.fail("", walletctl.CodePasswordMissing, cli.ExitCode(walletctl.CodePasswordMissing), "--as", w.user, "trigger", "TRANSACTION.SUCCESS")
	w.fail("", walletctl.CodeInvalidArgument, 2, "trigger", "PAYMENT.DONE")
	w.fail("", walletctl.CodeNotFound, cli.ExitCode(walletctl.CodeNotFound), "trigger", "TRANSACTION.SUCCESS", "--mchid", "1999999999")
	if r := w.ok("trigger", "--help"); !strings.Contains(r.out, "real operations") {
		t.Errorf("trigger --help does not say it uses the sandbox's real operations:\n%s", r.out)
	}
}
