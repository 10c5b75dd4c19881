package cli_test

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
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

// Nothing listening at --bank (a closed port) is NETWORK_ERROR (exit 9: nothing was sent), for a
// sandbox being made there and for the bank commands of a sandbox whose bank went away.
func TestRefusedBankIsNetworkError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	r := runIn(filepath.Join(t.TempDir(), "h"), "", nil, "--bank", closed, "sandbox", "init", "--customers", "3")
	if r.code != 9 || !strings.Contains(r.errOut, "NETWORK_ERROR") {
		t.Fatalf("init --bank at a closed port: %s", r)
	}

	srv := httptest.NewServer(server.New(bankmock.New(bankmock.Config{Seed: 1, Customers: 3}), server.Options{AdminToken: testBankToken}))
	home := filepath.Join(t.TempDir(), "h")
	env := map[string]string{"WALLETCTL_BANK_TOKEN": testBankToken}
	if r := runIn(home, "", env, "--bank", srv.URL, "sandbox", "init", "--customers", "3"); r.code != 0 {
		t.Fatal(r)
	}
	srv.Close()
	r = runIn(home, "", env, "--bank", srv.URL, "bank", "customers")
	if r.code != 9 || !strings.Contains(r.errOut, "NETWORK_ERROR") || strings.Contains(r.errOut, "PENDING") {
		t.Fatalf("bank customers with the bank gone: %s", r)
	}
}
