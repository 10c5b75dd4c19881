package conformance

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// NewCommand is `walletctl conformance bank|wallet`: run the checks against an implementation,
// print the report (a table, or JSON with -o json) and fail when any check fails or none could run.
func NewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Check a bank-adapter or wallet API implementation against the protocol",
		Long: `conformance runs black-box checks against a running implementation and prints one line per
check: pass, fail, or n/a when the implementation offers no way to provoke the behaviour from the
outside (no admin API, no fault injection). n/a is never counted as passed. The command exits
non-zero when any check fails, or when no check passed at all.`,
	}
	cmd.AddCommand(bankCommand(), walletCommand())
	return cmd
}

type commonFlags struct {
	url     string
	timeout time.Duration
	runID   string
	asJSON  bool
}

func (f *commonFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", "", "base URL of the implementation under test (required)")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Second, "timeout of each request")
	fl.StringVar(&f.runID, "run-id", "", "prefix of this run's idempotency keys (default: random)")
	fl.BoolVar(&f.asJSON, "json", false, "print the report as JSON (same as -o json)")
	_ = cmd.MarkFlagRequired("url")
}

func (f *commonFlags) finish(cmd *cobra.Command, rep *Report) error {
	if o := cmd.Flag("output"); o != nil && o.Value.String() == "json" {
		f.asJSON = true
	}
	out := cmd.OutOrStdout()
	if f.asJSON {
		if err := rep.WriteJSON(out); err != nil {
			return err
		}
	} else {
		rep.WriteTable(out, false)
	}
	if rep.OK() {
		return nil
	}
	failed := rep.Names(Fail)
	if len(failed) == 0 {
		return &walletctl.Error{Code: walletctl.CodeConformanceFailed,
			Message: "no conformance check could run against " + rep.URL,
			Hint:    "see the n/a details above: is the URL right, and is the admin API reachable (--admin-token)?"}
	}
	shown, details := failed, map[string]any{"failed": failed}
	if len(failed) > 6 { // the table above has them all
		shown, details = append(slices.Clone(failed[:6]), fmt.Sprintf("and %d more", len(failed)-6)), nil
	}
	return &walletctl.Error{Code: walletctl.CodeConformanceFailed,
		Message: fmt.Sprintf("%d conformance check(s) failed: %s", len(failed), strings.Join(shown, ", ")),
		Hint:    "the detail column says what was sent and what came back; docs/partners.md explains each check",
		Details: details}
}

func bankCommand() *cobra.Command {
	var f commonFlags
	var token string
	cmd := &cobra.Command{
		Use:   "bank --url URL [--admin-token T]",
		Short: "Run the bank-adapter protocol v1 checks against a bank implementation",
		Long: `bank checks every endpoint of the bank-adapter protocol v1 (GET /v1/banks, verify, bindings
with OTP, agreements, debits, credits, the transaction query, statements), every error code that can
be provoked from the outside, idempotent replay, the query after a lost answer and statement totals.
With the admin API (bankmock's /admin/*; loopback, or --admin-token) it stages its own customers and
reads OTPs; without it those checks are n/a.`,
		Example: `  bankmock serve --addr 127.0.0.1:8086 &
  walletctl conformance bank --url http://127.0.0.1:8086
  walletctl conformance bank --url https://bank.example --admin-token "$BANK_ADMIN_TOKEN" -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep := RunBank(cmd.Context(), Config{URL: f.url, AdminToken: token, Timeout: f.timeout, RunID: f.runID})
			return f.finish(cmd, rep)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&token, "admin-token", "", "bearer token for the admin API (bankmock serve --admin-token)")
	return cmd
}

func walletCommand() *cobra.Command {
	var f commonFlags
	var key string
	cmd := &cobra.Command{
		Use:   "wallet --url URL --api-key K",
		Short: "Run the wallet API checks against walletctl serve",
		Long: `wallet drives one tenant of walletctl serve through its HTTP API the way an integrator does:
register, real-name verification, card binding with the bank's SMS code (staged through the
tenant's bank, /v1/bank/admin), payment password, top-up, payment, transfer, error codes and HTTP
statuses across the wire, API key enforcement and idempotent replay (Idempotency-Key).`,
		Example: `  walletctl conformance wallet --url http://127.0.0.1:8080 --api-key "$WALLETCTL_API_KEY"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep := RunWallet(cmd.Context(), Config{URL: f.url, APIKey: key, Timeout: f.timeout, RunID: f.runID})
			return f.finish(cmd, rep)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&key, "api-key", "", "the tenant's API key (required)")
	_ = cmd.MarkFlagRequired("api-key")
	return cmd
}
