package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// The user's payment code (付款码): the code a till scans, which the merchant charges with
// `merchant codepay`. Above the password-free limit the payment waits for the payer's password:
// `paycode confirm`.

// PaycodeOptions are paycode's inputs.
type PaycodeOptions struct {
	*Factory
	Source string
}

// NewCmdPaycode is `paycode` (without its subcommand).
func NewCmdPaycode(f *Factory, runF func(context.Context, *PaycodeOptions) error) *cobra.Command {
	opts := &PaycodeOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "paycode [--source balance|card:ID]", Short: "Show a payment code for a till to scan (valid one minute); confirm one",
		Long: `Show a new payment code of the --as user: 18 digits, valid for one minute of the
virtual clock, charged by the first merchant that scans it (walletctl merchant
codepay --code …) from the balance or the card given here. On a terminal it is
drawn as a QR code with the digits below it; when standard output is not a
terminal only the digits are printed (the expiry goes to standard error), so
that CODE=$(walletctl --as U paycode) works; -o json prints it with its expiry.
A code payment above the password-free limit (setting codepay_password_free)
waits for the payer's password: walletctl --as U paycode confirm ORDER_ID`,
	}, opts, func([]string) error { return checkSource(opts.Source) }, runF, paycodeRun)
	sourceFlag(f, cmd, &opts.Source)
	return cmd
}

func paycodeRun(ctx context.Context, o *PaycodeOptions) error {
	var drawn error // the code is made; drawing it may still fail
	if err := asUser(ctx, o.Factory, func(svc walletctl.Service, u *walletctl.User) (*walletctl.PayCode, error) {
		return svc.NewPayCode(ctx, u.ID, o.Source)
	}, func(pc *walletctl.PayCode) { drawn = o.Out.PayCode(pc) }); err != nil {
		return err
	}
	return drawn
}

// PayCode draws the code for a person at a terminal, or prints it plainly for a script.
func (o *Output) PayCode(pc *walletctl.PayCode) error {
	if o.JSON() {
		writeJSON(o.IO.Out, pc)
		return nil
	}
	expiry := fmt.Sprintf("valid until %s (one minute of the sandbox clock), from %s", ts(pc.ExpiresAt), pc.Source)
	if !o.IO.OutTTY {
		fmt.Fprintln(o.IO.Out, pc.Code)
		fmt.Fprintln(o.IO.ErrOut, expiry)
		return nil
	}
	// github.com/skip2/go-qrcode (of the QR libraries kept here): pure Go with no dependencies of
	// its own, and its ToSmallString draws two modules per character cell with half blocks, so
	// that an 18-digit code (version 1: 21 modules, and the 4-module quiet zone each side) takes
	// 29 columns by 15 lines and fits any terminal. Not inverted: the dark modules are left blank
	// and the light ones drawn in the foreground colour, dark on light as a reader expects on the
	// usual light-on-dark terminal.
	q, err := qrcode.New(pc.Code, qrcode.Medium)
	if err != nil {
		return walletctl.Errorf(walletctl.CodeInternal, "draw the payment code: %v", err)
	}
	fmt.Fprint(o.IO.Out, q.ToSmallString(false))
	fmt.Fprintf(o.IO.Out, "%s\n%s\n", pc.Code, expiry)
	return nil
}

// PaycodeConfirmOptions are paycode confirm's inputs.
type PaycodeConfirmOptions struct {
	*Factory
	Ref           string // the REF argument, trimmed
	PasswordStdin bool
}

// NewCmdPaycodeConfirm is `paycode confirm`.
func NewCmdPaycodeConfirm(f *Factory, runF func(context.Context, *PaycodeConfirmOptions) error) *cobra.Command {
	opts := &PaycodeConfirmOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "confirm REF", Short: "Confirm a code payment waiting for your password (USERPAYING)",
		Long: `Confirm, with the payment password, a code payment above the password-free
limit that waits for it (trade state USERPAYING). REF is the wallet's order id
(o3, ...), as merchant codepay printed it. The payee and amount are shown
before the password is asked.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: noArgCompletion,
	}, opts, func(args []string) error {
		if opts.Ref = strings.TrimSpace(args[0]); opts.Ref == "" {
			return invalidArg("the transaction id merchant codepay printed", "REF is empty")
		}
		return nil
	}, runF, paycodeConfirmRun)
	passwordFlagVar(cmd, &opts.PasswordStdin)
	return cmd
}

func paycodeConfirmRun(ctx context.Context, o *PaycodeConfirmOptions) error {
	svc, u, err := o.Actor(ctx)
	if err != nil {
		return err
	}
	// What is about to be paid, before the password (the confirmation itself has the last word).
	if ord, err := svc.ScanOrder(ctx, u.ID, o.Ref); err == nil && ord.TradeState == walletctl.StateUserPaying {
		o.Out.OrderPayee(ord)
	}
	if err := beforePrompt(ctx, svc, u, precheck{}); err != nil {
		return err
	}
	// No idempotency key: confirming an order already paid answers it as paid, so a retry never
	// pays twice.
	svc, p, err := o.paymentPassword(ctx, o.PasswordStdin)
	if err != nil {
		return err
	}
	ord, err := svc.ConfirmOrder(ctx, u.ID, o.Ref, p)
	if err != nil {
		return err
	}
	o.Out.PaidOrder(ord)
	return nil
}

// UserOpenIDOptions are user openid's inputs.
type UserOpenIDOptions struct {
	*Factory
	AppID string // a merchant's
}

// NewCmdUserOpenID is `user openid --appid A`: the --as user's openid under an app id, for
// scripts that create JSAPI orders (merchant order create --type jsapi --openid …).
func NewCmdUserOpenID(f *Factory, runF func(context.Context, *UserOpenIDOptions) error) *cobra.Command {
	opts := &UserOpenIDOptions{Factory: f}
	return newFlagCmd(&cobra.Command{Use: "openid --appid A", Short: "Print the --as user's openid under an app id (for JSAPI orders)"},
		opts, requiredFlag{&opts.AppID, "appid", "the app id (a merchant's appid)", "the merchant's appid: walletctl merchant show MCHID"}, runF, userOpenIDRun)
}

func userOpenIDRun(ctx context.Context, o *UserOpenIDOptions) error {
	return asUser(ctx, o.Factory, func(_ walletctl.Service, u *walletctl.User) (openIDView, error) {
		return openIDView{AppID: o.AppID, UserID: u.ID, OpenID: walletctl.OpenID(o.AppID, u.ID)}, nil
	}, func(v openIDView) { o.Out.Message(v, "%s", v.OpenID) })
}

type openIDView struct {
	AppID  string `json:"appid"`
	UserID string `json:"user_id"`
	OpenID string `json:"openid"`
}
