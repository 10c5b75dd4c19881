package faults_test

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock/faults"
)

func TestResetPeerSpec(t *testing.T) {
	f, err := bankapi.ParseFault(" reset_peer ; op=debit ; first=1 ")
	if err != nil || f.Kind != faults.ResetPeer || f.String() != "reset_peer;op=debit;first=1" {
		t.Fatalf("%+v %v", f, err)
	}
	if faults.ResetPeer.Help() != "not processed, connection reset" {
		t.Errorf("help %q", faults.ResetPeer.Help())
	}
	if !strings.Contains(bankapi.FaultKindsHelp(), "reset_peer (not processed, connection reset)") {
		t.Errorf("kinds help %q", bankapi.FaultKindsHelp())
	}
}

// In-process there is no connection to reset: the caller sees a request the bank never
// processed and no answer (OUTCOME_UNKNOWN 03). Over the network a real client's read fails with
// ECONNRESET ("connection reset by peer"), not the EOF of a closed connection. The bank debits
// neither.
func TestResetPeer(t *testing.T) {
	w := newWorld(t, 0)
	e := w.check(t, debitCase{spec: "reset_peer", key: "rp", code: bankapi.CodeOutcomeUnknown, resp: "03",
		outcome: bankapi.CodeOutcomeUnknown, detail: "not processed",
		overHTTP: func(t *testing.T, resp *http.Response, _ []byte, err error) {
			if resp != nil || !errors.Is(err, syscall.ECONNRESET) || !strings.Contains(err.Error(), "connection reset by peer") {
				t.Fatalf("want a connection reset, got %v %v", resp, err)
			}
		}})
	if !strings.Contains(e.Message, "(reset_peer)") {
		t.Fatalf("%+v", e)
	}
	// The journal names the HTTP debit's header fault (the world's second) and its key.
	j, _ := bankapi.AllJournal(bg, w.e)
	slices.Reverse(j) // oldest first: the debit, before the status query under the same key
	if i := slices.IndexFunc(j, func(j bankapi.JournalEntry) bool { return j.IdempotencyKey == "rp-http" }); i < 0 ||
		j[i].Op != bankapi.OpDebit || j[i].Fault != "header:h2" {
		t.Fatalf("journal %+v", j)
	}

	// The contrast with refuse, which closes the connection (FIN): the client reads EOF.
	_, _, err := w.debitHTTP(t, "refuse", "rf-http", 250, 0)
	if !errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("refuse: want EOF, got %v", err)
	}
}

// In-process reset_peer is exactly refuse, bar the kind's name: the caller's error and the
// journal's entry.
func TestResetPeerInProcessIsRefuse(t *testing.T) {
	w := newWorld(t, 0)
	var errs [2]*bankapi.Error
	var entries [2]bankapi.JournalEntry
	for i, spec := range []string{"reset_peer", "refuse"} {
		_, err := w.debitInProcess(t, spec, "in-"+spec, 250)
		errs[i], entries[i] = wantError(t, err, bankapi.CodeOutcomeUnknown, "03"), w.lastEntry(t)
	}
	e, r := errs[0], errs[1]
	if strings.Replace(r.Message, "(refuse)", "(reset_peer)", 1) != e.Message || r.Processed != e.Processed {
		t.Errorf("reset_peer %+v differs from refuse %+v", e, r)
	}
	pj, rj := entries[0], entries[1]
	if pj.Outcome != rj.Outcome || pj.RespCode != rj.RespCode || pj.Detail != rj.Detail || pj.Processed != rj.Processed {
		t.Errorf("journal of reset_peer %+v differs from refuse's %+v", pj, rj)
	}
}

// The protocol client turns the reset into OUTCOME_UNKNOWN (it cannot know the bank did
// nothing); its query by key then says NOT_FOUND. Staged as an admin rule through the admin API,
// first=1: the retry with the same key debits once.
func TestResetPeerAdminRuleThroughClient(t *testing.T) {
	w := newWorld(t, 0)
	c := client.New(w.srv.URL, client.Options{AdminToken: w.adm})
	rule, err := c.AddFault(bg, bankapi.Fault{Kind: faults.ResetPeer, Op: bankapi.OpDebit, First: 1})
	if err != nil || rule.Kind != faults.ResetPeer || rule.ID != "f1" {
		t.Fatalf("add rule %+v %v", rule, err)
	}
	before := w.balance(t)
	_, err = c.Debit(bg, "rp-rule", w.money(300))
	e, ok := bankapi.AsError(err)
	if !ok || e.Code != bankapi.CodeOutcomeUnknown || !strings.Contains(e.Message, "connection reset by peer") {
		t.Fatalf("want OUTCOME_UNKNOWN from a reset, got %v", err)
	}
	if _, err := c.Transaction(bg, "rp-rule"); !errors.Is(err, bankapi.ErrNotFound) {
		t.Fatalf("query after the reset: %v, want NOT_FOUND", err)
	}
	if w.balance(t) != before {
		t.Fatal("the reset debit moved money")
	}
	if _, err := c.Debit(bg, "rp-rule", w.money(300)); err != nil {
		t.Fatalf("retry after the rule's first=1: %v", err)
	}
	if w.balance(t) != before-300 {
		t.Fatalf("balance %d, want %d", w.balance(t), before-300)
	}
	rules, err := c.Faults(bg)
	if err != nil || len(rules) != 1 || rules[0].Matched != 2 || rules[0].Fired != 1 {
		t.Fatalf("rule counters %+v %v", rules, err)
	}
}
