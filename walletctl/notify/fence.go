package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The notification fence (DESIGN.md section 10): a tenant names the URLs the server posts to, and
// the server's requests come from inside its own trust (loopback, its network). So the sender
// checks every address at dial time, after name resolution (a name cannot smuggle an address
// past a check made on the URL), and dials the address it checked:
//
//   - always refused: link-local (169.254.0.0/16, fe80::/10: cloud metadata), unspecified
//     (0.0.0.0, ::), multicast and the IPv4 broadcast address; an IPv4 address written as IPv6
//     (::ffff:a.b.c.d, 64:ff9b::a.b.c.d) is checked as the IPv4 address;
//   - refused endpoints (ip:port): the wallet server's own listening addresses and the tenant's
//     bank. A local endpoint (loopback, or an address of this host) is refused on its port at
//     every local address, since a server listening on all interfaces answers on each;
//   - the operator's Deny ranges are refused; when Allow is not empty, only addresses inside it
//     pass. Deny wins over Allow, and Allow never lets a built-in refusal through;
//   - everything else passes: loopback and private ranges included, because a merchant's
//     receiver on a developer's laptop or a team's network lives there.
//
// A refusal is a *RefusedError, whose message starts with FencePrefix; the sender records it as
// the attempt's error, and the attempt counts as failed on the schedule.

// FencePrefix begins every refusal's message, so that users and tests can find them.
const FencePrefix = "refused by the notification fence: "

// RefusedError is an address the fence refused.
type RefusedError struct {
	Addr   netip.AddrPort
	Reason string // "link-local", "the tenant's bank", ...
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%saddress %s is %s", FencePrefix, e.Addr, e.Reason)
}

// Policy is the operator's choice of ranges (walletctl serve --notify-allow/--notify-deny).
type Policy struct {
	Allow []netip.Prefix // when not empty, only these ranges pass
	Deny  []netip.Prefix // refused, whatever Allow says
}

// ParsePrefixes reads a comma-separated list of CIDR ranges or single addresses
// ("10.0.0.0/8,192.168.1.7,fd00::/8").
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR range (10.0.0.0/8) or an address", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// LookupFunc resolves a host name to its addresses.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// Fence decides which addresses the sender may connect to. The zero value refuses only the
// built-in ranges; the With methods return a changed copy.
type Fence struct {
	policy    Policy
	endpoints []endpoint
	listeners *Listeners
	lookup    LookupFunc
}

// endpoint is a refused host:port; host may be a name, resolved when an address is checked.
type endpoint struct {
	host string
	port uint16
	why  string
}

// NewFence is the fence with the operator's policy.
func NewFence(p Policy) Fence {
	return Fence{policy: Policy{Allow: slices.Clone(p.Allow), Deny: slices.Clone(p.Deny)}}
}

// WithEndpoint refuses host:port (host a name or an address), saying why ("the tenant's bank").
func (f Fence) WithEndpoint(why, hostport string) (Fence, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return f, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return f, fmt.Errorf("bad port in %q", hostport)
	}
	f.endpoints = append(slices.Clone(f.endpoints), endpoint{host: strings.ToLower(host), port: uint16(p), why: why})
	return f, nil
}

// WithURL refuses the host:port a URL connects to (the scheme's port when it names none). A URL
// without a host ("", or one nothing could connect to) changes nothing.
func (f Fence) WithURL(why, raw string) Fence {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Hostname() == "" {
		return f
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443"}[u.Scheme]
		if port == "" {
			port = "80"
		}
	}
	if g, err := f.WithEndpoint(why, net.JoinHostPort(u.Hostname(), port)); err == nil {
		return g
	}
	return f
}

// WithListeners refuses the addresses l holds when an address is checked: the wallet server's
// own, known only once it listens (after its tenants were opened).
func (f Fence) WithListeners(l *Listeners) Fence {
	f.listeners = l
	return f
}

// WithLookup resolves names with fn instead of the system resolver (tests).
func (f Fence) WithLookup(fn LookupFunc) Fence {
	f.lookup = fn
	return f
}

// Policy is the operator's part of the fence.
func (f Fence) Policy() Policy { return f.policy }

// Listeners is the set of a server's own listening addresses; safe for concurrent use.
type Listeners struct {
	mu    sync.RWMutex
	addrs []netip.AddrPort
}

// Add records a listener's address (a *net.TCPAddr, as net.Listener.Addr gives it).
func (l *Listeners) Add(a net.Addr) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return
	}
	l.mu.Lock()
	l.addrs = append(l.addrs, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	l.mu.Unlock()
}

func (l *Listeners) list() []netip.AddrPort {
	if l == nil {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clone(l.addrs)
}

func (f Fence) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.WithZone("").Unmap()}, nil
	}
	var addrs []netip.Addr
	var err error
	if f.lookup != nil {
		addrs, err = f.lookup(ctx, host)
	} else {
		addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.WithZone("").Unmap())
	}
	return out, nil
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// embedded is the IPv4 address an IPv6 address stands for (mapped or NAT64), else a itself.
func embedded(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		return netip.AddrFrom4([4]byte(b[12:16]))
	}
	return a
}

// builtIn is why a is always refused, or "".
func builtIn(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "not an address"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLinkLocalUnicast():
		return "link-local (cloud metadata lives there)"
	case a.IsMulticast():
		return "multicast"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	return ""
}

// localAddrs are this host's interface addresses, read once.
var localAddrs = sync.OnceValue(func() map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	as, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out[p.Addr().WithZone("").Unmap()] = true
		}
	}
	return out
})

// local reports an address of this host: a server listening on all interfaces answers on it.
func local(a netip.Addr) bool {
	return a.IsLoopback() || a.IsUnspecified() || localAddrs()[a]
}

// sameEndpoint reports whether dialing a reaches the refused endpoint at b (same port).
func sameEndpoint(a, b netip.AddrPort) bool {
	if a.Port() != b.Port() {
		return false
	}
	return a.Addr() == b.Addr() || local(a.Addr()) && local(b.Addr())
}

// Check is nil when the fence lets the sender connect to ap, else a *RefusedError.
func (f Fence) Check(ctx context.Context, ap netip.AddrPort) error {
	a := ap.Addr().WithZone("").Unmap()
	ap = netip.AddrPortFrom(a, ap.Port())
	refuse := func(why string) error { return &RefusedError{Addr: ap, Reason: why} }
	for _, x := range []netip.Addr{a, embedded(a)} {
		if why := builtIn(x); why != "" {
			return refuse(why)
		}
	}
	for _, l := range f.listeners.list() {
		if sameEndpoint(ap, l) {
			return refuse("the wallet server's own address")
		}
	}
	for _, e := range f.endpoints {
		if e.port != ap.Port() {
			continue
		}
		addrs, err := f.resolve(ctx, e.host)
		if err != nil {
			// Unknown now: the endpoint cannot be told apart, so its port stays closed on this host.
			if local(a) {
				return refuse(e.why + " (its name does not resolve: " + err.Error() + ")")
			}
			continue
		}
		for _, b := range addrs {
			if sameEndpoint(ap, netip.AddrPortFrom(b, e.port)) {
				return refuse(e.why)
			}
		}
	}
	e4 := embedded(a)
	for _, p := range f.policy.Deny {
		if p.Contains(a) || p.Contains(e4) {
			return refuse("in a denied range (" + p.String() + ")")
		}
	}
	if len(f.policy.Allow) > 0 && !slices.ContainsFunc(f.policy.Allow, func(p netip.Prefix) bool { return p.Contains(a) || p.Contains(e4) }) {
		return refuse("outside the allowed ranges")
	}
	return nil
}

// DialContext resolves addr's host, checks every address it resolves to (one refused refuses
// them all: a name that mixes a receiver with an internal address is not trusted), and dials
// the checked addresses in order, never the name again.
func (f Fence) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port in %q", addr)
	}
	addrs, err := f.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	checked := make([]netip.AddrPort, 0, len(addrs))
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a, uint16(p))
		if err := f.Check(ctx, ap); err != nil {
			return nil, err
		}
		checked = append(checked, ap)
	}
	var d net.Dialer // the request's context bounds it
	var errs []error
	for _, ap := range checked {
		c, err := d.DialContext(ctx, network, ap.String())
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// Client is an HTTP client that dials through the fence, never follows a redirect (a 3xx is the
// answer), ignores proxy settings (a proxy would be dialed instead of the checked address) and
// gives up after timeout.
func (f Fence) Client(timeout time.Duration) *http.Client {
	t := &http.Transport{}
	if d, ok := http.DefaultTransport.(*http.Transport); ok {
		t = d.Clone() // its pool sizes and timeouts
	}
	t.Proxy = nil
	t.DialContext = f.DialContext
	t.DialTLSContext = nil
	return &http.Client{Transport: t, Timeout: timeout, CheckRedirect: NoRedirect}
}

// NoRedirect is an http.Client's CheckRedirect that returns the 3xx itself.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
