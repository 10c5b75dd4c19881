package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/notify"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// delivery is a signed TRANSACTION.SUCCESS for url, with the given answer timeout.
func delivery(url string, timeout time.Duration) walletctl.Delivery {
	key := wechatpay.DeriveKey([]byte("notify timeout test platform"))
	o := &walletctl.Order{ID: "o1", MchID: "1900000001", OutTradeNo: "timeout-1", Amount: 100, Currency: "CNY", TradeState: "SUCCESS"}
	n := &walletctl.Notification{ID: "n1", EventID: "EV-1", MchID: o.MchID, EventType: walletctl.EventTransactionSuccess,
		Summary: "支付成功", URL: url, Order: o, CreatedAt: time.Now()}
	return walletctl.Delivery{Notification: n, URL: url, APIv3Key: "0123456789abcdefghijklmnopqrstuv", Timeout: timeout,
		Platform: &walletctl.Platform{Serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", PrivateKey: string(wechatpay.PrivateKeyPEM(key))}}
}

// A receiver gets the delivery's timeout (the sandbox's notify_timeout) to answer, and no more:
// one that never answers ends the attempt when the timeout has really passed, and the attempt
// says which timeout it was. Only a lower bound on the time: a loaded machine may be late.
func TestDeliverGivesUpAfterItsTimeout(t *testing.T) {
	hangURL := testworld.Hanging(t) // never answers: until the sender gives up
	const timeout = 150 * time.Millisecond
	d := delivery(hangURL, timeout)
	start := time.Now()
	a := (&notify.Sender{}).Deliver(context.Background(), d)
	took := time.Since(start)
	if a.OK || a.Status != 0 || a.Answer != "" || a.Error != "no answer within 150ms" {
		t.Fatalf("attempt %+v, want no answer within 150ms", a)
	}
	if took < timeout || a.LatencyMS < timeout.Milliseconds() {
		t.Fatalf("the attempt gave up after %s (latency %dms), before its %s", took, a.LatencyMS, timeout)
	}
}
