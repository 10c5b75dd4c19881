package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The bank's JSON answers carry &, < and > as they are (Go's json.Marshal writes \u0026, \u003c,
// \u003e), as the wallet's and WeChat Pay's do: a value the bank echoes comes back literally.
func TestJSONNotHTMLEscaped(t *testing.T) {
	h := New(newEngine(), Options{})
	for _, c := range []struct {
		name, method, path string
		hdr                map[string]string
		want               string
	}{
		{"an unknown route", "GET", "/v2/a&b<c>", nil, "/v2/a&b<c>"},
		{"a fault spec echoed", "GET", "/v1/banks", map[string]string{"X-Bankmock-Fault": "a&b<c>"}, "a&b<c>"},
	} {
		r := do(h, c.method, c.path, local, "", c.hdr)
		if !strings.Contains(string(r.body), c.want) || bytes.Contains(r.body, []byte(`\u00`)) {
			t.Errorf("%s: %d %s; want %s literally", c.name, r.status, r.body, c.want)
		}
		if !json.Valid(r.body) || !bytes.HasSuffix(r.body, []byte("}\n")) {
			t.Errorf("%s: not one JSON value and a newline: %q", c.name, r.body)
		}
	}
}
