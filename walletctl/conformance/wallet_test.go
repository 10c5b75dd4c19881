package conformance

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/tenant/tenanttest"
)

// newWallet starts the real wallet server (walletctl serve's handler) on loopback with one tenant.
func newWallet(t *testing.T) (string, string) {
	t.Helper()
	const key = "conformance-test-key-0001"
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{})
	srv.Create(t, walletctl.TenantSpec{Name: "partner", Seed: 5, Customers: 3, APIKey: key})
	return srv.URL, key
}

func TestWalletServe(t *testing.T) {
	url, key := newWallet(t)
	cfg := testConfig(url)
	cfg.APIKey = key
	rep := RunWallet(context.Background(), cfg)
	passedAll(t, rep, WalletChecks)
	if t.Failed() {
		var b strings.Builder
		rep.WriteTable(&b, false)
		t.Log("\n" + b.String())
	}
}

func TestWalletWrongKey(t *testing.T) {
	url, _ := newWallet(t)
	cfg := testConfig(url)
	cfg.APIKey = "not-the-tenant-key-0001"
	rep := RunWallet(context.Background(), cfg)
	// Without a valid key nothing is served: the auth check fails and names it, everything after
	// it is n/a (never passed), and the run is not OK.
	if rep.OK() || !slices.Contains(rep.Names(NA), CheckWNotFound) || !slices.Equal(rep.Names(Fail), []string{CheckWAuth}) {
		var b strings.Builder
		rep.WriteTable(&b, false)
		t.Errorf("wrong key:\n%s", b.String())
	}
}
