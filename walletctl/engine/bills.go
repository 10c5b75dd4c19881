package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// Trade bills in v3's download format.

// billHeader is v3's trade bill header (交易账单), whose columns every reconciliation script of a
// WeChat Pay merchant parses by position.
const billHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
const billSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

// billRow is one line of the bill. v3 prefixes every value with a backquote so that
// spreadsheets keep long numbers as text, and its columns are split on commas with no quoting:
// whatever a value holds (data stored before input was checked included), a comma, a line break
// or another control character must not make another column or row, and a backquote or a quote
// must not look like the start of a value or of a quoted field to a parser. They become their
// full-width forms or a space.
func billRow(fields ...string) string {
	for i, f := range fields {
		fields[i] = "`" + billEscaper.Replace(walletctl.SanitizeText(f))
	}
	return strings.Join(fields, ",")
}

var billEscaper = strings.NewReplacer(",", "，", "`", "｀", "\"", "＂")

// TradeBill is a merchant's trade bill for a day (date "" or "today": today on the virtual
// clock): ALL (payments and refunds), SUCCESS (payments) or REFUND (refunds).
func (e *Engine) TradeBill(ctx context.Context, mchid, date, billType string) (*walletctl.Bill, error) {
	billType = strings.ToUpper(billType)
	if billType == "" {
		billType = "ALL"
	}
	if billType != "ALL" && billType != "SUCCESS" && billType != "REFUND" {
		return nil, withDetails(errf(walletctl.CodeInvalidArgument, "bill_type %q: ALL, SUCCESS or REFUND", billType), "field", "bill_type")
	}
	now := e.now()
	day := vclock.StartOfDay(now)
	if date != "" && date != "today" {
		d, err := time.ParseInLocation("2006-01-02", date, vclock.Shanghai)
		if err != nil {
			return nil, withDetails(errf(walletctl.CodeInvalidArgument, "bill_date %q: want YYYY-MM-DD", date), "field", "bill_date")
		}
		if d.After(day) {
			return nil, withDetails(errf(walletctl.CodeInvalidArgument, "bill_date %s is in the future (today is %s)", date, day.Format("2006-01-02")), "field", "bill_date")
		}
		day = d
	}
	end := day.Add(24 * time.Hour)
	in := func(t *time.Time) bool { return t != nil && !t.Before(day) && t.Before(end) }
	var lines []string
	var count int
	var paid, refunded int64
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		if _, err := v3Merchant(tx, mchid); err != nil {
			return err
		}
		orders, err := tx.ListOrders(mchid)
		if err != nil {
			return err
		}
		byTxn := map[string]*walletctl.Order{}
		for i := range orders {
			o := &orders[i]
			byTxn[o.TransactionID] = o
			if billType == "REFUND" || !in(o.SuccessTime) {
				continue
			}
			count++
			paid += o.Amount
			lines = append(lines, billRow(o.SuccessTime.In(vclock.Shanghai).Format("2006-01-02 15:04:05"), o.AppID, o.MchID, "0", "", o.TransactionID,
				o.OutTradeNo, o.PayerOpenID, o.TradeType, "SUCCESS", o.BankType, "CNY", walletctl.FormatAmount(o.Amount), "0.00",
				"0", "0", "0.00", "0.00", "", "", o.Description, o.Attach, "0.00000", "0.00%", walletctl.FormatAmount(o.Amount), "0.00", ""))
		}
		if billType == "SUCCESS" {
			return nil
		}
		refunds, err := tx.ListRefunds(mchid, "")
		if err != nil {
			return err
		}
		for _, r := range refunds {
			if r.Status != walletctl.RefundSuccess || !in(r.SuccessTime) {
				continue
			}
			o := byTxn[r.TransactionID]
			if o == nil {
				continue
			}
			count++
			refunded += r.Amount
			lines = append(lines, billRow(r.SuccessTime.In(vclock.Shanghai).Format("2006-01-02 15:04:05"), o.AppID, o.MchID, "0", "", o.TransactionID,
				o.OutTradeNo, o.PayerOpenID, o.TradeType, "REFUND", o.BankType, "CNY", "0.00", "0.00", r.RefundID, r.OutRefundNo,
				walletctl.FormatAmount(r.Amount), "0.00", "ORIGINAL", "SUCCESS", o.Description, o.Attach, "0.00000", "0.00%",
				walletctl.FormatAmount(o.Amount), walletctl.FormatAmount(r.Amount), ""))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(billHeader + "\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString(billSummaryHeader + "\r\n")
	b.WriteString(billRow(fmt.Sprint(count), walletctl.FormatAmount(paid), walletctl.FormatAmount(refunded), "0.00", "0.00000",
		walletctl.FormatAmount(paid), walletctl.FormatAmount(refunded)) + "\r\n")
	content := b.String()
	sum := sha1Hex(content)
	return &walletctl.Bill{MchID: mchid, Date: day.Format("2006-01-02"), Type: billType, HashType: "SHA1", HashValue: sum, Rows: len(lines), Content: content}, nil
}
