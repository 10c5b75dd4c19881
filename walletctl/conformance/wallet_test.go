package conformance

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl/httpapi"
)

// newWallet starts the real wallet server (walletctl serve's handler) on loopback with one tenant.
func newWallet(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	ctx := context.Background()
	s, err := httpapi.NewServer(ctx, httpapi.Options{Data: t.TempDir(), Throwaway: true})
	if err != nil {
		t.Fatal(err)
	}
	const key = "conformance-test-key-0001"
	if _, err := s.Tenants().Create(ctx, httpapi.TenantSpec{Name: "partner", Seed: 5, Customers: 3, APIKey: key}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close(ctx) })
	return ts, key
}

func TestWalletServe(t *testing.T) {
	ts, key := newWallet(t)
	cfg := testConfig(ts.URL)
	cfg.APIKey = key
	rep := RunWallet(context.Background(), cfg)
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
		if c.Status != Pass {
			t.Errorf("%s: %s: %s", c.Name, c.Status, c.Detail)
		}
	}
	if !slices.Equal(names, WalletChecks) {
		t.Errorf("checks run %v\nwant %v", names, WalletChecks)
	}
	if t.Failed() {
		var b strings.Builder
		rep.WriteTable(&b, false)
		t.Log("\n" + b.String())
	}
}

func TestWalletWrongKey(t *testing.T) {
	ts, _ := newWallet(t)
	cfg := testConfig(ts.URL)
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
