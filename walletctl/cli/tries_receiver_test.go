package cli_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// try is one request a tryReceiver got: a notification try as the merchant sees it.
type try struct {
	Event      string // the envelope's id: v3's event id, the same in every try of a notification
	Path       string // the notify_url's path
	Remote     string // the sender's address (ip:port)
	Start, End time.Time
	// Abandoned: the sender went away (its connection closed) before the receiver answered.
	Abandoned bool
}

// tryReceiver is a merchant's notification endpoint on loopback that records every try and
// answers 200 after holding it for what hold says (0: at once; negative: until the sender goes
// away). It reads the envelope's id without decrypting the resource.
type tryReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	tries    []try
	inFlight map[string]int // by path
	hold     func(path string, n int) time.Duration
	conns    atomic.Int64 // connections accepted
}

func newTryReceiver(t *testing.T) *tryReceiver {
	t.Helper()
	r := &tryReceiver{inFlight: map[string]int{}, hold: func(string, int) time.Duration { return 0 }}
	release := make(chan struct{})
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		body, _ := io.ReadAll(req.Body)
		var env struct {
			ID string `json:"id"`
		}
		json.Unmarshal(body, &env)
		r.mu.Lock()
		hold := r.hold(req.URL.Path, len(r.tries))
		i := len(r.tries)
		r.tries = append(r.tries, try{Event: env.ID, Path: req.URL.Path, Remote: req.RemoteAddr, Start: start})
		r.inFlight[req.URL.Path]++
		r.mu.Unlock()
		abandoned := false
		if hold != 0 {
			var timer <-chan time.Time
			if hold > 0 {
				timer = time.After(hold)
			}
			select {
			case <-timer:
			case <-req.Context().Done():
				abandoned = true
			case <-release: // the test is over
			}
		}
		if !abandoned {
			w.Write([]byte(`{"code":"SUCCESS"}`))
		}
		r.mu.Lock()
		r.tries[i].End, r.tries[i].Abandoned = time.Now(), abandoned
		r.inFlight[req.URL.Path]--
		r.mu.Unlock()
	}))
	r.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.Start()
	t.Cleanup(r.Close)
	t.Cleanup(func() { close(release) }) // runs first: the handlers end before Close waits on them
	return r
}

func (r *tryReceiver) setHold(f func(path string, n int) time.Duration) {
	r.mu.Lock()
	r.hold = f
	r.mu.Unlock()
}

// got returns the tries whose path starts with prefix.
func (r *tryReceiver) got(prefix string) []try {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []try
	for _, x := range r.tries {
		if strings.HasPrefix(x.Path, prefix) {
			out = append(out, x)
		}
	}
	return out
}

func (r *tryReceiver) holding(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inFlight[path]
}

// waitFor polls cond every 10 ms until it holds or limit passes.
func waitFor(limit time.Duration, cond func() bool) bool {
	for end := time.Now().Add(limit); ; time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}
