package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/walletctl/walletctl/internal/logformat"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/internal/admintoken"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/notify"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// ServeOptions are serve's inputs.
type ServeOptions struct {
	*Factory
	Addr, Data, AdminToken, TenantKey, TenantBank, TenantBankKey string
	Seed                                                         int64
	Customers, MaxQueue                                          int
	ShutdownWait                                                 time.Duration
	KeepOpen                                                     bool
	KeepOpenGiven                                                bool // --keep-open given (with --store it defaults to false)
	PasswordCost, NotifyAllow, NotifyDeny, Clock, LogFormat      string
	Settings                                                     *walletctl.Settings // of the tenants it creates: --password-cost's
}

// NewCmdServe is `walletctl serve`: the wallet's HTTP API over a folder of tenants.
func NewCmdServe(f *Factory, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{Factory: f}
	cmd := &cobra.Command{Use: "serve --addr ADDR --data DIR", Short: "Serve the wallet as an HTTP API (the remote backend), one isolated sandbox per tenant",
		Long: `Serve the wallet as a JSON HTTP API (OpenAPI 3 at /openapi.json) for walletctl --backend URL.

Each tenant (a team or a partner) is an isolated sandbox - its own users, bank world and clock -
in DIR/tenants/<id>, behind an API key (Authorization: Bearer KEY). The admin API creates and
deletes tenants: POST /admin/tenants {"name","seed","customers","bank_url"} answers {id, api_key};
GET /admin/tenants; DELETE /admin/tenants/ID. It needs the admin token (Authorization: Bearer
TOKEN), from loopback too: --admin-token (or WALLETCTL_ADMIN_TOKEN), else the one kept in
DIR/admin-token, made at the first start and shown on standard error with its export line.

The URL is the first line of standard output (--addr 127.0.0.1:0 picks a free port); access logs
go to standard error (--log-format text or json, as bankmock serve's), card and ID numbers masked. SIGINT or SIGTERM finishes the requests
in flight, saves every tenant and exits 0; a notification try in flight is abandoned (it is sent
again once its lease runs out), and a request still running after --shutdown-timeout is cut off
from its client: the exit is then 10. Every tenant's sandbox stays open; its wallet and its
in-process bank commit each operation before answering, and its clock is saved after each request,
so a crash at any moment loses nothing that was answered (--keep-open=false reopens the sandbox
per request instead, exactly as one CLI command does). Requests of one tenant run one at a time,
at most --max-queue waiting; more get 503 SERVER_BUSY with Retry-After.
A request whose client has gone by its turn is not run, and a money movement whose client leaves
before the bank is called records nothing; once the bank is called it is finished and recorded.

Each tenant also serves a WeChat Pay v3-shaped API to its merchants (walletctl merchant create):
its v3 base URL is URL/tenants/<id> (GET /v3/certificates, POST /v3/pay/transactions/native, ...,
/v3/refund/domestic/refunds, /v3/bill/tradebill). It needs no API key: every request is signed by
a merchant's key (Authorization: WECHATPAY2-SHA256-RSA2048 ...) and every answer by the platform
key, so the official SDKs work unchanged apart from the base URL (docs/merchants.md).

With --store postgres://... (or WALLETCTL_STORE) each tenant's wallet lives in the PostgreSQL schema
tenant_<id> instead of DIR/tenants/<id>/wallet.db, so that several serve processes (each with its own
--data) on one database serve the same tenant. Such a tenant needs a shared bankmock server
(bank_url, or --tenant-bank) and follows that bank's clock; its sandbox is reopened per request. Creating a
tenant empties its schema unless the request says "join": true; a --tenant-key tenant joins what
its schema holds, so every server started with the same --tenant-key serves one wallet. Deleting a
tenant drops its schema. A search_path in the DSN prefixes the schemas (search_path=acme:
acme_tenant_<id>), so that separate deployments can share a database.

Merchant notifications (and listen's forwards) go out through a fence: no redirect is followed,
and link-local (cloud metadata), unspecified and multicast addresses, this server's own address
and each tenant's bank are refused at connection time, after name resolution. Loopback and
private ranges stay allowed (receivers live there). --notify-deny CIDR,... refuses more ranges;
--notify-allow CIDR,... lets only its ranges through (a denied range stays refused).`,
		Example: `  walletctl serve --addr 127.0.0.1:0 --data ./wallet-data --tenant-key dev-key-0123456789 --seed 1
  walletctl --backend http://127.0.0.1:PORT --api-key dev-key-0123456789 flow open-wallet
  walletctl serve --store postgres://wallet@127.0.0.1:5432/wallet --data ./a --tenant-key dev-key-0123456789 --tenant-bank http://127.0.0.1:8086`,
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:8087", "listen address; port 0 picks a free one")
	fl.StringVar(&opts.Data, "data", "", "folder of the tenants: tenants.json and one sandbox per tenant (created if missing)")
	fl.StringVar(&opts.AdminToken, "admin-token", "", "token the admin API requires (env WALLETCTL_ADMIN_TOKEN); default: the one kept in DATA/admin-token, made at the first start")
	fl.StringVar(&opts.TenantKey, "tenant-key", "", "create a tenant with this API key at start unless one has it (scripts; env WALLETCTL_TENANT_KEY)")
	fl.Int64Var(&opts.Seed, "seed", sandbox.DefaultSeed, "world seed of the --tenant-key tenant")
	fl.IntVar(&opts.Customers, "customers", sandbox.DefaultCustomers, "bank customers of the --tenant-key tenant")
	fl.StringVar(&opts.TenantBank, "tenant-bank", "", "bankmock server URL for the --tenant-key tenant (default: an in-process bank)")
	fl.StringVar(&opts.TenantBankKey, "tenant-bank-key", "", "the --tenant-key tenant's partner key at --tenant-bank (default: register a new partner; env WALLETCTL_TENANT_BANK_KEY)")
	fl.BoolVar(&opts.KeepOpen, "keep-open", true, "keep every tenant's sandbox open (durable: wallet and bank commit each operation, the clock is saved after each request); false reopens it per request like a CLI command (the default with --store)")
	fl.IntVar(&opts.MaxQueue, "max-queue", httpapi.DefaultMaxQueue, "requests of one tenant that may wait behind the one running; more are answered 503 SERVER_BUSY with Retry-After, not run")
	fl.DurationVar(&opts.ShutdownWait, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for requests in flight; one still running then is cut off from its client (exit 10)")
	fl.StringVar(&opts.LogFormat, "log-format", logformat.Text, logformat.Usage)
	fl.StringVar(&opts.NotifyAllow, "notify-allow", "", "only these ranges (CIDR,...) may receive notifications; default: every range the fence does not refuse")
	fl.StringVar(&opts.NotifyDeny, "notify-deny", "", "ranges (CIDR,...) that never receive notifications, on top of the built-in refusals")
	fl.StringVar(&opts.Clock, "clock", sandbox.ClockVirtual, "clock of the tenants created without one: virtual (time moves only by clock advance; scripts and CI) or real (wall time plus what clock advance adds: retries, expiries and delayed transfers happen by themselves, for an app that talks to the sandbox in real time)")
	fl.StringVar(&opts.PasswordCost, "password-cost", "sandbox", "argon2id cost of the payment passwords of tenants this server creates: sandbox (cheap, for fake passwords) or production (OWASP's, for a shared server whose users may type real ones); a tenant keeps the cost it was created with")
	return newCmd(cmd, opts, func([]string) error {
		if opts.Data == "" {
			return invalidArg("give a folder for the tenants' sandboxes, e.g. --data ./wallet-data", "--data is required")
		}
		if opts.Customers < 0 || opts.Customers > maxCustomers {
			return invalidArg("", "--customers must be 0..%d", maxCustomers)
		}
		if opts.MaxQueue < 1 {
			return invalidArg("", "--max-queue must be at least 1 (default %d)", httpapi.DefaultMaxQueue)
		}
		if opts.Clock != sandbox.ClockVirtual && opts.Clock != sandbox.ClockReal {
			return invalidArg("virtual (the default) or real", "--clock %q is not a clock", opts.Clock)
		}
		opts.KeepOpenGiven = fl.Changed("keep-open")
		var err error
		opts.Settings, err = tenantSettings(opts.PasswordCost)
		return err
	}, runF, serveRun)
}

// serveRun serves until SIGINT or SIGTERM, then finishes the requests in flight and saves every
// tenant.
func serveRun(ctx context.Context, o *ServeOptions) error {
	a := o.app
	fromEnv := func(v *string, env string) {
		if *v == "" {
			*v = a.getenv(env)
		}
	}
	fromEnv(&o.AdminToken, "WALLETCTL_ADMIN_TOKEN")
	fromEnv(&o.TenantKey, "WALLETCTL_TENANT_KEY")
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger, err := logformat.New(o.IO.ErrOut, o.LogFormat, slog.LevelInfo)
	if err != nil {
		return invalidArg("--log-format text or --log-format json", "%v", err)
	}
	fromEnv(&o.TenantBankKey, "WALLETCTL_TENANT_BANK_KEY")
	if a.storeDSN != "" && !o.KeepOpenGiven {
		o.KeepOpen = false // servers sharing a PostgreSQL tenant reopen it per request
	}
	fence, self, err := notifyFence(o.NotifyAllow, o.NotifyDeny)
	if err != nil {
		return err
	}
	bankTimeout, err := a.bankTimeout()
	if err != nil {
		return err
	}
	tenants, err := tenant.Open(ctx, tenant.Options{Data: o.Data, Clock: o.Clock, KeepOpen: o.KeepOpen, Store: a.storeDSN, BankToken: a.getenv("WALLETCTL_BANK_TOKEN"), BankTimeout: bankTimeout,
		SchemaPrefix: schemaPrefix(a.storeDSN), Throwaway: a.getenv("WALLETCTL_SANDBOX_THROWAWAY") == "1", Settings: o.Settings,
		NotifyFence: fence})
	if err != nil {
		return err
	}
	tokenNote, err := o.adminToken()
	if err != nil {
		tenants.Close(context.WithoutCancel(ctx))
		return err
	}
	srv, err := httpapi.NewServer(ctx, httpapi.Options{Tenants: tenants, AdminToken: o.AdminToken, Logger: logger, MaxQueue: o.MaxQueue})
	if err != nil {
		tenants.Close(context.WithoutCancel(ctx))
		return err
	}
	// Saved on every way out: the tenants' banks and clocks live in memory until then.
	defer srv.Close(context.WithoutCancel(ctx))
	if o.TenantKey != "" && !tenants.HasKey(o.TenantKey) {
		if o.Seed == 0 {
			o.Seed = sandbox.DefaultSeed
		}
		ct, err := tenants.Create(ctx, walletctl.TenantSpec{Name: "default", Seed: o.Seed, Customers: o.Customers,
			BankURL: o.TenantBank, BankKey: o.TenantBankKey, APIKey: o.TenantKey, Join: a.storeDSN != ""})
		if err != nil {
			return err
		}
		logger.Info("tenant created", "tenant", ct.ID, "seed", ct.Seed, "customers", ct.Customers)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return invalidArg("pick another --addr, or 127.0.0.1:0 for a free port", "listen on %s: %v", o.Addr, err)
	}
	self.Add(ln.Addr()) // from now on the tenants' senders refuse it
	fmt.Fprintf(o.IO.Out, "http://%s\n", ln.Addr())
	if tokenNote != "" {
		// As `vault server -dev` shows its root token: the URL stays standard output's
		// first line (scripts read it); the token goes to standard error, once.
		fmt.Fprintf(o.IO.ErrOut, "admin token (%s): %s\n  export WALLETCTL_ADMIN_TOKEN=%s\n", tokenNote, o.AdminToken, o.AdminToken)
	}
	// How to begin, as bankmock serve's "try:" line: a tenant, whose api_key --backend takes.
	fmt.Fprintf(o.IO.ErrOut, "  try: curl -H \"Authorization: Bearer $WALLETCTL_ADMIN_TOKEN\" -d '{\"name\":\"dev\"}' http://%s/admin/tenants"+
		"   (a tenant: its id and api_key, for walletctl --backend URL --api-key KEY)\n", ln.Addr())
	return serveHTTP(ctx, ln, srv, logger, o.ShutdownWait, tenants.StopWork)
}

// adminToken fills o.AdminToken, when neither --admin-token nor WALLETCTL_ADMIN_TOKEN gave one,
// with the one kept in the data folder (made now if there is none), and says where it is kept.
func (o *ServeOptions) adminToken() (note string, err error) {
	if o.AdminToken != "" {
		return "", nil
	}
	// Loopback is not a credential (DESIGN section 10): a server always has a token.
	if err := os.MkdirAll(o.Data, 0o700); err != nil {
		return "", err
	}
	tok, created, err := admintoken.LoadOrCreate(o.Data, "wct_")
	if err != nil {
		return "", err
	}
	o.AdminToken, note = tok, "kept in "+filepath.Join(o.Data, admintoken.FileName)
	if created {
		note = "made now and " + note
	}
	return note, nil
}

// serveHTTP serves h on ln until ctx is done, then shuts down: it stops accepting, closes the
// idle connections and those whose first request has not been read whole (net/http runs no
// request it finishes reading after the shutdown began, so closing them loses nothing), and
// waits at most wait for the requests in flight. Go's own Shutdown waits up to 5 s for a
// connection that never sent anything (an HTTP client's spare dial, a probe) and then gives up
// with an error: past a shorter --shutdown-timeout, the server failed to stop cleanly.
//
// When wait runs out, every connection is closed. That is still a clean stop (nil: exit 0) if no
// request was running: no client lost an answer. A request still running is cut off from its
// client, which learns nothing of its outcome: OUTCOME_UNKNOWN (exit 10). The request itself runs
// to its end (the tenants are saved and closed after it).
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, wait time.Duration, stopWork func()) error {
	var running atomic.Int64 // requests whose handler is running
	fresh := &freshConns{m: map[net.Conn]struct{}{}}
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			running.Add(1)
			defer running.Add(-1)
			h.ServeHTTP(w, r)
		}),
		ConnState:         fresh.track,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// A call may wait for a slow remote bank (its client gives up after 5 s, per retry).
		WriteTimeout: 60 * time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(fresh.closeAll) // called once the shutdown has begun
	// The background work stops with it: tries in flight are abandoned (their leases run out and
	// they are due again), and requests waiting for the queue are answered at once.
	hs.RegisterOnShutdown(stopWork)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		// wait ran out. No request starts once the shutdown has begun (net/http), so the ones
		// running now are those cut off.
		hs.Close()
		if cut := running.Load(); cut > 0 {
			return &walletctl.Error{Code: walletctl.CodeOutcomeUnknown,
				Message: fmt.Sprintf("shutdown: %d request(s) still running after --shutdown-timeout %s were cut off: their clients got no answer (the requests run to their end and are recorded)", cut, wait),
				Hint:    "give requests more time with --shutdown-timeout; a client that retries with the same Idempotency-Key gets the recorded answer"}
		}
		logger.Info("shutdown: the timeout passed with no request running: closed the connections left")
	}
	if n := fresh.closedCount(); n > 0 {
		logger.Info("shutdown: closed connections with no request read", "connections", n)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// freshConns are the server's connections whose first request has not been read whole
// (http.StateNew), for the shutdown to close: once it has begun, net/http drops whatever request
// such a connection finishes sending (conn.serve returns when shuttingDown), but Shutdown itself
// waits 5 s before it closes one.
type freshConns struct {
	mu       sync.Mutex
	m        map[net.Conn]struct{}
	shutting bool
	closed   int
}

// track is the server's ConnState hook.
func (f *freshConns) track(c net.Conn, s http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case s != http.StateNew:
		delete(f.m, c)
	case f.shutting: // accepted as the listener closed: it would not be served either
		c.Close()
		f.closed++
	default:
		f.m[c] = struct{}{}
	}
}

// closeAll closes the fresh connections, and from now on each new one at once.
func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shutting = true
	for c := range f.m {
		c.Close()
		f.closed++
	}
	clear(f.m)
}

func (f *freshConns) closedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// tenantSettings are the wallet rules of the tenants serve creates: the sandbox's, with the
// password hash cost that --password-cost names.
func tenantSettings(cost string) (*walletctl.Settings, error) {
	s := walletctl.SandboxSettings()
	switch cost {
	case "sandbox":
	case "production":
		s.PasswordHash = walletctl.ProductionHash
	default:
		return nil, invalidArg("--password-cost sandbox (the default: cheap, for fake passwords) or --password-cost production",
			"--password-cost %q: want sandbox or production", cost)
	}
	return &s, nil
}

// schemaPrefix is the prefix of the tenants' PostgreSQL schemas: "tenant_", after the DSN's
// search_path when it has one (deployments side by side on one database).
func schemaPrefix(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		if sp := strings.Trim(u.Query().Get("search_path"), `" `); sp != "" {
			return sp + "_tenant_"
		}
	}
	return "tenant_"
}

// notifyFence is the tenants' notification fence: the operator's ranges, and this server's own
// listening addresses, filled in once it listens.
func notifyFence(allow, deny string) (notify.Fence, *notify.Listeners, error) {
	var p notify.Policy
	var err error
	if p.Allow, err = notify.ParsePrefixes(allow); err != nil {
		return notify.Fence{}, nil, invalidArg("comma-separated CIDR ranges, e.g. --notify-allow 127.0.0.0/8,10.0.0.0/8", "--notify-allow: %v", err)
	}
	if p.Deny, err = notify.ParsePrefixes(deny); err != nil {
		return notify.Fence{}, nil, invalidArg("comma-separated CIDR ranges, e.g. --notify-deny 10.1.0.0/16", "--notify-deny: %v", err)
	}
	self := &notify.Listeners{}
	return notify.NewFence(p).WithListeners(self), self, nil
}
