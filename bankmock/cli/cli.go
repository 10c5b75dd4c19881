// Package cli is the bankmock command: serve the mock bank over HTTP, list the documented test
// cards and magic amounts, print the version. cmd/bankmock only calls Main.
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
	"runtime/debug"
	"syscall"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
)

// Version is set at build time with -ldflags "-X github.com/walletctl/walletctl/bankmock/cli.Version=v1.2.3".
var Version = ""

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

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "bankmock",
		Short:         "A deterministic mock of many Chinese banks behind one bank-adapter protocol",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServe(stdout, stderr), newCards(stdout), newVersion(stdout))
	return root
}

func newVersion(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintln(stdout, "bankmock", version())
			return nil
		},
	}
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newCards(stdout io.Writer) *cobra.Command {
	var asJSON bool
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
			writeCards(stdout)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// writeCards prints the test cards in full: like a processor's test-card page, these are fixtures
// that scripts need verbatim to act as their holders.
func writeCards(w io.Writer) {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleLight)
	t.SetTitle("Test cards (present in every world)")
	t.AppendHeader(table.Row{"key", "bank", "card", "type", "status", "name", "id", "phone", "balance", "fault", "expect"})
	for _, tc := range bankmock.TestCards {
		c := tc.Customer
		t.AppendRow(table.Row{tc.Key, c.Bank, c.CardNo, c.Type, c.Status, c.Name, c.IDNo, c.Phone, yuan(c.Balance), string(tc.Fault), tc.Expect})
	}
	t.Render()
	fmt.Fprintln(w)
	m := table.NewWriter()
	m.SetOutputMirror(w)
	m.SetStyle(table.StyleLight)
	m.SetTitle("Magic amounts (any card, debits and credits)")
	m.AppendHeader(table.Row{"amount (CNY)", "fen", "fault", "purpose"})
	for _, a := range bankmock.MagicAmounts {
		m.AppendRow(table.Row{yuan(a.Amount), a.Amount, a.Fault, a.Purpose})
	}
	m.Render()
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
	fl.StringVar(&f.adminToken, "admin-token", os.Getenv("BANKMOCK_ADMIN_TOKEN"), "open /admin/* to clients sending this bearer token (default: loopback clients only; env BANKMOCK_ADMIN_TOKEN)")
	fl.Int64Var(&f.maxBody, "max-body", 1<<20, "request body limit in bytes")
	fl.DurationVar(&f.readTimeout, "read-timeout", 10*time.Second, "time to read a whole request")
	fl.DurationVar(&f.writeTimeout, "write-timeout", 60*time.Second, "time to write a response (bounds delay and hang faults)")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 120*time.Second, "keep-alive idle timeout")
	fl.BoolVar(&f.quiet, "quiet", false, "no request log")
	return c
}

func serve(ctx context.Context, f serveFlags, stdout, stderr io.Writer) error {
	level := slog.LevelInfo
	if f.quiet {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	engine := bankmock.New(bankmock.Config{Seed: f.seed, Customers: f.customers})
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
	fmt.Fprintf(stderr, "bankmock %s: seed %d, %d customers (+%d test cards)\n", version(), f.seed, f.customers, len(bankmock.TestCards))
	fmt.Fprintf(stderr, "  try: curl %s/v1/banks   |   curl %s/admin/customers   |   bankmock cards\n", url, url)
	if f.adminToken == "" {
		fmt.Fprintln(stderr, "  admin API: loopback clients only (set --admin-token to open it)")
	} else {
		fmt.Fprintln(stderr, "  admin API: requires Authorization: Bearer <token>")
	}
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
