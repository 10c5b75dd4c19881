// Package cli is the bankmock command: serve the mock bank over HTTP, list the documented test
// cards and magic amounts, create and list partners of a running bank, print the version.
// cmd/bankmock only calls Main.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/walletctl/walletctl/internal/logformat"

	"github.com/gofrs/flock"
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/internal/admintoken"
	"github.com/walletctl/walletctl/internal/buildinfo"
	"github.com/walletctl/walletctl/internal/cmdtree"
	"github.com/walletctl/walletctl/internal/tablefit"
)

// Version is set at build time with -ldflags "-X github.com/walletctl/walletctl/bankmock/cli.Version=v1.2.3".
var Version = ""

// Commit is set at build time too (make build: -ldflags "-X
// github.com/walletctl/walletctl/bankmock/cli.Commit=0123456789ab"); without it, the VCS stamp that
// go build records in a checkout.
var Commit = ""

// Main runs the command with os.Args and exits.
func Main() {
	os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// Run runs the command and returns the exit code: 0 success, 1 failure, 2 usage error.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "bankmock:", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

type usageError struct{ error }

// usageArgs makes every refusal of a command's arguments (cards x) a usage error, exit 2.
func usageArgs(c *cobra.Command) {
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
	if own := c.Args; own != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			err := own(cmd, args)
			var ue usageError
			if err != nil && !errors.As(err, &ue) {
				return usageError{err}
			}
			return err
		}
	}
}

// unknownCommand is cmdtree.Unknown as bankmock's usage error.
func unknownCommand(_ *cobra.Command, _, message string) error {
	return usageError{errors.New(message)}
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "bankmock",
		Short:         "A deterministic mock of many Chinese banks behind one bank-adapter protocol",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServe(stdout, stderr), newCards(stdout), newPartner(stdout), newVersion(stdout))
	// A word that names no command, here or after help, is a usage error (exit 2) with cobra's
	// suggestions, as in walletctl.
	root.SetHelpCommand(cmdtree.HelpCommand(root, unknownCommand))
	root.InitDefaultCompletionCmd() // added now (cobra adds it when it executes), the rule applies to it too
	cmdtree.RejectUnknown(root, unknownCommand)
	usageArgs(root)
	// Help fits the terminal: long lines wrap, descriptions under their column.
	tablefit.FitHelp(root, func() int { return tablefit.Of(root.OutOrStdout(), os.Getenv) })
	return root
}

func newVersion(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit it was built from and the Go version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintln(stdout, "bankmock", buildinfo.Read(Version, Commit))
			return nil
		},
	}
}

func version() string { return buildinfo.Read(Version, Commit).Version }

func newCards(stdout io.Writer) *cobra.Command {
	var asJSON, wide bool
	c := &cobra.Command{
		Use:   "cards",
		Short: "List the documented test cards and magic amounts",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					TestCards    []bankmock.TestCard    `json:"test_cards"`
					MagicAmounts []bankmock.MagicAmount `json:"magic_amounts"`
				}{bankmock.TestCards, bankmock.MagicAmounts})
			}
			writeCards(stdout, tablefit.Of(stdout, os.Getenv), wide)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&wide, "wide", false, "show every column at full width (else columns are left out to fit the terminal)")
	return c
}

// writeCards prints the test cards in full: like a processor's test-card page, these are fixtures
// that scripts need verbatim to act as their holders. The tables fit width columns (the
// least needed columns are left out, then long text wraps) unless wide; --json has every field.
func writeCards(w io.Writer, width int, wide bool) {
	header := []string{"key", "bank", "card", "type", "status", "name", "id", "phone", "balance", "fault", "expect"}
	rows := make([]table.Row, len(bankmock.TestCards))
	for i, tc := range bankmock.TestCards {
		c := tc.Customer
		rows[i] = table.Row{tc.Key, c.Bank, c.CardNo, c.Type, c.Status, c.Name, c.IDNo, c.Phone, yuan(c.Balance), string(tc.Fault), tc.Expect}
	}
	render := func(t table.Writer) {
		if wide {
			fmt.Fprintln(w, t.Render())
		} else {
			fmt.Fprintln(w, tablefit.Render(t, width))
		}
	}
	if !wide {
		header, rows = tablefit.Drop(width, header, rows, "id", "phone", "type", "status", "balance", "bank", "fault", "name")
	}
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	t.SetTitle("Test cards (present in every world)")
	hr := make(table.Row, len(header))
	for i, h := range header {
		hr[i] = h
	}
	t.AppendHeader(hr)
	t.AppendRows(rows)
	render(t)
	fmt.Fprintln(w)
	m := table.NewWriter()
	m.SetStyle(table.StyleLight)
	m.SetTitle("Magic amounts (any card, debits and credits)")
	m.AppendHeader(table.Row{"amount (CNY)", "fen", "fault", "purpose"})
	for _, a := range bankmock.MagicAmounts {
		m.AppendRow(table.Row{yuan(a.Amount), a.Amount, a.Fault, a.Purpose})
	}
	render(m)
}

func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

type serveFlags struct {
	addr         string
	seed         int64
	customers    int
	adminToken   string
	maxBody      int64
	readTimeout  time.Duration
	writeTimeout time.Duration
	idleTimeout  time.Duration
	quiet        bool
	data         string
	logFormat    string
}

func newServe(stdout, stderr io.Writer) *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the mock bank over HTTP (prints its URL as the first line of stdout)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if f.customers < 0 {
				return usageError{fmt.Errorf("--customers must not be negative")}
			}
			return serve(c.Context(), f, stdout, stderr)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8086", "listen address; port 0 picks a free port")
	fl.Int64Var(&f.seed, "seed", 1, "world seed: same seed, same customers, byte for byte")
	fl.IntVar(&f.customers, "customers", 50, "customers to generate from the seed")
	fl.StringVar(&f.adminToken, "admin-token", os.Getenv("BANKMOCK_ADMIN_TOKEN"), "the bearer token of the bank-wide admin API (env BANKMOCK_ADMIN_TOKEN; default: made at start and shown on stderr, kept in DIR/admin-token with --data)")
	fl.Int64Var(&f.maxBody, "max-body", 1<<20, "request body limit in bytes")
	fl.DurationVar(&f.readTimeout, "read-timeout", 10*time.Second, "time to read a whole request")
	fl.DurationVar(&f.writeTimeout, "write-timeout", 60*time.Second, "time to write a response (bounds delay and hang faults)")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 120*time.Second, "keep-alive idle timeout")
	fl.BoolVar(&f.quiet, "quiet", false, "no request log")
	fl.StringVar(&f.logFormat, "log-format", logformat.Text, logformat.Usage)
	fl.StringVar(&f.data, "data", "", "keep the bank's state in DIR/bank.db, committed before each answer, and go on from it after a restart (default: in memory)")
	return c
}

func serve(ctx context.Context, f serveFlags, stdout, stderr io.Writer) error {
	level := slog.LevelInfo
	if f.quiet {
		level = slog.LevelWarn
	}
	logger, err := logformat.New(stderr, f.logFormat, level)
	if err != nil {
		return usageError{err}
	}

	cfg := bankmock.Config{Seed: f.seed, Customers: f.customers}
	where := "in memory: gone when the process ends (--data DIR keeps it)"
	if f.data != "" {
		// Durable like a real bank: every operation is committed to DIR/bank.db before it answers,
		// and a restart goes on from there (with the seed and clock the file holds).
		if err := os.MkdirAll(f.data, 0o700); err != nil {
			return fmt.Errorf("--data: %w", err)
		}
		// One server per folder: the bank holds its state in memory too, so a second process on
		// the same file would answer from a different state. Wallets share a bank through its URL.
		lock := flock.New(filepath.Join(f.data, "lock"))
		locked, err := lock.TryLock()
		if err != nil {
			return fmt.Errorf("--data: lock %s: %w", f.data, err)
		}
		if !locked {
			return usageError{fmt.Errorf("--data %s is in use by another bankmock serve; give each server its own folder (wallets share one bank through its URL)", f.data)}
		}
		defer lock.Unlock()
		cfg.Path, cfg.Create = filepath.Join(f.data, "bank.db"), true
		where = "kept in " + cfg.Path
	}
	engine, err := bankmock.Open(cfg)
	if err != nil {
		return fmt.Errorf("open the bank's state: %w", err)
	}
	defer engine.Close()
	tokenNote := ""
	if f.adminToken == "" {
		// Loopback is not a credential (DESIGN section 10): without --admin-token the bank makes
		// one, as `vault server -dev` does, and with --data keeps it there so it survives restarts.
		tokenNote = "made now: a new one at every start without --data"
		if f.data != "" {
			tok, created, err := admintoken.LoadOrCreate(f.data, "bmk_")
			if err != nil {
				return fmt.Errorf("--data: admin token: %w", err)
			}
			f.adminToken, tokenNote = tok, "kept in "+filepath.Join(f.data, admintoken.FileName)
			if created {
				tokenNote = "made now and " + tokenNote
			}
		} else {
			f.adminToken = admintoken.New("bmk_")
		}
	}
	srv := server.New(engine, server.Options{AdminToken: f.adminToken, MaxBodyBytes: f.maxBody, Logger: logger,
		HangTimeout: f.writeTimeout})

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()

	hs := &http.Server{
		Handler:           srv,
		ReadTimeout:       f.readTimeout,
		ReadHeaderTimeout: f.readTimeout,
		WriteTimeout:      f.writeTimeout,
		IdleTimeout:       f.idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	// The URL is the first line of stdout, so scripts and tests can start us without races.
	fmt.Fprintln(stdout, url)
	fmt.Fprintf(stderr, "bankmock %s: seed %d, %d customers (+%d test cards); state %s\n", version(), engine.Seed(), f.customers, len(bankmock.TestCards), where)
	if tokenNote != "" {
		fmt.Fprintf(stderr, "  admin token (%s): %s\n", tokenNote, f.adminToken)
		fmt.Fprintf(stderr, "  export BANKMOCK_ADMIN_TOKEN=%s WALLETCTL_BANK_TOKEN=%s\n", f.adminToken, f.adminToken)
	} else {
		fmt.Fprintln(stderr, "  admin API: requires Authorization: Bearer <the --admin-token>")
	}
	fmt.Fprintf(stderr, "  try: curl %s/v1/banks   |   curl -H \"Authorization: Bearer $BANKMOCK_ADMIN_TOKEN\" %s/admin/customers   |   bankmock cards\n", url, url)
	fmt.Fprintf(stderr, "  partners: bankmock partner create --name NAME --url %s (each caller its own key; none = the default partner)\n", url)
	logger.Info("listening", "url", url, "seed", f.seed, "customers", f.customers, "admin_token", f.adminToken != "")

	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-sigCtx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests")
	// Connections held by hang faults would keep Shutdown waiting for clients that never give up.
	srv.ReleaseHangs()
	shCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shCtx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// partnerFlags are the flags of the partner commands: which bank, with which rights, how to print.
type partnerFlags struct {
	url        string
	adminToken string
	output     string
	asJSON     bool
}

func (f *partnerFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.url, "url", envOr("BANKMOCK_URL", "http://127.0.0.1:8086"), "the bank's base URL (env BANKMOCK_URL)")
	fl.StringVar(&f.adminToken, "admin-token", os.Getenv("BANKMOCK_ADMIN_TOKEN"), "the bank's admin token (env BANKMOCK_ADMIN_TOKEN; bankmock serve shows it at start, or keeps it in DIR/admin-token)")
	fl.StringVarP(&f.output, "output", "o", "table", "table or json")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON (same as -o json)")
}

func (f *partnerFlags) json() (bool, error) {
	switch f.output {
	case "json":
		return true, nil
	case "table", "":
		return f.asJSON, nil
	}
	return false, usageError{fmt.Errorf("-o must be table or json, got %q", f.output)}
}

func (f *partnerFlags) client() *client.Client {
	return client.New(f.url, client.Options{AdminToken: f.adminToken, Timeout: 10 * time.Second})
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// adminErr adds what to do to a refusal of the admin API.
func adminErr(err error, f *partnerFlags) error {
	e, ok := bankapi.AsError(err)
	if !ok {
		return err
	}
	switch e.Code {
	case bankapi.CodeUnauthenticated, bankapi.CodeUnauthorized:
		hint := "pass the bank's admin token with --admin-token (or BANKMOCK_ADMIN_TOKEN)"
		if f.adminToken != "" {
			hint = "check --admin-token: it is not the token this bank was started with"
		}
		return fmt.Errorf("%w\n  hint: creating and listing partners is bank-wide administration; %s", err, hint)
	case bankapi.CodeOutcomeUnknown:
		return fmt.Errorf("%w\n  hint: is a bank running at %s? (bankmock serve prints its URL)", err, f.url)
	}
	return err
}

func newPartner(stdout io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:   "partner",
		Short: "Create and list the partners of a running bank (each caller's id and key)",
		Long: "A partner is one caller of the bank (a wallet sandbox, a walletctl serve tenant, a CI job) with its own\n" +
			"key, sent as Authorization: Bearer <key>. Its idempotency keys, bindings, agreements, transactions,\n" +
			"statements, journal, OTP reads and fault rules are its own. See docs/partners.md.",
		Args: cobra.NoArgs,
	}
	c.AddCommand(newPartnerCreate(stdout), newPartnerList(stdout))
	return c
}

func newPartnerCreate(stdout io.Writer) *cobra.Command {
	var name string
	c := partnerCommand(stdout, &cobra.Command{
		Use:   "create [--name N] --url URL [--admin-token T]",
		Short: "Register a partner and print its id and key (the key is shown this once)",
	}, func(ctx context.Context, bank *client.Client) (*bankapi.PartnerCredentials, error) {
		return bank.CreatePartner(ctx, name)
	}, func(pc *bankapi.PartnerCredentials) {
		fmt.Fprintf(stdout, "partner_id  %s\nname        %s\nkey         %s\n", pc.ID, pc.Name, pc.Key)
		fmt.Fprintf(stdout, "\nThe key is shown this once (the bank keeps only its hash). Send it as\n  Authorization: Bearer %s\n", pc.Key)
	})
	c.Flags().StringVar(&name, "name", "", "a label for the partner (default: its id)")
	return c
}

func newPartnerList(stdout io.Writer) *cobra.Command {
	return partnerCommand(stdout, &cobra.Command{
		Use:   "list --url URL [--admin-token T]",
		Short: "List the bank's partners (never their keys)",
	}, func(ctx context.Context, bank *client.Client) ([]bankapi.Partner, error) {
		return bank.Partners(ctx)
	}, func(ps []bankapi.Partner) {
		t := table.NewWriter()
		t.SetOutputMirror(stdout)
		t.SetStyle(table.StyleLight)
		t.AppendHeader(table.Row{"partner", "name", "created"})
		for _, p := range ps {
			t.AppendRow(table.Row{p.ID, p.Name, p.CreatedAt.Format(time.DateTime)}) // as walletctl's tables
		}
		t.Render()
	})
}

// partnerCommand completes c, a partner command: it takes no arguments and the partner flags,
// asks the bank's admin API with call, and prints the answer as JSON or, for people, with text.
func partnerCommand[T any](stdout io.Writer, c *cobra.Command, call func(context.Context, *client.Client) (T, error), text func(T)) *cobra.Command {
	var f partnerFlags
	c.Args = cobra.NoArgs
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		asJSON, err := f.json()
		if err != nil {
			return err
		}
		v, err := call(cmd.Context(), f.client())
		if err != nil {
			return adminErr(err, &f)
		}
		if asJSON {
			return writeJSONOut(stdout, v)
		}
		text(v)
		return nil
	}
	f.register(c)
	return c
}

func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
