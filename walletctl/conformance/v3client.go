package conformance

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// v3Client calls a tenant's WeChat Pay v3-shaped API as a merchant does: every request signed
// (WECHATPAY2-SHA256-RSA2048 with the merchant's key, walletctl/wechatpay), every answer's
// Wechatpay-* signature checked against the platform certificate of the merchant's credentials.
type v3Client struct {
	base     string // <server>/tenants/<id>
	hc       *http.Client
	timeout  time.Duration
	creds    *walletctl.MerchantCredentials
	key      *rsa.PrivateKey
	platform *rsa.PublicKey
}

func newV3Client(base string, hc *http.Client, timeout time.Duration, creds *walletctl.MerchantCredentials) (*v3Client, error) {
	key, err := wechatpay.ParsePrivateKey(creds.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("the merchant's private key: %w", err)
	}
	pub, err := wechatpay.CertificatePublicKey(creds.PlatformCert)
	if err != nil {
		return nil, fmt.Errorf("the platform certificate: %w", err)
	}
	return &v3Client{base: strings.TrimRight(base, "/"), hc: hc, timeout: timeout, creds: creds, key: key, platform: pub}, nil
}

// v3Answer is one answer of the v3 API.
type v3Answer struct {
	Status int
	Header http.Header
	Body   []byte
	// Env is the error envelope, when the answer is one.
	Env struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Detail  map[string]any `json:"detail"`
	}
	// SigErr says why the answer's signature does not verify with the platform certificate (nil:
	// it does).
	SigErr error
}

func (a *v3Answer) String() string {
	if a.Env.Code != "" {
		return fmt.Sprintf("HTTP %d %s %q", a.Status, a.Env.Code, a.Env.Message)
	}
	return fmt.Sprintf("HTTP %d %.160q", a.Status, a.Body)
}

// how a request is signed (the broken variants of the checks).
type v3Sign int

const (
	v3Signed   v3Sign = iota
	v3Unsigned        // no Authorization header
	v3OtherKey        // signed with a key that is not the merchant's
)

// do sends method target (a path under the base URL, or an absolute URL) with body (nil: none;
// otherwise JSON-encoded as the SDK does, with json.Encoder's trailing newline).
func (c *v3Client) do(ctx context.Context, method, target string, body any, sign v3Sign) (*v3Answer, error) {
	var payload []byte
	if body != nil {
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(body); err != nil {
			return nil, err
		}
		payload = b.Bytes()
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	full := target
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		full = c.base + target
	}
	req, err := http.NewRequestWithContext(ctx, method, full, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if sign != v3Unsigned {
		key := c.key
		if sign == v3OtherKey {
			key = otherKey()
		}
		a := wechatpay.Auth{MchID: c.creds.MchID, NonceStr: wechatpay.Nonce(16), Timestamp: time.Now().Unix(), SerialNo: c.creds.CertSerial}
		a.Signature, err = wechatpay.Sign(key, a.Message(method, req.URL.RequestURI(), payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", wechatpay.BuildAuthorization(a))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	ans := &v3Answer{Status: resp.StatusCode, Header: resp.Header}
	if ans.Body, err = io.ReadAll(io.LimitReader(resp.Body, 8<<20)); err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusAccepted {
		_ = json.Unmarshal(ans.Body, &ans.Env)
	}
	ans.SigErr = c.verify(resp.Header, ans.Body)
	return ans, nil
}

// verify checks an answer as the SDK does: the platform certificate's serial, a timestamp within
// 5 minutes, the SHA256withRSA signature over "TS\nNONCE\nBODY\n".
func (c *v3Client) verify(h http.Header, body []byte) error {
	if s := h.Get(wechatpay.HeaderSerial); s != c.creds.PlatformSerial {
		return fmt.Errorf("%s %q is not the platform certificate's serial %s", wechatpay.HeaderSerial, s, c.creds.PlatformSerial)
	}
	ts, err := strconv.ParseInt(h.Get(wechatpay.HeaderTimestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not Unix seconds", wechatpay.HeaderTimestamp, h.Get(wechatpay.HeaderTimestamp))
	}
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("%s is %s away from now", wechatpay.HeaderTimestamp, d.Round(time.Second))
	}
	return wechatpay.VerifyResponse(h, body, c.platform)
}

// otherKey is a well-formed RSA key that belongs to nobody: what a forger signs with.
var otherKey = sync.OnceValue(func() *rsa.PrivateKey {
	return wechatpay.DeriveKey([]byte("walletctl conformance: not the merchant key"))
})

func pathEscape(s string) string { return url.PathEscape(s) }
