package logformat

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestFormats(t *testing.T) {
	var b bytes.Buffer
	l, err := New(&b, JSON, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	l.Info("request", "status", 200)
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil || m["msg"] != "request" || m["status"] != float64(200) {
		t.Errorf("json: %q %v", b.String(), err)
	}
	b.Reset()
	l, _ = New(&b, Text, slog.LevelWarn)
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	if got := b.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "level=WARN msg=shown k=v") {
		t.Errorf("text: %q", got)
	}
	if _, err := New(&b, "xml", slog.LevelInfo); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("xml: %v", err)
	}
}
