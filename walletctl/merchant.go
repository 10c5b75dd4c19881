package walletctl

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"io"
	"strings"
	"time"
)

// Merchants as parties (DESIGN.md section 8): a merchant created with `merchant create` has a
// merchant id (mchid), an app id, an RSA key pair with a certificate serial and an APIv3 key, and
// talks to the wallet through the WeChat Pay v3-shaped API. Its orders are paid by users (scan a
// code_url, pay a prepay id, show a payment code), refunded, and listed in the day's trade bill.
// The catalogue merchants (m-cinema, ...) stay what they were: payees of `pay --merchant`.

// Order kinds (v3's trade_type).
const (
	TradeNative  = "NATIVE"   // a code_url the user scans
	TradeJSAPI   = "JSAPI"    // a prepay_id paid inside the wallet app for an openid
	TradeApp     = "APP"      // a prepay_id paid by the merchant's app through the wallet
	TradeH5      = "MWEB"     // an h5_url opened in a mobile browser
	TradeCodePay = "MICROPAY" // the merchant scans the user's payment code
)

// Order states (v3's trade_state).
const (
	StateNotPay     = "NOTPAY"
	StateUserPaying = "USERPAYING" // a code payment waiting for the user's password, or a card payment whose bank outcome is unknown
	StateSuccess    = "SUCCESS"
	StateClosed     = "CLOSED"
	StateRevoked    = "REVOKED"
	StateRefund     = "REFUND" // paid, then (partly) refunded
	StatePayError   = "PAYERROR"
)

// Refund states (v3's status).
const (
	RefundSuccess    = "SUCCESS"
	RefundClosed     = "CLOSED"
	RefundProcessing = "PROCESSING" // a card refund whose bank outcome is not known yet
	RefundAbnormal   = "ABNORMAL"   // the card it should go back to is gone: the money stays with the merchant
)

// MerchantSpec creates a merchant. Every field is optional.
type MerchantSpec struct {
	Name     string `json:"name,omitempty"`
	Category string `json:"category,omitempty"`
	AppID    string `json:"appid,omitempty"` // default: derived from the mchid ("wx" + 16 hex digits)
	// PublicKeyMode: the merchant checks the platform's signatures with its public key (serial
	// PUB_KEY_ID_…) rather than its certificate; its v3 answers and notifications are signed under
	// that serial.
	PublicKeyMode bool `json:"public_key_mode,omitempty"`
}

// MerchantInfo is a merchant with what it holds, for `merchant show`.
type MerchantInfo struct {
	Merchant
	Balance  int64 `json:"balance"`  // fen in the merchant's account
	Orders   int   `json:"orders"`   // orders created
	Paid     int64 `json:"paid"`     // fen paid to it
	Refunded int64 `json:"refunded"` // fen refunded by it
}

// MerchantCredentials is what a merchant's code needs to talk to the v3 API: its own key and
// certificate, its APIv3 key, and the platform's certificate and public key to check answers and
// notifications. Secret: written to files (`merchant keys --out DIR`), never shown.
type MerchantCredentials struct {
	MchID      string `json:"mchid"`
	AppID      string `json:"appid"`
	CertSerial string `json:"cert_serial"` // the merchant certificate's serial (serial_no of its signatures)
	PrivateKey string `json:"private_key"` // PEM, PKCS#8
	Cert       string `json:"certificate"` // PEM
	APIv3Key   string `json:"apiv3_key"`   // 32 characters

	PlatformSerial    string `json:"platform_serial"`      // the platform certificate's serial
	PlatformCert      string `json:"platform_certificate"` // PEM
	PlatformPublicKey string `json:"platform_public_key"`  // PEM (public-key mode)
	PublicKeyID       string `json:"public_key_id"`        // "PUB_KEY_ID_…" (public-key mode)
	// PublicKeyMode: the merchant was made with MerchantSpec.PublicKeyMode; every v3 answer and
	// notification it gets is signed under PublicKeyID, whatever its request carries.
	PublicKeyMode bool `json:"public_key_mode,omitempty"`
}

// Order is one merchant order as both sides see it.
type Order struct {
	ID             string     `json:"id"`                       // "o1", ...: the wallet's own id
	TransactionID  string     `json:"transaction_id,omitempty"` // the payment's id, once the user pays (at once for code pay)
	MchID          string     `json:"mchid"`
	AppID          string     `json:"appid"`
	MerchantName   string     `json:"merchant_name"`
	OutTradeNo     string     `json:"out_trade_no"`
	Description    string     `json:"description"`
	Attach         string     `json:"attach,omitempty"`
	NotifyURL      string     `json:"notify_url,omitempty"`
	TradeType      string     `json:"trade_type"`
	TradeState     string     `json:"trade_state"`
	TradeStateDesc string     `json:"trade_state_desc"`
	Amount         int64      `json:"amount"` // fen
	Currency       string     `json:"currency"`
	Refunded       int64      `json:"refunded"`                // fen refunded so far (succeeded or processing)
	PayerOpenID    string     `json:"payer_openid,omitempty"`  // JSAPI: asked for at creation; others: the payer's, once paid
	PayerUserID    string     `json:"payer_user_id,omitempty"` // the wallet user who paid
	CodeURL        string     `json:"code_url,omitempty"`      // NATIVE
	PrepayID       string     `json:"prepay_id,omitempty"`     // JSAPI, APP, MWEB
	H5URL          string     `json:"h5_url,omitempty"`        // MWEB
	Source         string     `json:"source,omitempty"`        // "balance" or "card:c1", once paid
	BankType       string     `json:"bank_type,omitempty"`     // v3's bank_type: "OTHERS" (balance) or "<BANK>_DEBIT"/"_CREDIT"
	TxnID          string     `json:"txn_id,omitempty"`        // the payer's txn
	TimeExpire     time.Time  `json:"time_expire"`
	CreatedAt      time.Time  `json:"created_at"`
	SuccessTime    *time.Time `json:"success_time,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
}

// OrderRequest creates an order (v3's prepay: native, jsapi, app, h5).
type OrderRequest struct {
	MchID       string    `json:"mchid"`
	AppID       string    `json:"appid,omitempty"` // default: the merchant's; another one is refused
	TradeType   string    `json:"trade_type"`      // NATIVE, JSAPI, APP, MWEB
	OutTradeNo  string    `json:"out_trade_no"`
	Description string    `json:"description"`
	Attach      string    `json:"attach,omitempty"`
	NotifyURL   string    `json:"notify_url,omitempty"`
	Amount      int64     `json:"amount"`
	Currency    string    `json:"currency,omitempty"`     // CNY (default) only
	PayerOpenID string    `json:"payer_openid,omitempty"` // JSAPI: required
	TimeExpire  time.Time `json:"time_expire,omitempty"`  // default: created + OrderExpiry
}

// CodePayRequest charges a user's payment code (付款码): the merchant scanned it.
type CodePayRequest struct {
	MchID       string `json:"mchid"`
	AppID       string `json:"appid,omitempty"`
	OutTradeNo  string `json:"out_trade_no"`
	Description string `json:"description"`
	Attach      string `json:"attach,omitempty"`
	NotifyURL   string `json:"notify_url,omitempty"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency,omitempty"`
	AuthCode    string `json:"auth_code"` // the 18-digit payment code
}

// OrderQuery names an order of a merchant: by TransactionID or by OutTradeNo.
type OrderQuery struct {
	MchID         string `json:"mchid"`
	TransactionID string `json:"transaction_id,omitempty"`
	OutTradeNo    string `json:"out_trade_no,omitempty"`
}

// PayOrderRequest is the user paying an order: Ref is a code_url (scanned), a prepay_id (the
// app's payment sheet) or an h5_url.
type PayOrderRequest struct {
	UserID   string `json:"user_id"`
	Ref      string `json:"ref"`
	Source   string `json:"source,omitempty"` // "balance" (default) or "card:<card id>"
	Password string `json:"password"`
}

// PayCode is a user's payment code (付款码): 18 digits, valid for PayCodeTTL of the virtual
// clock, charged by the first merchant that scans it.
type PayCode struct {
	Code      string    `json:"code"`
	UserID    string    `json:"user_id"`
	Source    string    `json:"source"`
	ExpiresAt time.Time `json:"expires_at"`
}

// RefundRequest refunds (part of) a paid order to where the money came from.
type RefundRequest struct {
	MchID         string `json:"mchid"`
	TransactionID string `json:"transaction_id,omitempty"` // one of the two
	OutTradeNo    string `json:"out_trade_no,omitempty"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason,omitempty"`
	NotifyURL     string `json:"notify_url,omitempty"`
	Amount        int64  `json:"amount"`          // fen to refund
	Total         int64  `json:"total,omitempty"` // the order's total, as v3 asks; 0 = not checked
	Currency      string `json:"currency,omitempty"`
}

// Refund is one refund of an order.
type Refund struct {
	RefundID            string     `json:"refund_id"`
	OutRefundNo         string     `json:"out_refund_no"`
	TransactionID       string     `json:"transaction_id"`
	OutTradeNo          string     `json:"out_trade_no"`
	MchID               string     `json:"mchid"`
	Channel             string     `json:"channel"`               // ORIGINAL
	UserReceivedAccount string     `json:"user_received_account"` // "支付用户零钱" or the card
	Status              string     `json:"status"`
	Amount              int64      `json:"amount"` // fen refunded
	Total               int64      `json:"total"`  // the order's total
	Currency            string     `json:"currency"`
	Reason              string     `json:"reason,omitempty"`
	NotifyURL           string     `json:"notify_url,omitempty"`
	UserID              string     `json:"user_id"` // the payer it goes back to
	Source              string     `json:"source"`  // "balance" or "card:c1"
	TxnID               string     `json:"txn_id"`  // the payer's refund txn
	CreatedAt           time.Time  `json:"created_at"`
	SuccessTime         *time.Time `json:"success_time,omitempty"`
}

// Bill is a merchant's trade bill for one day, in v3's download format (CSV-like, UTF-8, values
// prefixed with a backquote), with its SHA-1 as v3 gives it.
type Bill struct {
	MchID     string `json:"mchid"`
	Date      string `json:"bill_date"` // YYYY-MM-DD
	Type      string `json:"bill_type"` // ALL, SUCCESS, REFUND
	HashType  string `json:"hash_type"` // SHA1
	HashValue string `json:"hash_value"`
	Rows      int    `json:"rows"`
	Content   string `json:"content"`
}

// MerchantService is the merchant side of the wallet and the user's side of merchant payments.
// It is part of Service.
type MerchantService interface {
	CreateMerchant(ctx context.Context, spec MerchantSpec) (*Merchant, error)
	Merchant(ctx context.Context, id string) (*MerchantInfo, error)
	MerchantCredentials(ctx context.Context, mchid string) (*MerchantCredentials, error)

	CreateOrder(ctx context.Context, req OrderRequest) (*Order, error)
	CodePay(ctx context.Context, req CodePayRequest) (*Order, error)
	Order(ctx context.Context, q OrderQuery) (*Order, error)
	Orders(ctx context.Context, mchid string, p Page) (*List[Order], error)
	CloseOrder(ctx context.Context, q OrderQuery) (*Order, error)
	ReverseOrder(ctx context.Context, q OrderQuery) (*Order, error)

	// ScanOrder is what the payer sees before paying (payee, amount); PayOrder pays it.
	ScanOrder(ctx context.Context, userID, ref string) (*Order, error)
	PayOrder(ctx context.Context, req PayOrderRequest) (*Order, error)
	NewPayCode(ctx context.Context, userID, source string) (*PayCode, error)
	// ConfirmOrder is the payer entering the password for a code payment above the password-free
	// limit (state USERPAYING); ref is the order's transaction id or wallet id.
	ConfirmOrder(ctx context.Context, userID, ref, password string) (*Order, error)

	Refund(ctx context.Context, req RefundRequest) (*Refund, error)
	RefundByOutNo(ctx context.Context, mchid, outRefundNo string) (*Refund, error)
	Refunds(ctx context.Context, mchid string, p Page) (*List[Refund], error)
	TradeBill(ctx context.Context, mchid, date, billType string) (*Bill, error)
	// WriteTradeBill writes the same bill's content to w as it is read and returns the bill
	// without it (its hash taken of what was written): for bills too big to hold (a download, a
	// file). An error after the first byte leaves w with part of a bill.
	WriteTradeBill(ctx context.Context, w io.Writer, mchid, date, billType string) (*Bill, error)
}

// OpenID is the payer's id under an app id, as a merchant sees it: stable, and different for
// each app, so that merchants cannot link users. (A sandbox value: derived without a secret so
// that scripts can compute it; `walletctl user openid --appid` prints it.)
func OpenID(appID, userID string) string {
	sum := sha256.Sum256([]byte("walletctl openid\x00" + appID + "\x00" + userID))
	return "o" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])[:27])
}

// Platform is the wallet's own v3 identity: the key that signs every v3 answer and notification,
// its certificate (serial PlatformSerial) and, for merchants in public-key mode, the same public
// key under PublicKeyID. Secret: only the transport that signs sees it.
type Platform struct {
	Serial      string `json:"serial"`
	PublicKeyID string `json:"public_key_id"`
	PrivateKey  string `json:"-"`           // PEM, PKCS#8
	Cert        string `json:"certificate"` // PEM
	PublicKey   string `json:"public_key"`  // PEM
}

// PlatformService is implemented by backends that sign v3 answers themselves (the embedded
// engine, which `walletctl serve` runs); a remote client has no platform key and does not.
type PlatformService interface {
	Platform(ctx context.Context) (*Platform, error)
}
