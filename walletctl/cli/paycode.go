package cli

import (
	"fmt"
	"strings"

	"github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// The user's payment code (付款码): the code a till scans, which the merchant charges with
// `merchant codepay`. Above the password-free limit the payment waits for the payer's password:
// `paycode confirm`.

func (a *app) paycodeCmd() *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "paycode [--source balance|card:ID]",
		Short: "Show a payment code for a till to scan (valid one minute); confirm one",
		Long: `Show a new payment code of the --as user: 18 digits, valid for one minute of the
virtual clock, charged by the first merchant that scans it (walletctl merchant
codepay --code …) from the balance or the card given here. On a terminal it is
drawn as a QR code with the digits below it; when standard output is not a
terminal only the digits are printed (the expiry goes to standard error), so
that CODE=$(walletctl --as U paycode) works; -o json prints it with its expiry.
A code payment above the password-free limit (setting codepay_password_free)
waits for the payer's password: walletctl --as U paycode confirm ORDER_ID`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&source, "source", "balance", "pay from: balance, or card:ID")
	cmd.RegisterFlagCompletionFunc("source", a.completeSources)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if source != "balance" && !strings.HasPrefix(source, "card:") {
			return invalidArg("--source balance, or --source card:c1 (walletctl card list)", "unknown source %q", source)
		}
		svc, u, err := a.actor(ctx)
		if err != nil {
			return err
		}
		pc, err := svc.NewPayCode(ctx, u.ID, source)
		if err != nil {
			return err
		}
		return a.printPayCode(pc)
	}
	cmd.AddCommand(a.paycodeConfirmCmd())
	return cmd
}

// printPayCode draws the code for a person at a terminal, or prints it plainly for a script.
func (a *app) printPayCode(pc *walletctl.PayCode) error {
	if a.out.JSON() {
		writeJSON(a.ios.Out, pc)
		return nil
	}
	expiry := fmt.Sprintf("valid until %s (one minute of the sandbox clock), from %s", ts(pc.ExpiresAt), pc.Source)
	if !a.ios.OutTTY {
		fmt.Fprintln(a.ios.Out, pc.Code)
		fmt.Fprintln(a.ios.ErrOut, expiry)
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
	fmt.Fprint(a.ios.Out, q.ToSmallString(false))
	fmt.Fprintf(a.ios.Out, "%s\n%s\n", pc.Code, expiry)
	return nil
}

func (a *app) paycodeConfirmCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "confirm REF",
		Short: "Confirm a code payment waiting for your password (USERPAYING)",
		Long: `Confirm, with the payment password, a code payment above the password-free
limit that waits for it (trade state USERPAYING). REF is the wallet's order id
(o3, ...), as merchant codepay printed it. The payee and amount are shown
before the password is asked.`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, noFiles
		},
	}
	stdin := passwordFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		ref := strings.TrimSpace(args[0])
		if ref == "" {
			return invalidArg("the transaction id merchant codepay printed", "REF is empty")
		}
		svc, u, err := a.actor(ctx)
		if err != nil {
			return err
		}
		// What is about to be paid, before the password (the confirmation itself has the last word).
		if o, err := svc.ScanOrder(ctx, u.ID, ref); err == nil && o.TradeState == walletctl.StateUserPaying {
			a.showPayee(o)
		}
		if err := a.beforePrompt(ctx, svc, u, precheck{}); err != nil {
			return err
		}
		p, err := a.readSecret(ctx, "Payment password: ", *stdin)
		if err != nil {
			return err
		}
		if svc, err = a.service(ctx); err != nil { // opened again: it was released while the password was asked
			return err
		}
		o, err := svc.ConfirmOrder(ctx, u.ID, ref, p)
		if err != nil {
			return err
		}
		a.printPaid(o)
		return nil
	}
	return cmd
}

// userOpenIDCmd is `user openid --appid A`: the --as user's openid under an app id, for scripts
// that create JSAPI orders (merchant order create --type jsapi --openid …).
func (a *app) userOpenIDCmd() *cobra.Command {
	var appID string
	cmd := &cobra.Command{
		Use:   "openid --appid A",
		Short: "Print the --as user's openid under an app id (for JSAPI orders)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if appID == "" {
				return invalidArg("the merchant's appid: walletctl merchant show MCHID", "--appid is required")
			}
			_, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			v := openIDView{AppID: appID, UserID: u.ID, OpenID: walletctl.OpenID(appID, u.ID)}
			a.out.Message(v, "%s", v.OpenID)
			return nil
		},
	}
	cmd.Flags().StringVar(&appID, "appid", "", "the app id (a merchant's appid)")
	return cmd
}

type openIDView struct {
	AppID  string `json:"appid"`
	UserID string `json:"user_id"`
	OpenID string `json:"openid"`
}
