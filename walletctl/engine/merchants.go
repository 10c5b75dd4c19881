package engine

import (
	"context"

	"github.com/walletctl/walletctl/walletctl"
)

func notYet() error { return errf(walletctl.CodeInternal, "merchant operations are being built") }

func (e *Engine) CreateMerchant(ctx context.Context, spec walletctl.MerchantSpec) (*walletctl.Merchant, error) {
	return nil, notYet()
}
func (e *Engine) Merchant(ctx context.Context, id string) (*walletctl.MerchantInfo, error) {
	return nil, notYet()
}
func (e *Engine) MerchantCredentials(ctx context.Context, mchid string) (*walletctl.MerchantCredentials, error) {
	return nil, notYet()
}
func (e *Engine) CreateOrder(ctx context.Context, req walletctl.OrderRequest) (*walletctl.Order, error) {
	return nil, notYet()
}
func (e *Engine) CodePay(ctx context.Context, req walletctl.CodePayRequest) (*walletctl.Order, error) {
	return nil, notYet()
}
func (e *Engine) Order(ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
	return nil, notYet()
}
func (e *Engine) Orders(ctx context.Context, mchid string) ([]walletctl.Order, error) {
	return nil, notYet()
}
func (e *Engine) CloseOrder(ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
	return nil, notYet()
}
func (e *Engine) ReverseOrder(ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
	return nil, notYet()
}
func (e *Engine) ScanOrder(ctx context.Context, userID, ref string) (*walletctl.Order, error) {
	return nil, notYet()
}
func (e *Engine) PayOrder(ctx context.Context, req walletctl.PayOrderRequest) (*walletctl.Order, error) {
	return nil, notYet()
}
func (e *Engine) NewPayCode(ctx context.Context, userID, source string) (*walletctl.PayCode, error) {
	return nil, notYet()
}
func (e *Engine) ConfirmOrder(ctx context.Context, userID, ref, password string) (*walletctl.Order, error) {
	return nil, notYet()
}
func (e *Engine) Refund(ctx context.Context, req walletctl.RefundRequest) (*walletctl.Refund, error) {
	return nil, notYet()
}
func (e *Engine) RefundByOutNo(ctx context.Context, mchid, outRefundNo string) (*walletctl.Refund, error) {
	return nil, notYet()
}
func (e *Engine) Refunds(ctx context.Context, mchid string) ([]walletctl.Refund, error) {
	return nil, notYet()
}
func (e *Engine) TradeBill(ctx context.Context, mchid, date, billType string) (*walletctl.Bill, error) {
	return nil, notYet()
}
