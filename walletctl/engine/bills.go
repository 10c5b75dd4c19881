package engine

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
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

// billBOM starts every bill, as it starts WeChat Pay's: the UTF-8 byte-order mark, which the SDKs
// and reconciliation scripts cut before they parse the header (without it they cut 交's first
// bytes). The hash covers it: it is part of the bytes served. Every line, the last one included,
// ends with CRLF.
const billBOM = "\ufeff"

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
// clock): ALL (payments and refunds), SUCCESS (payments) or REFUND (refunds), with its content
// whole. WriteTradeBill streams the same bytes instead.
func (e *Engine) TradeBill(ctx context.Context, mchid, date, billType string) (*walletctl.Bill, error) {
	var b strings.Builder
	bill, err := e.WriteTradeBill(ctx, &b, mchid, date, billType)
	if err != nil {
		return nil, err
	}
	bill.Content = b.String()
	return bill, nil
}

// WriteTradeBill writes a merchant's trade bill for a day to w in one pass over the day's rows,
// each written as it is read, and returns it without its content: its hash is taken of what was
// written and its totals kept as it went, so nothing of the bill is held whatever its size
// (DESIGN.md section 12). Payments come first, then refunds, each in the order they were made. An
// error after the first byte leaves w with part of a bill.
func (e *Engine) WriteTradeBill(ctx context.Context, w io.Writer, mchid, date, billType string) (*walletctl.Bill, error) {
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
	dayStr := day.Format("2006-01-02")
	// v3's hash_type SHA1: a checksum of the download, not a security measure.
	hash := sha1.New()
	// Rows are short: buffered, w sees few writes; the hash sees every byte w does.
	out := bufio.NewWriter(io.MultiWriter(w, hash))
	var rows int
	var paid, refunded int64
	err := e.view(ctx, func(tx walletctl.StoreTx) error {
		if _, err := v3Merchant(tx, mchid); err != nil {
			return err
		}
		// Written only once the merchant is known: an error answers no part of a bill.
		out.WriteString(billBOM + billHeader + "\r\n")
		if billType != "REFUND" {
			if err := tx.EachOrderSucceeded(mchid, dayStr, func(o *walletctl.Order) error {
				rows++
				paid += o.Amount
				return billLine(out, o.SuccessTime.In(vclock.Shanghai).Format("2006-01-02 15:04:05"), o.AppID, o.MchID, "0", "", o.TransactionID,
					o.OutTradeNo, o.PayerOpenID, o.TradeType, "SUCCESS", o.BankType, "CNY", walletctl.FormatAmount(o.Amount), "0.00",
					"0", "0", "0.00", "0.00", "", "", o.Description, o.Attach, "0.00000", "0.00%", walletctl.FormatAmount(o.Amount), "0.00", "")
			}); err != nil {
				return err
			}
		}
		if billType == "SUCCESS" {
			return nil
		}
		return tx.EachRefundSucceeded(mchid, dayStr, func(r *walletctl.Refund, o *walletctl.Order) error {
			if o == nil {
				return nil // a refund of no order of this merchant's: nothing to show it against
			}
			rows++
			refunded += r.Amount
			return billLine(out, r.SuccessTime.In(vclock.Shanghai).Format("2006-01-02 15:04:05"), o.AppID, o.MchID, "0", "", o.TransactionID,
				o.OutTradeNo, o.PayerOpenID, o.TradeType, "REFUND", o.BankType, "CNY", "0.00", "0.00", r.RefundID, r.OutRefundNo,
				walletctl.FormatAmount(r.Amount), "0.00", "ORIGINAL", "SUCCESS", o.Description, o.Attach, "0.00000", "0.00%",
				walletctl.FormatAmount(o.Amount), walletctl.FormatAmount(r.Amount), "")
		})
	})
	if err != nil {
		return nil, err
	}
	out.WriteString(billSummaryHeader + "\r\n")
	if err := billLine(out, fmt.Sprint(rows), walletctl.FormatAmount(paid), walletctl.FormatAmount(refunded), "0.00", "0.00000",
		walletctl.FormatAmount(paid), walletctl.FormatAmount(refunded)); err != nil {
		return nil, internal(err)
	}
	if err := out.Flush(); err != nil {
		return nil, internal(err)
	}
	return &walletctl.Bill{MchID: mchid, Date: dayStr, Type: billType, HashType: "SHA1", HashValue: hex.EncodeToString(hash.Sum(nil)), Rows: rows}, nil
}

// billLine writes one row of the bill and its line break. The error is w's, once its buffer
// could not be written out: a writer that failed (a client gone) ends the bill.
func billLine(w *bufio.Writer, fields ...string) error {
	w.WriteString(billRow(fields...))
	_, err := w.WriteString("\r\n")
	return err
}
