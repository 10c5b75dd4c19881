// Package notify delivers merchant notifications over HTTP as WeChat Pay v3 sends them
// (DESIGN.md section 9): the envelope with its resource encrypted under the merchant's APIv3 key
// (AEAD_AES_256_GCM), signed with the platform key in the Wechatpay-* headers, POSTed to the
// notify URL with the sandbox's notify_timeout (v3's 5 s). It implements walletctl.Deliverer; the
// engine decides what is due, which faults apply, and records the attempts.
package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/v3api"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// AnswerBytes is how much of a merchant's answer an attempt keeps.
const AnswerBytes = 256

// Sender posts notifications. The zero value is usable (the default fence); do not copy it
// after first use.
type Sender struct {
	// Fence decides which addresses may be connected to; every request goes through it and no
	// redirect is followed. There is deliberately no way to hand the sender another client.
	Fence Fence
	// Now is the wall clock the signatures carry: receivers check it against their own (±5 min).
	Now func() time.Time
	// Rand supplies nonces (default crypto/rand).
	Rand io.Reader

	once sync.Once
	hc   *http.Client
}

var _ walletctl.Deliverer = (*Sender)(nil)

// client is made once, so that connections to a receiver are reused between attempts. It has no
// timeout of its own: each attempt carries its delivery's (notify_timeout) in its context.
func (s *Sender) client() *http.Client {
	s.once.Do(func() { s.hc = s.Fence.Client(0) })
	return s.hc
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) nonce(n int) string {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		panic(err) // crypto/rand does not fail
	}
	return strings.ToUpper(hex.EncodeToString(b))[:n]
}

// Build makes the body and headers of a notification as v3 sends it (exported for the
// conformance kit, which sends its own variations).
func (s *Sender) Build(d walletctl.Delivery) ([]byte, http.Header, error) {
	n := d.Notification
	var resource any
	originalType := "transaction"
	switch {
	case n.Order != nil:
		resource = v3api.TransactionResource(n.Order)
	case n.Refund != nil:
		resource, originalType = v3api.RefundResource(n.Refund), "refund"
	default:
		return nil, nil, errors.New("notify: a notification without a resource")
	}
	plain, err := wechatpay.JSON(resource)
	if err != nil {
		return nil, nil, err
	}
	env, err := wechatpay.NewNotification(n.EventID, n.CreatedAt, n.EventType, n.Summary, d.APIv3Key, originalType, originalType, s.nonce(12), plain)
	if err != nil {
		return nil, nil, err
	}
	body, err := env.Body()
	if err != nil {
		return nil, nil, err
	}
	key, err := wechatpay.ParsePrivateKey(d.Platform.PrivateKey)
	if err != nil {
		return nil, nil, err
	}
	serial := d.Platform.Serial
	if d.PublicKeyID {
		serial = d.Platform.PublicKeyID
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "walletctl-notify/1 (WeChat Pay v3 sandbox)")
	if err := wechatpay.SignResponse(h, key, serial, s.now().Unix(), s.nonce(32), body); err != nil {
		return nil, nil, err
	}
	if d.Probe {
		// WeChat Pay's signature probe: a notification whose signature cannot verify, sent to
		// check that the merchant refuses what it cannot verify.
		h.Set(wechatpay.HeaderSignature, "WECHATPAY/SIGNTEST/"+base64.StdEncoding.EncodeToString([]byte(s.nonce(32))))
	}
	return body, h, nil
}

// Deliver posts one attempt and reports it: OK is a 2xx within d.Timeout.
func (s *Sender) Deliver(ctx context.Context, d walletctl.Delivery) walletctl.NotifyAttempt {
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = walletctl.NotifyTimeout
	}
	a := walletctl.NotifyAttempt{URL: d.URL}
	if err := walletctl.CheckNotifyURL("notify_url", d.URL); err != nil {
		// Stored before the check existed, or a forward registered by an older server.
		a.Error = "bad notify URL: " + err.Error()
		return a
	}
	body, h, err := s.Build(d)
	if err != nil {
		a.Error = "could not build the notification: " + err.Error()
		return a
	}
	// The deadline counts from the latency's start, so that an attempt that gave up never shows
	// less latency than the timeout it says it waited.
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		a.Error = "bad notify URL: " + err.Error()
		return a
	}
	req.Header = h
	resp, err := s.client().Do(req)
	a.LatencyMS = time.Since(start).Milliseconds()
	if err != nil {
		a.Error = describe(err, timeout)
		return a
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, AnswerBytes))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	a.Status, a.Answer = resp.StatusCode, answerText(head)
	a.OK = resp.StatusCode >= 200 && resp.StatusCode < 300
	return a
}

// answerText is the receiver's answer as kept: it is shown in tables and logs, so control
// characters other than line breaks and tabs (which the tables fold, and JSON escapes) become
// spaces; the first AnswerBytes may end inside a character.
func answerText(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r != '\n' && r != '\r' && r != '\t' && !walletctl.Printable(string(r)) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), "\uFFFD"))
}

func describe(err error, timeout time.Duration) string {
	var refused *RefusedError
	if errors.As(err, &refused) {
		return refused.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return fmt.Sprintf("no answer within %s", timeout)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "dial") {
		return "could not connect: " + msg[i+2:]
	}
	return msg
}
