package v3api

import "github.com/walletctl/walletctl/walletctl"

// TransactionResource is an order as v3 shows it in a query and in a TRANSACTION.* notification's
// decrypted resource.
func TransactionResource(o *walletctl.Order) any { return transaction(o) }

// RefundNotice is the decrypted resource of a REFUND.* notification (v3's shape differs from the
// refund query's: refund_status, and amounts without the settlement fields).
type RefundNotice struct {
	MchID               string            `json:"mchid"`
	OutTradeNo          string            `json:"out_trade_no"`
	TransactionID       string            `json:"transaction_id"`
	OutRefundNo         string            `json:"out_refund_no"`
	RefundID            string            `json:"refund_id"`
	RefundStatus        string            `json:"refund_status"`
	SuccessTime         string            `json:"success_time,omitempty"`
	UserReceivedAccount string            `json:"user_received_account"`
	Amount              RefundNoticeMoney `json:"amount"`
}

// RefundNoticeMoney is a refund notification's amount.
type RefundNoticeMoney struct {
	Total       int64 `json:"total"`
	Refund      int64 `json:"refund"`
	PayerTotal  int64 `json:"payer_total"`
	PayerRefund int64 `json:"payer_refund"`
}

// RefundResource is a refund as a REFUND.* notification carries it.
func RefundResource(r *walletctl.Refund) any {
	n := RefundNotice{MchID: r.MchID, OutTradeNo: r.OutTradeNo, TransactionID: r.TransactionID, OutRefundNo: r.OutRefundNo,
		RefundID: r.RefundID, RefundStatus: r.Status, UserReceivedAccount: r.UserReceivedAccount,
		Amount: RefundNoticeMoney{Total: r.Total, Refund: r.Amount, PayerTotal: r.Total, PayerRefund: r.Amount}}
	if r.SuccessTime != nil {
		n.SuccessTime = v3Time(*r.SuccessTime)
	}
	return n
}
