// Package mock holds fakes of the wallet's own interfaces for unit tests of the layers above
// them (wtf's mock/ shape): every method calls the Fn field of the same name, so a test sets only
// the calls it expects; an unexpected call answers an INTERNAL error naming the method.
package mock

import (
	"context"
	"io"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

var _ walletctl.Service = (*Service)(nil)

// Service is a walletctl.Service whose methods call their Fn fields.
type Service struct {
	RegisterFn              func(context.Context, string) (*walletctl.User, error)
	UserFn                  func(context.Context, string) (*walletctl.User, error)
	UsersFn                 func(context.Context, walletctl.Page) (*walletctl.List[walletctl.User], error)
	SetUserStatusFn         func(context.Context, string, walletctl.UserStatus) (*walletctl.User, error)
	SubmitKYCFn             func(context.Context, string, string, string) (*walletctl.KYC, error)
	KYCStatusFn             func(context.Context, string) (*walletctl.KYC, error)
	BindCardFn              func(context.Context, string, string, string) (*walletctl.CardBinding, error)
	ConfirmCardFn           func(context.Context, string, string, string) (*walletctl.Card, error)
	CardsFn                 func(context.Context, string, walletctl.Page) (*walletctl.List[walletctl.Card], error)
	UnbindCardFn            func(context.Context, string, string) error
	SetPasswordFn           func(context.Context, string, string) error
	StartPasswordResetFn    func(context.Context, string, string, string, string) (*walletctl.PasswordReset, error)
	CompletePasswordResetFn func(context.Context, string, string, string, string) error
	TopUpFn                 func(context.Context, string, string, int64, string) (*walletctl.Txn, error)
	WithdrawFn              func(context.Context, string, string, int64, string) (*walletctl.Txn, error)
	PayFn                   func(context.Context, walletctl.PayRequest) (*walletctl.Txn, error)
	PreviewTransferFn       func(context.Context, string, string, int64) (*walletctl.TransferPreview, error)
	TransferFn              func(context.Context, walletctl.TransferRequest) (*walletctl.Transfer, error)
	AcceptTransferFn        func(context.Context, string, string) (*walletctl.Transfer, error)
	CancelTransferFn        func(context.Context, string, string) (*walletctl.Transfer, error)
	BalanceFn               func(context.Context, string) (*walletctl.Balance, error)
	TransactionsFn          func(context.Context, string, walletctl.Page) (*walletctl.List[walletctl.Txn], error)
	TransactionFn           func(context.Context, string, string) (*walletctl.Txn, error)
	TransfersFn             func(context.Context, string, walletctl.Page) (*walletctl.List[walletctl.Transfer], error)
	SecurityLogFn           func(context.Context, string, walletctl.Page) (*walletctl.List[walletctl.SecurityEvent], error)
	MerchantsFn             func(context.Context, walletctl.Page) (*walletctl.List[walletctl.Merchant], error)
	ReconcileFn             func(context.Context, string) (*walletctl.ReconcileReport, error)
	NowFn                   func(context.Context) (time.Time, error)
	AdvanceFn               func(context.Context, time.Duration) (time.Time, error)
	CreateMerchantFn        func(context.Context, walletctl.MerchantSpec) (*walletctl.Merchant, error)
	MerchantFn              func(context.Context, string) (*walletctl.MerchantInfo, error)
	MerchantCredentialsFn   func(context.Context, string) (*walletctl.MerchantCredentials, error)
	CreateOrderFn           func(context.Context, walletctl.OrderRequest) (*walletctl.Order, error)
	CodePayFn               func(context.Context, walletctl.CodePayRequest) (*walletctl.Order, error)
	OrderFn                 func(context.Context, walletctl.OrderQuery) (*walletctl.Order, error)
	OrdersFn                func(context.Context, string, walletctl.Page) (*walletctl.List[walletctl.Order], error)
	CloseOrderFn            func(context.Context, walletctl.OrderQuery) (*walletctl.Order, error)
	ReverseOrderFn          func(context.Context, walletctl.OrderQuery) (*walletctl.Order, error)
	ScanOrderFn             func(context.Context, string, string) (*walletctl.Order, error)
	PayOrderFn              func(context.Context, walletctl.PayOrderRequest) (*walletctl.Order, error)
	NewPayCodeFn            func(context.Context, string, string) (*walletctl.PayCode, error)
	ConfirmOrderFn          func(context.Context, string, string, string) (*walletctl.Order, error)
	RefundFn                func(context.Context, walletctl.RefundRequest) (*walletctl.Refund, error)
	RefundByOutNoFn         func(context.Context, string, string) (*walletctl.Refund, error)
	RefundsFn               func(context.Context, string, walletctl.Page) (*walletctl.List[walletctl.Refund], error)
	TradeBillFn             func(context.Context, string, string, string) (*walletctl.Bill, error)
	WriteTradeBillFn        func(context.Context, io.Writer, string, string, string) (*walletctl.Bill, error)
	NotificationsFn         func(context.Context, walletctl.NotificationFilter, walletctl.Page) (*walletctl.List[walletctl.Notification], error)
	NotificationFn          func(context.Context, string) (*walletctl.Notification, error)
	ResendNotificationFn    func(context.Context, string) (*walletctl.Notification, error)
	DeliverNotificationsFn  func(context.Context) ([]walletctl.Notification, error)
	ForwardNotificationsFn  func(context.Context, string, time.Duration) error
	AddNotifyFaultFn        func(context.Context, walletctl.NotifyFault) (*walletctl.NotifyFault, error)
	NotifyFaultsFn          func(context.Context) ([]walletctl.NotifyFault, error)
	ClearNotifyFaultsFn     func(context.Context) error
}

func unexpected(method string) error {
	return &walletctl.Error{Code: walletctl.CodeInternal, Message: "mock.Service: unexpected call of " + method,
		Hint: "set Service." + method + "Fn in the test"}
}

func (s *Service) Register(ctx context.Context, phone string) (r0 *walletctl.User, err error) {
	if s.RegisterFn == nil {
		err = unexpected("Register")
		return
	}
	return s.RegisterFn(ctx, phone)
}

func (s *Service) User(ctx context.Context, ref string) (r0 *walletctl.User, err error) {
	if s.UserFn == nil {
		err = unexpected("User")
		return
	}
	return s.UserFn(ctx, ref)
}

func (s *Service) Users(ctx context.Context, p walletctl.Page) (r0 *walletctl.List[walletctl.User], err error) {
	if s.UsersFn == nil {
		err = unexpected("Users")
		return
	}
	return s.UsersFn(ctx, p)
}

func (s *Service) SetUserStatus(ctx context.Context, userID string, status walletctl.UserStatus) (r0 *walletctl.User, err error) {
	if s.SetUserStatusFn == nil {
		err = unexpected("SetUserStatus")
		return
	}
	return s.SetUserStatusFn(ctx, userID, status)
}

func (s *Service) SubmitKYC(ctx context.Context, userID string, name string, idNo string) (r0 *walletctl.KYC, err error) {
	if s.SubmitKYCFn == nil {
		err = unexpected("SubmitKYC")
		return
	}
	return s.SubmitKYCFn(ctx, userID, name, idNo)
}

func (s *Service) KYCStatus(ctx context.Context, userID string) (r0 *walletctl.KYC, err error) {
	if s.KYCStatusFn == nil {
		err = unexpected("KYCStatus")
		return
	}
	return s.KYCStatusFn(ctx, userID)
}

func (s *Service) BindCard(ctx context.Context, userID string, cardNo string, phone string) (r0 *walletctl.CardBinding, err error) {
	if s.BindCardFn == nil {
		err = unexpected("BindCard")
		return
	}
	return s.BindCardFn(ctx, userID, cardNo, phone)
}

func (s *Service) ConfirmCard(ctx context.Context, userID string, bindingID string, otp string) (r0 *walletctl.Card, err error) {
	if s.ConfirmCardFn == nil {
		err = unexpected("ConfirmCard")
		return
	}
	return s.ConfirmCardFn(ctx, userID, bindingID, otp)
}

func (s *Service) Cards(ctx context.Context, userID string, p walletctl.Page) (r0 *walletctl.List[walletctl.Card], err error) {
	if s.CardsFn == nil {
		err = unexpected("Cards")
		return
	}
	return s.CardsFn(ctx, userID, p)
}

func (s *Service) UnbindCard(ctx context.Context, userID string, cardID string) (err error) {
	if s.UnbindCardFn == nil {
		err = unexpected("UnbindCard")
		return
	}
	return s.UnbindCardFn(ctx, userID, cardID)
}

func (s *Service) SetPassword(ctx context.Context, userID string, password string) (err error) {
	if s.SetPasswordFn == nil {
		err = unexpected("SetPassword")
		return
	}
	return s.SetPasswordFn(ctx, userID, password)
}

func (s *Service) StartPasswordReset(ctx context.Context, userID string, name string, idNo string, cardNo string) (r0 *walletctl.PasswordReset, err error) {
	if s.StartPasswordResetFn == nil {
		err = unexpected("StartPasswordReset")
		return
	}
	return s.StartPasswordResetFn(ctx, userID, name, idNo, cardNo)
}

func (s *Service) CompletePasswordReset(ctx context.Context, userID string, resetID string, otp string, newPassword string) (err error) {
	if s.CompletePasswordResetFn == nil {
		err = unexpected("CompletePasswordReset")
		return
	}
	return s.CompletePasswordResetFn(ctx, userID, resetID, otp, newPassword)
}

func (s *Service) TopUp(ctx context.Context, userID string, cardID string, amount int64, password string) (r0 *walletctl.Txn, err error) {
	if s.TopUpFn == nil {
		err = unexpected("TopUp")
		return
	}
	return s.TopUpFn(ctx, userID, cardID, amount, password)
}

func (s *Service) Withdraw(ctx context.Context, userID string, cardID string, amount int64, password string) (r0 *walletctl.Txn, err error) {
	if s.WithdrawFn == nil {
		err = unexpected("Withdraw")
		return
	}
	return s.WithdrawFn(ctx, userID, cardID, amount, password)
}

func (s *Service) Pay(ctx context.Context, req walletctl.PayRequest) (r0 *walletctl.Txn, err error) {
	if s.PayFn == nil {
		err = unexpected("Pay")
		return
	}
	return s.PayFn(ctx, req)
}

func (s *Service) PreviewTransfer(ctx context.Context, userID string, to string, amount int64) (r0 *walletctl.TransferPreview, err error) {
	if s.PreviewTransferFn == nil {
		err = unexpected("PreviewTransfer")
		return
	}
	return s.PreviewTransferFn(ctx, userID, to, amount)
}

func (s *Service) Transfer(ctx context.Context, req walletctl.TransferRequest) (r0 *walletctl.Transfer, err error) {
	if s.TransferFn == nil {
		err = unexpected("Transfer")
		return
	}
	return s.TransferFn(ctx, req)
}

func (s *Service) AcceptTransfer(ctx context.Context, userID string, transferID string) (r0 *walletctl.Transfer, err error) {
	if s.AcceptTransferFn == nil {
		err = unexpected("AcceptTransfer")
		return
	}
	return s.AcceptTransferFn(ctx, userID, transferID)
}

func (s *Service) CancelTransfer(ctx context.Context, userID string, transferID string) (r0 *walletctl.Transfer, err error) {
	if s.CancelTransferFn == nil {
		err = unexpected("CancelTransfer")
		return
	}
	return s.CancelTransferFn(ctx, userID, transferID)
}

func (s *Service) Balance(ctx context.Context, userID string) (r0 *walletctl.Balance, err error) {
	if s.BalanceFn == nil {
		err = unexpected("Balance")
		return
	}
	return s.BalanceFn(ctx, userID)
}

func (s *Service) Transactions(ctx context.Context, userID string, p walletctl.Page) (r0 *walletctl.List[walletctl.Txn], err error) {
	if s.TransactionsFn == nil {
		err = unexpected("Transactions")
		return
	}
	return s.TransactionsFn(ctx, userID, p)
}

func (s *Service) Transaction(ctx context.Context, userID string, txnID string) (r0 *walletctl.Txn, err error) {
	if s.TransactionFn == nil {
		err = unexpected("Transaction")
		return
	}
	return s.TransactionFn(ctx, userID, txnID)
}

func (s *Service) Transfers(ctx context.Context, userID string, p walletctl.Page) (r0 *walletctl.List[walletctl.Transfer], err error) {
	if s.TransfersFn == nil {
		err = unexpected("Transfers")
		return
	}
	return s.TransfersFn(ctx, userID, p)
}

func (s *Service) SecurityLog(ctx context.Context, userID string, p walletctl.Page) (r0 *walletctl.List[walletctl.SecurityEvent], err error) {
	if s.SecurityLogFn == nil {
		err = unexpected("SecurityLog")
		return
	}
	return s.SecurityLogFn(ctx, userID, p)
}

func (s *Service) Merchants(ctx context.Context, p walletctl.Page) (r0 *walletctl.List[walletctl.Merchant], err error) {
	if s.MerchantsFn == nil {
		err = unexpected("Merchants")
		return
	}
	return s.MerchantsFn(ctx, p)
}

func (s *Service) Reconcile(ctx context.Context, date string) (r0 *walletctl.ReconcileReport, err error) {
	if s.ReconcileFn == nil {
		err = unexpected("Reconcile")
		return
	}
	return s.ReconcileFn(ctx, date)
}

func (s *Service) Now(ctx context.Context) (r0 time.Time, err error) {
	if s.NowFn == nil {
		err = unexpected("Now")
		return
	}
	return s.NowFn(ctx)
}

func (s *Service) Advance(ctx context.Context, d time.Duration) (r0 time.Time, err error) {
	if s.AdvanceFn == nil {
		err = unexpected("Advance")
		return
	}
	return s.AdvanceFn(ctx, d)
}

func (s *Service) CreateMerchant(ctx context.Context, spec walletctl.MerchantSpec) (r0 *walletctl.Merchant, err error) {
	if s.CreateMerchantFn == nil {
		err = unexpected("CreateMerchant")
		return
	}
	return s.CreateMerchantFn(ctx, spec)
}

func (s *Service) Merchant(ctx context.Context, id string) (r0 *walletctl.MerchantInfo, err error) {
	if s.MerchantFn == nil {
		err = unexpected("Merchant")
		return
	}
	return s.MerchantFn(ctx, id)
}

func (s *Service) MerchantCredentials(ctx context.Context, mchid string) (r0 *walletctl.MerchantCredentials, err error) {
	if s.MerchantCredentialsFn == nil {
		err = unexpected("MerchantCredentials")
		return
	}
	return s.MerchantCredentialsFn(ctx, mchid)
}

func (s *Service) CreateOrder(ctx context.Context, req walletctl.OrderRequest) (r0 *walletctl.Order, err error) {
	if s.CreateOrderFn == nil {
		err = unexpected("CreateOrder")
		return
	}
	return s.CreateOrderFn(ctx, req)
}

func (s *Service) CodePay(ctx context.Context, req walletctl.CodePayRequest) (r0 *walletctl.Order, err error) {
	if s.CodePayFn == nil {
		err = unexpected("CodePay")
		return
	}
	return s.CodePayFn(ctx, req)
}

func (s *Service) Order(ctx context.Context, q walletctl.OrderQuery) (r0 *walletctl.Order, err error) {
	if s.OrderFn == nil {
		err = unexpected("Order")
		return
	}
	return s.OrderFn(ctx, q)
}

func (s *Service) Orders(ctx context.Context, mchid string, p walletctl.Page) (r0 *walletctl.List[walletctl.Order], err error) {
	if s.OrdersFn == nil {
		err = unexpected("Orders")
		return
	}
	return s.OrdersFn(ctx, mchid, p)
}

func (s *Service) CloseOrder(ctx context.Context, q walletctl.OrderQuery) (r0 *walletctl.Order, err error) {
	if s.CloseOrderFn == nil {
		err = unexpected("CloseOrder")
		return
	}
	return s.CloseOrderFn(ctx, q)
}

func (s *Service) ReverseOrder(ctx context.Context, q walletctl.OrderQuery) (r0 *walletctl.Order, err error) {
	if s.ReverseOrderFn == nil {
		err = unexpected("ReverseOrder")
		return
	}
	return s.ReverseOrderFn(ctx, q)
}

func (s *Service) ScanOrder(ctx context.Context, userID string, ref string) (r0 *walletctl.Order, err error) {
	if s.ScanOrderFn == nil {
		err = unexpected("ScanOrder")
		return
	}
	return s.ScanOrderFn(ctx, userID, ref)
}

func (s *Service) PayOrder(ctx context.Context, req walletctl.PayOrderRequest) (r0 *walletctl.Order, err error) {
	if s.PayOrderFn == nil {
		err = unexpected("PayOrder")
		return
	}
	return s.PayOrderFn(ctx, req)
}

func (s *Service) NewPayCode(ctx context.Context, userID string, source string) (r0 *walletctl.PayCode, err error) {
	if s.NewPayCodeFn == nil {
		err = unexpected("NewPayCode")
		return
	}
	return s.NewPayCodeFn(ctx, userID, source)
}

func (s *Service) ConfirmOrder(ctx context.Context, userID string, ref string, password string) (r0 *walletctl.Order, err error) {
	if s.ConfirmOrderFn == nil {
		err = unexpected("ConfirmOrder")
		return
	}
	return s.ConfirmOrderFn(ctx, userID, ref, password)
}

func (s *Service) Refund(ctx context.Context, req walletctl.RefundRequest) (r0 *walletctl.Refund, err error) {
	if s.RefundFn == nil {
		err = unexpected("Refund")
		return
	}
	return s.RefundFn(ctx, req)
}

func (s *Service) RefundByOutNo(ctx context.Context, mchid string, outRefundNo string) (r0 *walletctl.Refund, err error) {
	if s.RefundByOutNoFn == nil {
		err = unexpected("RefundByOutNo")
		return
	}
	return s.RefundByOutNoFn(ctx, mchid, outRefundNo)
}

func (s *Service) Refunds(ctx context.Context, mchid string, p walletctl.Page) (r0 *walletctl.List[walletctl.Refund], err error) {
	if s.RefundsFn == nil {
		err = unexpected("Refunds")
		return
	}
	return s.RefundsFn(ctx, mchid, p)
}

func (s *Service) TradeBill(ctx context.Context, mchid string, date string, billType string) (r0 *walletctl.Bill, err error) {
	if s.TradeBillFn == nil {
		err = unexpected("TradeBill")
		return
	}
	return s.TradeBillFn(ctx, mchid, date, billType)
}

func (s *Service) WriteTradeBill(ctx context.Context, w io.Writer, mchid string, date string, billType string) (r0 *walletctl.Bill, err error) {
	if s.WriteTradeBillFn == nil {
		err = unexpected("WriteTradeBill")
		return
	}
	return s.WriteTradeBillFn(ctx, w, mchid, date, billType)
}

func (s *Service) Notifications(ctx context.Context, f walletctl.NotificationFilter, p walletctl.Page) (r0 *walletctl.List[walletctl.Notification], err error) {
	if s.NotificationsFn == nil {
		err = unexpected("Notifications")
		return
	}
	return s.NotificationsFn(ctx, f, p)
}

func (s *Service) Notification(ctx context.Context, id string) (r0 *walletctl.Notification, err error) {
	if s.NotificationFn == nil {
		err = unexpected("Notification")
		return
	}
	return s.NotificationFn(ctx, id)
}

func (s *Service) ResendNotification(ctx context.Context, id string) (r0 *walletctl.Notification, err error) {
	if s.ResendNotificationFn == nil {
		err = unexpected("ResendNotification")
		return
	}
	return s.ResendNotificationFn(ctx, id)
}

func (s *Service) DeliverNotifications(ctx context.Context) (r0 []walletctl.Notification, err error) {
	if s.DeliverNotificationsFn == nil {
		err = unexpected("DeliverNotifications")
		return
	}
	return s.DeliverNotificationsFn(ctx)
}

func (s *Service) ForwardNotifications(ctx context.Context, url string, ttl time.Duration) (err error) {
	if s.ForwardNotificationsFn == nil {
		err = unexpected("ForwardNotifications")
		return
	}
	return s.ForwardNotificationsFn(ctx, url, ttl)
}

func (s *Service) AddNotifyFault(ctx context.Context, f walletctl.NotifyFault) (r0 *walletctl.NotifyFault, err error) {
	if s.AddNotifyFaultFn == nil {
		err = unexpected("AddNotifyFault")
		return
	}
	return s.AddNotifyFaultFn(ctx, f)
}

func (s *Service) NotifyFaults(ctx context.Context) (r0 []walletctl.NotifyFault, err error) {
	if s.NotifyFaultsFn == nil {
		err = unexpected("NotifyFaults")
		return
	}
	return s.NotifyFaultsFn(ctx)
}

func (s *Service) ClearNotifyFaults(ctx context.Context) (err error) {
	if s.ClearNotifyFaultsFn == nil {
		err = unexpected("ClearNotifyFaults")
		return
	}
	return s.ClearNotifyFaultsFn(ctx)
}

// List answers every call with items as one page (no more follow): the fake of a list for a test
// that does not look at paging.
func List[T any](f func(context.Context) ([]T, error)) func(context.Context, walletctl.Page) (*walletctl.List[T], error) {
	return func(ctx context.Context, _ walletctl.Page) (*walletctl.List[T], error) { return whole(f(ctx)) }
}

// ListOf is List for a list of one thing's (a user's, a merchant's).
func ListOf[T any](f func(context.Context, string) ([]T, error)) func(context.Context, string, walletctl.Page) (*walletctl.List[T], error) {
	return func(ctx context.Context, id string, _ walletctl.Page) (*walletctl.List[T], error) {
		return whole(f(ctx, id))
	}
}

// Notifications is List for the notifications: f sees the filter the command sent.
func Notifications(f func(context.Context, walletctl.NotificationFilter) ([]walletctl.Notification, error)) func(context.Context, walletctl.NotificationFilter, walletctl.Page) (*walletctl.List[walletctl.Notification], error) {
	return func(ctx context.Context, nf walletctl.NotificationFilter, _ walletctl.Page) (*walletctl.List[walletctl.Notification], error) {
		return whole(f(ctx, nf))
	}
}

func whole[T any](items []T, err error) (*walletctl.List[T], error) {
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []T{}
	}
	return &walletctl.List[T]{Data: items}, nil
}
