package faults_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
)

func TestHTTPError(t *testing.T) {
	w := newWorld(t, 0)
	for _, tt := range []struct {
		spec   string
		status int
	}{{"http_error;status=502", 502}, {"http_error", 503}, {"http_error;status=429", 429}} {
		w.check(t, debitCase{spec: tt.spec, key: "k-" + itoa(tt.status), code: bankapi.CodeIssuerUnavailable, resp: "96",
			outcome: bankapi.CodeIssuerUnavailable, detail: "HTTP " + itoa(tt.status) + ", not processed",
			overHTTP: func(t *testing.T, resp *http.Response, b []byte, err error) {
				var body struct{ Error *bankapi.Error }
				if err != nil || resp.StatusCode != tt.status || json.Unmarshal(b, &body) != nil || body.Error == nil ||
					body.Error.Code != bankapi.CodeIssuerUnavailable || body.Error.Fault != resp.Header.Get(bankapi.HeaderFaultFired) {
					t.Fatalf("%s over HTTP: %v %s %v", tt.spec, resp, b, err)
				}
			}})
	}
	for _, bad := range []string{"http_error;status=200", "http_error;status=600", "http_error;status=x"} {
		if _, err := bankapi.ParseFault(bad); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}
