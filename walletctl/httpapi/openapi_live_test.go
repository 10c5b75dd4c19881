package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/internal/openapivalidate"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// TestOpenAPIProxiedBankPaths: the wallet's document is valid OpenAPI 3 for kin-openapi, and
// its /v1/bank/... paths (several segments, as walletctl bank sends them) are found by a
// validator, with the bank's own schemas: requests and responses through a real wallet server
// must match it, the admin API (with and without its token) included.
func TestOpenAPIProxiedBankPaths(t *testing.T) {
	v, err := openapivalidate.New("wallet", OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	v.Headers = []string{bankapi.HeaderFaultFired, "Retry-After", "WWW-Authenticate"}
	s, _ := startServer(t, Options{}, tenant.Options{})
	hs := httptest.NewServer(v.Wrap(s))
	defer hs.Close()
	ct := createTenant(t, s, walletctl.TenantSpec{Customers: 2})
	ok := bankmock.TestCards[0].Customer
	var last string
	send := func(method, path, body string, hdr ...string) int {
		t.Helper()
		var st int
		st, last = testworld.Call(t, method, hs.URL+path, ct.APIKey, body, hdr...)
		return st
	}
	for _, c := range []struct {
		method, path, body string
		want               int
		hdr                []string
	}{
		{"GET", "/v1/bank/admin/customers", "", 200, nil},
		{"GET", "/v1/bank/admin/customers/" + ok.CardNo, "", 200, nil},
		{"POST", "/v1/bank/admin/faults", `{"spec":"delay;op=banks;delay=1ms;first=1"}`, 201, nil},
		{"POST", "/v1/bank/admin/faults", `{"kind":"refuse","id":"f1","matched":0,"fired":0}`, 400, nil},
		{"GET", "/v1/bank/v1/banks", "", 200, nil},
		{"GET", "/v1/bank/v1/banks", "", 502, []string{bankapi.HeaderFault, "http_error;status=502"}},
		{"GET", "/v1/bank/v1/banks", "", 400, []string{bankapi.HeaderFault, "nonsense"}},
		{"GET", "/v1/bank/v1/statements/2026/01/05", "", 404, nil},
		{"GET", "/v1/bank/admin/clock", "", 200, nil},
		{"GET", "/v1/users", "", 200, nil},
		{"GET", "/v1/tenant", "", 200, nil},
		{"GET", "/v1/tenant", "", 401, []string{"Authorization", "Bearer wrong"}},
		{"GET", "/admin/tenants", "", 401, []string{"Authorization", ""}},
		{"GET", "/admin/tenants", "", 200, []string{"Authorization", "Bearer " + s.AdminToken()}},
	} {
		if got := send(c.method, c.path, c.body, c.hdr...); got != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, got, c.want)
		}
	}
	// Every other proxied bank route, the admin API and the wallet routes the golden suite does
	// not exercise (the suite validates the rest: walletctl/scenario TestGolden).
	card := `{"card_no":"` + ok.CardNo + `","name":"` + ok.Name + `","id_no":"` + ok.IDNo + `","phone":"` + ok.Phone + `"}`
	send("GET", "/v1/bank/healthz", "")
	send("GET", "/v1/bank/openapi.json", "")
	send("POST", "/v1/bank/v1/cards/verify", card)
	send("POST", "/v1/bank/v1/identities/verify", `{"name":"`+ok.Name+`","id_no":"`+ok.IDNo+`"}`)
	if !strings.Contains(last, `"match":true`) {
		t.Errorf("identity registry through the proxy: %s", last)
	}
	send("POST", "/v1/bank/v1/bindings", card)
	id := between(last, `"binding_id":"`, `"`)
	send("GET", "/v1/bank/admin/otp?phone="+ok.Phone, "")
	otp := between(last, `"otp":"`, `"`)
	send("POST", "/v1/bank/v1/bindings/"+id+"/confirm", `{"otp":"`+otp+`"}`)
	agr := between(last, `"agreement":"`, `"`)
	money := `{"agreement":"` + agr + `","amount":1250,"currency":"CNY"}`
	send("POST", "/v1/bank/v1/debits", money, "Idempotency-Key", "k1")
	send("POST", "/v1/bank/v1/credits", money, "Idempotency-Key", "c1", bankapi.HeaderFault, "http_error;status=418")
	send("GET", "/v1/bank/v1/transactions/k1", "")
	send("GET", "/v1/bank/v1/statements/2026-01-05", "")
	send("DELETE", "/v1/bank/v1/agreements/"+agr, "")
	send("POST", "/v1/bank/admin/customers", `{"generate":1}`)
	send("POST", "/v1/bank/admin/customers", `null`)
	send("PATCH", "/v1/bank/admin/customers/"+ok.CardNo, `{"balance":5}`)
	send("GET", "/v1/bank/admin/faults", "")
	send("POST", "/v1/bank/admin/faults", `{"kind":"delay","op":"statement","delay":1000}`)
	send("DELETE", "/v1/bank/admin/faults/"+between(last, `"id":"`, `"`), "")
	send("DELETE", "/v1/bank/admin/faults", "")
	send("GET", "/v1/bank/admin/journal", "")
	send("POST", "/v1/bank/admin/clock", `{"advance":"1h"}`)
	send("GET", "/v1/bank/admin/snapshot", "")
	snap := last
	send("POST", "/v1/bank/admin/reset", "")
	send("PUT", "/v1/bank/admin/snapshot", snap)
	send("GET", "/v1/bank/admin/partners", "")
	send("POST", "/v1/bank/admin/partners", `{"name":"x"}`)
	send("GET", "/healthz", "")
	send("GET", "/openapi.json", "")
	send("POST", "/v1/users", `{"phone":"13900000001"}`)
	send("GET", "/v1/users/u1/transfers", "")
	send("POST", "/admin/tenants", `{"name":"second","customers":1}`, "Authorization", "Bearer "+s.AdminToken())
	send("DELETE", "/admin/tenants/"+between(last, `"id":"`, `"`), "", "Authorization", "Bearer "+s.AdminToken())
	send("GET", "/v1/users", "", "Authorization", "Bearer wrong")
	for _, op := range v.Missing() {
		if strings.HasPrefix(op, "GET /v1/users/") || strings.HasPrefix(op, "POST /v1/users/") || strings.HasPrefix(op, "PUT /v1/users/") ||
			strings.HasPrefix(op, "DELETE /v1/users/") || !strings.Contains(op, "/v1/bank/") && !strings.Contains(op, "/admin/") && strings.HasPrefix(strings.SplitN(op, " ", 2)[1], "/v1/") {
			continue // the wallet's own routes: the golden suite exercises them
		}
		if strings.Contains(op, " /tenants/{tenant}/v3/") {
			continue // a tenant's v3 API: TestOpenAPIV3Paths exercises it
		}
		t.Errorf("%s: not exercised", op)
	}
	for _, e := range v.Errors() {
		t.Error(e)
	}
	seen := v.Seen()
	for _, op := range []string{"GET /v1/bank/admin/customers", "GET /v1/bank/v1/banks", "GET /admin/tenants"} {
		if seen[op] == 0 {
			t.Errorf("%s: no request matched it in the document", op)
		}
	}
	t.Log(v.Report())
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	out, _, _ := strings.Cut(rest, to)
	return out
}
