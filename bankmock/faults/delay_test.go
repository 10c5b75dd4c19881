package faults_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
)

func TestDelay(t *testing.T) {
	w := newWorld(t, 0)
	// Over HTTP the server waits in the engine, then answers as usual, naming the fault.
	answered := func(t *testing.T, resp *http.Response, b []byte, err error) {
		var tx bankapi.Transaction
		if err != nil || resp.StatusCode != 200 || json.Unmarshal(b, &tx) != nil || tx.Status != bankapi.TxnSucceeded ||
			resp.Header.Get(bankapi.HeaderFaultFired) == "" {
			t.Fatalf("over HTTP: %v %s %v", resp, b, err)
		}
	}
	// Inside the in-process caller's 5 s patience: the normal answer, after the delay.
	w.check(t, debitCase{spec: "delay;delay=2s", key: "k1", processed: true, outcome: "ok", detail: "processed after 2s", overHTTP: answered})
	// Past it: processed, the caller does not know (04).
	w.check(t, debitCase{spec: "delay;delay=6s", key: "k2", code: bankapi.CodeOutcomeUnknown, resp: "04",
		processed: true, outcome: "ok", detail: "processed after 6s", overHTTP: answered})
	// What the engine waited, in order: 2 s in-process and for the server; then the in-process
	// caller's 5 s patience, and the server's whole 6 s.
	if want := []time.Duration{2 * time.Second, 2 * time.Second, 5 * time.Second, 6 * time.Second}; !slices.Equal(w.slept, want) {
		t.Fatalf("waited %v, want %v", w.slept, want)
	}
	if _, err := bankapi.ParseFault("delay;delay=-1s"); err == nil {
		t.Fatal("a negative delay parsed")
	}
}
