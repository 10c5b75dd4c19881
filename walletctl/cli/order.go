package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/internal/atomicfile"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// The merchant's orders, refunds and bills: what a merchant's code does through the v3 API, as
// commands.

// tradeTypes maps --type to v3's trade_type.
var tradeTypes = map[string]string{
	"native": walletctl.TradeNative,
	"jsapi":  walletctl.TradeJSAPI,
	"app":    walletctl.TradeApp,
	"h5":     walletctl.TradeH5,
}

// orderRef is --out-trade-no or --transaction-id: one of the two names an order.
type orderRef struct{ mchid, outTradeNo, transactionID string }

func (r *orderRef) flags(cmd *cobra.Command, byTransaction bool) {
	cmd.Flags().StringVar(&r.mchid, "mchid", "", "the merchant (walletctl merchant create)")
	cmd.Flags().StringVar(&r.outTradeNo, "out-trade-no", "", "the merchant's order number")
	if byTransaction {
		cmd.Flags().StringVar(&r.transactionID, "transaction-id", "", "the wallet's transaction id of the order (instead of --out-trade-no)")
	}
}

func (r *orderRef) query() (walletctl.OrderQuery, error) {
	if r.mchid == "" {
		return walletctl.OrderQuery{}, invalidArg("the merchant's id: walletctl merchant list", "--mchid is required")
	}
	if (r.outTradeNo == "") == (r.transactionID == "") {
		return walletctl.OrderQuery{}, invalidArg("name the order by --out-trade-no X or by --transaction-id T",
			"give exactly one of --out-trade-no and --transaction-id")
	}
	return walletctl.OrderQuery{MchID: r.mchid, OutTradeNo: r.outTradeNo, TransactionID: r.transactionID}, nil
}

func requireMchid(mchid string) error {
	if mchid == "" {
		return invalidArg("the merchant's id: walletctl merchant list", "--mchid is required")
	}
	return nil
}

// parseYuan parses a required --amount in yuan.
func parseYuan(amount string) (int64, error) {
	if amount == "" {
		return 0, invalidArg("amounts are yuan, e.g. --amount 12.50", "--amount is required")
	}
	return walletctl.ParseAmount(amount)
}

func (a *app) orderCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "order",
		Short: "A merchant's orders: create, show, list, close, reverse",
	}
	cmd.AddCommand(a.orderCreateCmd(), a.orderShowCmd(), a.orderListCmd(),
		a.orderActionCmd("close", "Close an unpaid order (v3's close)", false, walletctl.Service.CloseOrder),
		a.orderActionCmd("reverse", "Reverse a code payment: refunded if paid, else closed", true, walletctl.Service.ReverseOrder))
	return cmd
}

func (a *app) orderCreateCmd() *cobra.Command {
	var mchid, kind, amount, expire string
	var req walletctl.OrderRequest
	cmd := &cobra.Command{
		Use:   "create --mchid M --type native|jsapi|app|h5 --out-trade-no X --amount A --description D",
		Short: "Create an order: prints its code_url, prepay_id or h5_url",
		Long: `Create an order as v3's prepay does. The user pays it with
walletctl --as U scan REF, where REF is the code_url (native: the QR code the
user scans), the prepay_id (jsapi, app: what the app's payment sheet pays) or
the h5_url (h5). A jsapi order is for one payer: --openid is theirs under the
merchant's appid (walletctl --as U user openid --appid A).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := requireMchid(mchid); err != nil {
				return err
			}
			tt, ok := tradeTypes[strings.ToLower(kind)]
			if !ok {
				return invalidArg("--type native, jsapi, app or h5", "unknown order type %q", kind)
			}
			if req.OutTradeNo == "" {
				return invalidArg("the merchant's own order number, e.g. --out-trade-no 20260105-0001", "--out-trade-no is required")
			}
			if req.Description == "" {
				return invalidArg("what the payer buys, e.g. --description 'Coffee beans'", "--description is required")
			}
			if tt == walletctl.TradeJSAPI && req.PayerOpenID == "" {
				return invalidArg("the payer's openid: walletctl --as U user openid --appid A", "a jsapi order needs --openid")
			}
			fen, err := parseYuan(amount)
			if err != nil {
				return err
			}
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			if expire != "" {
				d, err := parseDuration(expire)
				if err != nil {
					return err
				}
				if d <= 0 {
					return invalidArg("how long the order may be paid, e.g. --expire 30m", "--expire %q is not positive", expire)
				}
				now, err := svc.Now(ctx)
				if err != nil {
					return err
				}
				req.TimeExpire = now.Add(d)
			}
			req.MchID, req.TradeType, req.Amount = mchid, tt, fen
			o, err := svc.CreateOrder(ctx, req)
			if err != nil {
				return err
			}
			a.printOrder(o)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&mchid, "mchid", "", "the merchant (walletctl merchant create)")
	f.StringVar(&kind, "type", "native", "native, jsapi, app or h5")
	f.StringVar(&req.OutTradeNo, "out-trade-no", "", "the merchant's order number (unique per merchant)")
	f.StringVar(&amount, "amount", "", "amount in yuan, e.g. 12.50")
	f.StringVar(&req.Description, "description", "", "what the payer buys, shown to them before they pay")
	f.StringVar(&req.PayerOpenID, "openid", "", "jsapi: the payer's openid under the merchant's appid")
	f.StringVar(&req.NotifyURL, "notify-url", "", "where the payment notification is sent")
	f.StringVar(&req.Attach, "attach", "", "the merchant's own data, given back in queries and notifications")
	f.StringVar(&expire, "expire", "", "how long it may be paid on the virtual clock, e.g. 30m (default: the wallet's)")
	cmd.RegisterFlagCompletionFunc("type", fixedCompletion("native", "jsapi", "app", "h5"))
	cmd.RegisterFlagCompletionFunc("mchid", a.completeMchids)
	return cmd
}

func (a *app) orderShowCmd() *cobra.Command {
	var ref orderRef
	cmd := &cobra.Command{
		Use:   "show --mchid M (--out-trade-no X | --transaction-id T)",
		Short: "Show an order and its trade state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			q, err := ref.query()
			if err != nil {
				return err
			}
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			o, err := svc.Order(ctx, q)
			if err != nil {
				return err
			}
			a.printOrder(o)
			return nil
		},
	}
	ref.flags(cmd, true)
	cmd.RegisterFlagCompletionFunc("mchid", a.completeMchids)
	return cmd
}

func (a *app) orderListCmd() *cobra.Command {
	var mchid string
	var wide bool
	cmd := &cobra.Command{
		Use:   "list --mchid M",
		Short: "List a merchant's orders",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := requireMchid(mchid); err != nil {
				return err
			}
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			orders, err := svc.Orders(ctx, mchid)
			if err != nil {
				return err
			}
			rows := make([]table.Row, len(orders))
			for i, o := range orders {
				rows[i] = table.Row{o.OutTradeNo, o.TradeType, o.TradeState, yuan(o.Amount), yuan(o.Refunded),
					o.Description, o.TransactionID, ts(o.CreatedAt)}
			}
			a.out.Table(orders, []string{"OUT TRADE NO", "TYPE", "STATE", "AMOUNT", "REFUNDED", "DESCRIPTION", "TRANSACTION", "CREATED"},
				rows, wide, "TRANSACTION", "CREATED", "REFUNDED", "DESCRIPTION")
			return nil
		},
	}
	cmd.Flags().StringVar(&mchid, "mchid", "", "the merchant (walletctl merchant create)")
	cmd.Flags().BoolVar(&wide, "wide", false, wideUsage)
	cmd.RegisterFlagCompletionFunc("mchid", a.completeMchids)
	return cmd
}

// orderActionCmd is close or reverse: one call on one order, which prints it after.
func (a *app) orderActionCmd(name, short string, byTransaction bool,
	do func(svc walletctl.Service, ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error)) *cobra.Command {
	var ref orderRef
	use := name + " --mchid M --out-trade-no X"
	if byTransaction {
		use = name + " --mchid M (--out-trade-no X | --transaction-id T)"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			q, err := ref.query()
			if err != nil {
				return err
			}
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			o, err := do(svc, ctx, q)
			if err != nil {
				return err
			}
			a.printOrder(o)
			return nil
		},
	}
	ref.flags(cmd, byTransaction)
	cmd.RegisterFlagCompletionFunc("mchid", a.completeMchids)
	return cmd
}

func (a *app) codepayCmd() *cobra.Command {
	var amount string
	var req walletctl.CodePayRequest
	cmd := &cobra.Command{
		Use:   "codepay --mchid M --out-trade-no X --amount A --description D --code PAYCODE",
		Short: "Charge a user's payment code (付款码), as a till that scanned it",
		Long: `Charge a user's payment code (walletctl --as U paycode), as a merchant's till
that scanned it. Up to the password-free limit (setting codepay_password_free)
the order is paid at once (SUCCESS); above it, it waits in USERPAYING until the
payer confirms with the password (walletctl --as U paycode confirm
TRANSACTION_ID), or the merchant reverses it (merchant order reverse).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := requireMchid(req.MchID); err != nil {
				return err
			}
			if req.OutTradeNo == "" {
				return invalidArg("the merchant's own order number, e.g. --out-trade-no till-0001", "--out-trade-no is required")
			}
			if req.Description == "" {
				return invalidArg("what the payer buys, e.g. --description 'Groceries'", "--description is required")
			}
			if req.AuthCode == "" {
				return invalidArg("the 18 digits the user shows: walletctl --as U paycode", "--code is required")
			}
			fen, err := parseYuan(amount)
			if err != nil {
				return err
			}
			req.Amount = fen
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			o, err := svc.CodePay(ctx, req)
			if err != nil {
				return err
			}
			a.printOrder(o)
			if o.TradeState == walletctl.StateUserPaying && !a.out.JSON() {
				ref := o.TransactionID
				if ref == "" {
					ref = o.ID
				}
				fmt.Fprintf(a.ios.ErrOut, "waiting for the payer's password: walletctl --as %s paycode confirm %s\n", payerRef(o), ref)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.MchID, "mchid", "", "the merchant (walletctl merchant create)")
	f.StringVar(&req.OutTradeNo, "out-trade-no", "", "the merchant's order number (unique per merchant)")
	f.StringVar(&amount, "amount", "", "amount in yuan, e.g. 12.50")
	f.StringVar(&req.Description, "description", "", "what the payer buys")
	f.StringVar(&req.AuthCode, "code", "", "the user's 18-digit payment code")
	f.StringVar(&req.NotifyURL, "notify-url", "", "where the payment notification is sent")
	f.StringVar(&req.Attach, "attach", "", "the merchant's own data, given back in queries and notifications")
	cmd.RegisterFlagCompletionFunc("mchid", a.completeMchids)
	return cmd
}

func payerRef(o *walletctl.Order) string {
	if o.PayerUserID != "" {
		return o.PayerUserID
	}
	return "USER"
}

// printOrder prints one order as both sides see it; the fields that do not apply are left out.
func (a *app) printOrder(o *walletctl.Order) {
	rows := []kv{
		{"ORDER", o.ID},
		{"MCHID", o.MchID},
		{"MERCHANT", o.MerchantName},
		{"OUT TRADE NO", o.OutTradeNo},
		{"TYPE", o.TradeType},
		{"STATE", o.TradeState},
	}
	if o.TradeStateDesc != "" {
		rows = append(rows, kv{"STATE DESC", o.TradeStateDesc})
	}
	rows = append(rows, kv{"AMOUNT", yuan(o.Amount) + " " + currency(o.Currency)})
	if o.Refunded != 0 {
		rows = append(rows, kv{"REFUNDED", yuan(o.Refunded)})
	}
	rows = append(rows, kv{"DESCRIPTION", o.Description})
	for _, r := range []kv{
		{"ATTACH", o.Attach}, {"CODE URL", o.CodeURL}, {"PREPAY ID", o.PrepayID}, {"H5 URL", o.H5URL},
		{"TRANSACTION", o.TransactionID}, {"PAYER OPENID", o.PayerOpenID}, {"PAYER", o.PayerUserID},
		{"SOURCE", o.Source}, {"BANK TYPE", o.BankType}, {"PAYER TXN", o.TxnID},
	} {
		if r.v != "" {
			rows = append(rows, r)
		}
	}
	rows = append(rows, kv{"CREATED", ts(o.CreatedAt)})
	if o.SuccessTime != nil {
		rows = append(rows, kv{"PAID", tsp(o.SuccessTime)})
	}
	if o.ClosedAt != nil {
		rows = append(rows, kv{"CLOSED", tsp(o.ClosedAt)})
	}
	if o.TradeState == walletctl.StateNotPay || o.TradeState == walletctl.StateUserPaying {
		rows = append(rows, kv{"EXPIRES", ts(o.TimeExpire)})
	}
	a.out.Record(o, rows)
}

func currency(c string) string {
	if c == "" {
		return "CNY"
	}
	return c
}

// refundCmd is `merchant refund` (it sends one) with show and list below it.
func (a *app) refundCmd() *cobra.Command {
	var ref orderRef
	var amount, total string
	var req walletctl.RefundRequest
	cmd := &cobra.Command{
		Use:   "refund --mchid M (--out-trade-no X | --transaction-id T) --out-refund-no R --amount A",
		Short: "Refund (part of) a paid order; show and list refunds",
		Long: `Refund (part of) a paid order to where the money came from: the balance at
once, a card through the bank (PROCESSING until the bank settles it). Several
refunds of one order may add up to what was paid. With none of its flags it
prints this help.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if !anyChanged(cmd, "mchid", "out-trade-no", "transaction-id", "out-refund-no", "amount", "total", "reason", "notify-url") {
				return cmd.Help()
			}
			q, err := ref.query()
			if err != nil {
				return err
			}
			if req.OutRefundNo == "" {
				return invalidArg("the merchant's own refund number, e.g. --out-refund-no r-0001", "--out-refund-no is required")
			}
			fen, err := parseYuan(amount)
			if err != nil {
				return err
			}
			if total != "" {
				if req.Total, err = walletctl.ParseAmount(total); err != nil {
					return err
				}
			}
			req.MchID, req.OutTradeNo, req.TransactionID, req.Amount = q.MchID, q.OutTradeNo, q.TransactionID, fen
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			r, err := svc.Refund(ctx, req)
			if err != nil {
				return err
			}
			a.printRefund(r)
			return nil
		},
	}
	ref.flags(cmd, true)
	f := cmd.Flags()
	f.StringVar(&req.OutRefundNo, "out-refund-no", "", "the merchant's refund number (unique per merchant)")
	f.StringVar(&amount, "amount", "", "amount to refund in yuan, e.g. 5 or 2.50")
	f.StringVar(&total, "total", "", "the order's total in yuan, checked as v3 does (default: not checked)")
	f.StringVar(&req.Reason, "reason", "", "why, shown to the payer")
	f.StringVar(&req.NotifyURL, "notify-url", "", "where the refund notification is sent")
	cmd.RegisterFlagCompletionFunc("mchid", a.completeMchids)

	var mchid string
	show := &cobra.Command{
		Use:   "show --mchid M OUT_REFUND_NO",
		Short: "Show a refund by the merchant's refund number",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := requireMchid(mchid); err != nil {
				return err
			}
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			r, err := svc.RefundByOutNo(ctx, mchid, args[0])
			if err != nil {
				return err
			}
			a.printRefund(r)
			return nil
		},
	}
	show.Flags().StringVar(&mchid, "mchid", "", "the merchant (walletctl merchant create)")
	show.RegisterFlagCompletionFunc("mchid", a.completeMchids)

	var wide bool
	list := &cobra.Command{
		Use:   "list --mchid M",
		Short: "List a merchant's refunds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := requireMchid(mchid); err != nil {
				return err
			}
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			rs, err := svc.Refunds(ctx, mchid)
			if err != nil {
				return err
			}
			rows := make([]table.Row, len(rs))
			for i, r := range rs {
				rows[i] = table.Row{r.OutRefundNo, r.OutTradeNo, r.Status, yuan(r.Amount), yuan(r.Total), r.Source, r.RefundID, ts(r.CreatedAt)}
			}
			a.out.Table(rs, []string{"OUT REFUND NO", "OUT TRADE NO", "STATUS", "AMOUNT", "TOTAL", "TO", "REFUND", "CREATED"},
				rows, wide, "REFUND", "CREATED", "TOTAL", "TO")
			return nil
		},
	}
	list.Flags().StringVar(&mchid, "mchid", "", "the merchant (walletctl merchant create)")
	list.Flags().BoolVar(&wide, "wide", false, wideUsage)
	list.RegisterFlagCompletionFunc("mchid", a.completeMchids)
	cmd.AddCommand(show, list)
	return cmd
}

// anyChanged tells whether any of these flags of cmd was given.
func anyChanged(cmd *cobra.Command, names ...string) bool {
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}

func (a *app) printRefund(r *walletctl.Refund) {
	rows := []kv{
		{"REFUND", r.RefundID},
		{"OUT REFUND NO", r.OutRefundNo},
		{"MCHID", r.MchID},
		{"OUT TRADE NO", r.OutTradeNo},
		{"TRANSACTION", r.TransactionID},
		{"STATUS", r.Status},
		{"AMOUNT", yuan(r.Amount) + " " + currency(r.Currency)},
		{"ORDER TOTAL", yuan(r.Total)},
		{"TO", refundTo(r)},
	}
	for _, x := range []kv{{"REASON", r.Reason}, {"PAYER", r.UserID}, {"PAYER TXN", r.TxnID}} {
		if x.v != "" {
			rows = append(rows, x)
		}
	}
	rows = append(rows, kv{"CREATED", ts(r.CreatedAt)})
	if r.SuccessTime != nil {
		rows = append(rows, kv{"SUCCEEDED", tsp(r.SuccessTime)})
	}
	a.out.Record(r, rows)
}

// refundTo is where a refund goes, in the CLI's words (balance, card:c1), with v3's account
// text beside it when it says more.
func refundTo(r *walletctl.Refund) string {
	switch {
	case r.Source == "":
		return r.UserReceivedAccount
	case r.UserReceivedAccount == "" || r.Source == "balance":
		return r.Source
	}
	return r.Source + " (" + r.UserReceivedAccount + ")"
}

func (a *app) billCmd() *cobra.Command {
	var mchid, date, kind, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "bill --mchid M [--date YYYY-MM-DD] [--type ALL|SUCCESS|REFUND] [--out FILE]",
		Short: "A merchant's trade bill of one day (v3's format) with its SHA-1",
		Long: `Print a merchant's trade bill of one day (v3's tradebill: CSV-like, values
prefixed with a backquote, totals at the end) on standard output and its hash
on standard error; or write it to --out FILE and print where, with the hash.
-o json prints the bill with its hash as one object. The day is on the
sandbox's calendar (China Standard Time), by default the virtual clock's today.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := requireMchid(mchid); err != nil {
				return err
			}
			bt := strings.ToUpper(kind)
			switch bt {
			case "ALL", "SUCCESS", "REFUND":
			default:
				return invalidArg("--type ALL, SUCCESS or REFUND", "unknown bill type %q", kind)
			}
			if date != "" {
				if _, err := time.Parse("2006-01-02", date); err != nil {
					return invalidArg("a day like --date 2026-01-05", "--date %q is not a day", date)
				}
			}
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			if date == "" {
				now, err := svc.Now(ctx)
				if err != nil {
					return err
				}
				date = now.In(vclock.Shanghai).Format("2006-01-02")
			}
			b, err := svc.TradeBill(ctx, mchid, date, bt)
			if err != nil {
				return err
			}
			if out != "" {
				if !force {
					if _, err := os.Lstat(out); err == nil {
						return &walletctl.Error{Code: walletctl.CodeAlreadyExists, Message: out + " exists already",
							Hint: "pick another file, or overwrite it with --force", Details: map[string]any{"path": out}}
					}
				}
				if err := atomicfile.Write(out, []byte(b.Content), 0o644, true); err != nil {
					return fileError(err, out)
				}
				a.out.Message(billView{b.MchID, b.Date, b.Type, b.Rows, b.HashType, b.HashValue, out},
					"%s\n%s %s (%d rows)", out, b.HashType, b.HashValue, b.Rows)
				return nil
			}
			if a.out.JSON() {
				writeJSON(a.ios.Out, b)
				return nil
			}
			fmt.Fprint(a.ios.Out, b.Content)
			fmt.Fprintf(a.ios.ErrOut, "%s %s (%s bill of %s for %s, %d rows)\n", b.HashType, b.HashValue, b.Type, b.MchID, b.Date, b.Rows)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&mchid, "mchid", "", "the merchant (walletctl merchant create)")
	f.StringVar(&date, "date", "", "the day, YYYY-MM-DD (default: today on the virtual clock)")
	f.StringVar(&kind, "type", "ALL", "ALL, SUCCESS or REFUND")
	f.StringVar(&out, "out", "", "write the bill to this file instead of standard output")
	f.BoolVar(&force, "force", false, "overwrite --out FILE if it exists")
	cmd.RegisterFlagCompletionFunc("type", fixedCompletion("ALL", "SUCCESS", "REFUND"))
	cmd.RegisterFlagCompletionFunc("mchid", a.completeMchids)
	return cmd
}

// billView is what `merchant bill --out FILE` prints: the bill without its content.
type billView struct {
	MchID     string `json:"mchid"`
	Date      string `json:"bill_date"`
	Type      string `json:"bill_type"`
	Rows      int    `json:"rows"`
	HashType  string `json:"hash_type"`
	HashValue string `json:"hash_value"`
	Path      string `json:"path"`
}
