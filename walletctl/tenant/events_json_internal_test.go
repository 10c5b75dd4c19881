package tenant

import (
	"bytes"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// An event's data is JSON as walletctl serve writes every answer: an order's attach or notify_url
// with & and < comes out literally (not \u0026, \u003c), on one line.
func TestEventDataNotHTMLEscaped(t *testing.T) {
	h := newHub(time.Now())
	_, live, stop, err := h.subscribe("")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	h.publish(walletctl.StreamPayment, walletctl.PaymentEvent{MchID: "m1",
		Order: &walletctl.Order{Attach: "a=1&b=<2>", NotifyURL: "https://shop.example/n?x=1&y=2"}})
	ev := <-live
	if !bytes.Contains(ev.Data, []byte(`"attach":"a=1&b=<2>"`)) || bytes.Contains(ev.Data, []byte(`\u00`)) || bytes.ContainsRune(ev.Data, '\n') {
		t.Errorf("data %s", ev.Data)
	}
}
