package scenario

import (
	"encoding/xml"
	"testing"
	"time"
)

// A suite's time is its wall-clock time: two 6 s cases run side by side take 6 s, not 12; its
// timestamp is when its first case began, in UTC with no zone (the Ant form).
func TestJUnitSuiteTimeIsWallClock(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 4, 0, 0, 0, time.UTC)
	rep := &Report{Results: []Result{
		{Name: "a", Transport: "inproc", Status: StatusPass, Started: t0, Duration: 6 * time.Second},
		{Name: "b", Transport: "inproc", Status: StatusPass, Started: t0.Add(500 * time.Millisecond), Duration: 5 * time.Second},
		{Name: "a", Transport: "http", Status: StatusPass, Started: t0.Add(time.Second), Duration: 6 * time.Second},
		{Name: "b", Transport: "http", Status: StatusPass, Started: t0.Add(7 * time.Second), Duration: 2 * time.Second},
	}}
	b, err := junitXML(rep, t0)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"walletctl.scenarios.inproc": "6.000", "walletctl.scenarios.http": "8.000"}
	for i, s := range doc.Suites {
		if s.Time != want[s.Name] {
			t.Errorf("suite %s: time %s, want the wall time %s", s.Name, s.Time, want[s.Name])
		}
		if s.ID != i || s.Package != junitPackage || s.Hostname == "" {
			t.Errorf("suite %s: id %d package %q hostname %q", s.Name, s.ID, s.Package, s.Hostname)
		}
	}
	if ts := doc.Suites[1].Timestamp; ts != "2026-01-05T04:00:01" {
		t.Errorf("http suite timestamp %s, want 2026-01-05T04:00:01", ts)
	}
}
