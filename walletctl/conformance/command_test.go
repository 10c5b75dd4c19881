package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/conformance"
)

// testAdminToken is the test bank's admin token: the kit stages its cards through the admin API.
const testAdminToken = "test-admin"

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	home := t.TempDir()
	code := cli.Run(context.Background(), args, &cli.IOStreams{Out: &out, ErrOut: &errOut},
		func(k string) string {
			if k == "WALLETCTL_HOME" {
				return home
			}
			return ""
		})
	return code, out.String(), errOut.String()
}

func TestCommandBank(t *testing.T) {
	bank := testworld.NewBank(t, testworld.Seed(3), testworld.Customers(2), testworld.Loopback(testAdminToken))

	code, out, errOut := run(t, "conformance", "bank", "--url", bank.URL, "--admin-token", testAdminToken, "--run-id", "cmd1")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d passed, 0 failed, 0 n/a", len(conformance.BankChecks))) || !strings.Contains(out, "statement.totals") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}

	// JSON for scripts; a second run on the same server with another run ID passes too.
	code, out, errOut = run(t, "conformance", "bank", "--url", bank.URL, "--admin-token", testAdminToken, "--run-id", "cmd2", "-o", "json")
	var rep struct {
		OK     bool                `json:"ok"`
		RunID  string              `json:"run_id"`
		Checks []conformance.Check `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.OK || rep.RunID != "cmd2" || len(rep.Checks) != len(conformance.BankChecks) {
		t.Fatalf("exit %d, err %v, report %+v\n%s", code, err, rep, errOut)
	}

	// Nothing listening: checks fail, the exit code is 11 (CONFORMANCE_FAILED: checks failed, not
	// an internal error) and stderr names the failed checks.
	bank.HTTP.Close()
	code, out, errOut = run(t, "conformance", "bank", "--url", bank.URL, "--admin-token", testAdminToken, "--timeout", "500ms")
	if code != 11 || !strings.Contains(errOut, "CONFORMANCE_FAILED") || !strings.Contains(errOut, "conformance check(s) failed: healthz") || !strings.Contains(out, "fail") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}

	code, _, errOut = run(t, "conformance", "bank")
	if code != cli.ExitCode(walletctl.CodeInvalidArgument) || !strings.Contains(errOut, "url") {
		t.Fatalf("without --url: exit %d\n%s", code, errOut)
	}
}
