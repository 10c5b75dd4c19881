package scenario_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/walletctl/walletctl/internal/testbin"
	"github.com/walletctl/walletctl/walletctl/scenario"
)

// TestGoldenBinary runs the whole suite once more with every command as a real process of the
// built walletctl binary: the goldens hold for what ships, not only for the package in-process.
func TestGoldenBinary(t *testing.T) {
	bin := testbin.Build(t, "github.com/walletctl/walletctl/cmd/walletctl")
	w := world()
	w.Exec = scenario.ProcessExec(bin)
	opts := scenario.Options{
		World:      w,
		Paths:      []string{filepath.Join(repoRoot, "scenarios")},
		GoldenDir:  filepath.Join(repoRoot, "golden"),
		Transports: []string{scenario.TransportInproc},
	}
	opts.TempDir = t.TempDir()
	rep, err := scenario.RunSuite(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) < 40 {
		t.Fatalf("only %d scenarios ran", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Failed() || r.Status != scenario.StatusPass {
			t.Errorf("%s (%s): %s\n%s", r.Name, r.Transport, r.Status, r.Message)
		}
	}
}

// TestMain removes what testbin built for the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}
