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
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/internal/admintoken"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/notify"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// serveCmd is `walletctl serve`: the wallet's HTTP API over a folder of tenants.
func (a *app) serveCmd() *cobra.Command {
	var addr, data, adminToken, tenantKey, tenantBank, tenantBankKey string
	var seed int64
	var customers, maxQueue int
	var shutdownWait time.Duration
	var keepOpen bool
	var passwordCost string
	var notifyAllow, notifyDeny string
	cmd := &cobra.Command{
		Use:   "serve --addr ADDR --data DIR",
		Short: "Serve the wallet as an HTTP API (the remote backend), one isolated sandbox per tenant",
		Long: `Serve the wallet as a JSON HTTP API (OpenAPI 3 at /openapi.json) for walletctl --backend URL.

Each tenant (a team or a partner) is an isolated sandbox - its own users, bank world and clock -
in DIR/tenants/<id>, behind an API key (Authorization: Bearer KEY). The admin API creates and
deletes tenants: POST /admin/tenants {"name","seed","customers","bank_url"} answers {id, api_key};
GET /admin/tenants; DELETE /admin/tenants/ID. It needs the admin token (Authorization: Bearer
TOKEN), from loopback too: --admin-token (or WALLETCTL_ADMIN_TOKEN), else the one kept in
DIR/admin-token, made at the first start and shown on standard error with its export line.

The URL is the first line of standard output (--addr 127.0.0.1:0 picks a free port); access logs
go to standard error as JSON, card and ID numbers masked. SIGINT or SIGTERM finishes the requests
in flight, saves every tenant and exits 0. Every tenant's sandbox stays open; its wallet and its
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
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if adminToken == "" {
				adminToken = a.getenv("WALLETCTL_ADMIN_TOKEN")
			}
			if tenantKey == "" {
				tenantKey = a.getenv("WALLETCTL_TENANT_KEY")
			}
			if data == "" {
				return invalidArg("give a folder for the tenants' sandboxes, e.g. --data ./wallet-data", "--data is required")
			}
			if customers < 0 || customers > maxCustomers {
				return invalidArg("", "--customers must be 0..%d", maxCustomers)
			}
			if maxQueue < 1 {
				return invalidArg("", "--max-queue must be at least 1 (default %d)", httpapi.DefaultMaxQueue)
			}
			settings, err := tenantSettings(passwordCost)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			logger := slog.New(slog.NewJSONHandler(a.ios.ErrOut, nil))
			if tenantBankKey == "" {
				tenantBankKey = a.getenv("WALLETCTL_TENANT_BANK_KEY")
			}
			if a.storeDSN != "" && !cmd.Flags().Changed("keep-open") {
				keepOpen = false // servers sharing a PostgreSQL tenant reopen it per request
			}
			fence, self, err := notifyFence(notifyAllow, notifyDeny)
			if err != nil {
				return err
			}
			bankTimeout, err := a.bankTimeout()
			if err != nil {
				return err
			}
			tenants, err := tenant.Open(ctx, tenant.Options{Data: data, KeepOpen: keepOpen, Store: a.storeDSN, BankToken: a.getenv("WALLETCTL_BANK_TOKEN"), BankTimeout: bankTimeout,
				SchemaPrefix: schemaPrefix(a.storeDSN), Throwaway: a.getenv("WALLETCTL_SANDBOX_THROWAWAY") == "1", Settings: settings,
				NotifyFence: fence})
			if err != nil {
				return err
			}
			tokenNote := ""
			if adminToken == "" {
				// Loopback is not a credential (DESIGN section 10): a server always has a token.
				if err := os.MkdirAll(data, 0o700); err != nil {
					tenants.Close(context.WithoutCancel(ctx))
					return err
				}
				tok, created, err := admintoken.LoadOrCreate(data, "wct_")
				if err != nil {
					tenants.Close(context.WithoutCancel(ctx))
					return err
				}
				adminToken, tokenNote = tok, "kept in "+filepath.Join(data, admintoken.FileName)
				if created {
					tokenNote = "made now and " + tokenNote
				}
			}
			srv, err := httpapi.NewServer(ctx, httpapi.Options{Tenants: tenants, AdminToken: adminToken, Logger: logger, MaxQueue: maxQueue})
			if err != nil {
				tenants.Close(context.WithoutCancel(ctx))
				return err
			}
			// Saved on every way out: the tenants' banks and clocks live in memory until then.
			defer srv.Close(context.WithoutCancel(ctx))
			if tenantKey != "" && !tenants.HasKey(tenantKey) {
				if seed == 0 {
					seed = sandbox.DefaultSeed
				}
				ct, err := tenants.Create(ctx, walletctl.TenantSpec{Name: "default", Seed: seed, Customers: customers,
					BankURL: tenantBank, BankKey: tenantBankKey, APIKey: tenantKey, Join: a.storeDSN != ""})
				if err != nil {
					return err
				}
				logger.Info("tenant created", "tenant", ct.ID, "seed", ct.Seed, "customers", ct.Customers)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return invalidArg("pick another --addr, or 127.0.0.1:0 for a free port", "listen on %s: %v", addr, err)
			}
			self.Add(ln.Addr()) // from now on the tenants' senders refuse it
			fmt.Fprintf(a.ios.Out, "http://%s\n", ln.Addr())
			if tokenNote != "" {
				// As `vault server -dev` shows its root token: the URL stays standard output's
				// first line (scripts read it); the token goes to standard error, once.
				fmt.Fprintf(a.ios.ErrOut, "admin token (%s): %s\n  export WALLETCTL_ADMIN_TOKEN=%s\n", tokenNote, adminToken, adminToken)
			}
			hs := &http.Server{
				Handler:           srv,
				ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout:       30 * time.Second,
				// A call may wait for a slow remote bank (its client gives up after 5 s, per retry).
				WriteTimeout: 60 * time.Second,
				IdleTimeout:  2 * time.Minute,
				ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
			}
			served := make(chan error, 1)
			go func() { served <- hs.Serve(ln) }()
			select {
			case err := <-served:
				return err
			case <-ctx.Done():
			}
			logger.Info("shutting down: finishing requests in flight")
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownWait)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil {
				hs.Close()
				return fmt.Errorf("shutdown: %w", err)
			}
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8087", "listen address; port 0 picks a free one")
	f.StringVar(&data, "data", "", "folder of the tenants: tenants.json and one sandbox per tenant (created if missing)")
	f.StringVar(&adminToken, "admin-token", "", "token the admin API requires (env WALLETCTL_ADMIN_TOKEN); default: the one kept in DATA/admin-token, made at the first start")
	f.StringVar(&tenantKey, "tenant-key", "", "create a tenant with this API key at start unless one has it (scripts; env WALLETCTL_TENANT_KEY)")
	f.Int64Var(&seed, "seed", sandbox.DefaultSeed, "world seed of the --tenant-key tenant")
	f.IntVar(&customers, "customers", sandbox.DefaultCustomers, "bank customers of the --tenant-key tenant")
	f.StringVar(&tenantBank, "tenant-bank", "", "bankmock server URL for the --tenant-key tenant (default: an in-process bank)")
	f.StringVar(&tenantBankKey, "tenant-bank-key", "", "the --tenant-key tenant's partner key at --tenant-bank (default: register a new partner; env WALLETCTL_TENANT_BANK_KEY)")
	f.BoolVar(&keepOpen, "keep-open", true, "keep every tenant's sandbox open (durable: wallet and bank commit each operation, the clock is saved after each request); false reopens it per request like a CLI command (the default with --store)")
	f.IntVar(&maxQueue, "max-queue", httpapi.DefaultMaxQueue, "requests of one tenant that may wait behind the one running; more are answered 503 SERVER_BUSY with Retry-After, not run")
	f.DurationVar(&shutdownWait, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for requests in flight")
	f.StringVar(&notifyAllow, "notify-allow", "", "only these ranges (CIDR,...) may receive notifications; default: every range the fence does not refuse")
	f.StringVar(&notifyDeny, "notify-deny", "", "ranges (CIDR,...) that never receive notifications, on top of the built-in refusals")
	f.StringVar(&passwordCost, "password-cost", "sandbox", "argon2id cost of the payment passwords of tenants this server creates: sandbox (cheap, for fake passwords) or production (OWASP's, for a shared server whose users may type real ones); a tenant keeps the cost it was created with")
	return cmd
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
