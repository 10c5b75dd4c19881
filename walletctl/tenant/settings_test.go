package tenant_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/tenant/tenanttest"
)

// settingsOf reads the settings tenant id's sandbox was initialised with.
func settingsOf(t *testing.T, data, id string) walletctl.Settings {
	t.Helper()
	return metaOf(t, data, id).Settings
}

// A tenant's spec sets its wallet rules as `sandbox init --set` does, over the server's own and
// for that tenant only; its notifications then give up on a receiver that never answers after
// its notify_timeout, really.
func TestTenantSettings(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	server := walletctl.SandboxSettings()
	server.DailyLimit = 123_00
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{Data: data, Settings: &server})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 3, Customers: 2,
		Settings: map[string]string{"notify_timeout": "150ms", "password_lock": "1h", "password_hash.time": "2"}})
	plain := srv.Create(t, walletctl.TenantSpec{Seed: 3, Customers: 2})

	got, other := settingsOf(t, data, ct.ID), settingsOf(t, data, plain.ID)
	if got.NotifyTimeout.D() != 150*time.Millisecond || got.PasswordLock.D() != time.Hour || got.PasswordHash.Time != 2 || got.DailyLimit != 123_00 {
		t.Errorf("the tenant's settings: %+v", got)
	}
	if other != server {
		t.Errorf("another tenant's settings changed: %+v, want the server's %+v", other, server)
	}

	hangURL := testworld.Hanging(t) // never answers: until the sender gives up
	user := payer(t, srv.URL, ct.APIKey, testworld.Card("ok"), 100_00)[0].UserID
	svc := httpapi.NewClient(srv.URL, ct.APIKey, httpapi.ClientOptions{})
	m, err := svc.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "settings shop"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := svc.CreateOrder(ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: "settings-1",
		Description: "tea", Amount: 1_00, NotifyURL: hangURL + "/notify"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PayOrder(ctx, walletctl.PayOrderRequest{UserID: user, Ref: o.CodeURL, Password: testworld.Password}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeliverNotifications(ctx); err != nil { // the worker's first try
		t.Fatal(err)
	}
	ns, err := walletctl.Items(svc.Notifications(ctx, walletctl.NotificationFilter{}, walletctl.MaxPage))
	if err != nil || len(ns) != 1 {
		t.Fatalf("notifications %v, %v", ns, err)
	}
	if _, err := svc.ResendNotification(ctx, ns[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeliverNotifications(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := svc.Notification(ctx, ns[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Attempts) == 0 {
		t.Fatal("no attempt")
	}
	for _, a := range n.Attempts {
		// A lower bound only: a loaded machine may give up late, never early.
		if a.OK || a.Error != "no answer within 150ms" || a.LatencyMS < 150 {
			t.Errorf("attempt %+v, want no answer within 150ms after at least 150ms", a)
		}
	}
}

// A bad setting is refused before anything is made, naming it: no tenant, no folder, and the
// next tenant gets the id the refused one would have had.
func TestTenantSettingsRefused(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{Data: data})
	for _, tc := range []struct {
		settings map[string]string
		names    string
	}{
		{map[string]string{"notify_timeot": "1s"}, "notify_timeot"},
		{map[string]string{"notify_timeout": "soon"}, "notify_timeout"},
		{map[string]string{"notify_timeout": "2m"}, "notify_timeout"}, // above the bound
		{map[string]string{"velocity_max": "-1"}, "velocity_max"},     // Validate names a group
		{map[string]string{"password_hash.nope": "1"}, "password_hash.nope"},
		{map[string]string{"a=b": "1"}, `"a=b"`},
		{map[string]string{"": "1"}, `""`},
		{map[string]string{"password_lock": "1h", "zz": "1"}, "zz"}, // one good setting is not enough
	} {
		_, err := srv.Tenants.Create(ctx, walletctl.TenantSpec{Seed: 3, Customers: 2, Settings: tc.settings})
		var we *walletctl.Error
		if !errors.As(err, &we) || we.Code != walletctl.CodeInvalidArgument || !strings.Contains(we.Message, tc.names) {
			t.Errorf("settings %v: %v, want INVALID_ARGUMENT naming %s", tc.settings, err, tc.names)
		}
	}
	if l := srv.Tenants.List(); len(l) != 0 {
		t.Fatalf("refused specs made tenants: %+v", l)
	}
	if entries, _ := os.ReadDir(filepath.Join(data, "tenants")); len(entries) != 0 {
		t.Fatalf("refused specs left %d folders", len(entries))
	}
	if ct := srv.Create(t, walletctl.TenantSpec{Seed: 3, Customers: 2}); ct.ID != "t1" {
		t.Fatalf("the first tenant made is %s, want t1", ct.ID)
	}
}
