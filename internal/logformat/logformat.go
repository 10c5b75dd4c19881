// Package logformat is the one log format of the project's two servers (walletctl serve and
// bankmock serve): slog's text or JSON handler, chosen by the same --log-format flag, so that a
// team running both reads (or parses) one format.
package logformat

import (
	"fmt"
	"io"
	"log/slog"
)

// The formats --log-format takes.
const (
	Text = "text" // key=value lines: the default, for people
	JSON = "json" // one JSON object a line, for log collectors
)

// Usage is the --log-format flag's help, the same on both servers.
const Usage = "request log format: text (key=value lines) or json (one object a line)"

// New is a logger writing format to w at level and above; an unknown format is an error that
// names the two there are.
func New(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case Text, "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case JSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want %s or %s", format, Text, JSON)
}
