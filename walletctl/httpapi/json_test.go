package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// walletctl serve writes JSON with &, < and > as they are, as WeChat Pay does (Go's json.Marshal
// writes \u0026, \u003c, \u003e): /v1 and /admin answers, and the document at /openapi.json.
func TestJSONNotHTMLEscaped(t *testing.T) {
	s, hs := startServer(t, Options{AdminToken: "admin-secret"}, tenant.Options{})
	ct := createTenant(t, s, walletctl.TenantSpec{Customers: 2})
	call := func(method, path, key, body string) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b
	}
	for _, c := range []struct {
		name string
		body []byte
		want string
	}{
		{"a /v1 answer", call("POST", "/v1/merchants", ct.APIKey, `{"name":"Tea & <Cake>"}`), `"name":"Tea & <Cake>"`},
		{"an /admin answer", call("POST", "/admin/tenants", "admin-secret", `{"name":"R&D <team>","customers":1}`), `"name":"R&D <team>"`},
	} {
		if !bytes.Contains(c.body, []byte(c.want)) || bytes.Contains(c.body, []byte(`\u00`)) || !json.Valid(c.body) {
			t.Errorf("%s: %s; want %s literally", c.name, c.body, c.want)
		}
	}
	if doc := OpenAPI(); bytes.Contains(doc, []byte(`\u0026`)) || bytes.Contains(doc, []byte(`\u003c`)) || !bytes.Contains(doc, []byte("<server>/tenants/<id>")) {
		t.Error("/openapi.json is HTML-escaped")
	}
}
