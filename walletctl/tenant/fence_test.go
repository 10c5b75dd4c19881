package tenant_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/notify"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/tenant/tenanttest"
)

// Issue 18's first attack: a tenant of walletctl serve on a shared bank names the bank's own
// /admin/reset as an order's notify_url (by its address, by name, by 0.0.0.0 and ::1, which
// reach it too), pays the order and resends the notification. Every attempt is refused by the
// fence with its own error, and no request of the sender ever reaches the bank. The server's own
// address is refused likewise, while an ordinary receiver on loopback still gets its
// notification. (The bank here keeps an admin token, so the test holds whatever the bank's rule
// for tokenless callers is: it checks that the request never arrives.)
func TestNotifyURLCannotReachTheBankOrTheServer(t *testing.T) {
	ctx := context.Background()
	const token = "operator-bank-token-fence-1"
	var fromSender, resets atomic.Int64
	bs := sharedBank(t, token, func(bank http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.UserAgent(), "walletctl-notify") {
				fromSender.Add(1)
			}
			if r.URL.Path == "/admin/reset" {
				resets.Add(1)
			}
			bank.ServeHTTP(w, r)
		})
	})

	got := &atomic.Int64{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)

	self := &notify.Listeners{}
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{BankToken: token, NotifyFence: notify.NewFence(notify.Policy{}).WithListeners(self)})
	su, _ := url.Parse(srv.URL)
	sa, err := net.ResolveTCPAddr("tcp", su.Host)
	if err != nil {
		t.Fatal(err)
	}
	self.Add(sa) // as walletctl serve does once it listens
	ct := srv.Create(t, walletctl.TenantSpec{Name: "attacker", Seed: 11, Customers: 3, BankURL: bs.URL})

	c := bs.AddCustomer(bankapi.Customer{Bank: "ICBC", Balance: 10_000_00})
	user := payer(t, srv.URL, ct.APIKey, c, 100_00)[0].UserID
	svc := httpapi.NewClient(srv.URL, ct.APIKey, httpapi.ClientOptions{})
	m, err := svc.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "fence shop"})
	if err != nil {
		t.Fatal(err)
	}
	bu, _ := url.Parse(bs.URL)
	port := bu.Port()
	targets := map[string]string{ // notify_url -> what the fence says
		bs.URL + "/admin/reset":                                "the tenant's bank",
		"http://localhost:" + port + "/admin/reset":            "the tenant's bank",
		"http://[::1]:" + port + "/admin/reset":                "the tenant's bank",
		"http://0.0.0.0:" + port + "/admin/reset":              "unspecified",
		"http://127.0.0.1:" + port + "/admin/otp?phone=138000": "the tenant's bank",
		srv.URL + "/admin/tenants":                             "the wallet server's own address",
		rcv.URL + "/notify":                                    "", // delivered
	}
	n := 0
	for target := range targets {
		n++
		o, err := svc.CreateOrder(ctx, walletctl.OrderRequest{MchID: m.ID, TradeType: "NATIVE", OutTradeNo: "fence-order-" + string(rune('a'+n)),
			Description: "fence", Amount: 1_00, NotifyURL: target})
		if err != nil {
			t.Fatalf("order for %s: %v", target, err)
		}
		if _, err := svc.PayOrder(ctx, walletctl.PayOrderRequest{UserID: user, Ref: o.CodeURL, Password: testworld.Password}); err != nil {
			t.Fatalf("pay: %v", err)
		}
	}
	// The server's worker sends them off the requests' path; this waits for it.
	if _, err := svc.DeliverNotifications(ctx); err != nil {
		t.Fatal(err)
	}
	ns, err := walletctl.Items(svc.Notifications(ctx, walletctl.NotificationFilter{}, walletctl.MaxPage))
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != len(targets) {
		t.Fatalf("%d notifications, want %d", len(ns), len(targets))
	}
	for _, n := range ns {
		// Resent: the fence holds every time it is asked.
		if _, err := svc.ResendNotification(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.DeliverNotifications(ctx); err != nil {
			t.Fatal(err)
		}
		again, err := svc.Notification(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		why := targets[n.URL]
		if len(again.Attempts) != 2 {
			t.Fatalf("%s: %d attempts, want 2", n.URL, len(again.Attempts))
		}
		for _, a := range again.Attempts {
			switch {
			case why == "" && !a.OK:
				t.Errorf("the receiver at %s was not delivered to: %+v", n.URL, a)
			case why != "" && (a.OK || a.Status != 0 || !strings.HasPrefix(a.Error, notify.FencePrefix) || !strings.Contains(a.Error, why)):
				t.Errorf("%s: attempt %+v; want refused by the fence as %q", n.URL, a, why)
			}
		}
	}
	if fromSender.Load() != 0 || resets.Load() != 0 {
		t.Fatalf("the bank got %d requests from the notification sender, %d of them /admin/reset", fromSender.Load(), resets.Load())
	}
	if got.Load() != 2 {
		t.Errorf("the ordinary receiver got %d notifications, want 2 (first and resend)", got.Load())
	}
}

// A tenant's name is shown in the tenant list and the server's log: no control characters.
func TestTenantNameRefusesControlCharacters(t *testing.T) {
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{})
	_, err := srv.Tenants.Create(context.Background(), walletctl.TenantSpec{Name: "acme\n{\"level\":\"ERROR\"}", Seed: 3, Customers: 2})
	var we *walletctl.Error
	if !errors.As(err, &we) || we.Code != walletctl.CodeInvalidArgument || we.Details["field"] != "name" {
		t.Fatalf("a tenant named with a newline: %v", err)
	}
}
