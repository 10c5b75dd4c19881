// Package tenanttest starts the handler of `walletctl serve` (httpapi) over real tenants
// (walletctl/tenant) in a temporary folder, on loopback, for the tests of any package that needs a
// wallet server. (httpapi's own tests are inside httpapi, which this package imports, so they
// build theirs from tenant directly.)
package tenanttest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// The server's view of the tenants is what tenant implements.
var _ httpapi.Tenants = (*tenant.Set)(nil)

// Server is a running wallet server.
type Server struct {
	URL     string
	Handler *httpapi.Server
	Tenants *tenant.Set
}

// Start serves opts (whose Tenants it sets) over throwaway tenants in to.Data, a fresh folder by
// default, on a loopback httptest server; both are closed when the test ends.
func Start(t testing.TB, opts httpapi.Options, to tenant.Options) *Server {
	t.Helper()
	ctx := context.Background()
	if to.Data == "" {
		to.Data = t.TempDir()
	}
	to.Throwaway = true
	ts, err := tenant.Open(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	opts.Tenants = ts
	h, err := httpapi.NewServer(ctx, opts)
	if err != nil {
		ts.Close(ctx)
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.Close()
		if err := h.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return &Server{URL: hs.URL, Handler: h, Tenants: ts}
}

// Create makes a tenant, failing the test if it cannot.
func (s *Server) Create(t testing.TB, spec walletctl.TenantSpec) *walletctl.CreatedTenant {
	t.Helper()
	ct, err := s.Tenants.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}
