package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testbin"
	"github.com/walletctl/walletctl/internal/testworld"

	"github.com/walletctl/walletctl/bankapi"
	bankserver "github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/v3api"
)

type bankAdmin interface {
	LastOTP(ctx context.Context, phone string) (string, error)
}

var fixedNow = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// newServer builds the server over real tenants (walletctl/tenant) in to.Data (default: a fresh
// folder).
func newServer(t testing.TB, opts Options, to tenant.Options) (*Server, *tenant.Set) {
	t.Helper()
	if to.Data == "" {
		to.Data = t.TempDir()
	}
	ts, err := tenant.Open(context.Background(), to)
	if err != nil {
		t.Fatal(err)
	}
	opts.Tenants = ts
	s, err := NewServer(context.Background(), opts)
	if err != nil {
		ts.Close(context.Background())
		t.Fatal(err)
	}
	return s, ts
}

// startServer starts a real server on loopback over throwaway tenants in a fresh data folder
// (or to.Data).
func startServer(t testing.TB, opts Options, to tenant.Options) (*Server, *httptest.Server) {
	t.Helper()
	to.Throwaway = true
	if to.Now == nil {
		to.Now = fixedNow
	}
	s, _ := newServer(t, opts, to)
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s, hs
}

func createTenant(t testing.TB, s *Server, spec walletctl.TenantSpec) *walletctl.CreatedTenant {
	t.Helper()
	ct, err := s.Tenants().Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// step is one call of the parity script; it returns what the call returned.
type step struct {
	name string
	run  func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error)
}

func parityScript() []step {
	ok, drop := testworld.Card("ok"), testworld.Card("drop_after")
	const pw = "135790"
	var binding, card, dropBinding, dropCard string
	var transfer string
	var reset string
	return []step{
		{"register", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Register(ctx, ok.Phone)
		}},
		{"register again", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Register(ctx, ok.Phone)
		}},
		{"register bad phone", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Register(ctx, "12345")
		}},
		{"register u2", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Register(ctx, drop.Phone)
		}},
		{"user by phone", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) { return s.User(ctx, ok.Phone) }},
		{"user missing", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) { return s.User(ctx, "u99") }},
		{"users", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Users(ctx, walletctl.MaxPage)
		}},
		{"pay before kyc", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Pay(ctx, walletctl.PayRequest{UserID: "u1", Merchant: "m-cinema", Amount: 100, Password: pw})
		}},
		{"kyc wrong name", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.SubmitKYC(ctx, "u1", "李四", ok.IDNo)
		}},
		{"kyc bad id", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.SubmitKYC(ctx, "u1", ok.Name, "110105198503071231")
		}},
		{"kyc", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.SubmitKYC(ctx, "u1", ok.Name, ok.IDNo)
		}},
		{"kyc u2", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.SubmitKYC(ctx, "u2", drop.Name, drop.IDNo)
		}},
		{"kyc status", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.KYCStatus(ctx, "u1")
		}},
		{"bind wrong phone", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.BindCard(ctx, "u1", ok.CardNo, "13900000000")
		}},
		{"bind", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			cb, err := s.BindCard(ctx, "u1", ok.CardNo, ok.Phone)
			if cb != nil {
				binding = cb.BindingID
			}
			return cb, err
		}},
		{"confirm wrong otp", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.ConfirmCard(ctx, "u1", binding, "000000")
		}},
		{"confirm", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			otp, err := b.LastOTP(ctx, ok.Phone)
			if err != nil {
				return nil, err
			}
			c, err := s.ConfirmCard(ctx, "u1", binding, otp)
			if c != nil {
				card = c.ID
			}
			return c, err
		}},
		{"bind u2", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			cb, err := s.BindCard(ctx, "u2", drop.CardNo, drop.Phone)
			if cb != nil {
				dropBinding = cb.BindingID
			}
			return cb, err
		}},
		{"confirm u2", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			otp, _ := b.LastOTP(ctx, drop.Phone)
			c, err := s.ConfirmCard(ctx, "u2", dropBinding, otp)
			if c != nil {
				dropCard = c.ID
			}
			return c, err
		}},
		{"cards", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Cards(ctx, "u1", walletctl.MaxPage)
		}},
		{"topup no password", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.TopUp(ctx, "u1", card, 10000, pw)
		}},
		{"weak password", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return nil, s.SetPassword(ctx, "u1", "123456")
		}},
		{"password", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return nil, s.SetPassword(ctx, "u1", pw)
		}},
		{"password u2", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return nil, s.SetPassword(ctx, "u2", pw)
		}},
		{"topup", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.TopUp(ctx, "u1", card, 50000, pw)
		}},
		{"topup pending", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.TopUp(ctx, "u2", dropCard, 3000, pw)
		}},
		{"pay wrong password", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Pay(ctx, walletctl.PayRequest{UserID: "u1", Merchant: "m-cinema", Amount: 100, Password: "975310"})
		}},
		{"pay", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Pay(ctx, walletctl.PayRequest{UserID: "u1", Merchant: "m-cinema", Amount: 4500, Password: pw})
		}},
		{"pay by card", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Pay(ctx, walletctl.PayRequest{UserID: "u1", Merchant: "m-cinema", Amount: 1200, Source: "card:" + card, Password: pw})
		}},
		{"pay too much", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Pay(ctx, walletctl.PayRequest{UserID: "u1", Merchant: "m-cinema", Amount: 900000, Password: pw})
		}},
		{"preview", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.PreviewTransfer(ctx, "u1", drop.Phone, 1000)
		}},
		{"transfer", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			tr, err := s.Transfer(ctx, walletctl.TransferRequest{UserID: "u1", To: "u2", Amount: 1000, Password: pw})
			if tr != nil {
				transfer = tr.ID
			}
			return tr, err
		}},
		{"accept by payer", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.AcceptTransfer(ctx, "u1", transfer)
		}},
		{"accept", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.AcceptTransfer(ctx, "u2", transfer)
		}},
		{"cancel accepted", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.CancelTransfer(ctx, "u1", transfer)
		}},
		{"delayed transfer", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			tr, err := s.Transfer(ctx, walletctl.TransferRequest{UserID: "u1", To: "u2", Amount: 500, Delay: "2h", Password: pw})
			if tr != nil {
				transfer = tr.ID
			}
			return tr, err
		}},
		{"cancel", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.CancelTransfer(ctx, "u1", transfer)
		}},
		{"balance", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) { return s.Balance(ctx, "u1") }},
		{"balance u2", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) { return s.Balance(ctx, "u2") }},
		{"transactions", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Transactions(ctx, "u1", walletctl.MaxPage)
		}},
		{"transaction", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Transaction(ctx, "u1", "t1")
		}},
		{"transaction missing", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Transaction(ctx, "u1", "t999")
		}},
		{"transfers", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Transfers(ctx, "u2", walletctl.MaxPage)
		}},
		{"withdraw", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Withdraw(ctx, "u1", card, 2000, pw)
		}},
		{"reset start", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			r, err := s.StartPasswordReset(ctx, "u1", ok.Name, ok.IDNo, ok.CardNo)
			if r != nil {
				reset = r.ResetID
			}
			return r, err
		}},
		{"reset complete", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			otp, _ := b.LastOTP(ctx, ok.Phone)
			return nil, s.CompletePasswordReset(ctx, "u1", reset, otp, "246813")
		}},
		{"security log", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.SecurityLog(ctx, "u1", walletctl.MaxPage)
		}},
		{"merchants", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Merchants(ctx, walletctl.MaxPage)
		}},
		{"set status", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.SetUserStatus(ctx, "u2", walletctl.StatusRestricted)
		}},
		{"restricted pay", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Pay(ctx, walletctl.PayRequest{UserID: "u2", Merchant: "m-cinema", Amount: 100, Password: pw})
		}},
		{"unbind", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return nil, s.UnbindCard(ctx, "u2", dropCard)
		}},
		{"unbind again", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return nil, s.UnbindCard(ctx, "u2", dropCard)
		}},
		{"advance", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Advance(ctx, 26*time.Hour)
		}},
		{"now", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) { return s.Now(ctx) }},
		{"reconcile", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) { return s.Reconcile(ctx, "") }},
		{"reconcile bad date", func(ctx context.Context, s walletctl.Service, b bankAdmin) (any, error) {
			return s.Reconcile(ctx, "yesterday")
		}},
	}
}

type outcome struct {
	Result string
	Code   string
	Error  string // the whole error body as JSON: message, hint, details
}

func runScript(t *testing.T, svc walletctl.Service, bank bankAdmin) []outcome {
	t.Helper()
	ctx := context.Background()
	var out []outcome
	for _, st := range parityScript() {
		res, err := st.run(ctx, svc, bank)
		o := outcome{Code: walletctl.ErrorCode(err)}
		if v := reflect.ValueOf(res); res != nil && !(v.Kind() == reflect.Pointer && v.IsNil()) {
			b, _ := json.Marshal(res)
			o.Result = string(b)
		}
		if we, ok := err.(*walletctl.Error); ok {
			// Through JSON, as the wire carries it (numbers in details become float64).
			b, _ := json.Marshal(errorBody{we.Code, we.Message, we.Hint, we.Details})
			var norm any
			json.Unmarshal(b, &norm)
			b, _ = json.Marshal(norm)
			o.Error = string(b)
		} else if err != nil {
			o.Error = err.Error()
		}
		out = append(out, o)
	}
	return out
}

// The same calls through the engine directly and through client → server → engine give the same
// results and the same errors, codes, hints and details included.
func TestParityEngineAndHTTP(t *testing.T) {
	ctx := context.Background()
	sb, err := sandbox.Init(ctx, sandbox.Options{Home: t.TempDir(), Throwaway: true}, sandbox.InitOptions{Seed: 7, Customers: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(ctx)
	direct := runScript(t, sb.Service(), sb.Bank()) // in-process bank: sb.Advance is the wallet's

	s, hs := startServer(t, Options{}, tenant.Options{})
	ct := createTenant(t, s, walletctl.TenantSpec{Name: "parity", Seed: 7, Customers: 5})
	c := NewClient(hs.URL, ct.APIKey, ClientOptions{})
	remote := runScript(t, c, c.Bank(5*time.Second))

	script := parityScript()
	codes := map[string]bool{}
	for i := range direct {
		if direct[i] != remote[i] {
			t.Errorf("step %q differs:\n direct %+v\n remote %+v", script[i].name, direct[i], remote[i])
		}
		codes[direct[i].Code] = true
	}
	// The script must exercise errors of many kinds, a result beside an error (PENDING) included.
	for _, want := range []string{"", walletctl.CodeAlreadyExists, walletctl.CodeInvalidPhone, walletctl.CodeNotFound,
		walletctl.CodePasswordWrong, walletctl.CodePending, walletctl.CodeInsufficientBalance, walletctl.CodeTransferState} {
		if !codes[want] {
			t.Errorf("the script never produced code %q; codes seen: %v", want, codes)
		}
	}
	for i, o := range remote {
		if o.Code == walletctl.CodePending && o.Result == "" {
			t.Errorf("step %q: PENDING came back without its transaction", script[i].name)
		}
	}
}

func TestTenantIsolationAndKeys(t *testing.T) {
	ctx := context.Background()
	s, hs := startServer(t, Options{}, tenant.Options{})
	a := createTenant(t, s, walletctl.TenantSpec{Name: "a", Seed: 1, Customers: 3})
	b := createTenant(t, s, walletctl.TenantSpec{Name: "b", Seed: 1, Customers: 3})
	if a.ID == b.ID || a.APIKey == b.APIKey {
		t.Fatalf("two tenants share id or key: %+v %+v", a, b)
	}
	ca, cb := NewClient(hs.URL, a.APIKey, ClientOptions{}), NewClient(hs.URL, b.APIKey, ClientOptions{})
	ua, err := ca.Register(ctx, "13800000001")
	if err != nil {
		t.Fatal(err)
	}
	ub, err := cb.Register(ctx, "13900000002")
	if err != nil {
		t.Fatal(err)
	}
	if ua.ID != "u1" || ub.ID != "u1" {
		t.Fatalf("each tenant numbers its own users: %s %s", ua.ID, ub.ID)
	}
	// Same id, different data.
	ga, _ := ca.User(ctx, "u1")
	gb, _ := cb.User(ctx, "u1")
	if ga.Phone != "13800000001" || gb.Phone != "13900000002" {
		t.Fatalf("tenants see each other's data: a=%s b=%s", ga.Phone, gb.Phone)
	}
	// b cannot find a's user by phone, nor change it.
	if _, err := cb.User(ctx, "13800000001"); walletctl.ErrorCode(err) != walletctl.CodeNotFound {
		t.Fatalf("tenant b reads a's user: %v", err)
	}
	if _, err := cb.SetUserStatus(ctx, "u1", walletctl.StatusFrozen); err != nil {
		t.Fatal(err)
	}
	if ga, _ := ca.User(ctx, "u1"); ga.Status != walletctl.StatusNormal {
		t.Fatalf("tenant b changed a's user: %s", ga.Status)
	}
	// Clocks are separate too.
	if _, err := cb.Advance(ctx, 5*time.Hour); err != nil {
		t.Fatal(err)
	}
	na, _ := ca.Now(ctx)
	nb, _ := cb.Now(ctx)
	if nb.Sub(na) != 5*time.Hour {
		t.Fatalf("clocks: a %s b %s", na, nb)
	}
	// Bank state too: a fault staged in a's bank is not in b's.
	if _, err := ca.Bank(time.Second).AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultRefuse, Op: bankapi.OpDebit, First: 1}); err != nil {
		t.Fatal(err)
	}
	fa, _ := ca.Bank(time.Second).Faults(ctx)
	fb, _ := cb.Bank(time.Second).Faults(ctx)
	if len(fa) != 1 || len(fb) != 0 {
		t.Fatalf("faults: a %d b %d", len(fa), len(fb))
	}

	// Without a valid key nothing is served: every route, the bank included.
	for _, key := range []string{"", "wk_wrong", a.APIKey + "x"} {
		for _, rt := range Routes {
			path := pathParam.ReplaceAllString(rt.Path, "u1")
			req, _ := http.NewRequest(rt.Method, hs.URL+path, strings.NewReader("{}"))
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), CodeUnauthenticated) {
				t.Fatalf("%s %s with key %q: %d %s", rt.Method, path, key, resp.StatusCode, body)
			}
		}
		bad := NewClient(hs.URL, key, ClientOptions{})
		if _, err := bankapi.AllCustomers(ctx, bad.Bank(time.Second)); err == nil {
			t.Fatalf("bank customers with key %q served", key)
		}
		if _, err := walletctl.Items(bad.Users(ctx, walletctl.MaxPage)); walletctl.ErrorCode(err) != walletctl.CodeUnauthenticated { // exit 7 (authentication), not 2
			t.Fatalf("client error for a bad key: %v", err)
		}
	}
	// Deleting a tenant revokes its key and leaves the other alone.
	if err := s.Tenants().Delete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := walletctl.Items(ca.Users(ctx, walletctl.MaxPage)); err == nil {
		t.Fatal("deleted tenant still served")
	}
	if us, err := walletctl.Items(cb.Users(ctx, walletctl.MaxPage)); err != nil || len(us) != 1 {
		t.Fatalf("other tenant after delete: %v %v", us, err)
	}
}

func TestAdminTokenAndPersistence(t *testing.T) {
	for _, keepOpen := range []bool{false, true} {
		t.Run(map[bool]string{false: "reopen", true: "keep-open"}[keepOpen], func(t *testing.T) {
			testAdminTokenAndPersistence(t, keepOpen)
		})
	}
}

func testAdminTokenAndPersistence(t *testing.T, keepOpen bool) {
	ctx := context.Background()
	data := t.TempDir()
	s, hs := startServer(t, Options{AdminToken: "admin-secret"}, tenant.Options{Data: data, KeepOpen: keepOpen})
	if st, _ := testworld.Call(t, "POST", hs.URL+"/admin/tenants", "", `{"name":"x"}`); st != http.StatusUnauthorized {
		t.Fatalf("no token: %d", st)
	}
	if st, _ := testworld.Call(t, "POST", hs.URL+"/admin/tenants", "wrong", `{"name":"x"}`); st != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", st)
	}
	st, body := testworld.Call(t, "POST", hs.URL+"/admin/tenants", "admin-secret", `{"name":"team","seed":3,"customers":4}`)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, body)
	}
	var ct walletctl.CreatedTenant
	json.Unmarshal([]byte(body), &ct)
	if ct.ID != "t1" || !strings.HasPrefix(ct.APIKey, "wk_") || ct.Seed != 3 || ct.Customers != 4 {
		t.Fatalf("created: %+v", ct)
	}
	// A wallet time is to the second, in +08:00, as every other one the API writes.
	if ca := regexp.MustCompile(`"created_at":"([^"]*)"`).FindStringSubmatch(body); ca == nil ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$`).MatchString(ca[1]) {
		t.Errorf("created_at: %s", body)
	}
	if st, body := testworld.Call(t, "POST", hs.URL+"/admin/tenants", "admin-secret", `{"name":"x","customers":-1}`); st != http.StatusBadRequest {
		t.Fatalf("bad spec: %d %s", st, body)
	}
	if st, body := testworld.Call(t, "POST", hs.URL+"/admin/tenants", "admin-secret", `{"nme":"x"}`); st != http.StatusBadRequest {
		t.Fatalf("unknown field: %d %s", st, body)
	}
	st, body = testworld.Call(t, "GET", hs.URL+"/admin/tenants", "admin-secret", "")
	if st != 200 || !strings.Contains(body, `"team"`) || strings.Contains(body, ct.APIKey) || strings.Contains(body, "key") {
		t.Fatalf("list (must not show keys or their hashes): %d %s", st, body)
	}
	c := NewClient(hs.URL, ct.APIKey, ClientOptions{})
	if _, err := c.Register(ctx, "13800000001"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Advance(ctx, 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Bank(time.Second).AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultRefuse, Op: bankapi.OpDebit, First: 1}); err != nil {
		t.Fatal(err)
	}
	// The file holds the key's hash, never the key.
	raw, _ := os.ReadFile(filepath.Join(data, tenant.File))
	if strings.Contains(string(raw), ct.APIKey) || !strings.Contains(string(raw), "key_sha256") {
		t.Fatalf("tenants.json: %s", raw)
	}

	// A restart keeps tenants, keys, users and the clock.
	hs.Close()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s2, hs2 := startServer(t, Options{AdminToken: "admin-secret"}, tenant.Options{Data: data, KeepOpen: keepOpen})
	c2 := NewClient(hs2.URL, ct.APIKey, ClientOptions{})
	u, err := c2.User(ctx, "u1")
	if err != nil || u.Phone != "13800000001" {
		t.Fatalf("after restart: %+v %v", u, err)
	}
	if now, _ := c2.Now(ctx); !now.Equal(vclock.DefaultEpoch.Add(3 * time.Hour)) {
		t.Fatalf("clock after restart: %s", now)
	}
	if fs, err := c2.Bank(time.Second).Faults(ctx); err != nil || len(fs) != 1 {
		t.Fatalf("the bank's state after restart: %v %v", fs, err)
	}
	// The next tenant does not reuse an id.
	ct2 := createTenant(t, s2, walletctl.TenantSpec{})
	if ct2.ID != "t2" {
		t.Fatalf("second tenant id %s", ct2.ID)
	}
	if st, _ := testworld.Call(t, "DELETE", hs2.URL+"/admin/tenants/t1", "admin-secret", ""); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	if st, _ := testworld.Call(t, "DELETE", hs2.URL+"/admin/tenants/t1", "admin-secret", ""); st != http.StatusNotFound {
		t.Fatalf("delete again: %d", st)
	}
	if _, err := os.Stat(filepath.Join(data, "tenants", "t1")); !os.IsNotExist(err) {
		t.Fatalf("t1's folder survives: %v", err)
	}
}

// Loopback is not a credential: without the admin token nobody, from loopback or afar, reaches
// the admin API; a browser-style form POST without an Authorization header is 401 on every admin
// route and creates nothing. A server given no token made one (Server.AdminToken), and it works.
func TestAdminNeedsTheToken(t *testing.T) {
	s, _ := startServer(t, Options{}, tenant.Options{})
	if !strings.HasPrefix(s.AdminToken(), "wct_") {
		t.Fatalf("made admin token %q", s.AdminToken())
	}
	routes := []struct{ method, path string }{{"POST", "/admin/tenants"}, {"GET", "/admin/tenants"}, {"DELETE", "/admin/tenants/t1"}}
	for _, remote := range []string{"127.0.0.1:5555", "[::1]:80", "10.1.2.3:5555", "[2001:db8::1]:80"} {
		for _, rt := range routes {
			req := httptest.NewRequest(rt.method, rt.path, strings.NewReader("name=evil&customers=1"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "http://evil.example")
			req.RemoteAddr = remote
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), CodeUnauthenticated) {
				t.Errorf("%s %s from %s without the token: %d %s", rt.method, rt.path, remote, w.Code, w.Body)
			}
		}
	}
	if n := len(s.Tenants().List()); n != 0 {
		t.Fatalf("%d tenants after the refused requests", n)
	}
	req := httptest.NewRequest("GET", "/admin/tenants", nil)
	req.RemoteAddr = "10.1.2.3:5555"
	req.Header.Set("Authorization", "Bearer "+s.AdminToken())
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("with the made token: %d", w.Code)
	}
}

// Every served route is in /openapi.json, with its method, and nothing else is.
func TestOpenAPICoversRoutes(t *testing.T) {
	_, hs := startServer(t, Options{}, tenant.Options{})
	resp, err := http.Get(hs.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	served := map[string]bool{"GET /healthz": true, "GET /openapi.json": true, "POST /admin/tenants": true,
		"GET /admin/tenants": true, "DELETE /admin/tenants/{id}": true, "GET /v1/tenant": true, "GET " + EventsPath: true}
	for _, rt := range Routes {
		served[rt.Method+" "+rt.Path] = true
	}
	// A tenant's v3 API: every route of walletctl/v3api under /tenants/{tenant}.
	for _, rt := range v3api.Routes {
		served[rt.Method+" /tenants/{tenant}"+rt.Path] = true
	}
	// The tenant's bank, proxied: every route of the bank server under /v1/bank.
	for _, rt := range bankserver.Routes() {
		served[rt.Method+" /v1/bank"+rt.Path] = true
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
			if o, _ := op.(map[string]any); o["operationId"] == nil || o["responses"] == nil {
				t.Errorf("%s %s lacks operationId or responses", m, p)
			}
		}
	}
	for k := range served {
		if !documented[k] {
			t.Errorf("served but not documented: %s", k)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("documented but not served: %s", k)
		}
	}
	// Every request body's schema names the JSON fields the server accepts.
	b := OpenAPI()
	for _, f := range []string{`"id_no"`, `"card_no"`, `"binding_id"`, `"new_password"`, `"card_id"`, `"duration"`} {
		if !bytes.Contains(b, []byte(f)) {
			t.Errorf("openapi lacks field %s", f)
		}
	}
}

func TestBodyLimitAndBadJSON(t *testing.T) {
	s, hs := startServer(t, Options{MaxBodyBytes: 256}, tenant.Options{})
	ct := createTenant(t, s, walletctl.TenantSpec{Customers: 1})
	do := func(body string) (int, string) { return testworld.Call(t, "POST", hs.URL+"/v1/users", ct.APIKey, body) }
	if st, body := do(`{"phone":"` + strings.Repeat("1", 1000) + `"}`); st != http.StatusRequestEntityTooLarge || !strings.Contains(body, "INVALID_ARGUMENT") {
		t.Fatalf("big body: %d %s", st, body)
	}
	if st, body := do(`{"phone":`); st != http.StatusBadRequest || !strings.Contains(body, "INVALID_ARGUMENT") {
		t.Fatalf("bad json: %d %s", st, body)
	}
	if st, body := do(`{"phone":"13800000001","password":"x"}`); st != http.StatusBadRequest {
		t.Fatalf("unknown field: %d %s", st, body)
	}
	if st, body := do(`{"phone":"13800000001"}`); st != http.StatusOK {
		t.Fatalf("good: %d %s", st, body)
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer = testbin.Buffer

// The access log has a line per request, with the tenant, and no secret: passwords, OTPs and
// card and ID numbers never appear, not even in the bank paths.
func TestAccessLogMasksSecrets(t *testing.T) {
	ctx := context.Background()
	var logs syncBuffer
	s, hs := startServer(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, tenant.Options{})
	ct := createTenant(t, s, walletctl.TenantSpec{Customers: 2})
	c := NewClient(hs.URL, ct.APIKey, ClientOptions{})
	ok := testworld.Card("ok")
	otp := testworld.Opener{T: t, Wallet: c, OTPs: c.Bank(time.Second)}.OpenWallet(ok).OTP
	if _, err := c.Bank(time.Second).Customer(ctx, ok.CardNo); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, secret := range []string{ok.CardNo, ok.IDNo, testworld.Password, otp, ct.APIKey} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds a secret %q:\n%s", secret, out)
		}
	}
	if n := strings.Count(out, `"msg":"request"`); n < 7 {
		t.Errorf("%d access-log lines, want at least 7:\n%s", n, out)
	}
	if !strings.Contains(out, `"tenant":"t1"`) || !strings.Contains(out, `"path":"/v1/users/u1/cards/confirm"`) {
		t.Errorf("log lacks tenant or path:\n%s", out)
	}
}

// Requests of many clients on one tenant are serialised and all succeed; two tenants run side
// by side. Run with -race.
func TestConcurrentClients(t *testing.T) {
	ctx := context.Background()
	s, hs := startServer(t, Options{}, tenant.Options{})
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		ct := createTenant(t, s, walletctl.TenantSpec{Name: name, Customers: 1})
		c := NewClient(hs.URL, ct.APIKey, ClientOptions{})
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				phone := "1380000" + string(rune('0'+i)) + "000"
				if _, err := c.Register(ctx, phone); err != nil {
					t.Error(err)
				}
			}()
		}
		t.Cleanup(func() {
			us, err := walletctl.Items(c.Users(ctx, walletctl.MaxPage))
			if err != nil || len(us) != 8 {
				t.Errorf("tenant %s: %d users, %v", name, len(us), err)
			}
		})
	}
	wg.Wait()
}

// Shutdown finishes a request in flight: a top-up waiting 400 ms for a slow bank completes and is
// answered, and Shutdown returns without error after it.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	ctx := context.Background()
	bank := testworld.NewBank(t, testworld.Seed(1), testworld.Customers(3), testworld.Loopback("test-bank-admin"))
	bankEng := bank.Mock

	s, _ := newServer(t, Options{}, tenant.Options{Throwaway: true, Now: fixedNow, BankToken: "test-bank-admin"})
	ct := createTenant(t, s, walletctl.TenantSpec{Seed: 1, Customers: 3, BankURL: bank.URL})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	c := NewClient("http://"+ln.Addr().String(), ct.APIKey, ClientOptions{})
	req := readyPayer(t, c, c.Bank(5*time.Second))
	if _, err := bankEng.AddFault(ctx, bankapi.Fault{Kind: bankapi.FaultDelay, Op: bankapi.OpDebit, Delay: 400 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var txn *walletctl.Txn
	go func() {
		var err error
		txn, err = c.TopUp(ctx, req.UserID, strings.TrimPrefix(req.Source, "card:"), 1000, req.Password)
		done <- err
	}()
	time.Sleep(150 * time.Millisecond) // the top-up is now waiting for the bank
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the request in flight failed: %v", err)
	}
	if txn.Status != walletctl.TxnSucceeded {
		t.Fatalf("top-up %s", txn.Status)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Fatalf("Shutdown returned after %s, before the request in flight finished", waited)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// A fault that drops the connection inside the tenant's bank proxy (the handler aborts) leaves
// the tenant usable: its sandbox is saved and unlocked.
func TestBankProxyAbortKeepsTenantUsable(t *testing.T) {
	ctx := context.Background()
	s, hs := startServer(t, Options{}, tenant.Options{})
	ct := createTenant(t, s, walletctl.TenantSpec{Customers: 2})
	for _, fault := range []string{"refuse", "malformed", "http_error"} {
		req, _ := http.NewRequest("POST", hs.URL+"/v1/bank/v1/debits", strings.NewReader(`{"agreement":"agr_x","amount":100,"currency":"CNY"}`))
		req.Header.Set("Authorization", "Bearer "+ct.APIKey)
		req.Header.Set("Idempotency-Key", "k-"+fault)
		req.Header.Set("X-Bankmock-Fault", fault)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c := NewClient(hs.URL, ct.APIKey, ClientOptions{})
	if _, err := c.Register(cctx, "13800000001"); err != nil {
		t.Fatalf("tenant after aborted bank requests: %v", err)
	}
}

// An Idempotency-Key travels from the client's ctx to the engine: the same key twice is one
// top-up (the first transaction again), the same key with another amount is CONFLICT, and a
// request without a key is a new top-up.
func TestIdempotencyKeyOverHTTP(t *testing.T) {
	ctx := context.Background()
	s, hs := startServer(t, Options{}, tenant.Options{})
	ct := createTenant(t, s, walletctl.TenantSpec{Customers: 1})
	c := NewClient(hs.URL, ct.APIKey, ClientOptions{})
	req := readyPayer(t, c, c.Bank(5*time.Second))
	card := strings.TrimPrefix(req.Source, "card:")
	kctx := walletctl.WithIdempotencyKey(ctx, "idem-http-1")
	t1, err := c.TopUp(kctx, req.UserID, card, 500, req.Password)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := c.TopUp(kctx, req.UserID, card, 500, req.Password)
	if err != nil {
		t.Fatal(err)
	}
	if t1.ID != t2.ID {
		t.Errorf("same key gave two transactions %s and %s", t1.ID, t2.ID)
	}
	if _, err := c.TopUp(kctx, req.UserID, card, 600, req.Password); walletctl.ErrorCode(err) != walletctl.CodeConflict {
		t.Errorf("same key, other amount: %v; want CONFLICT", err)
	}
	t3, err := c.TopUp(ctx, req.UserID, card, 500, req.Password)
	if err != nil {
		t.Fatal(err)
	}
	if t3.ID == t1.ID {
		t.Errorf("a top-up without a key replayed %s", t1.ID)
	}
	bal, err := c.Balance(ctx, req.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if bal.Available != 1000 {
		t.Errorf("balance %d fen; want 1000 (two top-ups of 500)", bal.Available)
	}
}
