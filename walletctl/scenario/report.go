package scenario

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
)

// WriteSummary prints one row per result and a totals line. Failures print their message (the
// diff or the error) first, so that the table stays the last thing on the screen.
func WriteSummary(w io.Writer, rep *Report) {
	for _, r := range rep.Results {
		if r.Failed() && r.Message != "" {
			fmt.Fprintf(w, "--- %s %s (%s)\n%s\n", r.Status, r.Name, r.Transport, strings.TrimRight(r.Message, "\n"))
		}
	}
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleLight)
	t.AppendHeader(table.Row{"scenario", "transport", "result", "steps", "time"})
	counts := map[Status]int{}
	for _, r := range rep.Results {
		counts[r.Status]++
		t.AppendRow(table.Row{r.Name, r.Transport, string(r.Status), r.Steps, r.Duration.Round(time.Millisecond).String()})
	}
	var parts []string
	for _, s := range []Status{StatusPass, StatusUpdated, StatusCreated, StatusDeleted, StatusFail, StatusError, StatusStale} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], strings.ToLower(string(s))))
		}
	}
	t.AppendFooter(table.Row{fmt.Sprintf("%d results", len(rep.Results)), "", strings.Join(parts, ", "), "", rep.Duration.Round(time.Millisecond).String()})
	t.Render()
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML: one test suite per transport, one test case per
// scenario, the diff or error as the failure's body.
func WriteJUnit(path string, rep *Report) error {
	bySuite := map[string]*junitSuite{}
	var order []string
	for _, r := range rep.Results {
		name := "walletctl.scenarios." + r.Transport
		if r.Transport == "-" {
			name = "walletctl.scenarios.golden"
		}
		s := bySuite[name]
		if s == nil {
			s = &junitSuite{Name: name}
			bySuite[name] = s
			order = append(order, name)
		}
		c := junitCase{Name: r.Name, Classname: name, Time: fmt.Sprintf("%.3f", r.Duration.Seconds())}
		first := r.Message
		if i := strings.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		switch r.Status {
		case StatusFail, StatusStale:
			s.Failures++
			msg := "transcript differs from " + r.Golden
			if r.Status == StatusStale || !strings.HasPrefix(r.Message, "---") {
				msg = first
			}
			c.Failure = &junitFailure{Message: msg, Type: string(r.Status), Body: r.Message}
		case StatusError:
			s.Errors++
			c.Error = &junitFailure{Message: first, Type: "ERROR", Body: r.Message}
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	doc := junitSuites{}
	for _, n := range order {
		s := bySuite[n]
		var total time.Duration
		for _, r := range rep.Results {
			if "walletctl.scenarios."+r.Transport == n {
				total += r.Duration
			}
		}
		s.Time = fmt.Sprintf("%.3f", total.Seconds())
		doc.Suites = append(doc.Suites, *s)
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(b, '\n')...), 0o644)
}

// ProgressBar returns a Progress callback drawing a one-line bar on w (a terminal).
func ProgressBar(w io.Writer) func(done, total int) {
	return func(done, total int) {
		const width = 30
		n := width * done / max(total, 1)
		fmt.Fprintf(w, "\r[%s%s] %d/%d", strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total)
		if done == total {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}
