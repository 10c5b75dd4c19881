package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
)

// A wrong --api-key against walletctl serve is authentication (exit 7, UNAUTHENTICATED), not bad
// input (exit 2).
func TestBadAPIKeyIsAuthentication(t *testing.T) {
	b := startKeyedBackend(t)
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), []string{"--backend", b.url, "--api-key", b.key + "x", "user", "list"},
		&cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, nil)
	if code != 7 || !strings.Contains(errOut.String(), walletctl.CodeUnauthenticated) {
		t.Fatalf("a wrong API key: exit %d, want 7 with UNAUTHENTICATED\n%s", code, errOut.String())
	}
}

// The failures of the checking commands have their own class, 11, not 1 (internal), and every
// auth code a user can meet is in `walletctl codes`.
func TestCheckAndAuthCodesListed(t *testing.T) {
	for _, c := range []string{walletctl.CodeScenarioFailed, walletctl.CodeConformanceFailed} {
		if e := cli.ExitCode(c); e != 11 {
			t.Errorf("%s: exit %d, want 11", c, e)
		}
	}
	for _, c := range []string{walletctl.CodeUnauthenticated, walletctl.CodeUnauthorized} {
		if e := cli.ExitCode(c); e != 7 {
			t.Errorf("%s: exit %d, want 7", c, e)
		}
	}
	var out, errOut bytes.Buffer
	if code := cli.Run(context.Background(), []string{"codes", "-o", "json"}, &cli.IOStreams{Out: &out, ErrOut: &errOut}, func(string) string { return "" }); code != 0 {
		t.Fatalf("codes: exit %d\n%s", code, errOut.String())
	}
	for _, c := range []string{"UNAUTHENTICATED", "UNAUTHORIZED", "SCENARIO_FAILED", "CONFORMANCE_FAILED"} {
		if !strings.Contains(out.String(), `"`+c+`"`) {
			t.Errorf("walletctl codes does not list %s", c)
		}
	}
}
