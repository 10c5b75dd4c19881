package v3api

import (
	"errors"
	"net/http"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// v3Error is v3's error answer: its HTTP status and the envelope {"code","message","detail"}.
type v3Error struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Detail  map[string]any `json:"detail,omitempty"`
}

// v3Code is one row of the error table.
type v3Code struct {
	Status  int
	Code    string
	Message string
}

// Error codes of v3 that the API sends.
var (
	paramError     = v3Code{http.StatusBadRequest, "PARAM_ERROR", "参数错误"}
	invalidRequest = v3Code{http.StatusBadRequest, "INVALID_REQUEST", "无效请求"}
	signErr        = v3Code{http.StatusUnauthorized, "SIGN_ERROR", "签名错误"}
	orderNotExist  = v3Code{http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在"}
	resourceGone   = v3Code{http.StatusNotFound, "RESOURCE_NOT_EXISTS", "资源不存在"}
	orderPaid      = v3Code{http.StatusBadRequest, "ORDERPAID", "订单已支付"}
	orderClosed    = v3Code{http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭"}
	notEnough      = v3Code{http.StatusForbidden, "NOT_ENOUGH", "余额不足"}
	noAuth         = v3Code{http.StatusForbidden, "NO_AUTH", "无权限"}
	tradeError     = v3Code{http.StatusForbidden, "TRADE_ERROR", "交易错误"}
	appidMismatch  = v3Code{http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"}
	frequency      = v3Code{http.StatusTooManyRequests, "FREQUENCY_LIMITED", "频率超限"}
	systemError    = v3Code{http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误"}
	bankError      = v3Code{http.StatusInternalServerError, "BANKERROR", "银行系统异常"}
	userPaying     = v3Code{http.StatusAccepted, "USERPAYING", "用户支付中，需要输入密码"}
)

// v3Errors maps each wallet error code to v3's code and status: the one table of this API
// (walletctl/httpapi/status.go is the wallet API's). NOT_FOUND and ORDER_STATE depend on what was
// asked (fromError): an order that does not exist is ORDER_NOT_EXIST, anything else
// RESOURCE_NOT_EXISTS; an order in the wrong state is ORDERPAID or ORDER_CLOSED by its state.
// A code missing here is SYSTEM_ERROR.
var v3Errors = map[string]v3Code{
	walletctl.CodeInvalidArgument: paramError,
	walletctl.CodeInvalidAmount:   paramError,
	walletctl.CodeNotFound:        resourceGone, // ORDER_NOT_EXIST for orders
	walletctl.CodeAlreadyExists:   invalidRequest,
	walletctl.CodeConflict:        invalidRequest, // the same out_trade_no / out_refund_no with other parameters
	walletctl.CodeOrderState:      invalidRequest, // ORDERPAID / ORDER_CLOSED by the order's state
	walletctl.CodePayCodeInvalid:  paramError,     // payer.auth_code: unknown, used or expired
	walletctl.CodeRefundLimit:     invalidRequest, // more than the order has left to refund
	walletctl.CodeMerchantFunds:   notEnough,      // the merchant's account cannot cover the refund
	walletctl.CodeUnauthenticated: signErr,
	walletctl.CodeUnauthorized:    noAuth,
	// The payer's side of a code payment (the merchant learns that the payment failed).
	walletctl.CodeInsufficientBalance: notEnough,
	walletctl.CodeInsufficientFunds:   notEnough,
	walletctl.CodeAccountRestricted:   tradeError,
	walletctl.CodeAccountFrozen:       tradeError,
	walletctl.CodeKYCRequired:         tradeError,
	walletctl.CodeCardRestricted:      tradeError,
	walletctl.CodeCardNotSupported:    tradeError,
	walletctl.CodePasswordNotSet:      tradeError,
	walletctl.CodePasswordWrong:       tradeError,
	walletctl.CodePasswordLocked:      tradeError,
	walletctl.CodePasswordMissing:     userPaying,
	walletctl.CodeClassLimit:          tradeError,
	walletctl.CodeBankLimit:           tradeError,
	walletctl.CodeDailyLimit:          tradeError,
	walletctl.CodeVelocityLimit:       frequency,
	walletctl.CodeServerBusy:          frequency,
	walletctl.CodePending:             userPaying, // the bank's outcome is not known yet
	walletctl.CodeNetwork:             bankError,
	walletctl.CodeBankUnavailable:     bankError,
	walletctl.CodeBankAnswerMismatch:  bankError,
	walletctl.CodeBankAuth:            bankError,
	walletctl.CodeInternal:            systemError,
}

// what a failed call was about, for NOT_FOUND.
type kind int

const (
	kindOther kind = iota
	kindOrder
)

// fromError is the v3 answer to a wallet error.
func fromError(err error, k kind) v3Error {
	var we *walletctl.Error
	if !errors.As(err, &we) {
		we = &walletctl.Error{Code: walletctl.CodeInternal, Message: err.Error()}
	}
	c, ok := v3Errors[we.Code]
	if !ok {
		c = systemError
	}
	if we.Code == walletctl.CodeNotFound && k == kindOrder {
		c = orderNotExist
	}
	detail := map[string]any{"issue": we.Message, "wallet_code": we.Code}
	for _, f := range []string{"field", "location", "value"} {
		if v, ok := we.Details[f]; ok {
			detail[f] = v
		}
	}
	return v3Error{Status: c.Status, Code: c.Code, Message: c.Message, Detail: detail}
}

func (c v3Code) with(issue string, detail ...any) v3Error {
	d := map[string]any{"issue": issue}
	for i := 0; i+1 < len(detail); i += 2 {
		d[detail[i].(string)] = detail[i+1]
	}
	return v3Error{Status: c.Status, Code: c.Code, Message: c.Message, Detail: d}
}

// fail answers e, signed.
func (c *call) fail(e v3Error) {
	b, _ := wechatpay.JSON(e)
	c.reply(e.Status, "application/json", b)
}

// ok answers v as JSON, signed.
func (c *call) ok(status int, v any) {
	b, err := wechatpay.JSON(v)
	if err != nil {
		c.fail(systemError.with(err.Error()))
		return
	}
	c.reply(status, "application/json", b)
}

// WriteError answers a v3 error that no merchant can be told of in a signed answer (no such
// tenant, a tenant that cannot be opened): v3's envelope, unsigned.
func WriteError(w http.ResponseWriter, status int, code, message, issue string) {
	b, _ := wechatpay.JSON(v3Error{Code: code, Message: message, Detail: map[string]any{"issue": issue}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
