package openapivalidate

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Lint checks doc against the rules of Redocly's recommended set that a document built by hand
// or from Go types has broken here before (`npx @redocly/cli lint --extends recommended` names
// them), without Node at test time:
//
//   - operation-4xx-response: every operation declares a 4XX response (a status 4xx, or the
//     range 4XX), not only default;
//   - no-unused-components: every component (schema, response, parameter, ...) is the target
//     of a $ref somewhere in the document.
//
// It returns one line per violation, sorted.
func Lint(doc []byte) ([]string, error) {
	var d struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components map[string]map[string]json.RawMessage `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	var out []string
	for path, item := range d.Paths {
		for method, raw := range item {
			if !httpMethods[method] {
				continue // parameters, summary, servers, x-...
			}
			var op struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			has := false
			for code := range op.Responses {
				if len(code) == 3 && code[0] == '4' {
					has = true
				}
			}
			if !has {
				out = append(out, fmt.Sprintf("operation-4xx-response: %s %s declares no 4XX response", strings.ToUpper(method), path))
			}
		}
	}
	var whole any
	if err := json.Unmarshal(doc, &whole); err != nil {
		return nil, err
	}
	refs := map[string]bool{}
	collectRefs(whole, refs)
	for kind, m := range d.Components {
		if kind == "securitySchemes" {
			continue // used by name in security requirements, not by $ref
		}
		for name := range m {
			if !refs["#/components/"+kind+"/"+name] {
				out = append(out, fmt.Sprintf("no-unused-components: #/components/%s/%s is never referenced", kind, name))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}

func collectRefs(v any, refs map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				refs[s] = true
				continue
			}
			collectRefs(x, refs)
		}
	case []any:
		for _, x := range v {
			collectRefs(x, refs)
		}
	}
}
