package httpapi

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/openapivalidate"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// GET /v1/events is in the document, and what the server answers matches it: the stream (200,
// text/event-stream, Last-Event-ID accepted), 401 without a key, and 503 SERVER_BUSY with
// Retry-After once the tenant has as many streams open as it may.
func TestOpenAPIEvents(t *testing.T) {
	v, err := openapivalidate.New("wallet", OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	v.StrictStatus = true
	v.Headers = []string{"Retry-After", "WWW-Authenticate"}
	s, _ := startServer(t, Options{}, tenant.Options{})
	hs := httptest.NewServer(v.Wrap(s))
	defer hs.Close()
	ct := createTenant(t, s, walletctl.TenantSpec{Customers: 2})

	ctx, cancel := context.WithCancel(context.Background())
	open := func(key, last string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+EventsPath, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := open("", ""); resp.StatusCode != 401 {
		t.Errorf("no key: %d", resp.StatusCode)
	}
	var streams []*http.Response
	for i := range 64 {
		resp := open(ct.APIKey, map[bool]string{true: "12345"}[i == 0])
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream %d: %d %s", i, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		streams = append(streams, resp)
	}
	line, err := bufio.NewReader(streams[0].Body).ReadString('\n')
	if err != nil || line != "retry: 1000\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	resp := open(ct.APIKey, "")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a stream beyond the limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp.Body.Close()
	cancel() // the clients go: each handler ends and its answer is checked
	done := make(chan struct{})
	go func() { hs.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the streams did not end when their clients went")
	}
	if v.Seen()["GET "+EventsPath] != 66 {
		t.Errorf("the validator matched %d requests to GET %s, want 66", v.Seen()["GET "+EventsPath], EventsPath)
	}
	for _, e := range v.Errors() {
		t.Error(e)
	}
	if doc := string(OpenAPI()); !strings.Contains(doc, `"AttemptEvent"`) || !strings.Contains(doc, "text/event-stream") {
		t.Error("the document does not describe the stream's events")
	}
}
