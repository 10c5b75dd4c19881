package conformance

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
)

// newBank starts the real bankmock engine behind its real HTTP server on loopback.
func newBank(t *testing.T) (*bankmock.Engine, *httptest.Server) {
	t.Helper()
	eng := bankmock.New(bankmock.Config{Seed: 7, Customers: 5})
	srv := server.New(eng, server.Options{AdminToken: testAdminToken})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { srv.ReleaseHangs(); ts.Close() })
	return eng, ts
}

// testAdminToken is the test banks' admin token: the kit stages its cards through the admin API.
const testAdminToken = "test-admin"

func testConfig(url string) Config {
	return Config{URL: url, Timeout: 2 * time.Second, RunID: "t1", AdminToken: testAdminToken}
}

func TestBankmockPassesEveryCheck(t *testing.T) {
	_, ts := newBank(t)
	rep := RunBank(context.Background(), testConfig(ts.URL))
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
		if c.Status != Pass {
			t.Errorf("%s: %s: %s", c.Name, c.Status, c.Detail)
		}
	}
	if !slices.Equal(names, BankChecks) {
		t.Errorf("checks run %v\nwant %v", names, BankChecks)
	}
	if !rep.OK() {
		t.Errorf("report not OK: %s", rep.Summary())
	}
}

func TestPrintReport(t *testing.T) {
	_, ts := newBank(t)
	rep := RunBank(context.Background(), testConfig(ts.URL))
	var b strings.Builder
	rep.WriteTable(&b, false)
	t.Log("\n" + b.String())
}
