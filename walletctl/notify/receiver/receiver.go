// Package receiver is a tiny reference receiver of WeChat Pay v3 notifications, written the way a
// merchant should write one, with the official SDK's notify package
// (github.com/wechatpay-apiv3/wechatpay-go/core/notify): every notification's signature is
// verified over the raw body with the platform's certificate or public key (by Wechatpay-Serial),
// its timestamp checked, its resource decrypted with the APIv3 key; each event id is handled once
// (a duplicate is answered 200 without handling it again); a refund whose payment has not been
// seen yet is refused with 409, so that WeChat Pay (or walletctl) sends it again later.
//
// It reads the files `walletctl merchant keys MCHID --out DIR` writes. `walletctl conformance
// merchant --notify-url URL` checks it (and any other receiver); the scenario runner's receivers
// are it; examples/notify-receiver runs it as a program.
package receiver

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// Keys is what a receiver needs from `walletctl merchant keys --out DIR`.
type Keys struct {
	MchID        string
	APIv3Key     string
	PublicKeyID  string            // PUB_KEY_ID_…: the platform public key's id (public-key mode)
	Cert         *x509.Certificate // the platform certificate (certificate mode)
	PublicKeyPEM string
}

// merchantJSON is the part of merchant.json a receiver reads.
type merchantJSON struct {
	MchID                   string `json:"mchid"`
	APIv3Key                string `json:"apiv3_key"`
	PublicKeyID             string `json:"public_key_id"`
	PlatformCertificateFile string `json:"platform_certificate_file"`
	PlatformPublicKeyFile   string `json:"platform_public_key_file"`
}

// LoadKeys reads merchant.json, platform_cert.pem and platform_public_key.pem from dir.
func LoadKeys(dir string) (*Keys, error) {
	b, err := os.ReadFile(filepath.Join(dir, "merchant.json"))
	if err != nil {
		return nil, err
	}
	var m merchantJSON
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("merchant.json: %w", err)
	}
	if m.PlatformCertificateFile == "" {
		m.PlatformCertificateFile = "platform_cert.pem"
	}
	if m.PlatformPublicKeyFile == "" {
		m.PlatformPublicKeyFile = "platform_public_key.pem"
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, m.PlatformCertificateFile))
	if err != nil {
		return nil, err
	}
	pubPEM, err := os.ReadFile(filepath.Join(dir, m.PlatformPublicKeyFile))
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(certPEM)
	if blk == nil {
		return nil, errors.New(m.PlatformCertificateFile + " is not PEM")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.PlatformCertificateFile, err)
	}
	return &Keys{MchID: m.MchID, APIv3Key: m.APIv3Key, PublicKeyID: m.PublicKeyID, Cert: cert, PublicKeyPEM: string(pubPEM)}, nil
}

// Event is a verified, decrypted notification.
type Event struct {
	ID        string
	EventType string
	Plaintext []byte // the decrypted resource (JSON)
}

// Parser verifies and decrypts one notification.
type Parser func(r *http.Request) (*Event, error)

// SDKParser verifies and decrypts with the official SDK's notify handler: the platform
// certificate (by its serial) and the platform public key (by its PUB_KEY_ID), either of which
// Wechatpay-Serial may name; the SDK checks the timestamp (±5 minutes) and the signature over the
// raw body, then opens the resource with the APIv3 key.
func SDKParser(k *Keys) (Parser, error) {
	pub, err := utils.LoadPublicKey(k.PublicKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("platform public key: %w", err)
	}
	v := verifiers.NewSHA256WithRSACombinedVerifier(core.NewCertificateMapWithList([]*x509.Certificate{k.Cert}), k.PublicKeyID, *pub)
	h, err := notify.NewRSANotifyHandler(k.APIv3Key, v)
	if err != nil {
		return nil, err
	}
	return func(r *http.Request) (*Event, error) {
		var content json.RawMessage
		n, err := h.ParseNotifyRequest(r.Context(), r, &content)
		if err != nil {
			return nil, err
		}
		return &Event{ID: n.ID, EventType: n.EventType, Plaintext: []byte(n.Resource.Plaintext)}, nil
	}, nil
}

// Receiver is an http.Handler for a merchant's notify_url.
type Receiver struct {
	parse Parser

	mu      sync.Mutex
	handled map[string]bool // event ids handled
	paid    map[string]bool // out_trade_no of orders whose payment was seen
	log     []string        // "EVENT_TYPE out_trade_no", in handling order
}

// New is the reference receiver: the SDK verifies and decrypts.
func New(k *Keys) (*Receiver, error) {
	p, err := SDKParser(k)
	if err != nil {
		return nil, err
	}
	return NewWithParser(p), nil
}

// NewWithParser is a receiver that verifies and decrypts with p (tests use a careless one).
func NewWithParser(p Parser) *Receiver {
	return &Receiver{parse: p, handled: map[string]bool{}, paid: map[string]bool{}}
}

// Handled lists what was handled: "EVENT_TYPE out_trade_no", in order.
func (rc *Receiver) Handled() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.log...)
}

func answer(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		answer(w, http.StatusMethodNotAllowed, "FAIL", "POST only")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	ev, err := rc.parse(r)
	if err != nil {
		// Not from WeChat Pay, or not for us: never handled, never 2xx. (The SDK's error ends with
		// a dump of the whole request: the answer keeps the reason only.)
		msg, _, _ := strings.Cut(err.Error(), ", request: ")
		answer(w, http.StatusUnauthorized, "FAIL", "notification refused: "+msg)
		return
	}
	var res struct {
		OutTradeNo string `json:"out_trade_no"`
		TradeState string `json:"trade_state"`
	}
	if err := json.Unmarshal(ev.Plaintext, &res); err != nil || res.OutTradeNo == "" {
		answer(w, http.StatusBadRequest, "FAIL", "the resource has no out_trade_no")
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.handled[ev.ID] {
		answer(w, http.StatusOK, "SUCCESS", "already handled")
		return
	}
	switch ev.EventType {
	case "TRANSACTION.SUCCESS":
		rc.paid[res.OutTradeNo] = true
	case "REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED":
		if !rc.paid[res.OutTradeNo] {
			// The payment's notification has not come yet: refuse for now, without recording the
			// event, so that its retry is handled once the payment is known.
			answer(w, http.StatusConflict, "FAIL", "the payment of "+res.OutTradeNo+" has not been notified yet; send it again later")
			return
		}
	default:
		answer(w, http.StatusBadRequest, "FAIL", "unknown event_type "+ev.EventType)
		return
	}
	rc.handled[ev.ID] = true
	rc.log = append(rc.log, ev.EventType+" "+res.OutTradeNo)
	w.WriteHeader(http.StatusNoContent)
}
