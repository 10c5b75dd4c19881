package scenario_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/walletctl/walletctl/walletctl/scenario"
)

// xmllint validates JUnit reports against the schemas in testdata/junit. The test never skips:
// CI installs it (.ci/run: libxml2-utils).
func xmllint(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is needed to validate the JUnit report: apt-get install libxml2-utils (.ci/run installs it)")
	}
	return p
}

// A real report (a failing golden in two transports and a stale golden) is valid against the
// Jenkins schema and the stricter Ant one.
func TestJUnitSchemas(t *testing.T) {
	lint := xmllint(t)
	dir := copyDir(t, filepath.Join("testdata", "false"))
	if err := os.WriteFile(filepath.Join(dir, "golden", "gone.golden"), []byte("# scenario: gone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := suite(t, dir, false, scenario.TransportInproc, scenario.TransportHTTP)
	report := filepath.Join(t.TempDir(), "junit.xml")
	if err := scenario.WriteJUnit(report, rep); err != nil {
		t.Fatal(err)
	}
	for _, xsd := range []string{"jenkins.xsd", "ant.xsd"} {
		out, err := exec.Command(lint, "--noout", "--schema", filepath.Join("testdata", "junit", xsd), report).CombinedOutput()
		if err != nil {
			b, _ := os.ReadFile(report)
			t.Errorf("the JUnit report is not valid against %s: %v\n%s\nreport:\n%s", xsd, err, out, b)
		}
	}
}
