package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServePoisonedSnapshot: a tenant PUTs a snapshot with a null binding into its own bank
// through `walletctl serve` (the issue: a later request then panicked while holding the engine's
// lock, every request hung, /healthz said ok, and SIGTERM was ignored). It is refused with 400;
// the tenant's other requests, in flight at the same time, keep being answered; SIGTERM stops the
// server within its shutdown timeout.
func TestServePoisonedSnapshot(t *testing.T) {
	const key = "poison-tenant-key-0123456789"
	p := startServe(t, nil, "--data", t.TempDir(), "--tenant-key", key, "--customers", "3", "--shutdown-timeout", "5s")
	// One client, whose idle connections are closed before SIGTERM: a connection dialled but never
	// used is one the server's graceful shutdown waits for (as it should for a real client).
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	do := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, p.url+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, snap := do("GET", "/v1/bank/admin/snapshot", "")
	if code != 200 {
		t.Fatalf("snapshot: %d %s", code, snap)
	}
	var m map[string]any
	if err := json.Unmarshal(snap, &m); err != nil {
		t.Fatal(err)
	}
	m["bindings"] = map[string]any{"b_0000000000000000": nil}
	poisoned, _ := json.Marshal(m)

	var wg sync.WaitGroup
	errs := make(chan string, 64)
	ctx, stop := context.WithCancel(context.Background())
	for range 4 { // the tenant's other requests, while the poison arrives
		wg.Go(func() {
			for ctx.Err() == nil {
				if code, b := do("GET", "/v1/bank/admin/customers", ""); code != 200 {
					errs <- string(b)
					return
				}
			}
		})
	}
	if code, b := do("PUT", "/v1/bank/admin/snapshot", string(poisoned)); code != 400 || !strings.Contains(string(b), "null") {
		t.Errorf("poisoned snapshot: %d %s, want 400 naming the null entry", code, b)
	}
	time.Sleep(200 * time.Millisecond)
	stop()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a request beside the poison failed: %s", e)
	}
	// The bank still binds, and the wallet still answers.
	if code, b := do("GET", "/v1/bank/admin/customers", ""); code != 200 {
		t.Fatalf("after the poison: %d %s", code, b)
	}
	hc.CloseIdleConnections()
	start := time.Now()
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, p.stderr)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("SIGTERM took %v, past the 5s shutdown timeout", d)
	}
}
