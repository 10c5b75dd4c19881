package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/notify"
)

// fakeDNS resolves the test's names without the system resolver, as an attacker's DNS would.
func fakeDNS(names map[string][]string) notify.LookupFunc {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, s := range names[host] {
			out = append(out, netip.MustParseAddr(s))
		}
		if len(out) == 0 {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return out, nil
	}
}

func hostPort(t *testing.T, raw string) (string, string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname(), u.Port()
}

// A receiver that redirects (301, 302, 303, 307, 308) to another URL on loopback: the target is
// never requested, the attempt records the 3xx as its answer, and it is retried on the schedule
// like any other non-2xx. (The sender used to follow up to 10 redirects, a POST turning into a
// GET, and keep the target's answer: a tenant could read another partner's OTP through it.)
func TestRedirectIsNotFollowed(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			w := newWorld(t, false)
			target := &receiver{}
			ts := httptest.NewServer(target)
			defer ts.Close()
			redirector := &receiver{}
			rs := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				redirector.ServeHTTP(httptest.NewRecorder(), r)
				http.Redirect(rw, r, ts.URL+"/admin/otp?phone=13800000000", status)
			}))
			defer rs.Close()

			o := w.pay(fmt.Sprintf("redirect-%d", status), 1_00, rs.URL+"/notify", "")
			w.advance(15 * time.Second) // the retry is redirected too
			n := must(w.Engine.Notifications(w.Ctx, walletctl.NotificationFilter{}, walletctl.MaxPage)).Data[0]
			n = *w.resend(n.ID)
			if target.count() != 0 {
				t.Fatalf("the redirect's target was requested %d times", target.count())
			}
			if redirector.count() != 3 {
				t.Fatalf("the receiver was asked %d times, want 3 (first, retry, resend)", redirector.count())
			}
			if n.Order.ID != o.ID || n.Status != walletctl.NotifyPending || len(n.Attempts) != 3 {
				t.Fatalf("notification %+v", n)
			}
			for _, a := range n.Attempts {
				if a.Status != status || a.OK || a.Error != "" {
					t.Errorf("attempt %d: %+v; want status %d, not OK", a.N, a, status)
				}
			}
			if next := n.NextAt.Sub(n.Attempts[2].At); next != 15*time.Second {
				t.Errorf("the try after a %d is due %s later, want 15s", status, next)
			}
		})
	}
}

// Addresses refused at dial time: each notify_url is accepted at order creation (it is a well
// formed URL), and its attempts fail at once with the fence's error, counted on the schedule. A
// name is resolved by the fence (here by a fake DNS) and every address it resolves to checked,
// so a name cannot smuggle a refused address; the checked address is what is dialed.
func TestFenceRefusesAtDialTime(t *testing.T) {
	live := &receiver{}
	ls := httptest.NewServer(live)
	defer ls.Close()
	_, port := hostPort(t, ls.URL)
	dns := fakeDNS(map[string][]string{
		"metadata.test":  {"169.254.169.254"},
		"metadata6.test": {"fe80::a9fe:a9fe"},
		"mixed.test":     {"127.0.0.1", "169.254.169.254"}, // one refused address refuses the name
		"any.test":       {"0.0.0.0"},
		"group.test":     {"239.1.2.3"},
		"mapped.test":    {"::ffff:169.254.169.254"},
		"nat64.test":     {"64:ff9b::a9fe:a9fe"},
		"denied.test":    {"127.0.0.1"},
		"receiver.test":  {"127.0.0.1"},
	})
	for _, c := range []struct {
		name, url string
		policy    notify.Policy
		why       string // "" = delivered
	}{
		{"link-local literal", "http://169.254.169.254/latest/meta-data/", notify.Policy{}, "link-local"},
		{"link-local by name", "http://metadata.test/computeMetadata/v1/", notify.Policy{}, "link-local"},
		{"link-local IPv6 by name", "http://metadata6.test/", notify.Policy{}, "link-local"},
		{"IPv6 link-local literal", "http://[fe80::1]:" + port + "/", notify.Policy{}, "link-local"},
		{"a name with one bad address", "http://mixed.test:" + port + "/", notify.Policy{}, "link-local"},
		{"mapped IPv4", "http://mapped.test/", notify.Policy{}, "link-local"},
		{"NAT64 IPv4", "http://nat64.test/", notify.Policy{}, "link-local"},
		// 0.0.0.0 and :: connect to this host's loopback on Linux: the live receiver would answer.
		{"unspecified IPv4", "http://0.0.0.0:" + port + "/notify", notify.Policy{}, "unspecified"},
		{"unspecified by name", "http://any.test:" + port + "/notify", notify.Policy{}, "unspecified"},
		{"unspecified IPv6", "http://[::]:" + port + "/notify", notify.Policy{}, "unspecified"},
		{"multicast", "http://group.test/", notify.Policy{}, "multicast"},
		{"multicast IPv6", "http://[ff02::1]/", notify.Policy{}, "multicast"},
		{"denied range by name", "http://denied.test:" + port + "/notify",
			notify.Policy{Deny: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/24")}}, "in a denied range (127.0.0.0/24)"},
		{"denied wins over allowed", "http://127.0.0.1:" + port + "/notify",
			notify.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Deny: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
			"in a denied range"},
		{"outside the allowed ranges", "http://127.0.0.1:" + port + "/notify",
			notify.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "outside the allowed ranges"},
		{"loopback by name, allowed", "http://receiver.test:" + port + "/notify", notify.Policy{}, ""},
		{"loopback in the allowed range", "http://127.0.0.1:" + port + "/notify",
			notify.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := live.count()
			w := newWorldWith(t, false, &notify.Sender{Fence: notify.NewFence(c.policy).WithLookup(dns)})
			start := time.Now()
			w.pay("fence-000001", 1_00, c.url, "")
			n := must(w.Engine.Notifications(w.Ctx, walletctl.NotificationFilter{}, walletctl.MaxPage)).Data[0]
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %s: a refusal must not wait for a connection", took)
			}
			a := n.Attempts[0]
			if c.why == "" {
				if !a.OK || live.count() != before+1 {
					t.Fatalf("attempt %+v; the receiver got %d", a, live.count()-before)
				}
				return
			}
			if live.count() != before {
				t.Fatalf("the receiver was reached %d times", live.count()-before)
			}
			if a.OK || a.Status != 0 || !strings.HasPrefix(a.Error, notify.FencePrefix) || !strings.Contains(a.Error, c.why) {
				t.Fatalf("attempt %+v; want an error %q… naming %q", a, notify.FencePrefix, c.why)
			}
			// A failed attempt like any other: retried on the schedule.
			if n.Status != walletctl.NotifyPending || n.Tries != 1 || n.NextAt.Sub(a.At) != 15*time.Second {
				t.Fatalf("notification %s, tries %d, next %v after the attempt", n.Status, n.Tries, n.NextAt.Sub(a.At))
			}
		})
	}
}

// The fence's own rules, address by address: the server's own listening addresses (added after
// the fence was made, as walletctl serve learns its port after opening its tenants) and the
// tenant's bank, each on its port at every local address; the operator's ranges.
func TestFenceCheck(t *testing.T) {
	ctx := context.Background()
	self := &notify.Listeners{}
	f := notify.NewFence(notify.Policy{Deny: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}).
		WithListeners(self).WithURL("the tenant's bank", "http://bank.test:8086").
		WithLookup(fakeDNS(map[string][]string{"bank.test": {"127.0.0.1"}}))
	self.Add(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8087})
	for _, c := range []struct {
		addr string
		why  string
	}{
		{"127.0.0.1:8087", "the wallet server's own address"},
		{"127.0.0.2:8087", "the wallet server's own address"}, // loopback answers for loopback
		{"[::1]:8087", "the wallet server's own address"},
		{"[::ffff:127.0.0.1]:8087", "the wallet server's own address"},
		{"127.0.0.1:8086", "the tenant's bank"},
		{"[::1]:8086", "the tenant's bank"},
		{"169.254.169.254:80", "link-local"},
		{"[fe80::1%eth0]:80", "link-local"},
		{"0.0.0.0:80", "unspecified"},
		{"224.0.0.251:5353", "multicast"},
		{"255.255.255.255:80", "broadcast"},
		{"10.9.3.4:80", "in a denied range (10.9.0.0/16)"},
		{"[::ffff:10.9.3.4]:80", "in a denied range"},
		{"127.0.0.1:8088", ""},
		{"10.1.2.3:8086", ""}, // the bank's port elsewhere
		{"192.168.1.10:8087", ""},
		{"[fd00::1]:443", ""},
		{"93.184.216.34:443", ""},
	} {
		err := f.Check(ctx, netip.MustParseAddrPort(c.addr))
		var refused *notify.RefusedError
		switch {
		case c.why == "" && err != nil:
			t.Errorf("%s refused: %v", c.addr, err)
		case c.why != "" && (!errors.As(err, &refused) || !strings.Contains(err.Error(), c.why) || !strings.HasPrefix(err.Error(), notify.FencePrefix)):
			t.Errorf("%s: %v; want refused as %q", c.addr, err, c.why)
		}
	}
	// Allow: only its ranges, never a built-in refusal.
	a := notify.NewFence(notify.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}})
	if err := a.Check(ctx, netip.MustParseAddrPort("169.254.169.254:80")); err == nil {
		t.Error("an allow range let link-local through")
	}
	if err := a.Check(ctx, netip.MustParseAddrPort("[fd00::1]:80")); err == nil {
		t.Error("an IPv6 address passed an IPv4-only allow list")
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := notify.ParsePrefixes(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,")
	if err != nil || fmt.Sprint(got) != "[10.0.0.0/8 192.168.1.7/32 fd00::/8]" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := notify.ParsePrefixes("10.0.0.0/33"); err == nil {
		t.Fatal("a bad range was read")
	}
}
