package httpapi

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// OpenAPI returns the OpenAPI 3 document of the API, built once from Routes (so that it lists
// exactly what the server registers) with schemas reflected from the Go types on the wire.
func OpenAPI() []byte { return openAPIOnce() }

var openAPIOnce = sync.OnceValue(func() []byte {
	b, err := json.MarshalIndent(buildOpenAPI(), "", "  ")
	if err != nil {
		panic(err)
	}
	return b
})

type obj = map[string]any

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

func buildOpenAPI() obj {
	schemas := obj{}
	ref := func(t reflect.Type) obj { return schemaOf(t, schemas) }
	errSchema := obj{"type": "object", "required": []string{"error"}, "properties": obj{
		"error": obj{"type": "object", "required": []string{"code", "message"}, "properties": obj{
			"code":    obj{"type": "string", "description": "a stable code of the walletctl code table, or UNAUTHENTICATED"},
			"message": obj{"type": "string"},
			"hint":    obj{"type": "string"},
			"details": obj{"type": "object", "additionalProperties": true},
		}},
		"result": obj{"description": "what the operation returned beside its error (a pending transaction with PENDING)"},
	}}
	schemas["Error"] = errSchema
	errResp := func(desc string) obj {
		return obj{"description": desc, "content": obj{"application/json": obj{"schema": obj{"$ref": "#/components/schemas/Error"}}}}
	}
	paths := obj{}
	add := func(method, path string, op obj) {
		p, _ := paths[path].(obj)
		if p == nil {
			p = obj{}
			paths[path] = p
		}
		p[strings.ToLower(method)] = op
	}
	for _, rt := range Routes {
		op := obj{"operationId": rt.Op, "summary": rt.Summary, "security": []obj{{"apiKey": []string{}}}}
		var params []obj
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": obj{"type": "string"}})
		}
		if moneyOps[rt.Op] {
			params = append(params, obj{"name": HeaderIdempotencyKey, "in": "header", "required": false, "schema": obj{"type": "string"},
				"description": "a retry with the same key returns the first outcome; the same key with other parameters is CONFLICT. walletctl --backend sends one with every money command (--idempotency-key, or cli- and 16 random bytes)"})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Body != nil {
			op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": ref(reflect.TypeOf(rt.Body))}}}
		}
		resps := obj{
			"default": errResp("an error with its code; the HTTP status follows the code table"),
			"401":     errResp("no valid API key"),
		}
		busy := errResp("SERVER_BUSY: the tenant's queue of waiting requests is full; this one was not run, so sending it again after Retry-After is safe")
		busy["headers"] = obj{"Retry-After": obj{"description": "seconds to wait before sending it again", "schema": obj{"type": "integer"}}}
		resps["503"] = busy
		if rt.Result == nil {
			resps["204"] = obj{"description": "done"}
		} else {
			resps["200"] = obj{"description": "OK", "content": obj{"application/json": obj{"schema": ref(reflect.TypeOf(rt.Result))}}}
		}
		op["responses"] = resps
		add(rt.Method, rt.Path, op)
	}
	admin := func(op, summary string, body, result any, status string) obj {
		o := obj{"operationId": op, "summary": summary, "tags": []string{"admin"}, "security": []obj{{"adminToken": []string{}}}}
		if body != nil {
			o["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": ref(reflect.TypeOf(body))}}}
		}
		r := obj{"default": errResp("an error"), "401": errResp("no valid admin token"), "403": errResp("not loopback and no admin token set")}
		if result != nil {
			r[status] = obj{"description": "OK", "content": obj{"application/json": obj{"schema": ref(reflect.TypeOf(result))}}}
		} else {
			r[status] = obj{"description": "done"}
		}
		o["responses"] = r
		return o
	}
	add("POST", "/admin/tenants", admin("CreateTenant", "Create a tenant: an isolated sandbox behind a new API key (shown only here)", &walletctl.TenantSpec{}, &walletctl.CreatedTenant{}, "201"))
	add("GET", "/admin/tenants", admin("ListTenants", "List tenants (never their keys)", nil, []walletctl.TenantInfo{}, "200"))
	del := admin("DeleteTenant", "Delete a tenant and its sandbox", nil, nil, "204")
	del["parameters"] = []obj{{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string"}}}
	add("DELETE", "/admin/tenants/{id}", del)
	add("GET", "/healthz", obj{"operationId": "Healthz", "summary": "Liveness", "security": []obj{},
		"responses": obj{"200": obj{"description": "ok"}}})
	add("GET", "/openapi.json", obj{"operationId": "OpenAPI", "summary": "This document", "security": []obj{},
		"responses": obj{"200": obj{"description": "the OpenAPI 3 document"}}})
	bank := obj{"summary": "The tenant's bank: the bank-adapter protocol and the bank's admin API under this prefix (see the bank's /openapi.json)",
		"description": "What a tenant may do here depends on its bank. A tenant with a private in-process bank (no bank_url) " +
			"has full rights on it: the protocol, customers, faults, OTPs, the journal, the clock, reset and snapshot. " +
			"A tenant on a shared bank server (bank_url) acts as its own partner there and nothing more: walletctl serve " +
			"drops the request's credentials and sends only the tenant's partner key (never the operator's bank token), so " +
			"the bank shows the tenant only its own transactions, statements, journal entries and OTPs, and fault rules " +
			"added here match only the tenant's traffic; bank-wide admin (customers, reset, snapshot, moving the clock, " +
			"partners, bank-wide faults) answers 403, and another partner's things answer 404 or are absent. " +
			"X-Bankmock-Fault and Idempotency-Key pass through; bank errors keep the bank's {\"error\":{code,resp_code,message}} body.",
		"security":   []obj{{"apiKey": []string{}}},
		"parameters": []obj{{"name": "path", "in": "path", "required": true, "schema": obj{"type": "string"}}},
		"responses":  obj{"default": obj{"description": "as bankmock answers"}}}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		o := obj{}
		for k, v := range bank {
			o[k] = v
		}
		o["operationId"] = "Bank" + strings.ToLower(m)
		add(m, "/v1/bank/{path}", o)
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{"title": "walletctl wallet API", "version": "1",
			"description": "The wallet of walletctl as JSON over HTTP (walletctl serve). Amounts are integer fen (CNY). " +
				"Every tenant is an isolated sandbox behind an API key. Errors are {\"error\":{code,message,hint,details}} " +
				"with the HTTP status of the code table."},
		"paths": paths,
		"components": obj{
			"schemas": schemas,
			"securitySchemes": obj{
				"apiKey":     obj{"type": "http", "scheme": "bearer", "description": "a tenant's API key"},
				"adminToken": obj{"type": "http", "scheme": "bearer", "description": "the server's --admin-token"},
			},
		},
	}
}

var timeType = reflect.TypeOf(time.Time{})

// schemaOf returns the JSON schema of t, registering named structs under components/schemas.
func schemaOf(t reflect.Type, schemas obj) obj {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return obj{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.String:
		return obj{"type": "string"}
	case t.Kind() == reflect.Bool:
		return obj{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return obj{"type": "integer", "format": "int64"}
	case t.Kind() == reflect.Float64 || t.Kind() == reflect.Float32:
		return obj{"type": "number"}
	case t.Kind() == reflect.Slice:
		return obj{"type": "array", "items": schemaOf(t.Elem(), schemas)}
	case t.Kind() == reflect.Map:
		return obj{"type": "object", "additionalProperties": true}
	case t.Kind() == reflect.Interface:
		return obj{}
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if _, ok := schemas[name]; !ok {
			schemas[name] = obj{} // placeholder against recursion
			props := obj{}
			var required []string
			addFields(t, schemas, props, &required)
			s := obj{"type": "object", "properties": props}
			if len(required) > 0 {
				sort.Strings(required)
				s["required"] = required
			}
			schemas[name] = s
		}
		return obj{"$ref": "#/components/schemas/" + name}
	}
	return obj{}
}

func addFields(t reflect.Type, schemas, props obj, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			addFields(f.Type, schemas, props, required)
			continue
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type, schemas)
		if !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	}
}
