// Package conformance is the partner conformance kit: checks that run from the outside against any
// implementation of the bank-adapter protocol v1 (RunBank) or of the wallet API (RunWallet) and
// report, check by check, pass, fail or "not applicable".
//
// A check is "n/a" only when the implementation under test offers no way to provoke the behaviour
// (no admin API to stage customers, no fault injection): it is never counted as passed, and the
// detail says what was missing.
package conformance

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/walletctl/walletctl/internal/tablefit"
)

// Status is the outcome of one check.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	NA   Status = "n/a" // could not be provoked from the outside on this implementation
)

// Check is one line of a report.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

// Report is the result of one run.
type Report struct {
	Suite  string  `json:"suite"` // "bank" or "wallet"
	URL    string  `json:"url"`
	RunID  string  `json:"run_id"` // prefix of every idempotency key the run used
	Checks []Check `json:"checks"`
}

// Config says what to check and how.
type Config struct {
	URL        string        // base URL of the implementation, e.g. http://127.0.0.1:8086
	AdminToken string        // bank: sent as Bearer on /admin/* (bankmock without a token: loopback only)
	APIKey     string        // wallet: the tenant's API key
	TenantID   string        // wallet: the tenant's id for its v3 API (<URL>/tenants/<id>); "" = ask GET /v1/tenant
	Timeout    time.Duration // per request (default 5s)
	// RunID prefixes every idempotency key, so that runs against one long-lived server never
	// replay each other's keys. Empty: a random one (tests pass a fixed one).
	RunID string
	// HTTPClient, if set, sends every request (tests; proxies). Its Transport is wrapped.
	HTTPClient *http.Client
}

func (c *Config) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if c.RunID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
		c.RunID = "cf" + hex.EncodeToString(b[:])
	}
}

// OK reports whether no check failed and at least one passed: a run where nothing could be
// checked is not a success.
func (r *Report) OK() bool {
	passed := false
	for _, c := range r.Checks {
		switch c.Status {
		case Fail:
			return false
		case Pass:
			passed = true
		}
	}
	return passed
}

// Names returns the names of the checks with status s, in report order.
func (r *Report) Names(s Status) []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == s {
			out = append(out, c.Name)
		}
	}
	return out
}

// Get returns the check called name, if the report has it.
func (r *Report) Get(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

func (r *Report) add(name string, s Status, detail string) {
	r.Checks = append(r.Checks, Check{Name: name, Status: s, Detail: detail})
}

// Summary is one line: "bank conformance: 25 passed, 1 failed, 2 n/a".
func (r *Report) Summary() string {
	return fmt.Sprintf("%s conformance of %s: %d passed, %d failed, %d n/a",
		r.Suite, r.URL, len(r.Names(Pass)), len(r.Names(Fail)), len(r.Names(NA)))
}

// WriteTable prints the report as a table for people, no wider than w's terminal ($COLUMNS when
// w is none, else 80: tablefit.Of), then the summary line.
func (r *Report) WriteTable(w io.Writer, color bool) {
	r.WriteTableWidth(w, color, tablefit.Of(w, os.Getenv))
}

// WriteTableWidth is WriteTable at most width columns wide: the details wrap at spaces.
func (r *Report) WriteTableWidth(w io.Writer, color bool, width int) {
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	t.AppendHeader(table.Row{"check", "status", "detail"})
	for _, c := range r.Checks {
		st := string(c.Status)
		if color {
			switch c.Status {
			case Pass:
				st = text.FgGreen.Sprint(st)
			case Fail:
				st = text.FgRed.Sprint(st)
			case NA:
				st = text.FgYellow.Sprint(st)
			}
		}
		t.AppendRow(table.Row{c.Name, st, c.Detail})
	}
	fmt.Fprintln(w, tablefit.Render(t, width))
	fmt.Fprintln(w, tablefit.WrapHanging(r.Summary(), width, 2))
}

// WriteJSON prints the report as one JSON document for scripts.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Report
		OK bool `json:"ok"`
	}{r, r.OK()})
}

// statusRecorder remembers the HTTP status of the last response, so that error checks can compare
// it with the documented status of the error code. Checks run one at a time.
type statusRecorder struct {
	next http.RoundTripper
	last int
}

func (s *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	s.last = 0
	resp, err := s.next.RoundTrip(req)
	if err == nil {
		s.last = resp.StatusCode
	}
	return resp, err
}
