package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// scanCmd is the user paying a merchant's order: scanning its code_url (Native), or paying a
// prepay_id as the app's payment sheet would (JSAPI, App), or an h5_url (H5). It has the pay
// command's shape: the checks that need no secret, then the password, then the payment; what
// the user pays for is shown before the password is asked.
func (a *app) scanCmd() *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "scan REF [--source balance|card:ID]",
		Short: "Pay a merchant's order: a code_url, prepay_id or h5_url (asks for the password)",
		Long: `Pay a merchant's order as the --as user. REF is what the merchant's order gave:
  a code_url (weixin://wxpay/bizpayurl?pr=…): a Native order's QR code, scanned;
  a prepay_id (wx…): what a JSAPI or App order's payment sheet pays;
  an h5_url: the page an H5 order opens.
The payee (the merchant's name), the amount and the description are shown on
standard error before the payment password is asked.`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, noFiles
		},
	}
	stdin := passwordFlag(cmd)
	idem := idempotencyFlag(cmd)
	cmd.Flags().StringVar(&source, "source", "balance", "pay from: balance, or card:ID")
	cmd.RegisterFlagCompletionFunc("source", a.completeSources)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		ref := strings.TrimSpace(args[0])
		if ref == "" {
			return invalidArg("the order's code_url, prepay_id or h5_url", "REF is empty")
		}
		if source != "balance" && !strings.HasPrefix(source, "card:") {
			return invalidArg("--source balance, or --source card:c1 (walletctl card list)", "unknown source %q", source)
		}
		svc, u, err := a.actor(ctx)
		if err != nil {
			return err
		}
		o, err := svc.ScanOrder(ctx, u.ID, ref)
		if err != nil {
			return err
		}
		a.showPayee(o)
		pre := precheck{fromBalance: source == "balance"}
		if pre.fromBalance {
			pre.need = o.Amount
		} else {
			pre.card = strings.TrimPrefix(source, "card:")
		}
		if err := a.beforePrompt(ctx, svc, u, pre); err != nil {
			return err
		}
		p, err := a.readSecret(ctx, "Payment password: ", *stdin)
		if err != nil {
			return err
		}
		if svc, err = a.service(ctx); err != nil { // opened again: it was released while the password was asked
			return err
		}
		if ctx, err = a.moneyCtx(ctx, *idem); err != nil {
			return err
		}
		o, err = svc.PayOrder(ctx, walletctl.PayOrderRequest{UserID: u.ID, Ref: ref, Source: source, Password: p})
		if err != nil {
			return err
		}
		a.printPaid(o)
		return nil
	}
	return cmd
}

// showPayee tells the payer, on standard error (where the prompt goes), what they are about to
// pay: to whom, how much, for what.
func (a *app) showPayee(o *walletctl.Order) {
	fmt.Fprintf(a.ios.ErrOut, "Pay %s %s to %s (%s): %s\n", yuan(o.Amount), currency(o.Currency), o.MerchantName, o.MchID, o.Description)
}

// printPaid prints an order as its payer sees it once paid.
func (a *app) printPaid(o *walletctl.Order) {
	rows := []kv{
		{"TRANSACTION", o.TransactionID},
		{"STATE", o.TradeState},
		{"PAYEE", o.MerchantName},
		{"MCHID", o.MchID},
		{"AMOUNT", yuan(o.Amount) + " " + currency(o.Currency)},
		{"DESCRIPTION", o.Description},
	}
	for _, r := range []kv{{"SOURCE", o.Source}, {"TXN", o.TxnID}} {
		if r.v != "" {
			rows = append(rows, r)
		}
	}
	if o.SuccessTime != nil {
		rows = append(rows, kv{"PAID", tsp(o.SuccessTime)})
	}
	a.out.Record(o, rows)
}
