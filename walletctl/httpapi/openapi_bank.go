package httpapi

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/walletctl/walletctl/bankapi"
)

// adminRule is what the server does on /admin/* (adminOnly), said in every place that documents
// the admin API.
const adminRule = "Only the admin token opens the admin API, from loopback too (anything else is 401): --admin-token, " +
	"or the one walletctl serve keeps in DATA/admin-token and shows at start."

var wwwAuth = obj{"WWW-Authenticate": obj{"description": "Bearer realm=\"walletctl\"", "schema": obj{"type": "string"}}}

func withHeaders(resp obj, h obj) obj {
	hs, _ := resp["headers"].(obj)
	if hs == nil {
		hs = obj{}
	}
	for k, v := range h {
		hs[k] = v
	}
	resp["headers"] = hs
	return resp
}

// routeTag groups a wallet route for the document's tags.
func routeTag(path string) string {
	switch {
	case strings.Contains(path, "/cards"):
		return "cards"
	case strings.Contains(path, "/transfers"):
		return "transfers"
	case strings.Contains(path, "/topups"), strings.Contains(path, "/withdrawals"), strings.Contains(path, "/payments"),
		strings.Contains(path, "/balance"), strings.Contains(path, "/transactions"):
		return "money"
	case strings.HasPrefix(path, "/v1/merchants"), strings.HasPrefix(path, "/v1/reconcile"), strings.HasPrefix(path, "/v1/clock"):
		return "sandbox"
	}
	return "users"
}

// BankPrefix is where walletctl serve proxies the tenant's bank.
const BankPrefix = "/v1/bank"

// bankProxyNote is the description every proxied operation carries.
const bankProxyNote = " Proxied to the tenant's bank at " + BankPrefix + "<bank path>, behind the tenant's API key. " +
	"A tenant with a private in-process bank (no bank_url) has full rights on it. A tenant on a shared bank server " +
	"(bank_url) acts as its own partner there and nothing more: walletctl serve drops the request's credentials and " +
	"sends only the tenant's partner key, so the bank shows the tenant only its own things, and bank-wide admin " +
	"answers 403. X-Bankmock-Fault and Idempotency-Key pass through; bank errors keep the bank's " +
	"{\"error\":{code,resp_code,message}} body; a shared bank that cannot be reached is 502 with that body."

// addBankProxy documents /v1/bank/...: every path of the bank's own document (bankapi.OpenAPI)
// under the prefix, with the bank's schemas, parameters, headers, examples and responses copied
// into components under a "Bank" prefix, the wallet's API key as the security, and the answers
// the wallet adds (401 without a valid key, 503 SERVER_BUSY, 403 and 502 from a shared bank).
func addBankProxy(paths obj, schemas obj, comps map[string]obj) {
	var bank obj
	if err := json.Unmarshal(bankapi.OpenAPI(), &bank); err != nil {
		panic("bankapi.OpenAPI: " + err.Error())
	}
	prefixRefs(bank)
	for kind, v := range bank["components"].(obj) {
		if kind == "securitySchemes" {
			continue
		}
		for name, c := range v.(obj) {
			if kind == "responses" && (name == "Unauthenticated" || name == "IssuerUnavailable") {
				continue // every proxied operation answers the wallet's own 401 and 503 (below)
			}
			if kind == "schemas" {
				schemas["Bank"+name] = c
				continue
			}
			if comps[kind] == nil {
				comps[kind] = obj{}
			}
			comps[kind]["Bank"+name] = c
		}
	}
	errEither := func(desc string, headers obj) obj {
		r := obj{"description": desc, "content": obj{"application/json": obj{"schema": obj{"anyOf": []obj{
			{"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/BankErrorBody"}}}}}}
		if headers != nil {
			r["headers"] = headers
		}
		return r
	}
	fired := obj{bankapi.HeaderFaultFired: obj{"$ref": "#/components/headers/BankFaultFired"}}
	bankErr := func(desc string) obj {
		return obj{"description": desc, "headers": fired,
			"content": obj{"application/json": obj{"schema": obj{"$ref": "#/components/schemas/BankErrorBody"}}}}
	}
	bankPaths := make([]string, 0)
	for p := range bank["paths"].(obj) {
		bankPaths = append(bankPaths, p)
	}
	sort.Strings(bankPaths)
	for _, p := range bankPaths {
		item := bank["paths"].(obj)[p].(obj)
		out := obj{}
		for m, v := range item {
			op := v.(obj)
			id, _ := op["operationId"].(string)
			op["operationId"] = "bank" + strings.ToUpper(id[:1]) + id[1:]
			op["tags"] = []string{"bank"}
			op["summary"] = "Bank: " + op["summary"].(string)
			desc, _ := op["description"].(string)
			op["description"] = strings.TrimSpace(desc + bankProxyNote)
			op["security"] = []obj{{"apiKey": []string{}}}
			resps := op["responses"].(obj)
			resps["401"] = errEither("no valid API key for the wallet (the wallet's error body)", wwwAuth)
			busy := errEither("SERVER_BUSY from the wallet (the tenant's queue is full; retry after Retry-After), or the bank's own 503 (ISSUER_UNAVAILABLE)",
				obj{"Retry-After": obj{"description": "seconds to wait (SERVER_BUSY)", "schema": obj{"type": "integer"}},
					bankapi.HeaderFaultFired: obj{"$ref": "#/components/headers/BankFaultFired"}})
			resps["503"] = busy
			if _, ok := resps["403"]; !ok {
				resps["403"] = bankErr("UNAUTHORIZED: the tenant is on a shared bank and has no partner key there (or the bank refuses its partner)")
			}
			if _, ok := resps["502"]; !ok {
				resps["502"] = bankErr("a shared bank that cannot be reached or answered badly (ISSUER_UNAVAILABLE or OUTCOME_UNKNOWN): the bank's error body")
			}
			out[m] = op
		}
		paths[BankPrefix+p] = out
	}
}

// prefixRefs rewrites every local component reference "#/components/<kind>/<name>" in v to
// "#/components/<kind>/Bank<name>", the names the bank's components get in the wallet's document.
func prefixRefs(v any) {
	switch x := v.(type) {
	case obj:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				if rest, ok := strings.CutPrefix(s, "#/components/"); ok {
					if kind, name, ok := strings.Cut(rest, "/"); ok {
						x[k] = "#/components/" + kind + "/Bank" + name
					}
				}
				continue
			}
			prefixRefs(e)
		}
	case []any:
		for _, e := range x {
			prefixRefs(e)
		}
	}
}
