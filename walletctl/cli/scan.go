package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// ScanOptions are scan's inputs.
type ScanOptions struct {
	*Factory
	MoneyFlags
	Ref    string // the REF argument, trimmed
	Source string
}

// NewCmdScan is `scan`: the user paying a merchant's order: scanning its code_url (Native), or
// paying a prepay_id as the app's payment sheet would (JSAPI, App), or an h5_url (H5). It has
// the pay command's shape: the checks that need no secret, then the password, then the payment;
// what the user pays for is shown before the password is asked.
func NewCmdScan(f *Factory, runF func(context.Context, *ScanOptions) error) *cobra.Command {
	opts := &ScanOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "scan REF [--source balance|card:ID]", Short: "Pay a merchant's order: a code_url, prepay_id or h5_url (asks for the password)",
		Long: `Pay a merchant's order as the --as user. REF is what the merchant's order gave:
  a code_url (weixin://wxpay/bizpayurl?pr=…): a Native order's QR code, scanned;
  a prepay_id (wx…): what a JSAPI or App order's payment sheet pays;
  an h5_url: the page an H5 order opens.
The payee (the merchant's name), the amount and the description are shown on
standard error before the payment password is asked.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: noArgCompletion,
	}, opts, func(args []string) error {
		if opts.Ref = strings.TrimSpace(args[0]); opts.Ref == "" {
			return invalidArg("the order's code_url, prepay_id or h5_url", "REF is empty")
		}
		return checkSource(opts.Source)
	}, runF, scanRun)
	moneyFlags(cmd, &opts.MoneyFlags)
	sourceFlag(f, cmd, &opts.Source)
	return cmd
}

func scanRun(ctx context.Context, o *ScanOptions) error {
	svc, u, err := o.Actor(ctx)
	if err != nil {
		return err
	}
	ord, err := svc.ScanOrder(ctx, u.ID, o.Ref)
	if err != nil {
		return err
	}
	o.Out.OrderPayee(ord)
	if err := beforePrompt(ctx, svc, u, fromSource(o.Source, ord.Amount)); err != nil {
		return err
	}
	return send(ctx, o.Factory, o.MoneyFlags, func(ctx context.Context, svc walletctl.Service, password string) (*walletctl.Order, error) {
		return svc.PayOrder(ctx, walletctl.PayOrderRequest{UserID: u.ID, Ref: o.Ref, Source: o.Source, Password: password})
	}, o.Out.PaidOrder)
}

// OrderPayee tells the payer, on standard error (where the prompt goes), what they are about to
// pay: to whom, how much, for what.
func (o *Output) OrderPayee(ord *walletctl.Order) {
	fmt.Fprintf(o.IO.ErrOut, "Pay %s %s to %s (%s): %s\n", yuan(ord.Amount), currency(ord.Currency), ord.MerchantName, ord.MchID, ord.Description)
}

// PaidOrder shows an order as its payer sees it once paid.
func (o *Output) PaidOrder(ord *walletctl.Order) {
	rows := []kv{
		{"TRANSACTION", ord.TransactionID},
		{"STATE", ord.TradeState},
		{"PAYEE", ord.MerchantName},
		{"MCHID", ord.MchID},
		{"AMOUNT", yuan(ord.Amount) + " " + currency(ord.Currency)},
		{"DESCRIPTION", ord.Description},
	}
	for _, r := range []kv{{"SOURCE", ord.Source}, {"TXN", ord.TxnID}} {
		if r.v != "" {
			rows = append(rows, r)
		}
	}
	if ord.SuccessTime != nil {
		rows = append(rows, kv{"PAID", tsp(ord.SuccessTime)})
	}
	o.Record(ord, rows)
}
