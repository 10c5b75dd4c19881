package faults_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
)

func TestMalformed(t *testing.T) {
	newWorld(t, 0).check(t, debitCase{spec: "malformed", key: "k1", code: bankapi.CodeOutcomeUnknown, resp: "05",
		processed: true, outcome: "ok", detail: "processed; garbage response",
		// Over HTTP: 200 and the first half of the real answer.
		overHTTP: func(t *testing.T, resp *http.Response, b []byte, err error) {
			if err != nil || resp.StatusCode != 200 || len(b) == 0 || json.Valid(b) || b[0] != '{' {
				t.Fatalf("over HTTP: %v %q %v", resp, b, err)
			}
		}})
}
