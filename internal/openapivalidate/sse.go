package openapivalidate

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// A text/event-stream answer is checked as the OpenAPI media type registry models it: as if it
// were a JSON array of its events, each an object of its fields (id, event, data, retry) with
// data decoded as JSON when it is JSON. So a document whose stream schema names its events'
// payloads has every event the server sent checked against them.
func init() {
	openapi3filter.RegisterBodyDecoder("text/event-stream", decodeEventStream)
}

func decodeEventStream(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	events := []any{}
	ev := map[string]any{}
	var data []string
	flush := func() {
		if len(data) > 0 {
			joined := strings.Join(data, "\n")
			var v any
			if json.Unmarshal([]byte(joined), &v) == nil {
				ev["data"] = v
			} else {
				ev["data"] = joined
			}
		}
		if len(ev) > 0 {
			events = append(events, ev)
		}
		ev, data = map[string]any{}, nil
	}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		switch {
		case line == "":
			flush()
			continue
		case strings.HasPrefix(line, ":"):
			continue // a comment
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "data":
			data = append(data, value)
		case "retry":
			if n, err := strconv.Atoi(value); err == nil {
				ev[name] = n
			} else {
				ev[name] = value
			}
		default:
			ev[name] = value
		}
	}
	// An event the stream did not end with a blank line is not an event (the client drops it).
	return events, sc.Err()
}
