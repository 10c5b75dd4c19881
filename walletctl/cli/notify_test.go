package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
)

func init() {
	for _, c := range []string{"notify list", "notify show", "notify resend", "notify fault add", "notify fault list"} {
		notRendered[c] = "rendered and width-checked by TestNotifyCommands (notify_test.go)"
	}
	notRendered["notify fault clear"] = "prints one line"
	notRendered["trigger"] = "rendered and width-checked by TestTriggerEvents (notify_test.go)"
	notRendered["listen"] = "prints one line per delivery, not tables; TestListenForwards (notify_test.go)"
}

// receiver is a merchant's notification endpoint on loopback: it records the event_type of every
// envelope it receives (the resource stays encrypted: no need to decrypt it here) and answers
// 200, or 500 for the next fail requests.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	events []string
	sigs   []string
	fail   int
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var env struct {
			EventType string `json:"event_type"`
		}
		json.Unmarshal(body, &env)
		r.mu.Lock()
		r.events = append(r.events, env.EventType)
		r.sigs = append(r.sigs, req.Header.Get("Wechatpay-Signature"))
		failing := r.fail > 0
		if failing {
			r.fail--
		}
		r.mu.Unlock()
		if failing {
			http.Error(w, `{"code":"FAIL","message":"busy"}`, http.StatusInternalServerError)
			return
		}
		w.Write([]byte(`{"code":"SUCCESS"}`))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string{}, r.events...)
}

func (r *receiver) failNext(n int) {
	r.mu.Lock()
	r.fail = n
	r.mu.Unlock()
}

// payOrder creates a Native order with notifyURL and has the world's payer pay it from the balance.
func (w *mw) payOrder(outTradeNo, notifyURL string) walletctl.Order {
	w.t.Helper()
	o := w.order("create", "--mchid", w.mchid, "--type", "native", "--out-trade-no", outTradeNo, "--amount", "2",
		"--description", "Tea", "--notify-url", notifyURL)
	w.okIn(w.pw+"\n", "--as", w.user, "scan", o.CodeURL, "--password-stdin")
	return o
}

func (w *mw) notification(id string) walletctl.Notification {
	w.t.Helper()
	var n walletctl.Notification
	w.jsonOf(&n, "", "notify", "show", id)
	return n
}

// TestNotifyCommands: a paid order's notification reaches a loopback receiver and is listed and
// shown with its attempt; resend sends it again; a fault added shows in the attempts (drop_ack:
// answered but failed, retried 15 s later on the virtual clock; sign_probe: a probe first).
func TestNotifyCommands(t *testing.T) {
	w := newMerchantWorld(t, newWorld(t, false))
	rcv := newReceiver(t)
	w.payOrder("notify-order-1", rcv.URL+"/notify")
	if got := rcv.got(); len(got) != 1 || got[0] != walletctl.EventTransactionSuccess {
		t.Fatalf("receiver got %v", got)
	}
	r := w.fits("", "notify", "list")
	for _, want := range []string{"n1", "TRANSACTION.SUCCESS", w.mchid, "delivered", "TRIES", "NEXT"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("notify list lacks %q:\n%s", want, r.out)
		}
	}
	var list []walletctl.Notification
	w.jsonOf(&list, "", "notify", "list")
	if len(list) != 1 || list[0].ID != "n1" || list[0].Order == nil || list[0].Order.OutTradeNo != "notify-order-1" || list[0].URL != rcv.URL+"/notify" {
		t.Fatalf("notify list -o json: %+v", list)
	}
	r = w.fits("", "notify", "show", "n1")
	for _, want := range []string{"EV-", "notify-order-1", "delivered", "200", `{"code":"SUCCESS"}`, "1 of 16"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("notify show lacks %q:\n%s", want, r.out)
		}
	}
	n := w.notification("n1")
	if len(n.Attempts) != 1 || n.Attempts[0].Status != 200 || !n.Attempts[0].OK || n.Attempts[0].Answer != `{"code":"SUCCESS"}` {
		t.Fatalf("notify show -o json: %+v", n)
	}

	// Resend: delivered again (a duplicate the merchant must accept once).
	r = w.fits("", "notify", "resend", "n1")
	if !strings.Contains(r.out, "RESENDS") {
		t.Errorf("notify resend:\n%s", r.out)
	}
	if n := w.notification("n1"); len(n.Attempts) != 2 || n.Resends != 1 || n.Status != walletctl.NotifyDelivered || len(rcv.got()) != 2 {
		t.Fatalf("after resend: %+v, receiver %v", n, rcv.got())
	}

	// drop_ack: the answer is lost, the try fails; 15 s later on the virtual clock it is retried.
	r = w.fits("", "notify", "fault", "add", "drop_ack;first=1")
	if !strings.Contains(r.out, "nf1") || !strings.Contains(r.out, "drop_ack;first=1") {
		t.Errorf("notify fault add:\n%s", r.out)
	}
	w.payOrder("notify-order-2", rcv.URL+"/notify")
	n = w.notification("n2")
	if n.Status != walletctl.NotifyPending || len(n.Attempts) != 1 || n.Attempts[0].Fault != walletctl.NotifyFaultDropAck || n.Attempts[0].OK ||
		n.Attempts[0].Status != 200 || n.NextAt == nil || n.NextAt.Sub(n.Attempts[0].At).Seconds() != 15 {
		t.Fatalf("drop_ack: %+v", n)
	}
	if r := w.fits("", "notify", "show", "n2"); !strings.Contains(r.out, "drop_ack") || !strings.Contains(r.out, "pending") {
		t.Errorf("notify show of a dropped ack:\n%s", r.out)
	}
	w.ok("clock", "advance", "15s")
	if n := w.notification("n2"); n.Status != walletctl.NotifyDelivered || len(n.Attempts) != 2 || n.Attempts[1].Fault != "" ||
		n.Attempts[1].At.Sub(n.Attempts[0].At).Seconds() != 15 {
		t.Fatalf("drop_ack retried: %+v", n)
	}

	// A fault from flags: a signature probe before the notification.
	w.ok("notify", "fault", "add", "--kind", "sign_probe", "--event", "transaction.success", "--mchid", w.mchid, "--first", "1")
	r = w.fits("", "notify", "fault", "list")
	for _, want := range []string{"nf1", "nf2", "sign_probe;event=TRANSACTION.SUCCESS;mchid=" + w.mchid + ";first=1", "FIRED"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("notify fault list lacks %q:\n%s", want, r.out)
		}
	}
	w.payOrder("notify-order-3", rcv.URL+"/notify")
	n = w.notification("n3")
	if len(n.Attempts) != 2 || !n.Attempts[0].Probe || n.Attempts[0].Fault != walletctl.NotifyFaultSignProbe || n.Attempts[0].OK || !n.Attempts[1].OK {
		t.Fatalf("sign_probe: %+v", n)
	}
	if r := w.ok("notify", "show", "n3", "--wide"); !strings.Contains(r.out, "sign_probe probe") {
		t.Errorf("notify show --wide of a probe:\n%s", r.out)
	}
	var faults []walletctl.NotifyFault
	w.jsonOf(&faults, "", "notify", "fault", "list")
	if len(faults) != 2 || faults[0].Fired != 1 || faults[1].Fired != 1 {
		t.Fatalf("fault list -o json: %+v", faults)
	}
	w.ok("notify", "fault", "clear")
	if r := w.ok("notify", "fault", "list"); !strings.Contains(r.out, "(none)") {
		t.Errorf("after clear:\n%s", r.out)
	}
	// Filters.
	w.jsonOf(&list, "", "notify", "list", "--status", "delivered", "--event", "TRANSACTION.SUCCESS", "--mchid", w.mchid)
	if len(list) != 3 {
		t.Errorf("filtered list: %d", len(list))
	}

	// Mistakes.
	w.fail("", walletctl.CodeNotFound, cli.ExitCode(walletctl.CodeNotFound), "notify", "show", "n99")
	w.fail("", walletctl.CodeNotFound, cli.ExitCode(walletctl.CodeNotFound), "notify", "resend", "n99")
	w.fail("", walletctl.CodeInvalidArgument, 2, "notify", "fault", "add", "explode")
	w.fail("", walletctl.CodeInvalidArgument, 2, "notify", "fault", "add", "delay")
	w.fail("", walletctl.CodeInvalidArgument, 2, "notify", "fault", "add")
	if out := w.ok("__complete", "notify", "show", "").out; !strings.Contains(out, "n3\t") {
		t.Errorf("completion of notification ids:\n%s", out)
	}
	if out := w.ok("__complete", "notify", "fault", "add", "").out; !strings.Contains(out, "drop_ack") {
		t.Errorf("completion of fault kinds:\n%s", out)
	}
}

// trigger result as -o json prints it.
type triggered struct {
	Event        string                  `json:"event"`
	MchID        string                  `json:"mchid"`
	Payer        string                  `json:"payer"`
	PayerCreated bool                    `json:"payer_created"`
	Order        walletctl.Order         `json:"order"`
	Refund       *walletctl.Refund       `json:"refund"`
	Notification *walletctl.Notification `json:"notification"`
}

// TestTriggerEvents: trigger makes each event for real; the receiver gets that event_type, and
// the order, refund and notification are what the command printed.
func TestTriggerEvents(t *testing.T) {
	w := newMerchantWorld(t, newWorld(t, false))
	rcv := newReceiver(t)
	url := rcv.URL + "/hook"
	want := map[string]string{walletctl.EventTransactionSuccess: "", walletctl.EventRefundSuccess: walletctl.RefundSuccess,
		walletctl.EventRefundAbnormal: walletctl.RefundAbnormal, walletctl.EventRefundClosed: walletctl.RefundClosed}
	for _, ev := range []string{walletctl.EventTransactionSuccess, walletctl.EventRefundSuccess, walletctl.EventRefundAbnormal, walletctl.EventRefundClosed} {
		before := len(rcv.got())
		var res triggered
		w.jsonOf(&res, "", "trigger", ev, "--notify-url", url)
		if res.Event != ev || res.MchID != w.mchid || !res.PayerCreated || res.Order.TradeState == walletctl.StateNotPay || res.Notification == nil ||
			res.Notification.EventType != ev || res.Notification.Status != walletctl.NotifyDelivered {
			t.Fatalf("trigger %s: %+v", ev, res)
		}
		if want[ev] != "" && (res.Refund == nil || res.Refund.Status != want[ev]) {
			t.Fatalf("trigger %s: refund %+v", ev, res.Refund)
		}
		got := rcv.got()[before:]
		if len(got) == 0 || got[len(got)-1] != ev {
			t.Fatalf("trigger %s: the receiver got %v", ev, got)
		}
	}
	// The bank fault of REFUND.CLOSED is gone; the table fits.
	if r := w.ok("-o", "json", "bank", "fault", "list"); strings.TrimSpace(r.out) != "[]" {
		t.Errorf("trigger left a bank fault:\n%s", r.out)
	}
	r := w.fits("", "trigger", "REFUND.CLOSED", "--notify-url", url)
	for _, want := range []string{"REFUND.CLOSED", "CLOSED", "BANK FAULT", "walletctl notify show"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("trigger table lacks %q:\n%s", want, r.out)
		}
	}

	// As a given user, with the password: paid from their balance, refunded to it.
	var res triggered
	w.jsonOf(&res, w.pw+"\n", "--as", w.user, "trigger", "refund.success", "--mchid", w.mchid, "--notify-url", url, "--password-stdin")
	if res.Payer != w.user || res.PayerCreated || res.Refund == nil || res.Refund.Status != walletctl.RefundSuccess || rcv.got()[len(rcv.got())-1] != walletctl.EventRefundSuccess {
		t.Fatalf("trigger --as: %+v", res)
	}
	w.fail("", walletctl.CodePasswordMissing, cli.ExitCode(walletctl.CodePasswordMissing), "--as", w.user, "trigger", "TRANSACTION.SUCCESS")
	w.fail("", walletctl.CodeInvalidArgument, 2, "trigger", "PAYMENT.DONE")
	w.fail("", walletctl.CodeNotFound, cli.ExitCode(walletctl.CodeNotFound), "trigger", "TRANSACTION.SUCCESS", "--mchid", "1999999999")
	if r := w.ok("trigger", "--help"); !strings.Contains(r.out, "real operations") {
		t.Errorf("trigger --help does not say it uses the sandbox's real operations:\n%s", r.out)
	}
}
