package conformance

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
)

// newBank starts the real bankmock engine behind its real HTTP server on loopback.
func newBank(t *testing.T, opts ...testworld.Option) *testworld.Bank {
	t.Helper()
	return testworld.NewBank(t, append([]testworld.Option{testworld.Loopback(testAdminToken)}, opts...)...)
}

// testAdminToken is the test banks' admin token: the kit stages its cards through the admin API.
const testAdminToken = "test-admin"

func testConfig(url string) Config {
	return Config{URL: url, Timeout: 2 * time.Second, RunID: "t1", AdminToken: testAdminToken}
}

// passedAll checks that the report ran the checks of want, in order, and that each passed.
func passedAll(t *testing.T, rep *Report, want []string) {
	t.Helper()
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
		if c.Status != Pass {
			t.Errorf("%s: %s: %s", c.Name, c.Status, c.Detail)
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("checks run %v\nwant %v", names, want)
	}
}

func TestBankmockPassesEveryCheck(t *testing.T) {
	rep := RunBank(context.Background(), testConfig(newBank(t).URL))
	passedAll(t, rep, BankChecks)
	if !rep.OK() {
		t.Errorf("report not OK: %s", rep.Summary())
	}
}

func TestPrintReport(t *testing.T) {
	rep := RunBank(context.Background(), testConfig(newBank(t).URL))
	var b strings.Builder
	rep.WriteTable(&b, false)
	t.Log("\n" + b.String())
}
