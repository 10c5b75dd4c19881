package scenario_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/scenario"
)

// --run that matches no scenario is an error, not an empty green run.
func TestRunMatchingNothingFails(t *testing.T) {
	dir := copyDir(t, filepath.Join("testdata", "false"))
	opts := scenario.Options{World: world(), Paths: []string{filepath.Join(dir, "scenarios")},
		GoldenDir: filepath.Join(dir, "golden"), Run: regexp.MustCompile("^no-such-scenario$")}
	opts.TempDir = t.TempDir()
	rep, err := scenario.RunSuite(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "matches none") {
		t.Fatalf("--run matching nothing: report %+v, err %v; want an error", rep, err)
	}
}

// --run RE --update deletes stale goldens only inside RE: a golden whose name RE does not match
// is left alone, and not reported either.
func TestRunUpdateKeepsGoldensOutsideRE(t *testing.T) {
	dir := copyDir(t, filepath.Join("testdata", "false"))
	golden := filepath.Join(dir, "golden")
	outside := filepath.Join(golden, "other-flow.golden")
	inside := filepath.Join(golden, "balance-gone.golden")
	for _, p := range []string{outside, inside} {
		if err := os.WriteFile(p, []byte("# scenario: x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := scenario.Options{World: world(), Paths: []string{filepath.Join(dir, "scenarios")},
		GoldenDir: golden, Run: regexp.MustCompile("^balance"), Update: true}
	opts.TempDir = t.TempDir()
	rep, err := scenario.RunSuite(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("--run ^balance --update deleted a golden outside its filter: %v", err)
	}
	if _, err := os.Stat(inside); !os.IsNotExist(err) {
		t.Errorf("--run ^balance --update kept the stale balance-gone.golden: %v", err)
	}
	for _, r := range rep.Results {
		if r.Name == "other-flow" {
			t.Errorf("a golden outside --run was reported: %+v", r)
		}
	}
}

// `scenario run` with failures exits 11 (SCENARIO_FAILED), not 1 (internal); a --run that matches
// nothing exits non-zero with the reason.
func TestScenarioRunExitCodes(t *testing.T) {
	dir := copyDir(t, filepath.Join("testdata", "false"))
	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		full := append([]string{"scenario", "run", "--golden", filepath.Join(dir, "golden")}, args...)
		full = append(full, filepath.Join(dir, "scenarios"))
		code := cli.Run(context.Background(), full, &cli.IOStreams{Out: &out, ErrOut: &errOut}, func(string) string { return "" })
		return code, errOut.String()
	}
	if code, errOut := run(); code != 11 || !strings.Contains(errOut, "SCENARIO_FAILED") {
		t.Errorf("a failing scenario: exit %d, want 11 with SCENARIO_FAILED\n%s", code, errOut)
	}
	if code, errOut := run("--run", "^nothing-matches$"); code == 0 || !strings.Contains(errOut, "matches none") {
		t.Errorf("--run matching nothing: exit %d\n%s", code, errOut)
	}
}
