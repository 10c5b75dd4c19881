// Package v3api is the WeChat Pay APIv3-shaped API of one wallet (DESIGN.md section 8): a
// merchant points the official SDK (github.com/wechatpay-apiv3/wechatpay-go) or any v3 client at
// it and runs its integration code unchanged, apart from the base URL.
//
// Every request is authenticated by the merchant's own v3 signature (Authorization:
// WECHATPAY2-SHA256-RSA2048 ...), checked against the merchant's certificate; the mchid of that
// signature is the merchant of the call. Every answer, errors included, is signed with the
// wallet's platform key (Wechatpay-Serial/-Signature/-Timestamp/-Nonce): under the platform
// public key's id (PUB_KEY_ID_...) for a merchant in public-key mode, whatever its request
// carries, as WeChat Pay does; otherwise under the platform certificate's serial or, when the
// caller asks for it (Wechatpay-Serial: PUB_KEY_ID_...), under the public key's id. Errors are
// v3's envelope {"code","message","detail"} with v3's HTTP statuses (see v3Errors).
//
// Signatures use real time (Options.Now), as the SDK checks them against its own clock; the
// wallet's virtual clock stays the clock of business times (orders, expiry, bills).
package v3api

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// MaxSkew is how far a request's signature timestamp may be from the handler's clock.
const MaxSkew = 5 * time.Minute

// Options configure a Handler.
type Options struct {
	// Service is the wallet served; it must also implement walletctl.PlatformService (the
	// embedded engine does), whose key signs the answers.
	Service walletctl.Service
	// Keys is where signatures are checked and the platform key found (default: Service). It is
	// called before the request is served and, in walletctl serve, outside the tenant's lock: an
	// unauthenticated request must cost the wallet nothing another request waits for.
	Keys Keys
	// Now is the clock of signature timestamps (default time.Now): real time, not the wallet's
	// virtual clock, since v3 clients check answers against their own real clock.
	Now func() time.Time
	// MaxBodyBytes limits request bodies (default 1 MiB).
	MaxBodyBytes int64
}

// Keys is what authenticating a request needs: the wallet's platform identity (to sign every
// answer, errors included) and its merchants' credentials (to check their signatures). A
// merchant that does not exist is a walletctl NOT_FOUND error.
type Keys interface {
	Platform(ctx context.Context) (*walletctl.Platform, error)
	MerchantCredentials(ctx context.Context, mchid string) (*walletctl.MerchantCredentials, error)
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.Keys == nil && o.Service != nil {
		if k, ok := o.Service.(Keys); ok {
			o.Keys = k
		}
	}
}

// Handler serves v3's paths (/v3/...) for opts.Service. Mounted under a prefix (with
// http.StripPrefix, as walletctl serve mounts a tenant's under /tenants/ID), a request's
// signature may cover the path with or without the prefix.
func Handler(opts Options) http.Handler {
	opts.defaults()
	return &handler{opts: opts}
}

type handler struct{ opts Options }

// call is one request being served: who sent it and how to answer.
type call struct {
	opts     Options
	w        http.ResponseWriter
	r        *http.Request
	body     []byte
	svc      walletctl.Service
	platform *walletctl.Platform
	key      *rsa.PrivateKey
	creds    *walletctl.MerchantCredentials // the signing merchant, once verified
	pubKey   bool                           // the merchant named by the request is in public-key mode
	mchid    string
	rt       *Route
	params   map[string]string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a := Authenticate(w, r, h.opts); a != nil {
		a.Serve(w, r, h.opts.Service)
	}
}

// Caller is a request that Authenticate read, routed and found signed by a merchant of the
// wallet: what serving it needs, so that it is neither read nor verified again.
type Caller struct{ c *call }

// MchID is the merchant whose signature the request carries.
func (a *Caller) MchID() string { return a.c.mchid }

// Authenticate reads r's body (at most opts.MaxBodyBytes), finds its route and checks its
// signature with opts.Keys, without touching opts.Service. When any of that fails it has answered
// w (v3's error, signed with the platform key when there is one) and returns nil. r is the request
// as the v3 routes see it (under StripPrefix when mounted under a prefix).
func Authenticate(w http.ResponseWriter, r *http.Request, opts Options) *Caller {
	opts.defaults()
	c := &call{opts: opts, w: w, r: r}
	ctx := r.Context()
	if opts.Keys != nil {
		if p, err := opts.Keys.Platform(ctx); err == nil {
			if k, err := parsePrivateKey(p.PrivateKey); err == nil {
				c.platform, c.key = p, k
			}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, opts.MaxBodyBytes))
	if err != nil {
		// What is left of the body stays unread (a client past its deadline may never send it):
		// the connection goes with the answer, else net/http would wait for it first.
		w.Header().Set("Connection", "close")
		issue := err.Error()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			issue = "the request body did not arrive in time (the server's read deadline passed)"
		}
		c.fail(v3Error{Status: http.StatusBadRequest, Code: "PARAM_ERROR", Message: "请求体过大或无法读取",
			Detail: map[string]any{"issue": issue, "location": "body"}})
		return nil
	}
	c.body = body
	if c.key == nil {
		c.fail(v3Error{Status: http.StatusInternalServerError, Code: "SYSTEM_ERROR", Message: "系统错误",
			Detail: map[string]any{"issue": "this wallet has no v3 platform key (a remote backend cannot serve the v3 API)"}})
		return nil
	}
	c.rt, c.params = match(r.Method, r.URL.Path)
	if c.rt == nil {
		c.fail(v3Error{Status: http.StatusNotFound, Code: "RESOURCE_NOT_EXISTS", Message: "资源不存在",
			Detail: map[string]any{"issue": fmt.Sprintf("no v3 route %s %s", r.Method, r.URL.Path)}})
		return nil
	}
	if e := c.authenticate(); e != nil {
		c.fail(*e)
		return nil
	}
	return &Caller{c: c}
}

// Serve serves an authenticated request on svc, answering w (signed). r must be the request given
// to Authenticate (or a clone of it with another context).
func (a *Caller) Serve(w http.ResponseWriter, r *http.Request, svc walletctl.Service) {
	c := *a.c
	c.w, c.r, c.svc = w, r, svc
	c.rt.serve(&c, c.params)
}

// signedURLs are the request-URIs a signature may cover: as the client sent it, and as this
// handler sees it (without the prefix it is mounted under).
func (c *call) signedURLs() []string {
	urls := []string{}
	if c.r.RequestURI != "" {
		urls = append(urls, c.r.RequestURI)
	}
	if u := c.r.URL.RequestURI(); len(urls) == 0 || u != urls[0] {
		urls = append(urls, u)
	}
	return urls
}

func signError(format string, args ...any) *v3Error {
	return &v3Error{Status: http.StatusUnauthorized, Code: "SIGN_ERROR", Message: "签名错误",
		Detail: map[string]any{"issue": fmt.Sprintf(format, args...)}}
}

// authenticate checks the Authorization header: its form, the merchant, the certificate serial,
// the timestamp and the signature over METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n.
func (c *call) authenticate() *v3Error {
	a, err := wechatpay.ParseAuthorization(c.r.Header.Get("Authorization"))
	if err != nil {
		return signError("%s", strings.TrimPrefix(err.Error(), "wechatpay: "))
	}
	creds, err := c.opts.Keys.MerchantCredentials(c.r.Context(), a.MchID)
	if err != nil {
		var we *walletctl.Error
		if errors.As(err, &we) && we.Code == walletctl.CodeNotFound {
			return signError("mchid %q is not a merchant of this wallet", a.MchID)
		}
		e := fromError(err, kindOther)
		return &e
	}
	// Known from here on: the answer, even a refusal, is signed as this merchant can check it.
	c.pubKey = creds.PublicKeyMode
	if !strings.EqualFold(a.SerialNo, creds.CertSerial) {
		return signError("serial_no %q is not the certificate serial of merchant %s (%s)", a.SerialNo, a.MchID, creds.CertSerial)
	}
	now := c.opts.Now()
	if d := now.Sub(time.Unix(a.Timestamp, 0)); d > MaxSkew || d < -MaxSkew {
		return signError("timestamp %d is %s away from the server's time %d (at most %s allowed)", a.Timestamp, d.Round(time.Second), now.Unix(), MaxSkew)
	}
	pub, err := certPublicKey(creds.Cert)
	if err != nil {
		return signError("the merchant's certificate cannot be read: %v", err)
	}
	for _, u := range c.signedURLs() {
		if wechatpay.VerifySignature(pub, a.Message(c.r.Method, u, c.body), a.Signature) == nil {
			c.creds, c.mchid = creds, a.MchID
			return nil
		}
	}
	return signError("the signature does not verify with merchant %s's certificate over %q (METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n; the URL is the path and query as sent, the body the exact bytes sent)",
		a.MchID, c.r.Method+"\\n"+c.signedURLs()[0]+"\\n"+fmt.Sprint(a.Timestamp)+"\\n"+a.NonceStr+"\\n...")
}

// reply signs and writes an answer; body nil means no body (204).
func (c *call) reply(status int, contentType string, body []byte) {
	h := c.w.Header()
	h.Set("Request-ID", wechatpay.Nonce(16))
	if c.key != nil {
		// A failure to sign leaves the answer unsigned: the client then says why it distrusts it.
		_ = wechatpay.SignResponse(h, c.key, c.serial(), c.opts.Now().Unix(), wechatpay.Nonce(16), body)
	}
	if body != nil {
		h.Set("Content-Type", contentType)
	}
	c.w.WriteHeader(status)
	c.w.Write(body)
}

// serial is the serial an answer is signed under: the public key's id for a merchant in
// public-key mode (WeChat Pay signs every answer to such a merchant so, whatever the request
// carries: most SDKs send no Wechatpay-Serial); otherwise the platform certificate's, or the
// public key's id when the client asks for it.
func (c *call) serial() string {
	if c.platform.PublicKeyID == "" {
		return c.platform.Serial
	}
	if c.pubKey {
		return c.platform.PublicKeyID
	}
	if s := strings.TrimSpace(c.r.Header.Get(wechatpay.HeaderSerial)); s != "" && s == c.platform.PublicKeyID {
		return c.platform.PublicKeyID
	}
	return c.platform.Serial
}

// replyStream signs and writes an answer too big to hold (a bill). write writes the body to the
// writer it is given, the same bytes every time: once into the signature's hash, then to the
// client, so the body is never held. An error of the first pass is returned with nothing
// answered. The answer declares the first pass's length: should the second differ (the content
// changed in between, the writer failed), the client sees a cut answer, never a whole one that
// its signature does not cover.
func (c *call) replyStream(status int, contentType string, write func(io.Writer) error) error {
	sum := wechatpay.NewResponseHash(c.opts.Now().Unix(), wechatpay.Nonce(16))
	if err := write(sum); err != nil {
		return err
	}
	h := c.w.Header()
	h.Set("Request-ID", wechatpay.Nonce(16))
	if c.key != nil {
		_ = wechatpay.SignResponseHash(h, c.key, c.serial(), sum) // as in reply
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.FormatInt(sum.Len(), 10))
	c.w.WriteHeader(status)
	_ = write(c.w) // too late to answer otherwise: the length tells
	return nil
}

// parsed memoises parsePrivateKey and certPublicKey by PEM: a tenant has one platform key and a
// few merchants, parsed on every request otherwise.
var parsed sync.Map // PEM string -> *rsa.PrivateKey or *rsa.PublicKey

func parsePrivateKey(p string) (*rsa.PrivateKey, error) {
	if k, ok := parsed.Load(p); ok {
		return k.(*rsa.PrivateKey), nil
	}
	k, err := wechatpay.ParsePrivateKey(p)
	if err == nil {
		parsed.Store(p, k)
	}
	return k, err
}

func certPublicKey(p string) (*rsa.PublicKey, error) {
	if k, ok := parsed.Load(p); ok {
		return k.(*rsa.PublicKey), nil
	}
	pub, err := wechatpay.CertificatePublicKey(p)
	if err == nil {
		parsed.Store(p, pub)
	}
	return pub, err
}
