package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletctl/walletctl/walletctl/notify/receiver"
)

// A scenario's notification receiver (`receiver R [keys=DIR] [STATUS…]`): an HTTP server on
// 127.0.0.1 in the runner's process, alive for the scenario, that a notify_url or `listen
// --forward-to` points at (${R.url}) in every transport (the wallet is in-process, or a server
// on loopback). It answers the given statuses in order, then 200; `receiver-log R` prints what it
// received, one line per request, with nothing that differs between runs (no time, latency,
// nonce or port).

type scenarioReceiver struct {
	name  string
	url   string // http://127.0.0.1:PORT/notify (in transcripts http://receiver-NAME/notify)
	host  string // 127.0.0.1:PORT
	srv   *http.Server
	parse receiver.Parser // keys=DIR: verify and decrypt with the official SDK; nil: neither
	stop  chan struct{}   // closed by close: a hang lets go

	mu       sync.Mutex
	statuses []string // what is still to be answered before 200
	log      []receivedRequest
}

// receivedRequest is one request as receiver-log prints it.
type receivedRequest struct {
	event    string // event_type (from the envelope, or as verified)
	id       string // the envelope's id
	check    string // verified, refused, probe, unverified
	resource string // the decrypted resource's numbers (keys=DIR only)
	answer   string // the status answered, or "hang"
}

// parseStatuses reads a receiver's answers: HTTP statuses (200-599) or "hang", each optionally
// repeated as WORD*N (500*16: sixteen 500s).
func parseStatuses(words []string) ([]string, error) {
	var out []string
	for _, w := range words {
		word, count := w, 1
		if a, b, ok := strings.Cut(w, "*"); ok {
			n, err := strconv.Atoi(b)
			if err != nil || n < 1 || n > 1000 {
				return nil, fmt.Errorf("receiver: %q: want STATUS*N with N from 1 to 1000", w)
			}
			word, count = a, n
		}
		if word != "hang" {
			n, err := strconv.Atoi(word)
			if err != nil || n < 200 || n > 599 {
				return nil, fmt.Errorf("receiver: %q is not a status (200-599) or hang", w)
			}
		}
		for range count {
			out = append(out, word)
		}
	}
	return out, nil
}

func startReceiver(name string, args []string) (*scenarioReceiver, error) {
	rc := &scenarioReceiver{name: name, stop: make(chan struct{})}
	var statuses []string
	for _, a := range args {
		if dir, ok := strings.CutPrefix(a, "keys="); ok {
			k, err := receiver.LoadKeys(dir)
			if err != nil {
				return nil, fmt.Errorf("receiver %s: keys: %v (write them first: walletctl merchant keys MCHID --out DIR)", name, err)
			}
			if rc.parse, err = receiver.SDKParser(k); err != nil {
				return nil, fmt.Errorf("receiver %s: keys: %v", name, err)
			}
			continue
		}
		statuses = append(statuses, a)
	}
	var err error
	if rc.statuses, err = parseStatuses(statuses); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc.host = ln.Addr().String()
	rc.url = "http://" + rc.host + "/notify"
	rc.srv = &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	go rc.srv.Serve(ln)
	return rc, nil
}

func (rc *scenarioReceiver) close() {
	close(rc.stop)
	rc.srv.Close()
}

func (rc *scenarioReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var env struct {
		ID        string `json:"id"`
		EventType string `json:"event_type"`
	}
	_ = json.Unmarshal(body, &env)
	req := receivedRequest{event: env.EventType, id: env.ID, check: "unverified"}
	probe := strings.HasPrefix(r.Header.Get("Wechatpay-Signature"), "WECHATPAY/SIGNTEST/")
	if probe {
		req.check = "probe"
	}
	if r.Method != http.MethodPost {
		req.event = r.Method
	}
	if rc.parse != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		ev, err := rc.parse(r)
		if err != nil {
			// What a careful merchant does with what it cannot verify: refuse it, handle nothing,
			// and keep its own answers for the real notifications.
			req.check, req.answer = "refused", "401"
			if probe {
				req.check = "probe refused"
			}
			rc.record(req)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"code":"FAIL","message":"signature refused"}`)
			return
		}
		req.check, req.event, req.id = "verified", ev.EventType, ev.ID
		var res struct {
			OutTradeNo   string `json:"out_trade_no"`
			TradeState   string `json:"trade_state"`
			OutRefundNo  string `json:"out_refund_no"`
			RefundStatus string `json:"refund_status"`
		}
		if err := json.Unmarshal(ev.Plaintext, &res); err != nil {
			req.resource = "(resource not JSON)"
		} else if res.OutRefundNo != "" {
			req.resource = res.OutRefundNo + " " + res.RefundStatus + " (order " + res.OutTradeNo + ")"
		} else {
			req.resource = res.OutTradeNo + " " + res.TradeState
		}
	}
	rc.mu.Lock()
	answer := "200"
	if len(rc.statuses) > 0 {
		answer, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	req.answer = answer
	rc.log = append(rc.log, req)
	rc.mu.Unlock()
	if answer == "hang" {
		// Really no answer, so that the sender's own timeout ends the attempt: a scenario that
		// must not wait 5 s sets a short notify_timeout (# init: --set notify_timeout=200ms).
		select {
		case <-r.Context().Done(): // the sender gave up
		case <-rc.stop:
		}
		return
	}
	code, _ := strconv.Atoi(answer)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if code >= 200 && code < 300 {
		io.WriteString(w, `{"code":"SUCCESS","message":"成功"}`)
	} else {
		fmt.Fprintf(w, `{"code":"FAIL","message":"receiver %s answers %d"}`, rc.name, code)
	}
}

func (rc *scenarioReceiver) record(req receivedRequest) {
	rc.mu.Lock()
	rc.log = append(rc.log, req)
	rc.mu.Unlock()
}

// report is what receiver-log prints: a count, then one line per request in arrival order.
func (rc *scenarioReceiver) report() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "receiver-log %s  → %d request(s)\n", rc.name, len(rc.log))
	for i, q := range rc.log {
		line := fmt.Sprintf("  %2d  %-19s  %-21s  %-13s", i+1, q.event, q.id, q.check)
		if q.resource != "" {
			line += "  " + q.resource
		}
		line += "  → " + q.answer
		b.WriteString(line + "\n")
	}
	return b.String()
}
