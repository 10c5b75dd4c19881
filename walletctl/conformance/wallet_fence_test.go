package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/tenant/tenanttest"
)

// unfenced is walletctl serve with the defects the v3.notify-* checks exist for: after a payment
// it posts to the order's notify_url itself with a client that follows redirects (as the sender
// did before issue 18), and it answers 500 to an order whose notify_url is link-local.
type unfenced struct {
	next      http.Handler
	mu        sync.Mutex
	notifyURL string
}

func (u *unfenced) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if strings.HasSuffix(r.URL.Path, "/v3/pay/transactions/native") {
		var o struct {
			NotifyURL string `json:"notify_url"`
		}
		json.Unmarshal(body, &o)
		if strings.Contains(o.NotifyURL, "169.254.") {
			http.Error(w, `{"code":"SYSTEM_ERROR","message":"dial timeout"}`, http.StatusInternalServerError)
			return
		}
		u.mu.Lock()
		u.notifyURL = o.NotifyURL
		u.mu.Unlock()
	}
	u.next.ServeHTTP(w, r)
	if r.URL.Path == "/v1/order-payments" {
		u.mu.Lock()
		target := u.notifyURL
		u.mu.Unlock()
		if resp, err := http.Post(target, "application/json", strings.NewReader("{}")); err == nil {
			resp.Body.Close()
		}
	}
}

func TestUnfencedWalletFailsTheFenceChecks(t *testing.T) {
	const key = "conformance-test-key-0003"
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{})
	srv.Create(t, walletctl.TenantSpec{Name: "partner", Seed: 5, Customers: 3, APIKey: key})
	ts := httptest.NewServer(&unfenced{next: srv.Handler})
	defer ts.Close()
	cfg := testConfig(ts.URL)
	cfg.APIKey = key
	rep := RunWallet(context.Background(), cfg)
	want := []string{CheckV3NotifyNoRedirect, CheckV3NotifyLinkLocal}
	if got := rep.Names(Fail); !slices.Equal(got, want) || len(rep.Names(NA)) > 0 {
		var b strings.Builder
		rep.WriteTable(&b, false)
		t.Errorf("failed %v, want %v\n%s", got, want, b.String())
	}
}
