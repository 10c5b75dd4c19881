package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// receiver is a merchant's notification endpoint on loopback: it records the event_type of every
// envelope it receives (the resource stays encrypted: no need to decrypt it here) and answers
// 200, or 500 for the next fail requests.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	events []string
	sigs   []string
	fail   int
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var env struct {
			EventType string `json:"event_type"`
		}
		json.Unmarshal(body, &env)
		r.mu.Lock()
		r.events = append(r.events, env.EventType)
		r.sigs = append(r.sigs, req.Header.Get("Wechatpay-Signature"))
		failing := r.fail > 0
		if failing {
			r.fail--
		}
		r.mu.Unlock()
		if failing {
			http.Error(w, `{"code":"FAIL","message":"busy"}`, http.StatusInternalServerError)
			return
		}
		w.Write([]byte(`{"code":"SUCCESS"}`))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string{}, r.events...)
}

func (r *receiver) failNext(n int) {
	r.mu.Lock()
	r.fail = n
	r.mu.Unlock()
}
