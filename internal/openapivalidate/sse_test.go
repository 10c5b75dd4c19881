package openapivalidate

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A text/event-stream answer is checked event by event against the document's stream schema
// (an array of events, data the payload): a payload that does not match is reported; comments,
// the retry line and a well-formed event are not.
func TestEventStreamChecked(t *testing.T) {
	const doc = `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/events":{"get":{"responses":{"200":{"description":"the stream",
"content":{"text/event-stream":{"schema":{"type":"array","items":{"type":"object","properties":{"id":{"type":"string"},"event":{"type":"string","enum":["tick"]},
"retry":{"type":"integer"},"data":{"anyOf":[{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}]}}}}}}}}}}}}`
	for _, tc := range []struct {
		name, stream string
		bad          bool
	}{
		{"good", "retry: 1000\n\n: heartbeat\n\nid: 1\nevent: tick\ndata: {\"n\":1}\n\nid: 2\nevent: tick\ndata: {\"n\":\ndata: 2}\n\n", false},
		{"a payload of another shape", "retry: 1000\n\nid: 1\nevent: tick\ndata: {\"n\":\"one\"}\n\n", true},
		{"a payload that is not JSON", "id: 1\nevent: tick\ndata: n=1\n\n", true},
		{"an event type not in the document", "id: 1\nevent: tock\ndata: {\"n\":1}\n\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("t", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(v.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, tc.stream)
			})))
			defer hs.Close()
			resp, err := http.Get(hs.URL + "/events")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if errs := v.Errors(); (len(errs) > 0) != tc.bad {
				t.Fatalf("errors %q, want some: %v", errs, tc.bad)
			}
		})
	}
}

func TestDecodeEventStream(t *testing.T) {
	got, err := decodeEventStream(strings.NewReader("retry: 1000\r\n\r\n: c\nid: 7\nevent: e\ndata: {\"a\":1}\ndata: \n\nid: 8\ndata: x"), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := got.([]any)
	if len(evs) != 2 {
		t.Fatalf("%d events: %v (the unfinished last one is no event)", len(evs), evs)
	}
	if r := evs[0].(map[string]any)["retry"]; r != 1000 {
		t.Errorf("retry %v", r)
	}
	e := evs[1].(map[string]any)
	if e["id"] != "7" || e["event"] != "e" || e["data"].(map[string]any)["a"] != float64(1) {
		t.Errorf("event %v", e)
	}
}
