package scenario_test

import (
	"context"
	"flag"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/scenario"
)

var update = flag.Bool("update", false, "rewrite golden/*.golden from the scenarios (inproc), then check http against them")

// execCLI runs one command line through the real CLI, in-process.
func execCLI(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return cli.Run(ctx, args, &cli.IOStreams{In: stdin, Out: stdout, ErrOut: stderr}, getenv)
}

func world() scenario.World {
	return scenario.World{Exec: execCLI, StartBank: scenario.StartHTTPBank, StartWallet: scenario.StartHTTPWallet, Timeout: time.Minute}
}

// repoRoot is where scenarios/ and golden/ live, relative to this package.
var repoRoot = filepath.Join("..", "..")

// TestGolden runs the whole suite in every transport: every scenario's transcript must equal its
// golden in-process, with the bank over real loopback HTTP, and through a real wallet server
// (walletctl serve as --backend) over a real bank server. Every request and response of the two
// HTTP transports is validated against the served OpenAPI documents (openapi_test.go).
func TestGolden(t *testing.T) {
	opts := scenario.Options{
		World:      validatingWorld(t),
		Paths:      []string{filepath.Join(repoRoot, "scenarios")},
		GoldenDir:  filepath.Join(repoRoot, "golden"),
		Transports: []string{scenario.TransportInproc, scenario.TransportHTTP, scenario.TransportServe},
		Update:     *update,
	}
	opts.TempDir = t.TempDir()
	rep, err := scenario.RunSuite(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) == 0 {
		t.Fatal("no scenarios found")
	}
	t.Run("openapi", checkLiveOpenAPI)
	for _, r := range rep.Results {
		t.Run(r.Name+"/"+r.Transport, func(t *testing.T) {
			if r.Failed() {
				t.Errorf("%s\n%s", r.Status, r.Message)
			} else if r.Status != scenario.StatusPass {
				t.Logf("%s %s", r.Status, r.Golden)
			}
			// The suite ran before the subtests: -v shows each scenario's own time here.
			t.Logf("%d steps in %s", r.Steps, r.Duration.Round(time.Millisecond))
		})
	}
}
