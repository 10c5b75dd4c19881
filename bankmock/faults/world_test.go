package faults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/banktest"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
)

// The kinds' tests share one small world: a bank with the magic "ok" card bound (by the default
// partner, so that requests without credentials can debit it), reachable in-process and through
// a real loopback server. Its Sleep records what the engine waited instead of waiting.

var bg = context.Background()

type world struct {
	e    *bankmock.Engine
	srv  *httptest.Server
	adm  string // the server's admin token
	card bankapi.Customer
	agr  string

	mu    sync.Mutex
	slept []time.Duration
}

// newWorld starts the world; hangTimeout bounds a held connection (0: the server's default).
func newWorld(t *testing.T, hangTimeout time.Duration) *world {
	t.Helper()
	w := &world{}
	w.e = bankmock.New(bankmock.Config{Seed: 3, Customers: 2, ClientTimeout: 5 * time.Second,
		Sleep: func(_ context.Context, d time.Duration) error {
			w.mu.Lock()
			w.slept = append(w.slept, d)
			w.mu.Unlock()
			return nil
		}})
	s := server.New(w.e, server.Options{HangTimeout: hangTimeout})
	w.adm = s.AdminToken()
	w.srv = httptest.NewServer(s)
	t.Cleanup(func() {
		s.ReleaseHangs()
		w.srv.Close()
	})
	for _, c := range bankmock.TestCards {
		if c.Key == "ok" {
			w.card = c.Customer
		}
	}
	_, a := banktest.Bind(t, bg, w.e, w.card)
	w.agr = a.Agreement
	return w
}

func (w *world) money(fen int64) bankapi.MoneyRequest {
	return bankapi.MoneyRequest{Agreement: w.agr, Amount: fen, Currency: bankapi.Currency}
}

// debitInProcess debits fen under key with the fault spec staged as the in-process header.
func (w *world) debitInProcess(t *testing.T, spec, key string, fen int64) (*bankapi.Transaction, error) {
	t.Helper()
	f, err := bankapi.ParseFault(spec)
	if err != nil {
		t.Fatal(err)
	}
	return w.e.Debit(bankmock.WithFault(bg, f), key, w.money(fen))
}

// debitHTTP posts a debit with a plain net/http client, to see what the network did: the
// response (nil when none came) and the client's error.
func (w *world) debitHTTP(t *testing.T, spec, key string, fen int64, timeout time.Duration) (*http.Response, []byte, error) {
	t.Helper()
	body, _ := json.Marshal(w.money(fen))
	req, err := http.NewRequest("POST", w.srv.URL+"/v1/debits", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(bankapi.HeaderIdempotencyKey, key)
	if spec != "" {
		req.Header.Set(bankapi.HeaderFault, spec)
	}
	// A transport of its own: no connection of another test is reused.
	hc := &http.Client{Timeout: timeout, Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// processed says whether the bank has a transaction under key (the query by key a wallet makes).
func (w *world) processed(t *testing.T, key string) bool {
	t.Helper()
	_, err := w.e.Transaction(bg, key)
	if err == nil {
		return true
	}
	if e, ok := bankapi.AsError(err); !ok || e.Code != bankapi.CodeNotFound {
		t.Fatalf("query %s: %v", key, err)
	}
	return false
}

func (w *world) balance(t *testing.T) int64 {
	t.Helper()
	c, err := w.e.Customer(bg, w.card.CardNo)
	if err != nil {
		t.Fatal(err)
	}
	return c.Balance
}

// lastEntry is the journal's last entry: its first page's first (a page is newest first).
func (w *world) lastEntry(t *testing.T) bankapi.JournalEntry {
	t.Helper()
	j, err := w.e.Journal(bg, bankapi.Page{Limit: 1})
	if err != nil || len(j.Data) == 0 {
		t.Fatalf("journal %v %v", j, err)
	}
	return j.Data[0]
}

// wantError fails unless err is a *bankapi.Error with code and resp, naming the header fault.
func wantError(t *testing.T, err error, code, resp string) *bankapi.Error {
	t.Helper()
	e, ok := bankapi.AsError(err)
	if !ok || e.Code != code || e.RespCode != resp {
		t.Fatalf("want %s (%s), got %v", code, resp, err)
	}
	if e.Fault == "" || e.Fault[:len("header:")] != "header:" {
		t.Fatalf("error %+v does not name the header fault", e)
	}
	return e
}

// wantJournal checks the last journal entry: the fault's kind, whether the bank processed the
// request, and its outcome.
func wantJournal(t *testing.T, w *world, kind bankapi.FaultKind, processed bool, outcome string) {
	t.Helper()
	j := w.lastEntry(t)
	if j.Op != bankapi.OpDebit || j.FaultKind != string(kind) || j.Processed != processed || j.Outcome != outcome {
		t.Fatalf("journal %+v, want %s processed=%v outcome %s", j, kind, processed, outcome)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// debitCase is what a kind does to a debit of 100 fen under its spec: what an in-process caller
// gets, what a plain HTTP client sees, and what the bank did. The kinds' tests list theirs and
// run them with check.
type debitCase struct {
	spec string
	// key is the in-process debit's idempotency key; the HTTP one's is key+"-http".
	key string
	// code and resp are the in-process caller's error; "": a successful debit.
	code, resp string
	// processed: the bank made both debits, and said so in the journal and the error; outcome is
	// the journal's.
	processed bool
	outcome   string
	// detail is the kind's part of the journal's detail: all of it when the bank did not
	// process, its end otherwise ("": not checked).
	detail string
	// timeout is the HTTP client's (0: none); overHTTP checks what it saw.
	timeout  time.Duration
	overHTTP func(t *testing.T, resp *http.Response, body []byte, err error)
}

// check runs c: the debit in-process, then over HTTP, checking the journal after each, and at the
// end what the bank holds. It returns the in-process caller's error (nil for a success).
func (w *world) check(t *testing.T, c debitCase) *bankapi.Error {
	t.Helper()
	f, err := bankapi.ParseFault(c.spec)
	if err != nil {
		t.Fatal(err)
	}
	before := w.balance(t)
	tx, err := w.debitInProcess(t, c.spec, c.key, 100)
	var e *bankapi.Error
	if c.code == "" {
		if err != nil || tx.Status != bankapi.TxnSucceeded {
			t.Fatalf("%s in-process: %+v %v", c.spec, tx, err)
		}
	} else if e = wantError(t, err, c.code, c.resp); e.Processed != c.processed {
		t.Fatalf("%s in-process: %+v, want processed=%v", c.spec, e, c.processed)
	}
	w.wantEntry(t, f.Kind, c, c.key)
	resp, b, err := w.debitHTTP(t, c.spec, c.key+"-http", 100, c.timeout)
	c.overHTTP(t, resp, b, err)
	w.wantEntry(t, f.Kind, c, c.key+"-http")
	var moved int64
	if c.processed {
		moved = 200
	}
	if w.processed(t, c.key) != c.processed || w.processed(t, c.key+"-http") != c.processed || w.balance(t) != before-moved {
		t.Fatalf("%s: want processed=%v: balance %d -> %d", c.spec, c.processed, before, w.balance(t))
	}
	return e
}

// wantEntry checks the journal's last entry against c: the debit under key, naming its header
// fault.
func (w *world) wantEntry(t *testing.T, kind bankapi.FaultKind, c debitCase, key string) {
	t.Helper()
	wantJournal(t, w, kind, c.processed, c.outcome)
	j := w.lastEntry(t)
	if j.IdempotencyKey != key || !strings.HasPrefix(j.Fault, "header:") {
		t.Fatalf("%s: journal %+v, want the debit %s naming its header fault", c.spec, j, key)
	}
	if c.detail != "" && (c.processed && !strings.HasSuffix(j.Detail, "; "+c.detail) || !c.processed && j.Detail != c.detail) {
		t.Fatalf("%s: journal detail %q, want %q", c.spec, j.Detail, c.detail)
	}
}

// wantClosed: the connection was closed with no response (a FIN: the client reads EOF).
func wantClosed(t *testing.T, resp *http.Response, _ []byte, err error) {
	t.Helper()
	if resp != nil || !errors.Is(err, io.EOF) {
		t.Fatalf("over HTTP: want a closed connection, got %v %v", resp, err)
	}
}
