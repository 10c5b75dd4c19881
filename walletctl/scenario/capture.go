package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Capture evaluates a capture expression against a command's standard output:
//   - ".a.b[0].c", ".[0].id", ".[-1].id", ".items[status=pending].id": a small JSON path (fields,
//     array indexes counted from the end when negative, and [field=value] picking the first
//     element whose field equals value);
//   - "/regex/": the first submatch of the first match, or the whole match if there is no group.
func Capture(expr string, stdout string) (string, error) {
	if len(expr) >= 2 && expr[0] == '/' && expr[len(expr)-1] == '/' {
		re, err := regexp.Compile(expr[1 : len(expr)-1])
		if err != nil {
			return "", fmt.Errorf("capture %s: %v", expr, err)
		}
		m := re.FindStringSubmatch(stdout)
		if m == nil {
			return "", fmt.Errorf("capture %s: no match in the previous command's output", expr)
		}
		if len(m) > 1 {
			return m[1], nil
		}
		return m[0], nil
	}
	if !strings.HasPrefix(expr, ".") && !strings.HasPrefix(expr, "[") {
		return "", fmt.Errorf("capture %q: want a .json.path or a /regex/", expr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("capture %s: the previous command's output is not JSON (run it with -o json): %v", expr, err)
	}
	got, err := walkPath(v, expr)
	if err != nil {
		return "", fmt.Errorf("capture %s: %v", expr, err)
	}
	switch g := got.(type) {
	case string:
		return g, nil
	case json.Number:
		return g.String(), nil
	case bool:
		return strconv.FormatBool(g), nil
	case nil:
		return "", fmt.Errorf("capture %s: value is null", expr)
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(g)
		return strings.TrimSpace(buf.String()), nil
	}
}

func walkPath(v any, path string) (any, error) {
	p := path
	for p != "" {
		switch {
		case p == ".":
			return v, nil
		case p[0] == '.' && len(p) > 1 && p[1] == '[':
			p = p[1:]
		case p[0] == '.':
			end := strings.IndexAny(p[1:], ".[")
			var key string
			if end < 0 {
				key, p = p[1:], ""
			} else {
				key, p = p[1:1+end], p[1+end:]
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%q: not an object", key)
			}
			if v, ok = m[key]; !ok {
				return nil, fmt.Errorf("no field %q", key)
			}
		case p[0] == '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return nil, fmt.Errorf("unterminated [")
			}
			sel := p[1:end]
			p = p[end+1:]
			arr, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("[%s]: not an array", sel)
			}
			if k, want, isFilter := strings.Cut(sel, "="); isFilter {
				found := false
				for _, el := range arr {
					m, ok := el.(map[string]any)
					if ok && scalarString(m[k]) == want {
						v, found = el, true
						break
					}
				}
				if !found {
					return nil, fmt.Errorf("no element with %s=%s", k, want)
				}
				continue
			}
			i, err := strconv.Atoi(sel)
			if err != nil {
				return nil, fmt.Errorf("[%s]: want an index or field=value", sel)
			}
			if i < 0 {
				i += len(arr)
			}
			if i < 0 || i >= len(arr) {
				return nil, fmt.Errorf("index %s out of range (length %d)", sel, len(arr))
			}
			v = arr[i]
		default:
			return nil, fmt.Errorf("bad path at %q", p)
		}
	}
	return v, nil
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}
