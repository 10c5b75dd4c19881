package faults_test

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
)

func TestHang(t *testing.T) {
	w := newWorld(t, 0)
	w.check(t, debitCase{spec: "hang", key: "k1", code: bankapi.CodeOutcomeUnknown, resp: "03",
		outcome: bankapi.CodeOutcomeUnknown, detail: "not processed", timeout: 100 * time.Millisecond,
		// Over HTTP the connection is held until the client gives up.
		overHTTP: func(t *testing.T, resp *http.Response, _ []byte, err error) {
			var ne net.Error
			if resp != nil || !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("want the client's timeout, got %v %v", resp, err)
			}
		}})
	if len(w.slept) != 1 || w.slept[0] != 5*time.Second {
		t.Fatalf("the in-process caller waited %v, want its 5s timeout", w.slept)
	}
}

// HangTimeout is the backstop for a client that never gives up: the connection is closed.
func TestHangBackstop(t *testing.T) {
	w := newWorld(t, 20*time.Millisecond)
	resp, b, err := w.debitHTTP(t, "hang", "k", 100, 0)
	wantClosed(t, resp, b, err)
}
