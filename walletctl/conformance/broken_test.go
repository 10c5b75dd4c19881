package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/internal/testworld"
)

// brokenBank is a deliberately wrong implementation of the protocol: the real bankmock handler
// with one defect bolted on, so that each defect is known exactly. The defects and the checks
// each must fail are listed in testdata/broken-banks.json.
type brokenBank struct {
	next   http.Handler
	break_ string

	mu   sync.Mutex
	seen map[string]int // replay-new-txn: how often each idempotency key came
}

// bufferedWriter holds the inner handler's answer so that a defect can rewrite it. It cannot be
// hijacked, so a drop_after fault still aborts the connection (the server panics ErrAbortHandler).
type bufferedWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.h }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedWriter) WriteHeader(s int) {
	if b.status == 0 {
		b.status = s
	}
}

func (bb *brokenBank) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch bb.break_ {
	case "no-admin":
		if strings.HasPrefix(r.URL.Path, "/admin/") {
			http.NotFound(w, r) // a partner's bank: no admin API, plain-text 404
			return
		}
	case "ignore-fault-header":
		r.Header.Del(bankapi.HeaderFault)
	case "unscoped":
		// Everyone is the default partner with every right: a bank without partners, where any
		// credential (a partner key too) is taken for the operator's.
		r.Header.Set("Authorization", "Bearer "+testAdminToken)
	case "replay-new-txn":
		if r.Method == "POST" && (r.URL.Path == "/v1/debits" || r.URL.Path == "/v1/credits") {
			k := r.Header.Get(bankapi.HeaderIdempotencyKey)
			who := r.Header.Get("Authorization") + "|" + k // keys are per partner: only a partner's own key replays
			bb.mu.Lock()
			bb.seen[who]++
			n := bb.seen[who]
			bb.mu.Unlock()
			if n > 1 { // a replay is processed as a new request
				r.Header.Set(bankapi.HeaderIdempotencyKey, k+"~"+strconv.Itoa(n))
			}
		}
	}
	bw := &bufferedWriter{h: http.Header{}}
	bb.next.ServeHTTP(bw, r)
	body := bw.body.Bytes()
	status := bw.status
	if status == 0 {
		status = http.StatusOK
	}
	var eb struct {
		Error *bankapi.Error `json:"error"`
	}
	isErr := status >= 400 && json.Unmarshal(body, &eb) == nil && eb.Error != nil
	switch {
	case bb.break_ == "mismatch-no-fields" && isErr && eb.Error.Code == bankapi.CodeInfoMismatch:
		eb.Error.Fields = nil
		body, _ = json.Marshal(eb)
	case bb.break_ == "wrong-resp-code" && isErr && eb.Error.Code == bankapi.CodeInsufficientFunds:
		eb.Error.RespCode = "05"
		body, _ = json.Marshal(eb)
	case bb.break_ == "not-found-400" && isErr && eb.Error.Code == bankapi.CodeNotFound:
		status = http.StatusBadRequest
	case bb.break_ == "statement-off-by-one" && status == 200 && strings.HasPrefix(r.URL.Path, "/v1/statements/"):
		var s map[string]any
		if json.Unmarshal(body, &s) == nil {
			s["debit_total"] = s["debit_total"].(float64) + 1
			body, _ = json.Marshal(s)
		}
	}
	for k, v := range bw.h {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type brokenCase struct {
	Break string   `json:"break"`
	Why   string   `json:"why"`
	Fail  []string `json:"fail"`
	NA    []string `json:"na"`
}

func TestBrokenBanksFailTheirChecks(t *testing.T) {
	data, err := os.ReadFile("testdata/broken-banks.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []brokenCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 5 {
		t.Fatalf("only %d broken banks in testdata", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Break, func(t *testing.T) {
			bank := newBank(t, testworld.WrapHandler(func(h http.Handler) http.Handler {
				return &brokenBank{next: h, break_: c.Break, seen: map[string]int{}}
			}))
			rep := RunBank(context.Background(), testConfig(bank.URL))
			gotFail, gotNA := rep.Names(Fail), rep.Names(NA)
			if !slices.Equal(gotFail, c.Fail) || !slices.Equal(gotNA, c.NA) {
				var b strings.Builder
				rep.WriteTable(&b, false)
				t.Errorf("%s (%s):\nfailed %q\n  want %q\nn/a    %q\n  want %q\n%s", c.Break, c.Why, gotFail, c.Fail, gotNA, c.NA, b.String())
			}
			if len(c.Fail) > 0 && rep.OK() {
				t.Errorf("report OK despite failures")
			}
			for _, name := range gotNA {
				if ch, _ := rep.Get(name); ch.Detail == "" {
					t.Errorf("%s is n/a without saying why", name)
				}
			}
		})
	}
}
