package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/internal/atomicfile"
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

// need is a flag a command cannot do without, its value, and the hint when it is missing.
type need struct{ flag, value, hint string }

// missing is INVALID_ARGUMENT for the first of needs left empty ("--out-trade-no is required").
func missing(needs ...need) error {
	for _, n := range needs {
		if n.value == "" {
			return invalidArg(n.hint, "%s is required", n.flag)
		}
	}
	return nil
}

// mchidNeed is the --mchid every merchant command needs.
func mchidNeed(mchid string) need {
	return need{"--mchid", mchid, "the merchant's id: walletctl merchant list"}
}

func requireMchid(mchid string) error { return missing(mchidNeed(mchid)) }

// mchidFlag is a command's --mchid, completed with the v3 merchants.
func mchidFlag(cmd *cobra.Command, f *Factory, p *string, usage string) {
	cmd.Flags().StringVar(p, "mchid", "", usage)
	cmd.RegisterFlagCompletionFunc("mchid", f.app.completeMchids)
}

// mchidUsage is the usage of --mchid on the merchant's own commands, which need it.
const mchidUsage = "the merchant (walletctl merchant create)"

// orderFlags are --mchid and --out-trade-no, with byTransaction or --transaction-id: one of the
// two names an order.
func orderFlags(cmd *cobra.Command, f *Factory, q *walletctl.OrderQuery, byTransaction bool) {
	mchidFlag(cmd, f, &q.MchID, mchidUsage)
	cmd.Flags().StringVar(&q.OutTradeNo, "out-trade-no", "", "the merchant's order number")
	if byTransaction {
		cmd.Flags().StringVar(&q.TransactionID, "transaction-id", "", "the wallet's transaction id of the order (instead of --out-trade-no)")
	}
}

// checkOrderQuery checks what orderFlags read.
func checkOrderQuery(q walletctl.OrderQuery) error {
	if err := requireMchid(q.MchID); err != nil {
		return err
	}
	if (q.OutTradeNo == "") == (q.TransactionID == "") {
		return invalidArg("name the order by --out-trade-no X or by --transaction-id T",
			"give exactly one of --out-trade-no and --transaction-id")
	}
	return nil
}

// OrderCreateOptions are order create's inputs: Request as it goes to the wallet but for its
// TimeExpire, which is Expire from the virtual clock's now.
type OrderCreateOptions struct {
	*Factory
	Request              walletctl.OrderRequest
	Type, Amount, Expire string
}

// NewCmdOrderCreate is `merchant order create`; runF (tests) replaces orderCreateRun.
func NewCmdOrderCreate(f *Factory, runF func(context.Context, *OrderCreateOptions) error) *cobra.Command {
	opts := &OrderCreateOptions{Factory: f}
	req := &opts.Request
	cmd := newCmd(&cobra.Command{Use: "create --mchid M --type native|jsapi|app|h5 --out-trade-no X --amount A --description D", Short: "Create an order: prints its code_url, prepay_id or h5_url",
		Long: `Create an order as v3's prepay does. The user pays it with
walletctl --as U scan REF, where REF is the code_url (native: the QR code the
user scans), the prepay_id (jsapi, app: what the app's payment sheet pays) or
the h5_url (h5). A jsapi order is for one payer: --openid is theirs under the
merchant's appid (walletctl --as U user openid --appid A).`,
	}, opts, func([]string) (err error) {
		if err := requireMchid(req.MchID); err != nil {
			return err
		}
		tt, ok := tradeTypes[strings.ToLower(opts.Type)]
		if !ok {
			return invalidArg("--type native, jsapi, app or h5", "unknown order type %q", opts.Type)
		}
		if err := missing(need{"--out-trade-no", req.OutTradeNo, "the merchant's own order number, e.g. --out-trade-no 20260105-0001"},
			need{"--description", req.Description, "what the payer buys, e.g. --description 'Coffee beans'"}); err != nil {
			return err
		}
		if tt == walletctl.TradeJSAPI && req.PayerOpenID == "" {
			return invalidArg("the payer's openid: walletctl --as U user openid --appid A", "a jsapi order needs --openid")
		}
		req.TradeType = tt
		req.Amount, err = parseAmount(opts.Amount)
		return err
	}, runF, orderCreateRun)
	newOrderFlags(cmd, f, "what the payer buys, shown to them before they pay",
		&req.MchID, &req.OutTradeNo, &opts.Amount, &req.Description, &req.NotifyURL, &req.Attach)
	fl := cmd.Flags()
	choiceFlag(cmd, &opts.Type, "type", "native", "native, jsapi, app or h5", "native", "jsapi", "app", "h5")
	fl.StringVar(&req.PayerOpenID, "openid", "", "jsapi: the payer's openid under the merchant's appid")
	fl.StringVar(&opts.Expire, "expire", "", "how long it may be paid on the virtual clock, e.g. 30m (default: the wallet's)")
	return cmd
}

// newOrderFlags are the flags of a new order, created (order create) or charged at a till
// (codepay); describe is --description's usage.
func newOrderFlags(cmd *cobra.Command, f *Factory, describe string, mchid, outTradeNo, amount, description, notifyURL, attach *string) {
	mchidFlag(cmd, f, mchid, mchidUsage)
	fl := cmd.Flags()
	fl.StringVar(outTradeNo, "out-trade-no", "", "the merchant's order number (unique per merchant)")
	fl.StringVar(amount, "amount", "", "amount in yuan, e.g. 12.50")
	fl.StringVar(description, "description", "", describe)
	fl.StringVar(notifyURL, "notify-url", "", "where the payment notification is sent")
	fl.StringVar(attach, "attach", "", "the merchant's own data, given back in queries and notifications")
}

func orderCreateRun(ctx context.Context, o *OrderCreateOptions) error {
	return withService(ctx, o.Factory, func(svc walletctl.Service) (*walletctl.Order, error) {
		req := o.Request
		// --expire is read once the wallet is open, as it always was: its mistakes come after the
		// wallet's own (a sandbox created, a server down).
		if o.Expire != "" {
			d, err := parseDuration(o.Expire)
			if err != nil {
				return nil, err
			}
			if d <= 0 {
				return nil, invalidArg("how long the order may be paid, e.g. --expire 30m", "--expire %q is not positive", o.Expire)
			}
			now, err := svc.Now(ctx)
			if err != nil {
				return nil, err
			}
			req.TimeExpire = now.Add(d)
		}
		return svc.CreateOrder(ctx, req)
	}, o.Out.Order)
}

// OrderOptions are the inputs of the commands on one order: show, close, reverse.
type OrderOptions struct {
	*Factory
	Query walletctl.OrderQuery
}

// NewCmdOrderShow is `merchant order show`.
func NewCmdOrderShow(f *Factory, runF func(context.Context, *OrderOptions) error) *cobra.Command {
	return newOrderCmd(f, "show", "Show an order and its trade state", true, runF, orderShowRun)
}

// NewCmdOrderClose is `merchant order close`.
func NewCmdOrderClose(f *Factory, runF func(context.Context, *OrderOptions) error) *cobra.Command {
	return newOrderCmd(f, "close", "Close an unpaid order (v3's close)", false, runF, orderCloseRun)
}

// NewCmdOrderReverse is `merchant order reverse`.
func NewCmdOrderReverse(f *Factory, runF func(context.Context, *OrderOptions) error) *cobra.Command {
	return newOrderCmd(f, "reverse", "Reverse a code payment: refunded if paid, else closed", true, runF, orderReverseRun)
}

// newOrderCmd is a command on one order, named by --out-trade-no (or, byTransaction, by
// --transaction-id).
func newOrderCmd(f *Factory, name, short string, byTransaction bool, runF, own func(context.Context, *OrderOptions) error) *cobra.Command {
	opts := &OrderOptions{Factory: f}
	use := name + " --mchid M --out-trade-no X"
	if byTransaction {
		use = name + " --mchid M (--out-trade-no X | --transaction-id T)"
	}
	cmd := newCmd(&cobra.Command{Use: use, Short: short}, opts, func([]string) error {
		return checkOrderQuery(opts.Query)
	}, runF, own)
	orderFlags(cmd, f, &opts.Query, byTransaction)
	return cmd
}

func orderShowRun(ctx context.Context, o *OrderOptions) error {
	return o.do(ctx, walletctl.Service.Order)
}

func orderCloseRun(ctx context.Context, o *OrderOptions) error {
	return o.do(ctx, walletctl.Service.CloseOrder)
}

func orderReverseRun(ctx context.Context, o *OrderOptions) error {
	return o.do(ctx, walletctl.Service.ReverseOrder)
}

// do is one call on the order, which prints it after.
func (o *OrderOptions) do(ctx context.Context, call func(walletctl.Service, context.Context, walletctl.OrderQuery) (*walletctl.Order, error)) error {
	return withServiceOf(ctx, o.Factory, call, o.Query, o.Out.Order)
}

// MchidListOptions are the inputs of the lists of one merchant's records (orders, refunds).
type MchidListOptions struct {
	*Factory
	PageFlags
	MchID string
	Wide  bool
}

// NewCmdOrderList is `merchant order list`.
func NewCmdOrderList(f *Factory, runF func(context.Context, *MchidListOptions) error) *cobra.Command {
	return newMchidListCmd(f, "List a merchant's orders", runF, mchidList(walletctl.Service.Orders, orderID, (*Output).Orders))
}

// NewCmdRefundList is `merchant refund list`.
func NewCmdRefundList(f *Factory, runF func(context.Context, *MchidListOptions) error) *cobra.Command {
	return newMchidListCmd(f, "List a merchant's refunds", runF, mchidList(walletctl.Service.Refunds, refundID, (*Output).Refunds))
}

func newMchidListCmd(f *Factory, short string, runF, own func(context.Context, *MchidListOptions) error) *cobra.Command {
	opts := &MchidListOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "list --mchid M", Short: short + ", newest first"}, opts, func([]string) error {
		if err := requireMchid(opts.MchID); err != nil {
			return err
		}
		_, err := opts.Page()
		return err
	}, runF, own)
	mchidFlag(cmd, f, &opts.MchID, mchidUsage)
	pageFlags(cmd, &opts.PageFlags)
	wideFlag(cmd, &opts.Wide)
	return cmd
}

// mchidList is the run of a list of one merchant's records: q asks for a page, show prints them.
func mchidList[T any](q func(walletctl.Service, context.Context, string, walletctl.Page) (*walletctl.List[T], error), id func(T) string,
	show func(*Output, []T, bool)) func(context.Context, *MchidListOptions) error {
	return func(ctx context.Context, o *MchidListOptions) error {
		svc, err := o.Service(ctx)
		if err != nil {
			return err
		}
		return listPages(ctx, o.Out, o.PageFlags, func(ctx context.Context, p walletctl.Page) (*walletctl.List[T], error) {
			return q(svc, ctx, o.MchID, p)
		}, id, func(items []T) { show(o.Out, items, o.Wide) })
	}
}

// Orders lists orders, the least needed columns left out first on a narrow terminal.
func (o *Output) Orders(orders []walletctl.Order, wide bool) {
	o.Table(orders, []string{"OUT TRADE NO", "TYPE", "STATE", "AMOUNT", "REFUNDED", "DESCRIPTION", "TRANSACTION", "CREATED"},
		rowsOf(orders, func(x walletctl.Order) table.Row {
			return table.Row{x.OutTradeNo, x.TradeType, x.TradeState, yuan(x.Amount), yuan(x.Refunded), x.Description, x.TransactionID, ts(x.CreatedAt)}
		}), wide, "TRANSACTION", "CREATED", "REFUNDED", "DESCRIPTION")
}

// CodePayOptions are codepay's inputs: Request as it goes to the wallet, Amount in yuan.
type CodePayOptions struct {
	*Factory
	Request walletctl.CodePayRequest
	Amount  string
}

// NewCmdCodePay is `merchant codepay`.
func NewCmdCodePay(f *Factory, runF func(context.Context, *CodePayOptions) error) *cobra.Command {
	opts := &CodePayOptions{Factory: f}
	req := &opts.Request
	cmd := newCmd(&cobra.Command{Use: "codepay --mchid M --out-trade-no X --amount A --description D --code PAYCODE", Short: "Charge a user's payment code (付款码), as a till that scanned it",
		Long: `Charge a user's payment code (walletctl --as U paycode), as a merchant's till
that scanned it. Up to the password-free limit (setting codepay_password_free)
the order is paid at once (SUCCESS); above it, it waits in USERPAYING until the
payer confirms with the password (walletctl --as U paycode confirm
TRANSACTION_ID), or the merchant reverses it (merchant order reverse).`,
	}, opts, func([]string) (err error) {
		if err := missing(mchidNeed(req.MchID),
			need{"--out-trade-no", req.OutTradeNo, "the merchant's own order number, e.g. --out-trade-no till-0001"},
			need{"--description", req.Description, "what the payer buys, e.g. --description 'Groceries'"},
			need{"--code", req.AuthCode, "the 18 digits the user shows: walletctl --as U paycode"}); err != nil {
			return err
		}
		req.Amount, err = parseAmount(opts.Amount)
		return err
	}, runF, codePayRun)
	newOrderFlags(cmd, f, "what the payer buys", &req.MchID, &req.OutTradeNo, &opts.Amount, &req.Description, &req.NotifyURL, &req.Attach)
	cmd.Flags().StringVar(&req.AuthCode, "code", "", "the user's 18-digit payment code")
	return cmd
}

func codePayRun(ctx context.Context, o *CodePayOptions) error {
	return withServiceOf(ctx, o.Factory, walletctl.Service.CodePay, o.Request, o.Out.CodePay)
}

// CodePay prints a code payment's order and, for people, what the payer does when it waits for
// their password.
func (o *Output) CodePay(x *walletctl.Order) {
	o.Order(x)
	if x.TradeState == walletctl.StateUserPaying && !o.JSON() {
		ref := x.TransactionID
		if ref == "" {
			ref = x.ID
		}
		fmt.Fprintf(o.IO.ErrOut, "waiting for the payer's password: walletctl --as %s paycode confirm %s\n", payerRef(x), ref)
	}
}

func payerRef(o *walletctl.Order) string {
	if o.PayerUserID != "" {
		return o.PayerUserID
	}
	return "USER"
}

// Order prints one order as both sides see it; the fields that do not apply are left out.
func (o *Output) Order(x *walletctl.Order) {
	rows := []kv{
		{"ORDER", x.ID},
		{"MCHID", x.MchID},
		{"MERCHANT", x.MerchantName},
		{"OUT TRADE NO", x.OutTradeNo},
		{"TYPE", x.TradeType},
		{"STATE", x.TradeState},
	}
	if x.TradeStateDesc != "" {
		rows = append(rows, kv{"STATE DESC", x.TradeStateDesc})
	}
	rows = append(rows, kv{"AMOUNT", yuan(x.Amount) + " " + currency(x.Currency)})
	if x.Refunded != 0 {
		rows = append(rows, kv{"REFUNDED", yuan(x.Refunded)})
	}
	rows = append(rows, kv{"DESCRIPTION", x.Description})
	rows = appendSet(rows, kv{"ATTACH", x.Attach}, kv{"CODE URL", x.CodeURL}, kv{"PREPAY ID", x.PrepayID}, kv{"H5 URL", x.H5URL},
		kv{"TRANSACTION", x.TransactionID}, kv{"PAYER OPENID", x.PayerOpenID}, kv{"PAYER", x.PayerUserID},
		kv{"SOURCE", x.Source}, kv{"BANK TYPE", x.BankType}, kv{"PAYER TXN", x.TxnID})
	rows = append(rows, kv{"CREATED", ts(x.CreatedAt)})
	if x.SuccessTime != nil {
		rows = append(rows, kv{"PAID", tsp(x.SuccessTime)})
	}
	if x.ClosedAt != nil {
		rows = append(rows, kv{"CLOSED", tsp(x.ClosedAt)})
	}
	if x.TradeState == walletctl.StateNotPay || x.TradeState == walletctl.StateUserPaying {
		rows = append(rows, kv{"EXPIRES", ts(x.TimeExpire)})
	}
	o.Record(x, rows)
}

// appendSet appends the rows whose value is not empty.
func appendSet(rows []kv, these ...kv) []kv {
	for _, r := range these {
		if r.v != "" {
			rows = append(rows, r)
		}
	}
	return rows
}

func currency(c string) string {
	if c == "" {
		return "CNY"
	}
	return c
}

// RefundOptions are merchant refund's inputs: Request as it goes to the wallet, the amounts in
// yuan.
type RefundOptions struct {
	*Factory
	Request       walletctl.RefundRequest
	Amount, Total string
}

// NewCmdRefund is `merchant refund` (it sends one) with show and list below it.
func NewCmdRefund(f *Factory, runF func(context.Context, *RefundOptions) error) *cobra.Command {
	opts := &RefundOptions{Factory: f}
	req := &opts.Request
	q := &walletctl.OrderQuery{}
	cmd := &cobra.Command{Use: "refund --mchid M (--out-trade-no X | --transaction-id T) --out-refund-no R --amount A", Short: "Refund (part of) a paid order; show and list refunds",
		Long: `Refund (part of) a paid order to where the money came from: the balance at
once, a card through the bank (PROCESSING until the bank settles it). Several
refunds of one order may add up to what was paid. With none of its flags it
prints this help.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !anyChanged(cmd, "mchid", "out-trade-no", "transaction-id", "out-refund-no", "amount", "total", "reason", "notify-url") {
				return cmd.Help()
			}
			if err := checkOrderQuery(*q); err != nil {
				return err
			}
			if err := missing(need{"--out-refund-no", req.OutRefundNo, "the merchant's own refund number, e.g. --out-refund-no r-0001"}); err != nil {
				return err
			}
			fen, err := parseAmount(opts.Amount)
			if err != nil {
				return err
			}
			if opts.Total != "" {
				if req.Total, err = walletctl.ParseAmount(opts.Total); err != nil {
					return err
				}
			}
			req.MchID, req.OutTradeNo, req.TransactionID, req.Amount = q.MchID, q.OutTradeNo, q.TransactionID, fen
			return run(cmd, opts, runF, refundRun)
		},
	}
	orderFlags(cmd, f, q, true)
	fl := cmd.Flags()
	fl.StringVar(&req.OutRefundNo, "out-refund-no", "", "the merchant's refund number (unique per merchant)")
	fl.StringVar(&opts.Amount, "amount", "", "amount to refund in yuan, e.g. 5 or 2.50")
	fl.StringVar(&opts.Total, "total", "", "the order's total in yuan, checked as v3 does (default: not checked)")
	fl.StringVar(&req.Reason, "reason", "", "why, shown to the payer")
	fl.StringVar(&req.NotifyURL, "notify-url", "", "where the refund notification is sent")
	cmd.AddCommand(NewCmdRefundShow(f, nil), NewCmdRefundList(f, nil))
	return cmd
}

func refundRun(ctx context.Context, o *RefundOptions) error {
	return withServiceOf(ctx, o.Factory, walletctl.Service.Refund, o.Request, o.Out.Refund)
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

// RefundShowOptions are refund show's inputs.
type RefundShowOptions struct {
	*Factory
	MchID, OutRefundNo string
}

// NewCmdRefundShow is `merchant refund show`.
func NewCmdRefundShow(f *Factory, runF func(context.Context, *RefundShowOptions) error) *cobra.Command {
	opts := &RefundShowOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "show --mchid M OUT_REFUND_NO", Short: "Show a refund by the merchant's refund number", Args: cobra.ExactArgs(1)},
		opts, func(args []string) error {
			opts.OutRefundNo = args[0]
			return requireMchid(opts.MchID)
		}, runF, refundShowRun)
	mchidFlag(cmd, f, &opts.MchID, mchidUsage)
	return cmd
}

func refundShowRun(ctx context.Context, o *RefundShowOptions) error {
	return withService(ctx, o.Factory, func(svc walletctl.Service) (*walletctl.Refund, error) {
		return svc.RefundByOutNo(ctx, o.MchID, o.OutRefundNo)
	}, o.Out.Refund)
}

// Refunds lists refunds, the least needed columns left out first on a narrow terminal.
func (o *Output) Refunds(rs []walletctl.Refund, wide bool) {
	o.Table(rs, []string{"OUT REFUND NO", "OUT TRADE NO", "STATUS", "AMOUNT", "TOTAL", "TO", "REFUND", "CREATED"},
		rowsOf(rs, func(r walletctl.Refund) table.Row {
			return table.Row{r.OutRefundNo, r.OutTradeNo, r.Status, yuan(r.Amount), yuan(r.Total), r.Source, r.RefundID, ts(r.CreatedAt)}
		}), wide, "REFUND", "CREATED", "TOTAL", "TO")
}

// Refund prints one refund; the fields that do not apply are left out.
func (o *Output) Refund(r *walletctl.Refund) {
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
	rows = appendSet(rows, kv{"REASON", r.Reason}, kv{"PAYER", r.UserID}, kv{"PAYER TXN", r.TxnID})
	rows = append(rows, kv{"CREATED", ts(r.CreatedAt)})
	if r.SuccessTime != nil {
		rows = append(rows, kv{"SUCCEEDED", tsp(r.SuccessTime)})
	}
	o.Record(r, rows)
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

// BillOptions are merchant bill's inputs.
type BillOptions struct {
	*Factory
	MchID string
	Date  string // YYYY-MM-DD; "" for the virtual clock's today
	Type  string // ALL, SUCCESS or REFUND
	File  string // --out
	Force bool
}

// NewCmdBill is `merchant bill`.
func NewCmdBill(f *Factory, runF func(context.Context, *BillOptions) error) *cobra.Command {
	opts := &BillOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "bill --mchid M [--date YYYY-MM-DD] [--type ALL|SUCCESS|REFUND] [--out FILE]", Short: "A merchant's trade bill of one day (v3's format) with its SHA-1",
		Long: `Print a merchant's trade bill of one day (v3's tradebill: CSV-like, values
prefixed with a backquote, totals at the end) on standard output and its hash
on standard error; or write it to --out FILE and print where, with the hash.
-o json prints the bill with its hash as one object. The day is on the
sandbox's calendar (China Standard Time), by default the virtual clock's today.`,
	}, opts, func([]string) error {
		if err := requireMchid(opts.MchID); err != nil {
			return err
		}
		switch bt := strings.ToUpper(opts.Type); bt {
		case "ALL", "SUCCESS", "REFUND":
			opts.Type = bt
		default:
			return invalidArg("--type ALL, SUCCESS or REFUND", "unknown bill type %q", opts.Type)
		}
		if opts.Date != "" {
			if !isDay(opts.Date) {
				return invalidArg("a day like --date 2026-01-05", "--date %q is not a day", opts.Date)
			}
		}
		return nil
	}, runF, billRun)
	mchidFlag(cmd, f, &opts.MchID, mchidUsage)
	fl := cmd.Flags()
	fl.StringVar(&opts.Date, "date", "", "the day, YYYY-MM-DD (default: today on the virtual clock)")
	choiceFlag(cmd, &opts.Type, "type", "ALL", "ALL, SUCCESS or REFUND", "ALL", "SUCCESS", "REFUND")
	fl.StringVar(&opts.File, "out", "", "write the bill to this file instead of standard output")
	fl.BoolVar(&opts.Force, "force", false, "overwrite --out FILE if it exists")
	return cmd
}

func billRun(ctx context.Context, o *BillOptions) error {
	return withService(ctx, o.Factory, func(svc walletctl.Service) (*walletctl.Bill, error) {
		date := o.Date
		if date == "" {
			now, err := svc.Now(ctx)
			if err != nil {
				return nil, err
			}
			date = day(now)
		}
		if o.File == "" {
			return svc.TradeBill(ctx, o.MchID, date, o.Type)
		}
		if !o.Force {
			if err := refuseExisting(o.File, "pick another file, or overwrite it with --force"); err != nil {
				return nil, err
			}
		}
		// Streamed into the file as the wallet reads it: a bill of any size, never held.
		var b *walletctl.Bill
		var svcErr error
		err := atomicfile.WriteFunc(o.File, 0o644, true, func(f io.Writer) error {
			fw := &failedWriter{w: f}
			b, svcErr = svc.WriteTradeBill(ctx, fw, o.MchID, date, o.Type)
			if fw.err != nil {
				svcErr = nil // the file's failure, which the wallet passed on
				return fw.err
			}
			return svcErr
		})
		switch {
		case svcErr != nil:
			return nil, svcErr
		case err != nil:
			return nil, fileError(err, o.File)
		}
		return b, nil
	}, func(b *walletctl.Bill) { o.Out.Bill(b, o.File) })
}

// failedWriter remembers its writer's failure, which the wallet reports as its own.
type failedWriter struct {
	w   io.Writer
	err error
}

func (f *failedWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil && f.err == nil {
		f.err = err
	}
	return n, err
}

// Bill prints a bill: its content on standard output and its hash on standard error, or, written
// to path, where and its hash; -o json the bill (or, written, all but its content).
func (o *Output) Bill(b *walletctl.Bill, path string) {
	if path != "" {
		o.Message(billView{b.MchID, b.Date, b.Type, b.Rows, b.HashType, b.HashValue, path},
			"%s\n%s %s (%d rows)", path, b.HashType, b.HashValue, b.Rows)
		return
	}
	if o.JSON() {
		writeJSON(o.IO.Out, b)
		return
	}
	fmt.Fprint(o.IO.Out, b.Content)
	fmt.Fprintf(o.IO.ErrOut, "%s %s (%s bill of %s for %s, %d rows)\n", b.HashType, b.HashValue, b.Type, b.MchID, b.Date, b.Rows)
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
