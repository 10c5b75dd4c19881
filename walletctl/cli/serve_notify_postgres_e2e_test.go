package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankmock"
	bankserver "github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/postgres"
	"github.com/walletctl/walletctl/walletctl/postgres/pgtest"
)

// TestServePostgresNotificationsTwoProcesses: two real `walletctl serve --store postgres://…`
// processes serve one tenant (DESIGN.md section 11: servers sharing a schema claim each due try
// once), with notify_timeout 1s, so that a try's lease is 3 s (2×1s + 1s).
//
// The 400 orders (10 merchants, a loopback receiver as notify_url) are created first, through both
// servers: an unpaid order makes nothing due. The wallet's side is read from the schema itself.
//
// Phase 1: 200 of them are paid through both servers, so that both workers send from the one
// queue at once. The receiver gets each event exactly once (by the envelope's id), both servers
// sent some (when /proc tells which), and the wallet shows each notification delivered with
// exactly one attempt.
//
// Phase 2: the other 200 are paid through server A alone (B gets no request, so its worker
// sleeps, but for a lease timer left from phase 1) while the receiver holds each try 100–300 ms; once they are all paid and A has tries in
// flight, A is SIGKILLed. B then delivers the rest, and A's unrecorded tries once their leases run
// out. What is asserted, and why:
//   - none lost: every event reaches the receiver and is answered 2xx at least once, and the
//     wallet shows every notification delivered;
//   - each try is recorded once: every notification has exactly one attempt (a try A sent but
//     did not record left nothing; B's resend is the only one recorded);
//   - a duplicate delivery happens only as v3 allows it (at least once: the merchant dedupes by
//     id) and only where the kill caused it: an event reaches the receiver at most once before
//     the kill and at most once after it; an event that came twice was first sent by A before the
//     kill and resent after it, no sooner than its lease allowed; at most one per merchant (a
//     merchant has at most one try in flight per server); every try the kill cut off (the
//     receiver saw its sender go) was resent;
//   - the kill did cut tries off (at least one), and B delivered some after it.
func TestServePostgresNotificationsTwoProcesses(t *testing.T) {
	base := pgtest.DSN(t)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a stuck server fails the test
	defer cancel()
	sp := fmt.Sprintf("notify_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	dsn := base + "&search_path=" + sp
	const (
		key       = "notify-e2e-tenant-key-0001"
		admin     = "notify-e2e-admin-token"
		merchants = 10
		perPhase  = 200
		timeout   = time.Second
		lease     = 2*timeout + time.Second // engine.Engine.lease
	)

	clock := vclock.NewManual(vclock.DefaultEpoch)
	bank := bankmock.New(bankmock.Config{Seed: 3, Customers: 4, Clock: clock, Sleep: bankmock.InstantSleep})
	bs := httptest.NewServer(bankserver.New(bank, bankserver.Options{}))
	defer bs.Close()
	partner, err := bank.CreatePartner(ctx, "notify tenant")
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.OpenWith(ctx, dsn, postgres.Options{Schema: sp + "_tenant_t1"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		st.DropSchema(dctx)
		st.Close()
	}()

	rcv := newTryReceiver(t)
	env := []string{"WALLETCTL_SANDBOX_THROWAWAY=1", "WALLETCTL_ADMIN_TOKEN=" + admin}
	// velocity_max 0: one payer pays 400 orders.
	spec := fmt.Sprintf(`{"name":"shop","seed":3,"customers":4,"bank_url":%q,"bank_key":%q,"api_key":%q,"join":true,`+
		`"settings":{"notify_timeout":%q,"velocity_max":"0"}}`, bs.URL, partner.Key, key, timeout.String())
	var procs []*servedProcess
	var cs []*httpapi.Client
	for range 2 {
		p := startServe(t, env, "--data", t.TempDir(), "--store", dsn)
		if code, body := testworld.Call(t, "POST", p.url+"/admin/tenants", admin, spec); code != http.StatusCreated {
			t.Fatalf("create the tenant: %d %s", code, body)
		}
		procs = append(procs, p)
		cs = append(cs, httpapi.NewClient(p.url, key, httpapi.ClientOptions{}))
	}
	// Which server sent a try, when /proc tells (senders): by the connection it came on. A
	// server's connections to the receiver stay open for a while after its tries (idle in an HTTP
	// client's pool), so a look at the end of phase 1, and one just before A is killed, see them.
	names := map[int]string{procs[0].cmd.Process.Pid: "A", procs[1].cmd.Process.Pid: "B"}
	from := map[string]string{} // the sender's address: "A", "B"
	look := func() {
		for addr, name := range senders(rcv.Listener.Addr(), names) {
			from[addr] = name
		}
	}

	u := testworld.Opener{T: t, Ctx: ctx, Wallet: cs[0], OTPs: bank}.OpenWallet(bankmock.TestCards[0].Customer, 50_00).User.ID
	var mchids []string
	for i := range merchants {
		m, err := cs[i%2].CreateMerchant(ctx, walletctl.MerchantSpec{Name: fmt.Sprintf("shop %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		mchids = append(mchids, m.ID)
	}
	// Every order of both phases first, through both servers: an unpaid order makes nothing due.
	orders := map[string][]*walletctl.Order{"p1": make([]*walletctl.Order, perPhase), "p2": make([]*walletctl.Order, perPhase)}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < 2*perPhase; i += 4 {
				phase := []string{"p1", "p2"}[i/perPhase]
				o, err := cs[g%2].CreateOrder(ctx, walletctl.OrderRequest{MchID: mchids[i%merchants], TradeType: "NATIVE",
					OutTradeNo: fmt.Sprintf("%s-%04d", phase, i%perPhase), Description: "tea", Amount: 1, NotifyURL: rcv.URL + "/" + phase})
				if err != nil {
					t.Errorf("order %s-%d: %v", phase, i%perPhase, err)
				}
				orders[phase][i%perPhase] = o
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d orders: %v", 2*perPhase, time.Since(began).Round(time.Millisecond))
	pay := func(c *httpapi.Client, o *walletctl.Order) {
		if _, err := c.PayOrder(ctx, walletctl.PayOrderRequest{UserID: u, Ref: o.CodeURL, Password: testworld.Password}); err != nil {
			t.Errorf("pay %s: %v", o.OutTradeNo, err)
		}
	}
	// notes is the wallet's side: the phase's notifications as stored.
	notes := func(phase string) []walletctl.Notification {
		var out []walletctl.Notification
		if err := st.View(ctx, func(tx walletctl.StoreTx) error {
			ns, err := tx.ListNotifications()
			for _, n := range ns {
				if n.Order != nil && strings.HasPrefix(n.Order.OutTradeNo, phase+"-") {
					out = append(out, n)
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	delivered := func(phase string) int {
		n := 0
		for _, x := range notes(phase) {
			if x.Status == walletctl.NotifyDelivered {
				n++
			}
		}
		return n
	}
	// settle pokes the servers' workers (POST /v1/notifications/deliver) until the phase is
	// delivered: a server's worker on a virtual-clock tenant sleeps until a request of the tenant
	// comes, and nothing wakes it when a dead server's lease runs out.
	settle := func(phase string, via ...*httpapi.Client) {
		t.Helper()
		if !waitFor(12*time.Second, func() bool {
			var wg sync.WaitGroup
			for _, c := range via {
				wg.Go(func() { c.DeliverNotifications(ctx) })
			}
			wg.Wait()
			if delivered(phase) == perPhase {
				return true
			}
			time.Sleep(150 * time.Millisecond)
			return false
		}) {
			for _, n := range notes(phase) {
				if n.Status != walletctl.NotifyDelivered {
					t.Logf("%s: notification %s (%s): status %s, %d tries, next at %v, attempts %+v", phase, n.ID, n.Order.OutTradeNo,
						n.Status, n.Tries, n.NextAt, n.Attempts)
				}
			}
			t.Fatalf("%s: %d of %d notifications delivered after 12 s", phase, delivered(phase), perPhase)
		}
	}
	// checkWallet: every notification of the phase is delivered, with exactly one attempt.
	checkWallet := func(phase string) map[string]bool {
		t.Helper()
		ns := notes(phase)
		if len(ns) != perPhase {
			t.Fatalf("%s: %d notifications; want %d", phase, len(ns), perPhase)
		}
		events := map[string]bool{}
		for _, n := range ns {
			events[n.EventID] = true
			if n.Status != walletctl.NotifyDelivered || n.Tries != 1 || len(n.Attempts) != 1 || !n.Attempts[0].OK {
				t.Errorf("%s: notification %s (%s): status %s, %d tries, attempts %+v; want delivered at the one attempt",
					phase, n.ID, n.Order.OutTradeNo, n.Status, n.Tries, n.Attempts)
			}
		}
		return events
	}

	// Phase 1: both servers take payments, so both workers send from the one queue.
	rcv.setHold(func(string, int) time.Duration { return time.Duration(rand.IntN(20)) * time.Millisecond })
	p1 := time.Now()
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < perPhase; i += 4 {
				pay(cs[g%2], orders["p1"][i])
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	settle("p1", cs...)
	events := checkWallet("p1")
	look()
	got := rcv.got("/p1")
	per := map[string]int{}
	by := map[string]int{} // tries by sender ("": not known)
	for _, x := range got {
		per[x.Event]++
		by[from[x.Remote]]++
		if !events[x.Event] {
			t.Errorf("phase 1: the receiver got event %q, which no notification has", x.Event)
		}
		if x.Abandoned {
			t.Errorf("phase 1: the try of %s was abandoned by its sender", x.Event)
		}
	}
	for e := range events {
		if per[e] != 1 {
			t.Errorf("phase 1: event %s reached the receiver %d times; want exactly once", e, per[e])
		}
	}
	if by["A"]+by["B"] > 0 && (by["A"] == 0 || by["B"] == 0) {
		t.Errorf("phase 1: tries by sender %v; want both servers to have sent some", by)
	}
	t.Logf("phase 1: %d tries for %d notifications in %v, by sender %v (\"\": not known), on %d connections", len(got), len(events),
		time.Since(p1).Round(time.Millisecond), by, rcv.conns.Load())

	// B's worker may hold a timer for the end of a lease it saw in phase 1 (3 s at most): let them
	// fire now, with nothing due, so that in phase 2 B sleeps until settle pokes it. On a loaded
	// machine a timer firing in phase 2 let B deliver everything beside A before the kill.
	time.Sleep(lease)

	// Phase 2: A alone takes the payments and sends (B's worker sleeps: no request reaches B), the
	// receiver holds each try; A is killed with tries in flight, and B delivers the rest.
	a, b := procs[0], procs[1]
	rcv.setHold(func(string, int) time.Duration { return time.Duration(100+rand.IntN(200)) * time.Millisecond })
	p2 := time.Now()
	for g := range 2 {
		wg.Go(func() {
			for i := g; i < perPhase; i += 2 {
				pay(cs[0], orders["p2"][i])
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if !waitFor(3*time.Second, func() bool { return rcv.holding("/p2") > 0 }) {
		t.Fatalf("phase 2: A has no try in flight after the payments (%d tries so far): nothing to kill mid-way", len(rcv.got("/p2")))
	}
	look()
	before := len(rcv.got("/p2"))
	killAt := time.Now()
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.done
	killed := time.Now()
	settle("p2", cs[1])
	events = checkWallet("p2")
	look()

	got = rcv.got("/p2")
	type seen struct{ before, after []try }
	seenOf := map[string]*seen{}
	var cut, after, twice, earlyB int
	for _, x := range got {
		s := seenOf[x.Event]
		if s == nil {
			s = &seen{}
			seenOf[x.Event] = s
		}
		// Until A is gone the tries are A's, but for B's worker waking on the timer of a lease it
		// saw in phase 1 (a lease is 3 s; on a loaded machine phase 2 starts within it): such a
		// pass claims due tries A has not leased, which is the claim working, not a duplicate
		// (the once-before-the-kill rule below still holds them).
		if x.Start.Before(killed) {
			s.before = append(s.before, x)
			if from[x.Remote] == "B" {
				earlyB++
			}
		} else {
			s.after = append(s.after, x)
			after++
			if f := from[x.Remote]; f == "A" {
				t.Errorf("phase 2: a try of %s after the kill came from A", x.Event)
			}
		}
		if x.Abandoned {
			if !x.Start.Before(killed) || x.End.Before(killAt) {
				t.Errorf("phase 2: the try of %s (%v..%v) was abandoned, not by the kill (%v)", x.Event, x.Start, x.End, killAt)
			}
			cut++
		}
	}
	for e := range events {
		s := seenOf[e]
		if s == nil {
			t.Errorf("phase 2: event %s never reached the receiver", e)
			continue
		}
		answered := false
		for _, x := range append(s.before, s.after...) {
			answered = answered || !x.Abandoned
		}
		switch {
		case !answered:
			t.Errorf("phase 2: event %s was never answered: lost", e)
		case len(s.before) > 1 || len(s.after) > 1:
			t.Errorf("phase 2: event %s sent %d times before the kill and %d after; want at most once each", e, len(s.before), len(s.after))
		case len(s.before) == 1 && len(s.after) == 1:
			twice++
			if gap := s.after[0].Start.Sub(s.before[0].Start); gap < lease-time.Second {
				t.Errorf("phase 2: event %s resent %v after A's try; its lease (%v) had not run out", e, gap, lease)
			}
		case len(s.before) == 1 && s.before[0].Abandoned:
			t.Errorf("phase 2: event %s: A's try was cut off by the kill and never resent", e)
		}
	}
	for e := range seenOf {
		if !events[e] {
			t.Errorf("phase 2: the receiver got event %q, which no notification has", e)
		}
	}
	if cut == 0 {
		t.Error("phase 2: the kill cut off no try in flight")
	}
	if twice > merchants {
		t.Errorf("phase 2: %d events sent twice; want at most %d (one try in flight per merchant at the kill)", twice, merchants)
	}
	if after == 0 {
		t.Error("phase 2: B delivered nothing after the kill")
	}
	t.Logf("phase 2: %d tries before the kill (%d cut off by it; %d of them B's), %d after it by B; %d events delivered twice; %v",
		before, cut, earlyB, after, twice, time.Since(p2).Round(time.Millisecond))

	// The money: one payment per order, balanced.
	if err := st.View(ctx, func(tx walletctl.StoreTx) error {
		lr, err := tx.LedgerCheck()
		if err != nil || lr.Sum != 0 || len(lr.UnbalancedTxns)+len(lr.DriftedAccounts)+len(lr.NegativeAccounts) > 0 {
			t.Errorf("ledger: %+v, %v", lr, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if code := b.stop(t); code != 0 {
		t.Errorf("server B exit %d; stderr:\n%s", code, b.stderr)
	}
	t.Logf("%v in all", time.Since(began).Round(time.Millisecond))
}

// senders names the server processes' connections to the receiver at rcv that are open now (by
// their local address, as the receiver sees them in RemoteAddr), from Linux's /proc: the sockets
// whose peer is the receiver, and the process (of names, by pid) holding each. Empty without /proc.
// One read of /proc/net/tcp: it lists every socket of the machine, TIME_WAIT ones too, and may be
// slow.
func senders(rcv net.Addr, names map[int]string) map[string]string {
	_, rport, _ := net.SplitHostPort(rcv.String())
	n, _ := strconv.Atoi(rport)
	peer := fmt.Sprintf(":%04X", n)
	owner := map[string]string{} // socket inode: name
	for pid, name := range names {
		dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			if l, _ := os.Readlink(filepath.Join(dir, fd.Name())); strings.HasPrefix(l, "socket:[") {
				owner[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = name
			}
		}
	}
	out := map[string]string{}
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<20))
	for sc.Scan() {
		// "sl local_address rem_address st ... inode": addresses as hex IP:port.
		fs := strings.Fields(sc.Text())
		if len(fs) < 10 || !strings.HasSuffix(fs[2], peer) || owner[fs[9]] == "" {
			continue
		}
		_, lport, _ := strings.Cut(fs[1], ":")
		p, err := strconv.ParseUint(lport, 16, 16)
		if err == nil {
			out["127.0.0.1:"+strconv.FormatUint(p, 10)] = owner[fs[9]]
		}
	}
	return out
}
