package scenario_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/walletctl/walletctl/walletctl/scenario"
)

// TestGoldenBinary runs the whole suite once more with every command as a real process of the
// built walletctl binary: the goldens hold for what ships, not only for the package in-process.
func TestGoldenBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "walletctl")
	build := exec.Command("go", "build", "-o", bin, "github.com/walletctl/walletctl/cmd/walletctl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
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
