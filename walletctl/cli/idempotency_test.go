package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/tenant/tenanttest"
)

// keyedBackend is a real wallet server (walletctl serve's handler over real tenants) seen through
// a handler that records the Idempotency-Key of every POST and, when armed, runs a request and
// then loses its answer (closes the connection, as a dying proxy or network would).
type keyedBackend struct {
	t        *testing.T
	url, key string

	mu   sync.Mutex
	keys map[string][]string // path -> the keys its POSTs carried, in order
	drop string              // answers to paths ending so are lost
}

func startKeyedBackend(t *testing.T) *keyedBackend {
	t.Helper()
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{})
	ct := srv.Create(t, walletctl.TenantSpec{Name: "cli", Seed: testSeed, Customers: 30})
	b := &keyedBackend{t: t, key: ct.APIKey, keys: map[string][]string{}}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		if r.Method == http.MethodPost {
			b.keys[r.URL.Path] = append(b.keys[r.URL.Path], r.Header.Get("Idempotency-Key"))
		}
		drop := b.drop != "" && strings.HasSuffix(r.URL.Path, b.drop)
		b.mu.Unlock()
		if drop {
			srv.Handler.ServeHTTP(httptest.NewRecorder(), r) // it runs...
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close() // ...and its answer never arrives
			}
			return
		}
		srv.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	b.url = hs.URL
	return b
}

func (b *keyedBackend) setDrop(suffix string) {
	b.mu.Lock()
	b.drop = suffix
	b.mu.Unlock()
}

func (b *keyedBackend) keysOf(path string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.keys[path]...)
}

func (b *keyedBackend) run(stdin string, args ...string) result {
	b.t.Helper()
	return runCLI(&cli.IOStreams{In: strings.NewReader(stdin)}, nil, append([]string{"--backend", b.url, "--api-key", b.key}, args...)...)
}

func (b *keyedBackend) ok(stdin string, args ...string) result {
	b.t.Helper()
	return succeeded(b.t, b.run(stdin, args...), args...)
}

var cliKey = regexp.MustCompile(`^cli-[0-9a-f]{32}$`)

// With --backend every money command sends an Idempotency-Key of its own: cli- and 16 random
// bytes, a new one per invocation.
func TestBackendMoneyCommandsSendIdempotencyKeys(t *testing.T) {
	b := startKeyedBackend(t)
	pw := cli.SandboxPassword + "\n"
	b.ok("", "flow", "open-wallet", "--seed-customer", "0")
	b.ok("", "flow", "open-wallet", "--seed-customer", "1")
	b.ok(pw, "--as", "u1", "topup", "--card", "c1", "--amount", "50", "--password-stdin")
	b.ok(pw, "--as", "u1", "topup", "--card", "c1", "--amount", "20", "--password-stdin")
	b.ok(pw, "--as", "u1", "withdraw", "--card", "c1", "--amount", "10", "--password-stdin")
	b.ok(pw, "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "5", "--password-stdin")
	b.ok(pw, "--as", "u1", "transfer", "--to", "u2", "--amount", "1", "--password-stdin")
	seen := map[string]bool{}
	for path, n := range map[string]int{"/v1/users/u1/topups": 2, "/v1/users/u1/withdrawals": 1, "/v1/payments": 3, "/v1/transfers": 1} {
		keys := b.keysOf(path)
		if len(keys) != n {
			t.Errorf("%s: %d requests, want %d", path, len(keys), n)
		}
		for _, k := range keys {
			if !cliKey.MatchString(k) {
				t.Errorf("%s sent Idempotency-Key %q; want cli- and 32 hex digits", path, k)
			}
			if seen[k] {
				t.Errorf("key %s sent by two invocations", k)
			}
			seen[k] = true
		}
	}
	if keys := b.keysOf("/v1/users"); len(keys) != 2 || keys[0] != "" {
		t.Errorf("user register sent keys %q; only money routes take them", keys)
	}
}

// A top-up whose answer is lost after the server ran it is OUTCOME_UNKNOWN (exit 10), never
// "safe to retry"; the hint names the key, and the same command with --idempotency-key KEY
// returns that top-up instead of charging again.
func TestBackendLostAnswerPrintsKeyToRetry(t *testing.T) {
	b := startKeyedBackend(t)
	pw := cli.SandboxPassword + "\n"
	b.ok("", "flow", "open-wallet", "--seed-customer", "0")
	b.setDrop("/topups")
	r := b.run(pw, "--as", "u1", "topup", "--card", "c1", "--amount", "50", "--password-stdin")
	m := regexp.MustCompile(`hint: retry with --idempotency-key (cli-[0-9a-f]{32}): the server runs it at most once\n`).FindStringSubmatch(r.errOut)
	if r.code != 10 || !strings.Contains(r.errOut, "error: OUTCOME_UNKNOWN: ") || m == nil || strings.Contains(r.errOut, "safe to retry") {
		t.Fatalf("top-up whose answer was lost: want exit 10, OUTCOME_UNKNOWN and the key in the hint, got %s", r)
	}
	key := m[1]
	for _, k := range b.keysOf("/v1/users/u1/topups") {
		if k != key { // the HTTP client may resend it once itself: always with the same key
			t.Errorf("the server saw key %q; the hint says %q", k, key)
		}
	}
	b.setDrop("")
	var txn walletctl.Txn
	r = b.ok(pw, "-o", "json", "--as", "u1", "topup", "--card", "c1", "--amount", "50", "--password-stdin", "--idempotency-key", key)
	if err := json.Unmarshal([]byte(r.out), &txn); err != nil || txn.Status != walletctl.TxnSucceeded {
		t.Fatalf("retry with the key: %v\n%s", err, r)
	}
	var txns []walletctl.Txn
	if err := json.Unmarshal([]byte(b.ok("", "-o", "json", "--as", "u1", "tx", "list").out), &txns); err != nil {
		t.Fatal(err)
	}
	var topups []string
	for _, x := range txns {
		if x.Kind == walletctl.KindTopUp {
			topups = append(topups, x.ID)
		}
	}
	if len(topups) != 1 || topups[0] != txn.ID {
		t.Fatalf("top-ups %v after the retry; want only %s", topups, txn.ID)
	}
	if r := b.ok("", "--as", "u1", "balance"); !strings.Contains(r.out, "50.00 CNY") {
		t.Fatalf("balance after one top-up of 50 sent twice:\n%s", r.out)
	}

	// -o json carries the key for scripts.
	b.setDrop("/topups")
	r = b.run(pw, "-o", "json", "--as", "u1", "topup", "--card", "c1", "--amount", "1", "--password-stdin", "--idempotency-key", "script-7")
	var e errorJSON
	if err := json.Unmarshal([]byte(r.errOut), &e); err != nil || e.Error.Code != walletctl.CodeOutcomeUnknown ||
		e.Error.Details["idempotency_key"] != "script-7" || !strings.Contains(e.Error.Hint, "--idempotency-key script-7") {
		t.Fatalf("-o json error of a lost answer: %v\n%s", err, r)
	}
}

// --idempotency-key works on the embedded sandbox too: the same key is one top-up; the same key
// with another amount is CONFLICT; a key that cannot travel in a header is refused.
func TestIdempotencyKeyFlagEmbedded(t *testing.T) {
	w := newWorld(t, false)
	user, card := w.openWallet(0)
	pw := cli.SandboxPassword
	var t1, t2 walletctl.Txn
	w.jsonOf(&t1, pw, "--as", user, "topup", "--card", card, "--amount", "30", "--password-stdin", "--idempotency-key", "order-1")
	w.jsonOf(&t2, pw, "--as", user, "topup", "--card", card, "--amount", "30", "--password-stdin", "--idempotency-key", "order-1")
	if t1.ID == "" || t1.ID != t2.ID {
		t.Fatalf("same key twice gave %q and %q; want one top-up", t1.ID, t2.ID)
	}
	if r := w.ok("--as", user, "balance"); !strings.Contains(r.out, "30.00 CNY") {
		t.Fatalf("balance after one top-up sent twice:\n%s", r.out)
	}
	w.fail(pw, walletctl.CodeConflict, 4, "--as", user, "topup", "--card", card, "--amount", "31", "--password-stdin", "--idempotency-key", "order-1")
	w.fail(pw, walletctl.CodeInvalidArgument, 2, "--as", user, "topup", "--card", card, "--amount", "31", "--password-stdin", "--idempotency-key", "a b")
}
