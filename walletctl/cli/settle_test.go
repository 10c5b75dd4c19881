package cli_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A command sends the notification tries it made due only after it has released the home: a
// second terminal is never blocked by a slow merchant's receiver. Here `trigger` pays an order
// whose receiver holds the try until the test lets it go; meanwhile `user list` on the same home
// answers at once (it used to wait for the lock, held by the payment while it waited on the
// receiver). Then the trigger shows the try delivered.
func TestSlowReceiverBlocksNoOtherCommand(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	env := map[string]string{"WALLETCTL_SANDBOX_THROWAWAY": "1"}
	succeeded(t, runIn(home, "", env, "sandbox", "init", "--seed", "4", "--customers", "3", "--set", "notify_timeout=1m"))
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	}))
	defer rcv.Close()
	released := false
	free := func() {
		if !released {
			released = true
			close(release)
		}
	}
	defer free()

	triggered := make(chan result, 1)
	go func() {
		triggered <- runIn(home, "", env, "trigger", "TRANSACTION.SUCCESS", "--notify-url", rcv.URL+"/notify")
	}()
	select {
	case <-arrived: // the try is out, and held
	case r := <-triggered:
		t.Fatalf("trigger ended before its try reached the receiver: %s", r)
	case <-time.After(20 * time.Second):
		t.Fatal("the try never reached the receiver")
	}
	listed := make(chan result, 1)
	go func() { listed <- runIn(home, "", env, "user", "list") }()
	select {
	case r := <-listed:
		if r.code != 0 || !strings.Contains(r.out, "u1") || strings.Contains(r.errOut, "waiting for another walletctl") {
			t.Fatalf("user list while a try is held: %s", r)
		}
	case <-time.After(10 * time.Second):
		free()
		t.Fatal("user list waited for the home while the trigger's try was held by its receiver")
	}
	free()
	select {
	case r := <-triggered:
		if r.code != 0 || !strings.Contains(r.out, "delivered") {
			t.Fatalf("trigger: %s", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the trigger never returned")
	}
}
