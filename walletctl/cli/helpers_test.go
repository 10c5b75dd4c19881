package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl/cli"
)

// world is one sandbox home driven through cli.Run, with the bank in-process or, when bankURL is
// set, a real bankmock server on loopback.
type world struct {
	t       *testing.T
	home    string
	bankURL string
	env     map[string]string
	outputs []string // every stdout and stderr, for the secrets check
}

type result struct {
	code        int
	out, errOut string
}

func (r result) String() string {
	return "exit " + itoa(r.code) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.errOut
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// runCLI runs one command line in-process, as cmd/walletctl would: with ios (whose Out and
// ErrOut it sets) and the environment env.
func runCLI(ios *cli.IOStreams, env map[string]string, args ...string) result {
	var out, errOut bytes.Buffer
	ios.Out, ios.ErrOut = &out, &errOut
	code := cli.Run(context.Background(), args, ios, func(k string) string { return env[k] })
	return result{code, out.String(), errOut.String()}
}

// succeeded fails tb unless r, what walletctl args gave, is a success; it returns r.
func succeeded(tb testing.TB, r result, args ...string) result {
	tb.Helper()
	if r.code != 0 {
		tb.Fatalf("walletctl %s: want exit 0, got %s", strings.Join(args, " "), r)
	}
	return r
}

// errorJSON is an error as -o json prints it on stderr.
type errorJSON struct {
	Error struct {
		Code    string         `json:"code"`
		Hint    string         `json:"hint"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

// transports runs f once with the bank in-process and once over HTTP.
func transports(t *testing.T, f func(t *testing.T, w *world)) {
	t.Run("inproc", func(t *testing.T) {
		t.Parallel()
		f(t, newWorld(t, false))
	})
	t.Run("http", func(t *testing.T) {
		t.Parallel()
		f(t, newWorld(t, true))
	})
}

const testSeed = 7

func newWorld(t *testing.T, overHTTP bool) *world {
	t.Helper()
	// A test's home is thrown away: no fsync (the durability of a home is what the crash and
	// full-disk tests of walletctl/crashtest prove, with the real setting).
	w := &world{t: t, home: t.TempDir(), env: map[string]string{"WALLETCTL_SANDBOX_THROWAWAY": "1"}}
	if overHTTP {
		eng := bankmock.New(bankmock.Config{Seed: testSeed, Customers: 30, Clock: vclock.NewManual(vclock.DefaultEpoch),
			Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
		h := server.New(eng, server.Options{})
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		w.bankURL = srv.URL
		w.env["WALLETCTL_BANK_TOKEN"] = h.AdminToken() // to register the home as a partner
	}
	w.ok("sandbox", "init", "--seed", itoa(testSeed), "--customers", "30")
	return w
}

// run executes one command line with no terminal; stdin feeds --password-stdin.
func (w *world) run(stdin string, args ...string) result {
	w.t.Helper()
	return w.runIO(&cli.IOStreams{In: strings.NewReader(stdin)}, args...)
}

func (w *world) runIO(ios *cli.IOStreams, args ...string) result {
	w.t.Helper()
	full := append([]string{"--home", w.home}, args...)
	if w.bankURL != "" {
		full = append([]string{"--bank", w.bankURL}, full...)
	}
	r := runCLI(ios, w.env, full...)
	w.outputs = append(w.outputs, r.out, r.errOut)
	return r
}

// ok runs a command that must succeed.
func (w *world) ok(args ...string) result {
	w.t.Helper()
	return w.okIn("", args...)
}

// okIn runs a command with stdin that must succeed.
func (w *world) okIn(stdin string, args ...string) result {
	w.t.Helper()
	return succeeded(w.t, w.run(stdin, args...), args...)
}

// fail runs a command that must fail with code (exit cli.ExitCode(code)) and return it.
func (w *world) fail(stdin, code string, exit int, args ...string) result {
	w.t.Helper()
	r := w.run(stdin, args...)
	if r.code != exit || !strings.Contains(r.errOut, "error: "+code+": ") || !strings.Contains(r.errOut, "hint: ") {
		w.t.Fatalf("walletctl %s: want exit %d with %s and a hint, got %s", strings.Join(args, " "), exit, code, r)
	}
	return r
}

// jsonOf runs a command with -o json and decodes its stdout into v.
func (w *world) jsonOf(v any, stdin string, args ...string) {
	w.t.Helper()
	r := w.run(stdin, append([]string{"-o", "json"}, args...)...)
	if r.code != 0 {
		w.t.Fatalf("walletctl -o json %s: %s", strings.Join(args, " "), r)
	}
	if err := json.Unmarshal([]byte(r.out), v); err != nil {
		w.t.Fatalf("walletctl -o json %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, r.out)
	}
}

// customer is a bank customer as `bank customers -o json` lists it.
type customer struct {
	CardNo  string `json:"card_no"`
	Bank    string `json:"bank"`
	Type    string `json:"type"`
	Status  string `json:"status"`
	Name    string `json:"name"`
	IDNo    string `json:"id_no"`
	Phone   string `json:"phone"`
	Balance int64  `json:"balance"`
	Note    string `json:"note"`
}

func (w *world) customers(args ...string) []customer {
	w.t.Helper()
	var cs []customer
	// Every page: each customer's numbers are secrets to look for in the other outputs.
	w.jsonOf(&cs, "", append([]string{"bank", "customers", "--all"}, args...)...)
	w.outputs = w.outputs[:len(w.outputs)-2] // the fixture listing is the one place full numbers belong
	return cs
}

// testCard returns the documented test card with this key.
func testCard(t *testing.T, key string) customer {
	t.Helper()
	for _, c := range bankmock.TestCards {
		if c.Key == key {
			x := c.Customer
			return customer{CardNo: x.CardNo, Bank: x.Bank, Type: string(x.Type), Status: string(x.Status), Name: x.Name,
				IDNo: x.IDNo, Phone: x.Phone, Balance: x.Balance, Note: x.Note}
		}
	}
	t.Fatalf("no test card %q", key)
	return customer{}
}

// otp fetches the last SMS code sent to phone.
func (w *world) otp(phone string) string {
	w.t.Helper()
	return strings.TrimSpace(w.ok("bank", "otp", "--phone", phone).out)
}

// verifiedUser registers phone and verifies it as c; returns the user id.
func (w *world) verifiedUser(phone string, c customer) string {
	w.t.Helper()
	id := strings.TrimSpace(w.ok("user", "register", "--phone", phone).out)
	w.ok("--as", id, "kyc", "submit", "--name", c.Name, "--id", c.IDNo)
	return id
}

// bindCard binds c's card to user and returns the card id.
func (w *world) bindCard(user string, c customer) string {
	w.t.Helper()
	var b struct {
		BindingID string `json:"binding_id"`
	}
	w.jsonOf(&b, "", "--as", user, "card", "bind", "--card", c.CardNo, "--phone", c.Phone)
	var card struct {
		ID string `json:"id"`
	}
	w.jsonOf(&card, "", "--as", user, "card", "confirm", "--binding", b.BindingID, "--otp", w.otp(c.Phone))
	return card.ID
}

// openWallet runs flow open-wallet for the nth eligible customer and returns the user and card ids.
func (w *world) openWallet(nth int) (user, card string) {
	w.t.Helper()
	var res struct {
		UserID string `json:"user_id"`
		CardID string `json:"card_id"`
	}
	w.jsonOf(&res, "", "flow", "open-wallet", "--seed-customer", itoa(nth))
	return res.UserID, res.CardID
}

// assertNoSecrets checks that no full card or ID number of the bank's world, and none of the
// given secrets, appears in any output recorded so far (fixture listings are excluded by the
// caller by not recording them).
func assertNoSecrets(t *testing.T, outputs []string, cs []customer, secrets ...string) {
	t.Helper()
	for _, o := range outputs {
		for _, c := range cs {
			if strings.Contains(o, c.CardNo) || strings.Contains(o, c.IDNo) {
				t.Fatalf("output carries a full card or ID number of %s:\n%s", c.Name, o)
			}
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(o, s) {
				t.Fatalf("output carries the secret %q:\n%s", s, o)
			}
		}
	}
}
