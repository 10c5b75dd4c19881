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
	b, err := encodeJSON(buildOpenAPI(), "  ")
	if err != nil {
		panic(err)
	}
	return b
})

type obj = map[string]any

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

func buildOpenAPI() obj {
	schemas := obj{}
	comps := map[string]obj{}
	ref := func(t reflect.Type) obj { return schemaOf(t, schemas) }
	inputs := map[string]bool{}
	input := func(t reflect.Type) obj { return inputSchemaOf(t, schemas, inputs) }
	// Response types first, so that a request type that is also a response keeps its name there.
	for _, rt := range Routes {
		if rt.Result != nil {
			ref(reflect.TypeOf(rt.Result))
		}
	}
	ref(reflect.TypeOf(&walletctl.CreatedTenant{}))
	ref(reflect.TypeOf([]walletctl.TenantInfo{}))
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
		op := obj{"operationId": rt.Op, "summary": rt.Summary, "tags": []string{routeTag(rt.Path)},
			"description": rt.Summary + ". Runs walletctl's " + rt.Op + " on the tenant of the API key; an error answers the status of its code in the code table (walletctl codes).",
			"security":    []obj{{"apiKey": []string{}}}}
		var params []obj
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": obj{"type": "string"}})
		}
		if rt.listRoute() {
			params = append(params, pageParams()...)
			if rt.Op == "Notifications" {
				params = append(params,
					obj{"name": "mchid", "in": "query", "required": false, "schema": obj{"type": "string"}, "description": "only this merchant's"},
					obj{"name": "status", "in": "query", "required": false, "schema": obj{"type": "string", "enum": []string{walletctl.NotifyPending, walletctl.NotifyDelivered, walletctl.NotifyFailed}}, "description": "only this status"},
					obj{"name": "event", "in": "query", "required": false, "schema": obj{"type": "string"}, "description": "only this event type, e.g. TRANSACTION.SUCCESS"})
			}
		}
		if moneyOps[rt.Op] {
			params = append(params, obj{"name": HeaderIdempotencyKey, "in": "header", "required": false, "schema": obj{"type": "string"},
				"description": "a retry with the same key returns the first outcome; the same key with other parameters is CONFLICT. walletctl --backend sends one with every money command (--idempotency-key, or cli- and 16 random bytes)"})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Body != nil {
			op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": input(reflect.TypeOf(rt.Body))}}}
		}
		resps := obj{
			"default": errResp("an error with its code; the HTTP status follows the code table"),
			"401":     withHeaders(errResp("no valid API key"), wwwAuth),
		}
		busy := errResp("SERVER_BUSY: the tenant's queue of waiting requests is full; this one was not run, so sending it again after Retry-After is safe")
		busy["headers"] = obj{"Retry-After": obj{"description": "seconds to wait before sending it again", "schema": obj{"type": "integer"}}}
		resps["503"] = busy
		if moneyOps[rt.Op] {
			resps["202"] = errResp("PENDING: the bank's answer was lost; the operation is pending and will be settled by the status query or reconcile (never charged twice). The body is the error envelope, with the pending transaction in result")
		}
		if rt.Result == nil {
			resps["204"] = obj{"description": "done"}
		} else {
			resps["200"] = obj{"description": "OK", "content": obj{"application/json": obj{"schema": ref(reflect.TypeOf(rt.Result))}}}
		}
		op["responses"] = resps
		add(rt.Method, rt.Path, op)
	}
	admin := func(op, summary string, body, result any, status string) obj {
		o := obj{"operationId": op, "summary": summary, "tags": []string{"admin"}, "description": summary + ". " + adminRule,
			"security": []obj{{"adminToken": []string{}}}}
		if body != nil {
			o["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": input(reflect.TypeOf(body))}}}
		}
		r := obj{"default": errResp("an error"), "401": withHeaders(errResp("no valid admin token"), wwwAuth)}
		if result != nil {
			r[status] = obj{"description": "OK", "content": obj{"application/json": obj{"schema": ref(reflect.TypeOf(result))}}}
		} else {
			r[status] = obj{"description": "done"}
		}
		o["responses"] = r
		return o
	}
	create := admin("CreateTenant", "Create a tenant: an isolated sandbox behind a new API key (shown only here)", &walletctl.TenantSpec{}, &walletctl.CreatedTenant{}, "201")
	create["description"] = create["description"].(string) + " " + tenantSettingsDoc
	add("POST", "/admin/tenants", create)
	if spec, ok := schemas["TenantSpec"].(obj); ok {
		if props, ok := spec["properties"].(obj); ok {
			props["settings"] = obj{"type": "object", "additionalProperties": obj{"type": "string"},
				"description": tenantSettingsDoc, "example": obj{"notify_timeout": "200ms"}}
		}
	}
	add("GET", "/admin/tenants", admin("ListTenants", "List tenants (never their keys)", nil, []walletctl.TenantInfo{}, "200"))
	del := admin("DeleteTenant", "Delete a tenant and its sandbox", nil, nil, "204")
	del["parameters"] = []obj{{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string"}}}
	add("DELETE", "/admin/tenants/{id}", del)
	add("GET", "/v1/tenant", obj{"operationId": "Tenant", "summary": "The tenant of the API key and the base path of its v3 API", "tags": []string{"meta"},
		"security":    []obj{{"apiKey": []string{}}},
		"description": "Answers the id of the API key's tenant and its WeChat Pay v3 base path (<server>/tenants/<id>), for clients that know only their key.",
		"responses": obj{"default": errResp("an error"), "401": withHeaders(errResp("no valid API key"), wwwAuth),
			"200": obj{"description": "OK", "content": obj{"application/json": obj{"schema": obj{
				"type": "object", "required": []string{"id", "v3_base_path"},
				"properties": obj{"id": obj{"type": "string"}, "v3_base_path": obj{"type": "string"}}}}}}}})
	// What net/http answers itself, before any handler: the 4XX of the operations that refuse
	// nothing (every operation declares a 4XX: TestOpenAPILint).
	refused := obj{"description": "a request net/http refuses before any handler runs: malformed (400) or with headers too large (431)",
		"content": obj{"text/plain": obj{"schema": obj{"type": "string"}}}}
	add("GET", "/healthz", obj{"operationId": "Healthz", "summary": "Liveness", "tags": []string{"meta"}, "security": []obj{},
		"description": "Answers {\"status\":\"ok\"} while the server runs; no credentials needed.",
		"responses": obj{"4XX": refused, "200": obj{"description": "ok", "content": obj{"application/json": obj{"schema": obj{
			"type": "object", "required": []string{"status"}, "properties": obj{"status": obj{"type": "string", "enum": []string{"ok"}}}}}}}}})
	add("GET", "/openapi.json", obj{"operationId": "OpenAPI", "summary": "This document", "tags": []string{"meta"}, "security": []obj{},
		"description": "This OpenAPI 3 document, built from the server's route table; no credentials needed.",
		"responses": obj{"4XX": refused, "200": obj{"description": "the OpenAPI 3 document", "content": obj{"application/json": obj{"schema": obj{
			"type": "object", "required": []string{"openapi", "paths"},
			"properties": obj{"openapi": obj{"type": "string"}, "paths": obj{"type": "object"}}}}}}}})
	addEvents(add, errResp, ref)
	addBankProxy(paths, schemas, comps)
	addV3(paths, schemas)
	components := obj{
		"schemas": schemas,
		"securitySchemes": obj{
			"apiKey":     obj{"type": "http", "scheme": "bearer", "description": "a tenant's API key"},
			"adminToken": obj{"type": "http", "scheme": "bearer", "description": "the server's --admin-token. " + adminRule},
			"wechatpayV3": obj{"type": "apiKey", "in": "header", "name": "Authorization",
				"description": "a merchant's WeChat Pay v3 signature (WECHATPAY2-SHA256-RSA2048 ...), checked with its certificate"},
		},
	}
	for kind, m := range comps {
		components[kind] = m
	}
	return obj{
		"openapi": "3.0.3",
		"servers": []obj{{"url": "http://127.0.0.1:8087", "description": "walletctl serve (the default address; --addr changes it)"}},
		"tags": []obj{
			{"name": "users", "description": "Users: registration, status, KYC, payment passwords"},
			{"name": "cards", "description": "Bank cards: binding with the bank's OTP, listing, unbinding"},
			{"name": "money", "description": "Top-ups, withdrawals, payments, the balance and the transaction history"},
			{"name": "transfers", "description": "Transfers between users: preview, send, accept, cancel"},
			{"name": "sandbox", "description": "The sandbox: merchants, reconciliation against the bank, the virtual clock"},
			{"name": "bank", "description": "The tenant's bank (bankmock), proxied under /v1/bank: every path of the bank's own document, prefixed"},
			{"name": "v3", "description": "Each tenant's WeChat Pay v3-shaped API for its merchants (base URL <server>/tenants/<id>): orders, refunds, bills, platform certificates"},
			{"name": "events", "description": "The tenant's event stream (server-sent events): notification attempts, payments, refunds"},
			{"name": "admin", "description": "Tenants: create, list, delete. " + adminRule},
			{"name": "meta", "description": "Liveness and this document"},
		},
		"info": obj{"title": "walletctl wallet API", "version": "1",
			"license": obj{"name": "MIT", "url": "https://opensource.org/licenses/MIT"},
			"contact": obj{"name": "walletctl", "url": "https://github.com/walletctl/walletctl"},
			"description": "The wallet of walletctl as JSON over HTTP (walletctl serve). Amounts are integer fen (CNY). " +
				"Every tenant is an isolated sandbox behind an API key. Errors are {\"error\":{code,message,hint,details}} " +
				"with the HTTP status of the code table."},
		"paths":      paths,
		"components": components,
	}
}

// tenantSettingsDoc documents TenantSpec.Settings, in the operation and in the schema.
const tenantSettingsDoc = "settings changes the tenant's wallet rules from the server's, as `walletctl sandbox init --set KEY=VALUE` does: " +
	"the same keys (`walletctl sandbox settings`; a nested one dotted, password_hash.time) and values, as strings " +
	"(amounts in fen, durations like 1h or 200ms), e.g. {\"notify_timeout\": \"200ms\"}. " +
	"A bad key or value is INVALID_ARGUMENT naming it, and nothing is created."

var (
	timeType    = reflect.TypeOf(time.Time{})
	rawJSONType = reflect.TypeOf(json.RawMessage{})
)

// schemaOf returns the JSON schema of t, registering named structs under components/schemas.
// pageParams are the query parameters of every list route (DESIGN.md section 12).
func pageParams() []obj {
	return []obj{
		{"name": "limit", "in": "query", "required": false, "schema": obj{"type": "integer", "minimum": 1, "maximum": walletctl.MaxPageLimit, "default": walletctl.DefaultPageLimit},
			"description": "how many items a page holds: 1 to 100, 20 by default"},
		{"name": "starting_after", "in": "query", "required": false, "schema": obj{"type": "string"},
			"description": "the id of the last item of the previous page: the page holds the items after it (older ones, newest first)"},
		{"name": "ending_before", "in": "query", "required": false, "schema": obj{"type": "string"},
			"description": "the id of the first item of the next page: the page holds the items before it (newer ones); not with starting_after"},
	}
}

func schemaOf(t reflect.Type, schemas obj) obj {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return obj{"type": "string", "format": "date-time"}
	case t == rawJSONType:
		return obj{"description": "any JSON value"}
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
		if strings.HasPrefix(name, "List[") {
			// A page of a list (walletctl.List[User]) is named after its items: UserList.
			name = t.Field(0).Type.Elem().Name() + "List"
		}
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
	jsonFields(t, func(name, opts string, ft reflect.Type) {
		props[name] = schemaOf(ft, schemas)
		if !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	})
}

// jsonFields calls fn for each field encoding/json writes for struct type t (embedded structs
// flattened, unexported and "-" fields skipped), with its JSON name and tag options.
func jsonFields(t reflect.Type, fn func(name, opts string, ft reflect.Type)) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			jsonFields(f.Type, fn)
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
		fn(name, opts, f.Type)
	}
}
