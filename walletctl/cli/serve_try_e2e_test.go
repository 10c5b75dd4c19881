package cli_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// walletctl serve says on standard error how to make a tenant, as bankmock serve's "try:" line
// says how to use the bank, and the line works as printed: its curl, with the admin token of the
// export line above it, creates a tenant whose key the wallet API takes.
func TestServeSaysHowToMakeATenant(t *testing.T) {
	p := startServe(t, []string{"WALLETCTL_ADMIN_TOKEN="}, "--data", t.TempDir())
	defer p.stop(t)
	tryRe := regexp.MustCompile(`(?m)^  try: curl -H "Authorization: Bearer \$WALLETCTL_ADMIN_TOKEN" -d '([^']*)' (\S+) .*$`)
	tokenRe := regexp.MustCompile(`(?m)^  export WALLETCTL_ADMIN_TOKEN=(\S+)$`)
	var try, token []string
	for deadline := time.Now().Add(10 * time.Second); try == nil || token == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no try line after the admin token's export line on standard error:\n%s", p.stderr)
		}
		try, token = tryRe.FindStringSubmatch(p.stderr.String()), tokenRe.FindStringSubmatch(p.stderr.String())
	}
	if len(try[0]) > 200 || try[2] != p.url+"/admin/tenants" {
		t.Fatalf("the try line does not name this server's /admin/tenants in one short line: %q (URL %s)", try[0], p.url)
	}
	// curl -d sends the body as a form; the line must work as it is, without a Content-Type.
	req, _ := http.NewRequest("POST", try[2], strings.NewReader(try[1]))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ct struct {
		ID     string `json:"id"`
		APIKey string `json:"api_key"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ct)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated || ct.ID == "" || ct.APIKey == "" {
		t.Fatalf("the try line's request: HTTP %d, %+v, %v", resp.StatusCode, ct, err)
	}
	req, _ = http.NewRequest("GET", p.url+"/v1/tenant", nil)
	req.Header.Set("Authorization", "Bearer "+ct.APIKey)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the new tenant's key: GET /v1/tenant HTTP %d", resp.StatusCode)
	}
}
