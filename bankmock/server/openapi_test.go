package server

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
)

// schemaChecker validates JSON values against the subset of OpenAPI 3.0 schema the document uses:
// $ref, type, nullable, required, properties, additionalProperties:false, items, enum, oneOf.
type schemaChecker struct{ doc map[string]any }

func loadDoc(t testing.TB) *schemaChecker {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(bankapi.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &schemaChecker{doc: doc}
}

// resolve follows a local "#/a/b/c" reference.
func (c *schemaChecker) resolve(ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("non-local $ref %q", ref)
	}
	var cur any = c.doc
	for _, part := range strings.Split(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not an object", ref, part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, part)
		}
	}
	return cur, nil
}

// deref resolves v if it is {"$ref": ...}.
func (c *schemaChecker) deref(v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object: %v", v)
	}
	for depth := 0; depth < 10; depth++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		r, err := c.resolve(ref)
		if err != nil {
			return nil, err
		}
		if m, ok = r.(map[string]any); !ok {
			return nil, fmt.Errorf("$ref %q is not an object", ref)
		}
	}
	return nil, fmt.Errorf("$ref chain too deep")
}

func (c *schemaChecker) validate(schema any, v any, path string) error {
	s, err := c.deref(schema)
	if err != nil {
		return fmt.Errorf("%s: schema: %v", path, err)
	}
	if alts, ok := s["oneOf"].([]any); ok {
		matched := 0
		var errs []string
		for _, a := range alts {
			if err := c.validate(a, v, path); err != nil {
				errs = append(errs, err.Error())
			} else {
				matched++
			}
		}
		if matched != 1 {
			return fmt.Errorf("%s: matches %d of oneOf (want 1): %s", path, matched, strings.Join(errs, "; "))
		}
		return nil
	}
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		return fmt.Errorf("%s: null where %v is required", path, s["type"])
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if e == v {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: %v not in enum %v", path, v, enum)
		}
	}
	switch typ, _ := s["type"].(string); typ {
	case "":
		// unconstrained
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want object, got %T", path, v)
		}
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := m[r.(string)]; !ok {
					return fmt.Errorf("%s: missing required %q", path, r)
				}
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, ok := props[k]
			if !ok {
				if s["additionalProperties"] == false {
					return fmt.Errorf("%s: unexpected property %q", path, k)
				}
				continue
			}
			if err := c.validate(ps, m[k], path+"."+k); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want array, got %T", path, v)
		}
		if items, ok := s["items"]; ok {
			for i, e := range a {
				if err := c.validate(items, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want string, got %T", path, v)
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return fmt.Errorf("%s: not a date-time: %q", path, str)
			}
		}
	case "integer":
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			return fmt.Errorf("%s: want integer, got %v", path, v)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: want number, got %T", path, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want boolean, got %T", path, v)
		}
	default:
		return fmt.Errorf("%s: schema type %q not supported by the checker", path, typ)
	}
	return nil
}

// responseSchema returns the JSON schema of a documented response, or nil.
func (c *schemaChecker) responseSchema(method, path string, status int) (any, error) {
	paths := c.doc["paths"].(map[string]any)
	item, ok := paths[path].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("path %s not documented", path)
	}
	op, ok := item[strings.ToLower(method)].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s %s not documented", method, path)
	}
	resp, ok := op["responses"].(map[string]any)[fmt.Sprint(status)]
	if !ok {
		return nil, fmt.Errorf("%s %s: status %d not documented", method, path, status)
	}
	r, err := c.deref(resp)
	if err != nil {
		return nil, err
	}
	content, _ := r["content"].(map[string]any)
	mt, _ := content["application/json"].(map[string]any)
	if mt == nil {
		return nil, nil
	}
	return mt["schema"], nil
}

// validateResponse checks a real response body against the document.
func (c *schemaChecker) validateResponse(method, path string, status int, body []byte) error {
	schema, err := c.responseSchema(method, path, status)
	if err != nil {
		return err
	}
	if schema == nil {
		if len(body) != 0 {
			return fmt.Errorf("%s %s %d: documented without a body, got %q", method, path, status, body)
		}
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s %s %d: body is not JSON: %v", method, path, status, err)
	}
	return c.validate(schema, v, fmt.Sprintf("%s %s %d", method, path, status))
}

var httpMethods = []string{"get", "post", "put", "patch", "delete", "head", "options"}

func TestEveryRouteIsDocumented(t *testing.T) {
	c := loadDoc(t)
	paths := c.doc["paths"].(map[string]any)
	served := map[string]bool{}
	for _, rt := range routeTable {
		key := rt.Method + " " + rt.Path
		served[key] = true
		item, ok := paths[rt.Path].(map[string]any)
		if !ok {
			t.Errorf("route %s: path missing from openapi.json", key)
			continue
		}
		if _, ok := item[strings.ToLower(rt.Method)]; !ok {
			t.Errorf("route %s: method missing from openapi.json", key)
		}
		op, _ := item[strings.ToLower(rt.Method)].(map[string]any)
		if sec, hasSec := op["security"].([]any); !hasSec || (len(sec) == 0) != (rt.Access == Open) {
			t.Errorf("route %s: access=%v but documented security=%v", key, rt.Access, op["security"])
		}
		// The security requirement says who may call: the partner key (optional) on the
		// protocol, the partner key or the admin token on the helpers (and, reading, no
		// credentials: the default partner's own things), the admin token alone on the rest.
		// Loopback is not a credential, so no admin route that changes anything has {}.
		want := map[Access]string{Protocol: `[{"partnerKey":[]},{}]`, Helper: `[{"partnerKey":[]},{"adminToken":[]}]`,
			BankAdmin: `[{"adminToken":[]}]`, Catalogue: `[{"partnerKey":[]},{"adminToken":[]}]`}[rt.Access]
		if rt.Access == Helper && rt.Method == "GET" {
			want = `[{"partnerKey":[]},{"adminToken":[]},{}]`
		}
		if got, _ := json.Marshal(op["security"]); rt.Access != Open && string(got) != want {
			t.Errorf("route %s: security %s, want %s", key, got, want)
		}
		// Every route documents 401 (an unknown credential); admin routes 403 too.
		resps, _ := op["responses"].(map[string]any)
		if _, ok := resps["401"]; !ok {
			t.Errorf("route %s: 401 not documented", key)
		}
		if _, ok := resps["403"]; !ok && rt.Admin() {
			t.Errorf("route %s: 403 not documented", key)
		}
	}
	// And the other way: the document promises nothing the server does not serve.
	for p, item := range paths {
		for _, m := range httpMethods {
			if _, ok := item.(map[string]any)[m]; ok && !served[strings.ToUpper(m)+" "+p] {
				t.Errorf("openapi.json documents %s %s, which the server does not serve", strings.ToUpper(m), p)
			}
		}
	}
	if len(routeTable) < 28 {
		t.Errorf("route table has %d routes, want the whole protocol (28)", len(routeTable))
	}
}

// TestExamplesMatchSchemas checks every example of the document (responses and request bodies,
// inline "example" and "examples" maps with $ref) against its schema.
func TestExamplesMatchSchemas(t *testing.T) {
	c := loadDoc(t)
	checked := 0
	check := func(where string, media map[string]any) {
		schema := media["schema"]
		if schema == nil {
			return
		}
		if ex, ok := media["example"]; ok {
			checked++
			if err := c.validate(schema, ex, where+" example"); err != nil {
				t.Error(err)
			}
		}
		exs, _ := media["examples"].(map[string]any)
		for name, e := range exs {
			m, err := c.deref(e)
			if err != nil {
				t.Errorf("%s examples.%s: %v", where, name, err)
				continue
			}
			checked++
			if err := c.validate(schema, m["value"], where+" examples."+name); err != nil {
				t.Error(err)
			}
		}
	}
	for p, item := range c.doc["paths"].(map[string]any) {
		for m, opAny := range item.(map[string]any) {
			op := opAny.(map[string]any)
			where := strings.ToUpper(m) + " " + p
			if rb, ok := op["requestBody"]; ok {
				rbm, err := c.deref(rb)
				if err != nil {
					t.Fatal(err)
				}
				for mt, media := range rbm["content"].(map[string]any) {
					check(where+" request "+mt, media.(map[string]any))
				}
			}
			for status, r := range op["responses"].(map[string]any) {
				rm, err := c.deref(r)
				if err != nil {
					t.Fatalf("%s %s: %v", where, status, err)
				}
				content, _ := rm["content"].(map[string]any)
				for mt, media := range content {
					check(where+" "+status+" "+mt, media.(map[string]any))
				}
			}
		}
	}
	if checked < 30 {
		t.Errorf("only %d examples checked; the document should illustrate every route", checked)
	}
}

// TestCheckerRejects makes sure the schema checker can fail, so the tests above mean something.
func TestCheckerRejects(t *testing.T) {
	c := loadDoc(t)
	bad := []struct {
		schema string
		value  string
	}{
		{"#/components/schemas/Transaction", `{"txn_id":"t1"}`},                                  // required missing
		{"#/components/schemas/MoneyRequest", `{"agreement":"a","amount":1.5,"currency":"CNY"}`}, // not integer
		{"#/components/schemas/MoneyRequest", `{"agreement":"a","amount":1,"currency":"USD"}`},   // enum
		{"#/components/schemas/ErrorBody", `{"error":{"code":"X","resp_code":"1","message":""}}`},
		{"#/components/schemas/Clock", `{"now":"yesterday"}`},
		{"#/components/schemas/Health", `{"status":"ok","extra":[1]}`}, // Health allows extras: must pass
		{"#/components/schemas/Binding", `{"binding_id":"b","status":"otp_sent","phone_masked":"1","expires_at":"2026-01-01T00:00:00Z","otp":"123456"}`},
	}
	for i, b := range bad {
		var v any
		if err := json.Unmarshal([]byte(b.value), &v); err != nil {
			t.Fatal(err)
		}
		err := c.validate(map[string]any{"$ref": b.schema}, v, "v")
		if wantPass := i == 5; wantPass != (err == nil) {
			t.Errorf("%s %s: err=%v, want pass=%v", b.schema, b.value, err, wantPass)
		}
	}
}

// TestDocumentedMagicValues keeps the document's test cards and magic amounts equal to the engine's.
func TestDocumentedMagicValues(t *testing.T) {
	var doc struct {
		Cards []struct {
			Key, Bank, Fault string
			CardNo           string `json:"card_no"`
			IDNo             string `json:"id_no"`
			Name, Phone      string
			Balance          int64
		} `json:"x-test-cards"`
		Amounts []struct {
			Amount int64
			Fault  string
			Status int
		} `json:"x-magic-amounts"`
		Codes []struct {
			Code       string
			HTTPStatus int `json:"http_status"`
		} `json:"x-error-codes"`
	}
	if err := json.Unmarshal(bankapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cards) != len(bankmock.TestCards) {
		t.Fatalf("document lists %d test cards, engine has %d", len(doc.Cards), len(bankmock.TestCards))
	}
	for i, tc := range bankmock.TestCards {
		d := doc.Cards[i]
		c := tc.Customer
		if d.Key != tc.Key || d.CardNo != c.CardNo || d.Bank != c.Bank || d.Fault != string(tc.Fault) ||
			d.IDNo != c.IDNo || d.Name != c.Name || d.Phone != c.Phone || d.Balance != c.Balance {
			t.Errorf("test card %d: document %+v, engine %+v", i, d, tc)
		}
	}
	if len(doc.Amounts) != len(bankmock.MagicAmounts) {
		t.Fatalf("document lists %d magic amounts, engine has %d", len(doc.Amounts), len(bankmock.MagicAmounts))
	}
	for i, m := range bankmock.MagicAmounts {
		d := doc.Amounts[i]
		if d.Amount != m.Amount || d.Fault != string(m.Fault) || d.Status != m.Status {
			t.Errorf("magic amount %d: document %+v, engine %+v", i, d, m)
		}
	}
	for _, row := range doc.Codes {
		if got := bankapi.HTTPStatus(row.Code); got != row.HTTPStatus {
			t.Errorf("x-error-codes %s: documented HTTP %d, server sends %d", row.Code, row.HTTPStatus, got)
		}
	}
}
