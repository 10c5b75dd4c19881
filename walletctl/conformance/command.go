package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// Option configures NewCommand.
type Option func(*options)

type options struct {
	service func(ctx context.Context) (walletctl.Service, error)
}

// WithService gives `conformance merchant` the wallet whose merchant credentials and platform key
// it uses (the CLI's: the embedded sandbox, or --backend).
func WithService(fn func(ctx context.Context) (walletctl.Service, error)) Option {
	return func(o *options) { o.service = fn }
}

// NewCommand is `walletctl conformance bank|wallet|merchant`: run the checks against an
// implementation, print the report (a table, or JSON with -o json) and fail when any check fails
// or none could run.
func NewCommand(opts ...Option) *cobra.Command {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Check a bank-adapter, wallet API or merchant notification receiver against the protocol",
		Long: `conformance runs black-box checks against a running implementation and prints one line per
check: pass, fail, or n/a when the implementation offers no way to provoke the behaviour from the
outside (no admin API, no fault injection). n/a is never counted as passed. The command exits
non-zero when any check fails, or when no check passed at all.`,
	}
	cmd.AddCommand(bankCommand(), walletCommand(), merchantCommand(o))
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
With the admin API (bankmock's /admin/*, behind --admin-token or BANKMOCK_ADMIN_TOKEN) it stages its
own customers and reads OTPs; without it those checks are n/a.`,
		Example: `  bankmock serve --addr 127.0.0.1:8086 --data ./bank &
  walletctl conformance bank --url http://127.0.0.1:8086 --admin-token "$(cat ./bank/admin-token)"
  walletctl conformance bank --url https://bank.example --admin-token "$BANK_ADMIN_TOKEN" -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				token = os.Getenv("BANKMOCK_ADMIN_TOKEN") // the export line bankmock serve shows
			}
			rep := RunBank(cmd.Context(), Config{URL: f.url, AdminToken: token, Timeout: f.timeout, RunID: f.runID})
			return f.finish(cmd, rep)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&token, "admin-token", "", "bearer token for the admin API (env BANKMOCK_ADMIN_TOKEN; bankmock serve shows it at start)")
	return cmd
}

func walletCommand() *cobra.Command {
	var f commonFlags
	var key, tenantID string
	cmd := &cobra.Command{
		Use:   "wallet --url URL --api-key K",
		Short: "Run the wallet API checks against walletctl serve",
		Long: `wallet drives one tenant of walletctl serve through its HTTP API the way an integrator does:
register, real-name verification, card binding with the bank's SMS code (staged through the
tenant's bank, /v1/bank/admin), payment password, top-up, payment, transfer, error codes and HTTP
statuses across the wire, API key enforcement and idempotent replay (Idempotency-Key).

The v3.* checks then create a merchant through the wallet API and call the tenant's WeChat Pay
v3-shaped API (URL/tenants/<id>/v3/...) with its signed requests: unsigned and badly signed
requests (401 SIGN_ERROR), a Native order paid by the same payer through the wallet API, queries,
a partial refund, closes, /v3/certificates and the trade bill, checking every answer's signature
with the platform certificate. The tenant's id comes from GET /v1/tenant, or --tenant.`,
		Example: `  walletctl conformance wallet --url http://127.0.0.1:8080 --api-key "$WALLETCTL_API_KEY"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep := RunWallet(cmd.Context(), Config{URL: f.url, APIKey: key, TenantID: tenantID, Timeout: f.timeout, RunID: f.runID})
			return f.finish(cmd, rep)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&key, "api-key", "", "the tenant's API key (required)")
	cmd.Flags().StringVar(&tenantID, "tenant", "", "the tenant's id, for its v3 API at URL/tenants/ID (default: ask GET /v1/tenant)")
	_ = cmd.MarkFlagRequired("api-key")
	return cmd
}

func merchantCommand(o options) *cobra.Command {
	var notifyURL, mchid, runID string
	var deadline time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "merchant --notify-url URL [--mchid M]",
		Short: "Check a merchant's notification receiver (notify_url) with signed v3 notifications",
		Long: `merchant sends WeChat Pay v3 notifications, built as walletctl delivers them (the envelope, the
resource encrypted with AEAD_AES_256_GCM under the merchant's APIv3 key, signed with the platform
key in the Wechatpay-* headers), and variations of them to the receiver at --notify-url:

  merchant.accepts-valid          a valid TRANSACTION.SUCCESS: 2xx
  merchant.duplicate              the same notification again: 2xx (already handled)
  merchant.bad-signature          a Wechatpay-Signature that does not verify: non-2xx
  merchant.stale-timestamp        correctly signed, Wechatpay-Timestamp 10 minutes old: non-2xx
  merchant.wrong-serial           correctly signed, an unknown Wechatpay-Serial: non-2xx
  merchant.signature-probe        WECHATPAY/SIGNTEST/...: non-2xx
  merchant.answers-in-time        every answer within 5 s (--deadline)
  merchant.refund-before-payment  REFUND.SUCCESS before its order's TRANSACTION.SUCCESS (no 5xx, no
                                  timeout), then the payment (2xx), then the refund again (2xx)

It acts as the merchant --mchid, or the wallet's first v3 merchant (walletctl merchant create),
with its credentials and the platform key of this sandbox (--home): the receiver must trust the
files of walletctl merchant keys MCHID --out DIR. The orders and refunds in the notifications are
made up (out_trade_no and ids start with the run ID); only the receiver's answers are checked.`,
		Example: `  walletctl merchant create --name "My shop"
  walletctl merchant keys 1900000001 --out ./merchant
  go run ./examples/notify-receiver --keys ./merchant --addr 127.0.0.1:8090 &
  walletctl conformance merchant --mchid 1900000001 --notify-url http://127.0.0.1:8090/notify`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := walletctl.CheckNotifyURL("--notify-url", notifyURL); err != nil {
				return err
			}
			if o.service == nil {
				return &walletctl.Error{Code: walletctl.CodeInternal, Message: "conformance merchant has no wallet to take the merchant's credentials from"}
			}
			svc, err := o.service(ctx)
			if err != nil {
				return err
			}
			b, ok := svc.(MerchantBackend)
			if !ok {
				return &walletctl.Error{Code: walletctl.CodeInvalidArgument,
					Message: "the platform's signing key stays inside walletctl serve: over --backend the kit cannot sign notifications as the platform",
					Hint:    "run it against the sandbox home that holds the merchant (--home DIR, without --backend)"}
			}
			rep, err := RunMerchant(ctx, b, MerchantConfig{NotifyURL: notifyURL, MchID: mchid, Deadline: deadline, RunID: runID})
			if errors.Is(err, ErrNoMerchant) {
				return &walletctl.Error{Code: walletctl.CodeNotFound, Message: "this wallet has no v3 merchant to act as",
					Hint: "create one with walletctl merchant create, write its files with walletctl merchant keys MCHID --out DIR for the receiver"}
			}
			if err != nil {
				return err
			}
			f := commonFlags{asJSON: asJSON}
			return f.finish(cmd, rep)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&notifyURL, "notify-url", "", "the receiver under test (required)")
	fl.StringVar(&mchid, "mchid", "", "the merchant the receiver belongs to (default: the wallet's first v3 merchant)")
	fl.DurationVar(&deadline, "deadline", walletctl.NotifyTimeout, "how long the receiver has to answer each notification")
	fl.StringVar(&runID, "run-id", "", "prefix of this run's made-up out_trade_no and event ids (default: random)")
	fl.BoolVar(&asJSON, "json", false, "print the report as JSON (same as -o json)")
	_ = cmd.MarkFlagRequired("notify-url")
	return cmd
}
