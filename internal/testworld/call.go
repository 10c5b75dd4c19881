package testworld

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Call sends one request to a server of the world (a wallet server, a tenant's bank) with the
// bearer token (none when empty), body as JSON (none when empty) and the header pairs in hdr,
// and returns the status and the body; it fails the test when nothing answers.
func Call(t testing.TB, method, url, token, body string, hdr ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Hanging is a receiver that never answers: it holds every request until the client gives up
// (its context ends) or the test ends. It returns the receiver's URL.
func Hanging(t testing.TB) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: the handlers end before Close waits on them
	return srv.URL
}
