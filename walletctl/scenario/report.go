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

// The JUnit report is valid against both schemas that CI tools read: Jenkins' (xunit-plugin
// junit-10.xsd, lenient) and Apache Ant's (windyroad JUnit.xsd, strict: every testsuite carries
// package, id, timestamp without a zone, hostname, and properties, system-out and system-err
// elements in that order around its test cases). testdata/junit holds both, restated, and a test
// validates a real report against each with xmllint.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string          `xml:"name,attr"`
	Package   string          `xml:"package,attr"`
	ID        int             `xml:"id,attr"`
	Timestamp string          `xml:"timestamp,attr"`
	Hostname  string          `xml:"hostname,attr"`
	Tests     int             `xml:"tests,attr"`
	Failures  int             `xml:"failures,attr"`
	Errors    int             `xml:"errors,attr"`
	Time      string          `xml:"time,attr"`
	Props     junitProperties `xml:"properties"`
	Cases     []junitCase     `xml:"testcase"`
	SystemOut string          `xml:"system-out"`
	SystemErr string          `xml:"system-err"`
}

type junitProperties struct {
	Props []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
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

// junitPackage is every suite's package (Ant: the suite name's prefix in aggregated reports).
const junitPackage = "walletctl.scenarios"

// WriteJUnit writes the report as JUnit XML: one test suite per transport, one test case per
// scenario, the diff or error as the failure's body. A suite's time is its wall-clock time (from
// its first case's start to its last case's end), not the sum of its cases, which run in parallel.
func WriteJUnit(path string, rep *Report) error {
	b, err := junitXML(rep, time.Now())
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, b, 0o644)
}

func junitXML(rep *Report, now time.Time) ([]byte, error) {
	host, err := os.Hostname()
	if err != nil || strings.TrimSpace(host) == "" {
		host = "localhost" // what the Ant schema asks for when the host name is unknown
	}
	bySuite := map[string]*junitSuite{}
	first, last := map[string]time.Time{}, map[string]time.Time{}
	var order []string
	for _, r := range rep.Results {
		transport := r.Transport
		if transport == "-" {
			transport = "golden"
		}
		name := junitPackage + "." + transport
		s := bySuite[name]
		if s == nil {
			s = &junitSuite{Name: name, Package: junitPackage, ID: len(order), Hostname: host,
				Props: junitProperties{Props: []junitProperty{{Name: "transport", Value: transport}}}}
			bySuite[name] = s
			order = append(order, name)
		}
		if !r.Started.IsZero() {
			if f, ok := first[name]; !ok || r.Started.Before(f) {
				first[name] = r.Started
			}
			if end := r.Started.Add(r.Duration); end.After(last[name]) {
				last[name] = end
			}
		}
		c := junitCase{Name: r.Name, Classname: name, Time: fmt.Sprintf("%.3f", r.Duration.Seconds())}
		firstLine := r.Message
		if i := strings.IndexByte(firstLine, '\n'); i >= 0 {
			firstLine = firstLine[:i]
		}
		switch r.Status {
		case StatusFail, StatusStale:
			s.Failures++
			msg := "transcript differs from " + r.Golden
			if r.Status == StatusStale || !strings.HasPrefix(r.Message, "---") {
				msg = firstLine
			}
			c.Failure = &junitFailure{Message: msg, Type: string(r.Status), Body: r.Message}
		case StatusError:
			s.Errors++
			c.Error = &junitFailure{Message: firstLine, Type: "ERROR", Body: r.Message}
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	doc := junitSuites{}
	for _, n := range order {
		s := bySuite[n]
		start, wall := now, time.Duration(0)
		if f, ok := first[n]; ok {
			start, wall = f, last[n].Sub(f)
		}
		// Ant's timestamp is a local date and time with no zone: UTC, said in a property.
		s.Timestamp = start.UTC().Format("2006-01-02T15:04:05")
		s.Props.Props = append(s.Props.Props, junitProperty{Name: "timestamp.zone", Value: "UTC"})
		s.Time = fmt.Sprintf("%.3f", wall.Seconds())
		doc.Suites = append(doc.Suites, *s)
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
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
