// Package httpapi is the wallet's HTTP API (`walletctl serve`): walletctl.Service as JSON over
// HTTP, one route per Service method, behind per-tenant API keys; and Client, which implements
// walletctl.Service over that API so that every walletctl command works against a remote server.
//
// One table (Routes) registers the handlers, documents them (/openapi.json) and drives the client,
// so that the three can never disagree. Secrets (payment passwords, OTPs, card and ID numbers)
// travel in request bodies only, never in a URL, and bodies are never logged.
package httpapi

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// Route is one operation of the API.
type Route struct {
	Method  string
	Path    string // net/http pattern syntax: /v1/users/{id}
	Op      string // operationId: the walletctl.Service method it serves
	Summary string
	Body    any // a value of the request body's type; nil = no body
	Result  any // a value of the response's type; nil = 204 No Content

	call func(ctx context.Context, s walletctl.Service, r *http.Request, body any) (any, error)
}

// paged reads a list route's page from its query (limit, starting_after, ending_before) and asks
// list for it.
func paged(r *http.Request, list func(walletctl.Page) (any, error)) (any, error) {
	q := r.URL.Query()
	n, err := walletctl.ParseLimit(q.Get("limit"))
	if err != nil {
		return nil, err
	}
	p := walletctl.Page{Limit: n, StartingAfter: q.Get("starting_after"), EndingBefore: q.Get("ending_before")}
	if err := p.Check(); err != nil {
		return nil, err
	}
	return list(p)
}

// listRoute reports whether a route answers a page of a list (and takes the paging query).
func (rt *Route) listRoute() bool {
	t := reflect.TypeOf(rt.Result)
	return t != nil && t.Kind() == reflect.Pointer && strings.HasPrefix(t.Elem().Name(), "List[")
}

// Request bodies of the routes whose Service arguments are not already one struct.
type (
	RegisterBody struct {
		Phone string `json:"phone"`
	}
	StatusBody struct {
		Status walletctl.UserStatus `json:"status"`
	}
	KYCBody struct {
		Name string `json:"name"`
		IDNo string `json:"id_no"`
	}
	BindCardBody struct {
		CardNo string `json:"card_no"`
		Phone  string `json:"phone"`
	}
	ConfirmCardBody struct {
		BindingID string `json:"binding_id"`
		OTP       string `json:"otp"`
	}
	PasswordBody struct {
		Password string `json:"password"`
	}
	ResetBody struct {
		Name   string `json:"name"`
		IDNo   string `json:"id_no"`
		CardNo string `json:"card_no"`
	}
	CompleteBody struct {
		OTP         string `json:"otp"`
		NewPassword string `json:"new_password"`
	}
	CardMoveBody struct {
		CardID   string `json:"card_id"`
		Amount   int64  `json:"amount"`
		Password string `json:"password"`
	}
	PreviewBody struct {
		UserID string `json:"user_id"`
		To     string `json:"to"`
		Amount int64  `json:"amount"`
	}
	ReconcileBody struct {
		Date string `json:"date"`
	}
	AdvanceBody struct {
		Duration string `json:"duration"` // a Go duration: "2h", "26h30m"
	}
	// ScanBody names an order to the payer: a code_url, a prepay_id or an h5_url.
	ScanBody struct {
		Ref string `json:"ref"`
	}
	PayCodeBody struct {
		Source string `json:"source,omitempty"`
	}
	ConfirmOrderBody struct {
		Ref      string `json:"ref"`
		Password string `json:"password"`
	}
	// ForwardBody starts (url set) or stops (url "") forwarding notifications, for ttl ("30s").
	ForwardBody struct {
		URL string `json:"url"`
		TTL string `json:"ttl,omitempty"`
	}
	// ClockResult is the answer of GET /v1/clock and POST /v1/clock/advance.
	ClockResult struct {
		Now time.Time `json:"now"`
	}
)

// Routes is the API: registered by the server, documented in /openapi.json, called by Client.
var Routes = []Route{
	{"POST", "/v1/users", "Register", "Register a user by phone", &RegisterBody{}, &walletctl.User{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.Register(ctx, b.(*RegisterBody).Phone)
		}},
	{"GET", "/v1/users", "Users", "List users", nil, &walletctl.List[walletctl.User]{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return paged(r, func(p walletctl.Page) (any, error) { return s.Users(ctx, p) })
		}},
	{"GET", "/v1/users/{ref}", "User", "A user by id or phone", nil, &walletctl.User{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.User(ctx, r.PathValue("ref"))
		}},
	{"POST", "/v1/users/{id}/status", "SetUserStatus", "Set the account status (normal, restricted, frozen)", &StatusBody{}, &walletctl.User{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.SetUserStatus(ctx, r.PathValue("id"), b.(*StatusBody).Status)
		}},
	{"POST", "/v1/users/{id}/kyc", "SubmitKYC", "Submit real-name verification", &KYCBody{}, &walletctl.KYC{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			k := b.(*KYCBody)
			return s.SubmitKYC(ctx, r.PathValue("id"), k.Name, k.IDNo)
		}},
	{"GET", "/v1/users/{id}/kyc", "KYCStatus", "Real-name verification state", nil, &walletctl.KYC{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.KYCStatus(ctx, r.PathValue("id"))
		}},
	{"POST", "/v1/users/{id}/cards", "BindCard", "Start binding a card: the bank sends an SMS code", &BindCardBody{}, &walletctl.CardBinding{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			c := b.(*BindCardBody)
			return s.BindCard(ctx, r.PathValue("id"), c.CardNo, c.Phone)
		}},
	{"POST", "/v1/users/{id}/cards/confirm", "ConfirmCard", "Confirm a binding with the SMS code", &ConfirmCardBody{}, &walletctl.Card{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			c := b.(*ConfirmCardBody)
			return s.ConfirmCard(ctx, r.PathValue("id"), c.BindingID, c.OTP)
		}},
	{"GET", "/v1/users/{id}/cards", "Cards", "Bound cards (masked)", nil, &walletctl.List[walletctl.Card]{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return paged(r, func(p walletctl.Page) (any, error) { return s.Cards(ctx, r.PathValue("id"), p) })
		}},
	{"DELETE", "/v1/users/{id}/cards/{card}", "UnbindCard", "Unbind a card", nil, nil,
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return nil, s.UnbindCard(ctx, r.PathValue("id"), r.PathValue("card"))
		}},
	{"PUT", "/v1/users/{id}/password", "SetPassword", "Set the payment password", &PasswordBody{}, nil,
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return nil, s.SetPassword(ctx, r.PathValue("id"), b.(*PasswordBody).Password)
		}},
	{"POST", "/v1/users/{id}/password/reset", "StartPasswordReset", "Start recovering the payment password", &ResetBody{}, &walletctl.PasswordReset{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			p := b.(*ResetBody)
			return s.StartPasswordReset(ctx, r.PathValue("id"), p.Name, p.IDNo, p.CardNo)
		}},
	{"POST", "/v1/users/{id}/password/reset/{reset}/complete", "CompletePasswordReset", "Finish a password recovery with the SMS code", &CompleteBody{}, nil,
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			p := b.(*CompleteBody)
			return nil, s.CompletePasswordReset(ctx, r.PathValue("id"), r.PathValue("reset"), p.OTP, p.NewPassword)
		}},
	{"POST", "/v1/users/{id}/topups", "TopUp", "Top up the balance from a bound card", &CardMoveBody{}, &walletctl.Txn{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			m := b.(*CardMoveBody)
			return s.TopUp(ctx, r.PathValue("id"), m.CardID, m.Amount, m.Password)
		}},
	{"POST", "/v1/users/{id}/withdrawals", "Withdraw", "Withdraw from the balance to a bound card", &CardMoveBody{}, &walletctl.Txn{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			m := b.(*CardMoveBody)
			return s.Withdraw(ctx, r.PathValue("id"), m.CardID, m.Amount, m.Password)
		}},
	{"POST", "/v1/payments", "Pay", "Pay a merchant from the balance or a card", &walletctl.PayRequest{}, &walletctl.Txn{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.Pay(ctx, *b.(*walletctl.PayRequest))
		}},
	{"POST", "/v1/transfers/preview", "PreviewTransfer", "Who the payee is and whether confirmation is needed", &PreviewBody{}, &walletctl.TransferPreview{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			p := b.(*PreviewBody)
			return s.PreviewTransfer(ctx, p.UserID, p.To, p.Amount)
		}},
	{"POST", "/v1/transfers", "Transfer", "Send money to another user", &walletctl.TransferRequest{}, &walletctl.Transfer{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.Transfer(ctx, *b.(*walletctl.TransferRequest))
		}},
	{"POST", "/v1/users/{id}/transfers/{transfer}/accept", "AcceptTransfer", "Accept an arrived transfer", nil, &walletctl.Transfer{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.AcceptTransfer(ctx, r.PathValue("id"), r.PathValue("transfer"))
		}},
	{"POST", "/v1/users/{id}/transfers/{transfer}/cancel", "CancelTransfer", "Cancel a delayed transfer inside its window", nil, &walletctl.Transfer{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.CancelTransfer(ctx, r.PathValue("id"), r.PathValue("transfer"))
		}},
	{"GET", "/v1/users/{id}/balance", "Balance", "The user's balance", nil, &walletctl.Balance{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.Balance(ctx, r.PathValue("id"))
		}},
	{"GET", "/v1/users/{id}/transactions", "Transactions", "The user's transactions", nil, &walletctl.List[walletctl.Txn]{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return paged(r, func(p walletctl.Page) (any, error) { return s.Transactions(ctx, r.PathValue("id"), p) })
		}},
	{"GET", "/v1/users/{id}/transactions/{txn}", "Transaction", "One transaction with its ledger postings", nil, &walletctl.Txn{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.Transaction(ctx, r.PathValue("id"), r.PathValue("txn"))
		}},
	{"GET", "/v1/users/{id}/transfers", "Transfers", "The user's transfers", nil, &walletctl.List[walletctl.Transfer]{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return paged(r, func(p walletctl.Page) (any, error) { return s.Transfers(ctx, r.PathValue("id"), p) })
		}},
	{"GET", "/v1/users/{id}/security-log", "SecurityLog", "The user's security log", nil, &walletctl.List[walletctl.SecurityEvent]{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return paged(r, func(p walletctl.Page) (any, error) { return s.SecurityLog(ctx, r.PathValue("id"), p) })
		}},
	{"GET", "/v1/merchants", "Merchants", "The merchant catalogue", nil, &walletctl.List[walletctl.Merchant]{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return paged(r, func(p walletctl.Page) (any, error) { return s.Merchants(ctx, p) })
		}},
	// Merchants, orders, refunds and bills (DESIGN.md section 8). The v3-shaped API that merchants'
	// own code uses is walletctl/v3api; these routes serve walletctl's commands over --backend.
	{"POST", "/v1/merchants", "CreateMerchant", "Create a merchant with v3 credentials", &walletctl.MerchantSpec{}, &walletctl.Merchant{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.CreateMerchant(ctx, *b.(*walletctl.MerchantSpec))
		}},
	{"GET", "/v1/merchants/{id}", "Merchant", "A merchant with its balance and totals", nil, &walletctl.MerchantInfo{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.Merchant(ctx, r.PathValue("id"))
		}},
	{"GET", "/v1/merchants/{id}/credentials", "MerchantCredentials", "A merchant's keys, APIv3 key and the platform's certificate (secret)", nil, &walletctl.MerchantCredentials{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.MerchantCredentials(ctx, r.PathValue("id"))
		}},
	{"GET", "/v1/merchants/{id}/orders", "Orders", "A merchant's orders", nil, &walletctl.List[walletctl.Order]{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return paged(r, func(p walletctl.Page) (any, error) { return s.Orders(ctx, r.PathValue("id"), p) })
		}},
	{"GET", "/v1/merchants/{id}/refunds", "Refunds", "A merchant's refunds", nil, &walletctl.List[walletctl.Refund]{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return paged(r, func(p walletctl.Page) (any, error) { return s.Refunds(ctx, r.PathValue("id"), p) })
		}},
	{"GET", "/v1/merchants/{id}/refunds/{refund}", "RefundByOutNo", "A refund by the merchant's refund number", nil, &walletctl.Refund{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.RefundByOutNo(ctx, r.PathValue("id"), r.PathValue("refund"))
		}},
	{"GET", "/v1/merchants/{id}/bills/{date}/{type}", "TradeBill", "A merchant's trade bill of a day (type ALL, SUCCESS, REFUND)", nil, &walletctl.Bill{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.TradeBill(ctx, r.PathValue("id"), r.PathValue("date"), r.PathValue("type"))
		}},
	{"POST", "/v1/orders", "CreateOrder", "Create an order (NATIVE, JSAPI, APP, MWEB)", &walletctl.OrderRequest{}, &walletctl.Order{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.CreateOrder(ctx, *b.(*walletctl.OrderRequest))
		}},
	{"POST", "/v1/orders/codepay", "CodePay", "Charge a user's payment code", &walletctl.CodePayRequest{}, &walletctl.Order{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.CodePay(ctx, *b.(*walletctl.CodePayRequest))
		}},
	{"POST", "/v1/orders/query", "Order", "An order by transaction_id or out_trade_no", &walletctl.OrderQuery{}, &walletctl.Order{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.Order(ctx, *b.(*walletctl.OrderQuery))
		}},
	{"POST", "/v1/orders/close", "CloseOrder", "Close an unpaid order", &walletctl.OrderQuery{}, &walletctl.Order{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.CloseOrder(ctx, *b.(*walletctl.OrderQuery))
		}},
	{"POST", "/v1/orders/reverse", "ReverseOrder", "Reverse a code payment (refund it if paid)", &walletctl.OrderQuery{}, &walletctl.Order{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.ReverseOrder(ctx, *b.(*walletctl.OrderQuery))
		}},
	{"POST", "/v1/refunds", "Refund", "Refund (part of) a paid order", &walletctl.RefundRequest{}, &walletctl.Refund{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.Refund(ctx, *b.(*walletctl.RefundRequest))
		}},
	{"POST", "/v1/users/{id}/scan", "ScanOrder", "What the payer sees of an order before paying", &ScanBody{}, &walletctl.Order{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.ScanOrder(ctx, r.PathValue("id"), b.(*ScanBody).Ref)
		}},
	{"POST", "/v1/order-payments", "PayOrder", "Pay an order (a code_url, prepay_id or h5_url)", &walletctl.PayOrderRequest{}, &walletctl.Order{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.PayOrder(ctx, *b.(*walletctl.PayOrderRequest))
		}},
	{"POST", "/v1/users/{id}/paycodes", "NewPayCode", "Show a new payment code", &PayCodeBody{}, &walletctl.PayCode{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.NewPayCode(ctx, r.PathValue("id"), b.(*PayCodeBody).Source)
		}},
	{"POST", "/v1/users/{id}/orders/confirm", "ConfirmOrder", "Confirm a code payment with the password", &ConfirmOrderBody{}, &walletctl.Order{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			c := b.(*ConfirmOrderBody)
			return s.ConfirmOrder(ctx, r.PathValue("id"), c.Ref, c.Password)
		}},
	// Notifications to merchants (DESIGN.md section 9).
	{"GET", "/v1/notifications", "Notifications", "Every notification with its attempts", nil, &walletctl.List[walletctl.Notification]{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			q := r.URL.Query()
			f := walletctl.NotificationFilter{MchID: q.Get("mchid"), Status: q.Get("status"), Event: q.Get("event")}
			return paged(r, func(p walletctl.Page) (any, error) { return s.Notifications(ctx, f, p) })
		}},
	{"GET", "/v1/notifications/{id}", "Notification", "One notification with its attempts", nil, &walletctl.Notification{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.Notification(ctx, r.PathValue("id"))
		}},
	{"POST", "/v1/notifications/{id}/resend", "ResendNotification", "Start a notification's schedule again, now", nil, &walletctl.Notification{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.ResendNotification(ctx, r.PathValue("id"))
		}},
	{"POST", "/v1/notifications/deliver", "DeliverNotifications", "Send what is due now", nil, []walletctl.Notification{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.DeliverNotifications(ctx)
		}},
	{"PUT", "/v1/notifications/forward", "ForwardNotifications", "Send every delivery to a listener's URL for a while (walletctl listen)", &ForwardBody{}, nil,
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			f := b.(*ForwardBody)
			var ttl time.Duration
			if f.URL != "" {
				d, err := time.ParseDuration(f.TTL)
				if err != nil || d <= 0 {
					return nil, walletctl.Errorf(walletctl.CodeInvalidArgument, "ttl %q: a positive Go duration like 30s is needed", f.TTL)
				}
				ttl = d
			}
			return nil, s.ForwardNotifications(ctx, f.URL, ttl)
		}},
	{"POST", "/v1/notify-faults", "AddNotifyFault", "Add a fault to the notification path", &walletctl.NotifyFault{}, &walletctl.NotifyFault{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.AddNotifyFault(ctx, *b.(*walletctl.NotifyFault))
		}},
	{"GET", "/v1/notify-faults", "NotifyFaults", "The notification path's fault rules", nil, []walletctl.NotifyFault{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.NotifyFaults(ctx)
		}},
	{"DELETE", "/v1/notify-faults", "ClearNotifyFaults", "Delete every notification fault rule", nil, nil,
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return nil, s.ClearNotifyFaults(ctx)
		}},
	{"POST", "/v1/reconcile", "Reconcile", "Settle pending operations and match the bank's statement", &ReconcileBody{}, &walletctl.ReconcileReport{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			return s.Reconcile(ctx, b.(*ReconcileBody).Date)
		}},
	{"GET", "/v1/clock", "Now", "The virtual time", nil, &ClockResult{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			now, err := s.Now(ctx)
			return &ClockResult{now}, err
		}},
	{"POST", "/v1/clock/advance", "Advance", "Move the virtual clock forward and run what fell due", &AdvanceBody{}, &ClockResult{},
		func(ctx context.Context, s walletctl.Service, r *http.Request, b any) (any, error) {
			d, err := time.ParseDuration(b.(*AdvanceBody).Duration)
			if err != nil || d <= 0 {
				return nil, walletctl.Errorf(walletctl.CodeInvalidArgument, "duration %q: a positive Go duration like 2h is needed", b.(*AdvanceBody).Duration)
			}
			now, err := s.Advance(ctx, d)
			return &ClockResult{now}, err
		}},
}

// route returns the route of op; a missing one is a bug of this package.
func route(op string) *Route {
	for i := range Routes {
		if Routes[i].Op == op {
			return &Routes[i]
		}
	}
	panic("httpapi: no route for " + op)
}
