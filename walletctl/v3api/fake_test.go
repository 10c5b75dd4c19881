package v3api_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// fakeWallet is just enough of a wallet's merchant side for the v3 layer: one merchant, orders
// paid by hand (pay), refunds of the balance kind, a bill. Everything else of walletctl.Service
// panics (nil embedded interface): the v3 layer must not call it.
type fakeWallet struct {
	walletctl.Service
	mu       sync.Mutex
	creds    walletctl.MerchantCredentials
	platform walletctl.Platform
	orders   map[string]*walletctl.Order
	refunds  map[string]*walletctl.Refund
	n        int
}

var (
	fakeOnce     sync.Once
	fakeCreds    walletctl.MerchantCredentials
	fakePlatform walletctl.Platform
)

func newFakeWallet(t testing.TB) *fakeWallet {
	fakeOnce.Do(func() {
		nb, na := time.Unix(1700000000, 0), time.Unix(1700000000, 0).AddDate(5, 0, 0)
		mk := wechatpay.DeriveKey([]byte("v3api test merchant"))
		mder, err := wechatpay.Certificate(mk, "3775B6A45ACD588826D15E583A95F5DD2E1A0B8B", "1900000109", "walletctl test", nb, na)
		if err != nil {
			panic(err)
		}
		pk := wechatpay.DeriveKey([]byte("v3api test platform"))
		pder, err := wechatpay.Certificate(pk, "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", "platform", "walletctl test", nb, na)
		if err != nil {
			panic(err)
		}
		fakePlatform = walletctl.Platform{Serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", PublicKeyID: "PUB_KEY_ID_0119000001092025000000000000000001",
			PrivateKey: string(wechatpay.PrivateKeyPEM(pk)), Cert: string(wechatpay.CertificatePEM(pder)), PublicKey: string(wechatpay.PublicKeyPEM(&pk.PublicKey))}
		fakeCreds = walletctl.MerchantCredentials{MchID: "1900000109", AppID: "wxd678efh567hg6787", CertSerial: "3775B6A45ACD588826D15E583A95F5DD2E1A0B8B",
			PrivateKey: string(wechatpay.PrivateKeyPEM(mk)), Cert: string(wechatpay.CertificatePEM(mder)), APIv3Key: "0123456789abcdef0123456789ABCDEF",
			PlatformSerial: fakePlatform.Serial, PlatformCert: fakePlatform.Cert, PlatformPublicKey: fakePlatform.PublicKey, PublicKeyID: fakePlatform.PublicKeyID}
	})
	return &fakeWallet{creds: fakeCreds, platform: fakePlatform, orders: map[string]*walletctl.Order{}, refunds: map[string]*walletctl.Refund{}}
}

var fakeNow = time.Date(2026, 11, 28, 10, 0, 0, 0, wechatpay.ChinaStandardTime)

func (f *fakeWallet) Platform(ctx context.Context) (*walletctl.Platform, error) {
	p := f.platform
	return &p, nil
}

func (f *fakeWallet) MerchantCredentials(ctx context.Context, mchid string) (*walletctl.MerchantCredentials, error) {
	if mchid != f.creds.MchID {
		return nil, walletctl.Errorf(walletctl.CodeNotFound, "no merchant %s", mchid)
	}
	c := f.creds
	return &c, nil
}

func (f *fakeWallet) CreateOrder(ctx context.Context, req walletctl.OrderRequest) (*walletctl.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o := f.orders[req.OutTradeNo]; o != nil {
		return nil, walletctl.Errorf(walletctl.CodeOrderState, "out_trade_no %s is taken", req.OutTradeNo)
	}
	if req.Amount <= 0 {
		return nil, walletctl.Errorf(walletctl.CodeInvalidAmount, "amount must be positive")
	}
	f.n++
	o := &walletctl.Order{ID: fmt.Sprintf("o%d", f.n), MchID: req.MchID, AppID: f.creds.AppID, OutTradeNo: req.OutTradeNo,
		Description: req.Description, Attach: req.Attach, TradeType: req.TradeType, TradeState: walletctl.StateNotPay,
		TradeStateDesc: "订单未支付", Amount: req.Amount, Currency: "CNY", CreatedAt: fakeNow,
		CodeURL: fmt.Sprintf("weixin://wxpay/bizpayurl?pr=fake%d", f.n), PrepayID: fmt.Sprintf("wx%d", f.n)}
	f.orders[req.OutTradeNo] = o
	c := *o
	return &c, nil
}

// pay marks an order paid, as a user would.
func (f *fakeWallet) pay(outTradeNo string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[outTradeNo]
	t := fakeNow.Add(time.Minute)
	o.TradeState, o.TradeStateDesc, o.SuccessTime = walletctl.StateSuccess, "支付成功", &t
	o.TransactionID, o.BankType, o.PayerOpenID = "4200000000"+o.ID, "OTHERS", walletctl.OpenID(o.AppID, "u1")
}

func (f *fakeWallet) find(q walletctl.OrderQuery) (*walletctl.Order, error) {
	for _, o := range f.orders {
		if (q.OutTradeNo != "" && o.OutTradeNo == q.OutTradeNo) || (q.TransactionID != "" && o.TransactionID == q.TransactionID) {
			return o, nil
		}
	}
	return nil, walletctl.Errorf(walletctl.CodeNotFound, "no such order")
}

func (f *fakeWallet) Order(ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, err := f.find(q)
	if err != nil {
		return nil, err
	}
	c := *o
	return &c, nil
}

func (f *fakeWallet) CloseOrder(ctx context.Context, q walletctl.OrderQuery) (*walletctl.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, err := f.find(q)
	if err != nil {
		return nil, err
	}
	if o.TradeState != walletctl.StateNotPay {
		return nil, walletctl.Errorf(walletctl.CodeOrderState, "order is %s", o.TradeState)
	}
	o.TradeState, o.TradeStateDesc = walletctl.StateClosed, "订单已关闭"
	c := *o
	return &c, nil
}

func (f *fakeWallet) Refund(ctx context.Context, req walletctl.RefundRequest) (*walletctl.Refund, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, err := f.find(walletctl.OrderQuery{OutTradeNo: req.OutTradeNo, TransactionID: req.TransactionID})
	if err != nil {
		return nil, err
	}
	if o.SuccessTime == nil {
		return nil, walletctl.Errorf(walletctl.CodeOrderState, "order is %s", o.TradeState)
	}
	if o.Refunded+req.Amount > o.Amount {
		return nil, walletctl.Errorf(walletctl.CodeRefundLimit, "too much")
	}
	o.Refunded += req.Amount
	o.TradeState = walletctl.StateRefund
	t := fakeNow.Add(2 * time.Minute)
	r := &walletctl.Refund{RefundID: fmt.Sprintf("5030000000%d", len(f.refunds)+1), OutRefundNo: req.OutRefundNo, TransactionID: o.TransactionID,
		OutTradeNo: o.OutTradeNo, MchID: o.MchID, Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱", Status: walletctl.RefundSuccess,
		Amount: req.Amount, Total: o.Amount, Currency: "CNY", CreatedAt: t, SuccessTime: &t}
	f.refunds[req.OutRefundNo] = r
	c := *r
	return &c, nil
}

func (f *fakeWallet) RefundByOutNo(ctx context.Context, mchid, outRefundNo string) (*walletctl.Refund, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.refunds[outRefundNo]
	if r == nil {
		return nil, walletctl.Errorf(walletctl.CodeNotFound, "no refund %s", outRefundNo)
	}
	c := *r
	return &c, nil
}

func (f *fakeWallet) TradeBill(ctx context.Context, mchid, date, billType string) (*walletctl.Bill, error) {
	content := "交易时间,公众账号ID,商户号\n`2026-11-28 10:01:00,`" + f.creds.AppID + ",`" + mchid + "\n总交易单数\n`1\n"
	sum := sha1.Sum([]byte(content))
	return &walletctl.Bill{MchID: mchid, Date: date, Type: billType, HashType: "SHA1", HashValue: hex.EncodeToString(sum[:]), Rows: 1, Content: content}, nil
}

func (f *fakeWallet) WriteTradeBill(ctx context.Context, w io.Writer, mchid, date, billType string) (*walletctl.Bill, error) {
	b, err := f.TradeBill(ctx, mchid, date, billType)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, b.Content); err != nil {
		return nil, err
	}
	b.Content = ""
	return b, nil
}
