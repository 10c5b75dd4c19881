package wechatpay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/credentials"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

const (
	testMchID        = "1900000109"
	testMchSerial    = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	testPlatSerial   = "3775B6A45ACD588826D15E583A95F5DD2C0EE3C1"
	testPubKeyID     = "PUB_KEY_ID_0119000001092025010100000000000001"
	testAPIv3Key     = "a7cde1ZJB1kG2e7VfTs3jQzaAbC4v0Ww" // 32 bytes
	testNotifyNonce  = "fdasflkja484"                     // 12 bytes
	testNotifyAD     = "transaction"
	testTransaction  = `{"mchid":"1900000109","appid":"wxd678efh567hg6787","out_trade_no":"1217752501201407033233368018","transaction_id":"1217752501201407033233368018","trade_type":"NATIVE","trade_state":"SUCCESS","trade_state_desc":"支付成功","success_time":"2018-06-08T10:34:56+08:00","amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}`
	testResponseBody = `{"code_url":"weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}`
)

type fixture struct {
	mchKey, platKey *rsa.PrivateKey
	mchCert         *x509.Certificate
	platCert        *x509.Certificate
	platPEM         []byte
	notBefore       time.Time
}

var (
	fixOnce sync.Once
	fix     fixture
)

func testFixture(t *testing.T) fixture {
	t.Helper()
	fixOnce.Do(func() {
		fix.mchKey = DeriveKey([]byte("test merchant 1900000109"))
		fix.platKey = DeriveKey([]byte("test platform"))
		fix.notBefore = time.Date(2024, 1, 1, 0, 0, 0, 0, ChinaStandardTime)
		notAfter := fix.notBefore.AddDate(5, 0, 0)
		der, err := Certificate(fix.mchKey, testMchSerial, testMchID, "walletctl sandbox merchant", fix.notBefore, notAfter)
		if err != nil {
			panic(err)
		}
		fix.mchCert, _ = x509.ParseCertificate(der)
		der, err = Certificate(fix.platKey, testPlatSerial, "Tenpay.com sandbox platform", "walletctl sandbox", fix.notBefore, notAfter)
		if err != nil {
			panic(err)
		}
		fix.platCert, _ = x509.ParseCertificate(der)
		fix.platPEM = CertificatePEM(der)
	})
	if fix.mchCert == nil || fix.platCert == nil {
		t.Fatal("fixture certificates did not parse")
	}
	return fix
}

func pkcs8(t *testing.T, k *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestDeriveKeyDeterministic(t *testing.T) {
	seed := []byte("determinism")
	a, b := deriveKey(seed), deriveKey(seed) // uncached: two independent generations
	if !bytes.Equal(pkcs8(t, a), pkcs8(t, b)) {
		t.Fatal("the same seed gave two different keys")
	}
	if c := DeriveKey(seed); !bytes.Equal(pkcs8(t, a), pkcs8(t, c)) {
		t.Fatal("DeriveKey (cached) differs from a fresh derivation")
	}
	if k1, k2 := DeriveKey(seed), DeriveKey(seed); k1 != k2 {
		t.Error("DeriveKey does not cache")
	}
	if a.N.BitLen() != 2048 || a.E != 65537 || len(a.Primes) != 2 {
		t.Fatalf("got %d-bit modulus, e=%d, %d primes", a.N.BitLen(), a.E, len(a.Primes))
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	other := DeriveKey([]byte("determinism!"))
	if other.N.Cmp(a.N) == 0 || other.Primes[0].Cmp(a.Primes[0]) == 0 {
		t.Fatal("different seeds gave the same key")
	}
}

// TestDeriveKeyGolden pins the DRBG: sandbox keys (and certificates made from them) must stay
// the same across releases and machines.
func TestDeriveKeyGolden(t *testing.T) {
	h := sha256.Sum256(PublicKeyPEM(&DeriveKey([]byte("walletctl golden")).PublicKey))
	const want = "9b921789d614c9b1a1eb38e3678f00b0342f1df553fe7bc22e1292dd95a3742e"
	if got := hex.EncodeToString(h[:]); got != want {
		t.Fatalf("DeriveKey(\"walletctl golden\") public key hash = %s, want %s: the derivation changed", got, want)
	}
}

func TestPEMsLoadWithSDK(t *testing.T) {
	f := testFixture(t)
	k, err := utils.LoadPrivateKey(string(PrivateKeyPEM(f.mchKey)))
	if err != nil {
		t.Fatal(err)
	}
	if !k.Equal(f.mchKey) {
		t.Fatal("utils.LoadPrivateKey gave another key")
	}
	pub, err := utils.LoadPublicKey(string(PublicKeyPEM(&f.platKey.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&f.platKey.PublicKey) {
		t.Fatal("utils.LoadPublicKey gave another key")
	}
	cert, err := utils.LoadCertificate(string(f.platPEM))
	if err != nil {
		t.Fatal(err)
	}
	if got := utils.GetCertificateSerialNumber(*cert); got != testPlatSerial {
		t.Fatalf("SDK serial %q, want %q", got, testPlatSerial)
	}
	if got := SerialHex(cert); got != testPlatSerial {
		t.Fatalf("SerialHex %q, want %q", got, testPlatSerial)
	}
	if !cert.PublicKey.(*rsa.PublicKey).Equal(&f.platKey.PublicKey) {
		t.Fatal("certificate holds another key")
	}
	if cert.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Fatalf("signature algorithm %v", cert.SignatureAlgorithm)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Fatalf("not validly self-signed: %v", err)
	}
}

func TestCertificateSerialsAndDeterminism(t *testing.T) {
	f := testFixture(t)
	nb, na := f.notBefore, f.notBefore.AddDate(1, 0, 0)
	for _, tc := range []struct{ in, want string }{
		{testMchSerial, testMchSerial},
		{"0157F09EFDC096DE15EBE81A47057A7232F1B8E1", "0157F09EFDC096DE15EBE81A47057A7232F1B8E1"},
		{"5157f09efdc096de15ebe81a47057a7232f1b8e1", testMchSerial},
		{"D7CE59D1F522D701", "D7CE59D1F522D701"},
	} {
		der, err := Certificate(f.mchKey, tc.in, "cn", "org", nb, na)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		again, _ := Certificate(f.mchKey, tc.in, "cn", "org", nb, na)
		if !bytes.Equal(der, again) {
			t.Fatalf("%s: same inputs, different certificates", tc.in)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if got, sdk := SerialHex(c), utils.GetCertificateSerialNumber(*c); got != tc.want || sdk != tc.want {
			t.Errorf("serial %s: SerialHex %s, SDK %s, want %s", tc.in, got, sdk, tc.want)
		}
	}
	for _, bad := range []string{"", "ABC", "00AB", "zz", "00", strings.Repeat("AB", 21)} {
		if _, err := Certificate(f.mchKey, bad, "cn", "org", nb, na); err == nil {
			t.Errorf("serial %q accepted", bad)
		}
	}
	// Issued by another certificate.
	der, err := Certificate(f.mchKey, "0A0B", "leaf", "org", nb, na, Issuer{Cert: f.platCert, Key: f.platKey})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	if err := leaf.CheckSignatureFrom(f.platCert); err != nil {
		t.Fatalf("issued certificate does not verify under its issuer: %v", err)
	}
}

func TestSDKAuthorizationVerifies(t *testing.T) {
	f := testFixture(t)
	cred := credentials.WechatPayCredentials{Signer: &signers.SHA256WithRSASigner{
		MchID: testMchID, CertificateSerialNo: testMchSerial, PrivateKey: f.mchKey,
	}}
	const uri = "/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1900000109"
	body := `{"mchid":"1900000109"}` + "\n"
	h, err := cred.GenerateAuthorizationHeader(context.Background(), http.MethodPost, uri, body)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAuthorization(h)
	if err != nil {
		t.Fatalf("ParseAuthorization(%q): %v", h, err)
	}
	if a.MchID != testMchID || a.SerialNo != testMchSerial || len(a.NonceStr) != 32 {
		t.Fatalf("parsed %+v", a)
	}
	if d := time.Now().Unix() - a.Timestamp; d < -5 || d > 5 {
		t.Fatalf("timestamp %d is not now", a.Timestamp)
	}
	if got := BuildAuthorization(a); got != h {
		t.Fatalf("BuildAuthorization does not reproduce the SDK's header:\n got %s\nwant %s", got, h)
	}
	pub := &f.mchKey.PublicKey
	if err := VerifySignature(pub, a.Message(http.MethodPost, uri, []byte(body)), a.Signature); err != nil {
		t.Fatalf("SDK signature rejected: %v", err)
	}
	for name, msg := range map[string]string{
		"body":   a.Message(http.MethodPost, uri, []byte(`{"mchid":"1900000108"}`+"\n")),
		"url":    a.Message(http.MethodPost, strings.Replace(uri, "1900000109", "1900000108", 1), []byte(body)),
		"method": a.Message(http.MethodPut, uri, []byte(body)),
		"nonce":  RequestMessage(http.MethodPost, uri, a.Timestamp, a.NonceStr+"x", []byte(body)),
		"ts":     RequestMessage(http.MethodPost, uri, a.Timestamp+1, a.NonceStr, []byte(body)),
	} {
		if VerifySignature(pub, msg, a.Signature) == nil {
			t.Errorf("tampered %s still verifies", name)
		}
	}
	if VerifySignature(&f.platKey.PublicKey, a.Message(http.MethodPost, uri, []byte(body)), a.Signature) == nil {
		t.Error("signature verifies under another key")
	}
	// Our own Sign is what the SDK's utils.SignSHA256WithRSA computes (PKCS#1 v1.5 is deterministic).
	msg := a.Message(http.MethodGet, "/v3/certificates", nil)
	ours, _ := Sign(f.mchKey, msg)
	theirs, _ := utils.SignSHA256WithRSA(msg, f.mchKey)
	if ours != theirs {
		t.Fatal("Sign differs from utils.SignSHA256WithRSA")
	}
}

func TestParseAuthorization(t *testing.T) {
	good := Auth{MchID: "1900000109", NonceStr: "593BEC0C930BF1AFEB40B4A08C8FB242", Timestamp: 1554208460, SerialNo: testMchSerial, Signature: "uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WzsXUrExwVkI1XO5jCNbgDJ25nkT/c1gIFvqoogl7MdSFGc4W4xZsqCItnqbypR3RuGIlR9h9vlRsy7zJR9PBI83X8alLDIfR1ukt1P7tMnmogZ0cuDY8cZsd8ZlCgLadmvej58SLsIkVxFJ8XyUgx9FmutKSYTmYtWBZ0+tNvfGmbXU7cob8H/4nLBiCwIUFluw=="}
	h := BuildAuthorization(good)
	if a, err := ParseAuthorization(h); err != nil || a != good {
		t.Fatalf("round trip: %+v, %v", a, err)
	}
	shuffled := Schema + ` signature="` + good.Signature + `", serial_no="` + good.SerialNo + `",timestamp="1554208460" , nonce_str="` + good.NonceStr + `",mchid="1900000109",extra="x"`
	if a, err := ParseAuthorization(shuffled); err != nil || a != good {
		t.Fatalf("any order: %+v, %v", a, err)
	}
	for h, wantErr := range map[string]string{
		"":                    "missing Authorization",
		"Bearer abc":          "scheme",
		Schema + ` mchid="1"`: "lacks nonce_str, timestamp, serial_no, signature",
		strings.Replace(h, `timestamp="1554208460"`, `timestamp="soon"`, 1): "timestamp",
		strings.Replace(h, `mchid="1900000109"`, `mchid=""`, 1):             "lacks mchid",
		h + `,mchid="2"`:           "twice",
		strings.TrimSuffix(h, `"`): "unterminated",
		strings.Replace(h, `",nonce_str`, `" nonce_str`, 1): "commas",
	} {
		_, err := ParseAuthorization(h)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseAuthorization(%.60q): error %v, want one mentioning %q", h, err, wantErr)
		}
	}
}

// sdkValidators returns the SDK's response validators for certificate mode and PUB_KEY_ID mode.
func sdkValidators(f fixture) map[string]struct {
	v      *validators.WechatPayResponseValidator
	serial string
} {
	return map[string]struct {
		v      *validators.WechatPayResponseValidator
		serial string
	}{
		"certificate": {validators.NewWechatPayResponseValidator(verifiers.NewSHA256WithRSAVerifier(
			core.NewCertificateMapWithList([]*x509.Certificate{f.platCert}))), testPlatSerial},
		"public key": {validators.NewWechatPayResponseValidator(verifiers.NewSHA256WithRSAPubkeyVerifier(
			testPubKeyID, f.platKey.PublicKey)), testPubKeyID},
	}
}

// The SDK's validator (core/auth/validators/wechat_pay_validator.go, checkWechatPayHeader)
// rejects a response whose Wechatpay-Timestamp is 300 s or more away from the client's real
// time.Now(), so a sandbox must sign with the wall clock, whatever its business clock says.
func TestSignResponsePassesSDKValidator(t *testing.T) {
	f := testFixture(t)
	body := []byte(testResponseBody)
	ctx := context.Background()
	for mode, tc := range sdkValidators(f) {
		resp := func(h http.Header, b []byte) *http.Response {
			return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(bytes.NewReader(b))}
		}
		now := time.Now().Unix()
		h := http.Header{}
		if err := SignResponse(h, f.platKey, tc.serial, now, "c5ac7061fccab6bf3e254dcf98995b8c", body); err != nil {
			t.Fatal(err)
		}
		if h.Get("Wechatpay-Signature-Type") != Schema {
			t.Errorf("%s: no signature type", mode)
		}
		if err := tc.v.Validate(ctx, resp(h, body)); err != nil {
			t.Fatalf("%s: SDK rejects our signed response: %v", mode, err)
		}
		if err := VerifyResponse(h, body, &f.platKey.PublicKey); err != nil {
			t.Fatalf("%s: VerifyResponse: %v", mode, err)
		}
		if s, _ := tc.v.GetAcceptSerial(ctx); s != tc.serial {
			t.Errorf("%s: SDK accepts serial %q, want %q", mode, s, tc.serial)
		}
		tampered := bytes.Replace(body, []byte("p4l"), []byte("p5l"), 1)
		if tc.v.Validate(ctx, resp(h, tampered)) == nil || VerifyResponse(h, tampered, &f.platKey.PublicKey) == nil {
			t.Errorf("%s: tampered body accepted", mode)
		}
		wrongSerial := h.Clone()
		wrongSerial.Set(HeaderSerial, "D7CE59D1F522D701")
		if tc.v.Validate(ctx, resp(wrongSerial, body)) == nil {
			t.Errorf("%s: unknown serial accepted", mode)
		}
		// 310 s, not the limit of 300 itself, and against the clock now: seconds pass between
		// signing and checking on a loaded machine, and 300 s ahead signed a second ago is 299.
		for _, skew := range []int64{-310, 310} {
			old := http.Header{}
			_ = SignResponse(old, f.platKey, tc.serial, time.Now().Unix()+skew, "n", body)
			if tc.v.Validate(ctx, resp(old, body)) == nil {
				t.Errorf("%s: SDK accepted a timestamp %d s off; the skew note is wrong", mode, skew)
			}
			if VerifyResponse(old, body, &f.platKey.PublicKey) != nil {
				t.Errorf("%s: VerifyResponse should not look at the clock", mode)
			}
		}
		ok := http.Header{}
		_ = SignResponse(ok, f.platKey, tc.serial, now-290, "n", body)
		if err := tc.v.Validate(ctx, resp(ok, body)); err != nil {
			t.Errorf("%s: SDK rejects a timestamp 290 s old: %v", mode, err)
		}
		other := http.Header{}
		_ = SignResponse(other, DeriveKey([]byte("impostor")), tc.serial, now, "n", body)
		if tc.v.Validate(ctx, resp(other, body)) == nil {
			t.Errorf("%s: response signed by another key accepted", mode)
		}
	}
	if err := VerifyResponse(http.Header{}, body, &f.platKey.PublicKey); err == nil || !strings.Contains(err.Error(), "Wechatpay-Serial, Wechatpay-Signature, Wechatpay-Timestamp, Wechatpay-Nonce") {
		t.Errorf("VerifyResponse on no headers: %v", err)
	}
}

// rewrite sends every request to target (scheme, host and a path prefix), as a sandbox client
// must: the SDK's services build absolute URLs on consts.WechatPayAPIServer.
type rewrite struct{ target *url.URL }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = r.target.Scheme, r.target.Host
	out.URL.Path = r.target.Path + req.URL.Path
	out.URL.RawPath = ""
	out.Host = ""
	return http.DefaultTransport.RoundTrip(out)
}

// fakeWeChat is a minimal WeChat Pay: it checks the merchant's Authorization with this package
// and signs its answers with SignResponse.
type fakeWeChat struct {
	t       *testing.T
	prefix  string
	mchPub  *rsa.PublicKey
	key     *rsa.PrivateKey // signs responses
	serial  string          // Wechatpay-Serial of responses
	certs   []byte          // GET /v3/certificates body
	mu      sync.Mutex
	seen    []string // "METHOD URI | Wechatpay-Serial | body"
	authErr error
}

func (s *fakeWeChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	uri := strings.TrimPrefix(r.RequestURI, s.prefix)
	s.mu.Lock()
	s.seen = append(s.seen, r.Method+" "+uri+" | "+r.Header.Get(HeaderSerial)+" | "+string(body))
	s.mu.Unlock()
	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err == nil {
		err = VerifySignature(s.mchPub, a.Message(r.Method, uri, body), a.Signature)
	}
	if err == nil && (a.MchID != testMchID || a.SerialNo != testMchSerial) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		s.mu.Lock()
		s.authErr = err
		s.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":"SIGN_ERROR","message":"签名错误"}`))
		return
	}
	status, out := http.StatusOK, []byte(nil)
	switch {
	case r.Method == http.MethodPost && uri == "/v3/pay/transactions/native":
		out = []byte(testResponseBody)
	case r.Method == http.MethodGet && strings.HasPrefix(uri, "/v3/pay/transactions/out-trade-no/"):
		out = []byte(testTransaction)
	case r.Method == http.MethodPost && strings.HasSuffix(uri, "/close"):
		status = http.StatusNoContent
	case r.Method == http.MethodGet && uri == "/v3/certificates":
		out = s.certs
	default:
		status, out = http.StatusNotFound, []byte(`{"code":"NOT_FOUND","message":"no"}`)
	}
	if err := SignResponse(w.Header(), s.key, s.serial, time.Now().Unix(), "a1b2c3d4e5f6", out); err != nil {
		s.t.Error(err)
	}
	if out != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Request-Id", "08F8B7C6B50610C3C81E18B5AA7C5D3D")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func newFake(t *testing.T, serial string) (*fakeWeChat, *http.Client) {
	f := testFixture(t)
	fake := &fakeWeChat{t: t, prefix: "/sandbox/wechatpay", mchPub: &f.mchKey.PublicKey, key: f.platKey, serial: serial}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL + fake.prefix)
	return fake, &http.Client{Transport: rewrite{target}, Timeout: 10 * time.Second}
}

// TestSDKClientAgainstFake drives the SDK's own client (native payments) against a server built
// from this package, in both verification modes.
func TestSDKClientAgainstFake(t *testing.T) {
	f := testFixture(t)
	ctx := context.Background()
	modes := map[string]struct {
		serial string
		opt    core.ClientOption
	}{
		"public key":  {testPubKeyID, option.WithWechatPayPublicKeyAuthCipher(testMchID, testMchSerial, f.mchKey, testPubKeyID, &f.platKey.PublicKey)},
		"certificate": {testPlatSerial, option.WithWechatPayAuthCipher(testMchID, testMchSerial, f.mchKey, []*x509.Certificate{f.platCert})},
	}
	for mode, m := range modes {
		fake, hc := newFake(t, m.serial)
		client, err := core.NewClient(ctx, m.opt, option.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		svc := native.NativeApiService{Client: client}
		pre, _, err := svc.Prepay(ctx, native.PrepayRequest{
			Appid: core.String("wxd678efh567hg6787"), Mchid: core.String(testMchID),
			Description: core.String("Image形象店-深圳腾大-QQ公仔"), OutTradeNo: core.String("1217752501201407033233368018"),
			NotifyUrl: core.String("https://www.weixin.qq.com/wxpay/pay.php"),
			Amount:    &native.Amount{Total: core.Int64(100), Currency: core.String("CNY")},
		})
		if err != nil {
			t.Fatalf("%s: Prepay: %v (server auth error: %v)", mode, err, fake.authErr)
		}
		if *pre.CodeUrl != "weixin://wxpay/bizpayurl?pr=p4lpSuKzz" {
			t.Fatalf("%s: code_url %q", mode, *pre.CodeUrl)
		}
		tx, _, err := svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{
			OutTradeNo: core.String("1217752501201407033233368018"), Mchid: core.String(testMchID)})
		if err != nil {
			t.Fatalf("%s: query: %v (server auth error: %v)", mode, err, fake.authErr)
		}
		if *tx.TradeState != "SUCCESS" || *tx.Amount.Total != 100 {
			t.Fatalf("%s: transaction %v", mode, tx)
		}
		res, err := svc.CloseOrder(ctx, native.CloseOrderRequest{OutTradeNo: core.String("1217752501201407033233368018"), Mchid: core.String(testMchID)})
		if err != nil {
			t.Fatalf("%s: close: %v (server auth error: %v)", mode, err, fake.authErr)
		}
		if res.Response.StatusCode != http.StatusNoContent {
			t.Fatalf("%s: close status %d", mode, res.Response.StatusCode)
		}
		want := []string{
			// JSON bodies end in "\n" (json.Encoder) and are signed with it; the signed URL is the
			// request-URI without the host or our transport's prefix; Wechatpay-Serial announces
			// the serial the client can verify (the PUB_KEY_ID in public-key mode).
			"POST /v3/pay/transactions/native | " + m.serial + ` | {"amount":{"currency":"CNY","total":100},"appid":"wxd678efh567hg6787","description":"Image形象店-深圳腾大-QQ公仔","mchid":"1900000109","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","out_trade_no":"1217752501201407033233368018"}` + "\n",
			"GET /v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1900000109 | " + m.serial + " | ",
			"POST /v3/pay/transactions/out-trade-no/1217752501201407033233368018/close | " + m.serial + ` | {"mchid":"1900000109"}` + "\n",
		}
		if strings.Join(fake.seen, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: server saw\n%s\nwant\n%s", mode, strings.Join(fake.seen, "\n"), strings.Join(want, "\n"))
		}
		// A response signed with the wrong key is refused by the SDK.
		fake.key = DeriveKey([]byte("impostor"))
		if _, _, err := svc.Prepay(ctx, native.PrepayRequest{Appid: core.String("wx"), Mchid: core.String(testMchID), Description: core.String("d"), OutTradeNo: core.String("o"), NotifyUrl: core.String("https://x"), Amount: &native.Amount{Total: core.Int64(1)}}); err == nil {
			t.Errorf("%s: SDK accepted a response signed by another key", mode)
		}
	}
}

func TestCertificatesBodyThroughSDKDownloader(t *testing.T) {
	f := testFixture(t)
	ctx := context.Background()
	second, err := Certificate(f.platKey, "1FB89742D1F82E7ECFDF0A4B0E2D5E4CF1F5A12B", "Tenpay.com sandbox platform", "walletctl sandbox", f.notBefore.AddDate(1, 0, 0), f.notBefore.AddDate(6, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	list := []PlatformCert{
		{SerialNo: testPlatSerial, EffectiveTime: f.platCert.NotBefore, ExpireTime: f.platCert.NotAfter, PEM: f.platPEM},
		{SerialNo: "1FB89742D1F82E7ECFDF0A4B0E2D5E4CF1F5A12B", EffectiveTime: f.notBefore.AddDate(1, 0, 0), ExpireTime: f.notBefore.AddDate(6, 0, 0), PEM: CertificatePEM(second)},
	}
	body, err := CertificatesBody(list, testAPIv3Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	var shape struct {
		Data []struct {
			SerialNo      string    `json:"serial_no"`
			EffectiveTime time.Time `json:"effective_time"`
			ExpireTime    string    `json:"expire_time"`
			Enc           Resource  `json:"encrypt_certificate"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &shape); err != nil || len(shape.Data) != 2 {
		t.Fatalf("%s: %v", body, err)
	}
	d := shape.Data[0]
	if d.ExpireTime != "2029-01-01T00:00:00+08:00" || !d.EffectiveTime.Equal(f.platCert.NotBefore) ||
		d.Enc.Algorithm != "AEAD_AES_256_GCM" || d.Enc.AssociatedData != "certificate" || len(d.Enc.Nonce) != 12 {
		t.Fatalf("entry %+v", d)
	}
	pt, err := utils.DecryptAES256GCM(testAPIv3Key, d.Enc.AssociatedData, d.Enc.Nonce, d.Enc.Ciphertext)
	if err != nil || pt != string(f.platPEM) {
		t.Fatalf("utils.DecryptAES256GCM: %v", err)
	}

	fake, hc := newFake(t, testPlatSerial)
	fake.certs = body
	client, err := core.NewClient(ctx, option.WithMerchantCredential(testMchID, testMchSerial, f.mchKey), option.WithoutValidator(), option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	dl, err := downloader.NewCertificateDownloaderWithClient(ctx, client, testAPIv3Key)
	if err != nil {
		t.Fatalf("SDK downloader: %v (server auth error: %v)", err, fake.authErr)
	}
	for _, c := range list {
		got, ok := dl.Get(ctx, c.SerialNo)
		if !ok || utils.GetCertificateSerialNumber(*got) != c.SerialNo {
			t.Fatalf("downloader lacks %s", c.SerialNo)
		}
		if pemText, _ := dl.Export(ctx, c.SerialNo); pemText != string(c.PEM) {
			t.Fatalf("downloader exports another PEM for %s", c.SerialNo)
		}
	}
	if newest := dl.GetNewestSerial(ctx); newest != list[1].SerialNo {
		t.Errorf("newest serial %s", newest)
	}
	// After the first download the downloader verifies later downloads with what it got.
	if err := dl.DownloadCertificates(ctx); err != nil {
		t.Fatalf("second download (verified): %v", err)
	}
	if got := fake.seen[len(fake.seen)-1]; got != "GET /v3/certificates | "+list[1].SerialNo+" | " {
		t.Errorf("second download sent %q", got)
	}
	fake.key = DeriveKey([]byte("impostor"))
	if err := dl.DownloadCertificates(ctx); err == nil {
		t.Error("downloader accepted a certificate list signed by another key")
	}
	if _, err := CertificatesBody(list, "short", nil); err == nil {
		t.Error("short APIv3 key accepted")
	}
	if _, err := CertificatesBody(list, testAPIv3Key, func(int) string { return "too-long-nonce" }); err == nil {
		t.Error("bad nonce accepted")
	}
}

func TestAESGCM(t *testing.T) {
	ct, err := EncryptAESGCM(testAPIv3Key, "refund", "0123456789ab", []byte(testTransaction))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := utils.DecryptAES256GCM(testAPIv3Key, "refund", "0123456789ab", ct); err != nil || pt != testTransaction {
		t.Fatalf("SDK decrypt: %q %v", pt, err)
	}
	if pt, err := DecryptAESGCM(testAPIv3Key, "refund", "0123456789ab", ct); err != nil || string(pt) != testTransaction {
		t.Fatalf("decrypt: %v", err)
	}
	for name, args := range map[string][3]string{
		"key":   {strings.Repeat("x", 32), "refund", "0123456789ab"},
		"ad":    {testAPIv3Key, "transaction", "0123456789ab"},
		"nonce": {testAPIv3Key, "refund", "0123456789ac"},
		"short": {testAPIv3Key, "refund", "0123"},
	} {
		if _, err := DecryptAESGCM(args[0], args[1], args[2], ct); err == nil {
			t.Errorf("wrong %s decrypts", name)
		}
	}
	if _, err := EncryptAESGCM("0123456789abcdef", "", "0123456789ab", nil); err == nil {
		t.Error("16-byte key accepted")
	}
	r, err := EncryptResource(testAPIv3Key, "transaction", "transaction", testNotifyNonce, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(r)
	for _, k := range []string{`"algorithm":"AEAD_AES_256_GCM"`, `"ciphertext":"`, `"associated_data":"transaction"`, `"original_type":"transaction"`, `"nonce":"fdasflkja484"`} {
		if !bytes.Contains(j, []byte(k)) {
			t.Errorf("resource JSON %s lacks %s", j, k)
		}
	}
	if pt, err := r.Decrypt(testAPIv3Key); err != nil || string(pt) != "{}" {
		t.Errorf("Resource.Decrypt: %q %v", pt, err)
	}
}

func TestNotificationThroughSDKHandler(t *testing.T) {
	f := testFixture(t)
	ctx := context.Background()
	created := time.Date(2018, 6, 8, 2, 34, 56, 0, time.UTC)
	n, err := NewNotification("EV-2018022511223320873", created, "TRANSACTION.SUCCESS", "支付成功",
		testAPIv3Key, "transaction", testNotifyAD, testNotifyNonce, []byte(testTransaction))
	if err != nil {
		t.Fatal(err)
	}
	if n.CreateTime != "2018-06-08T10:34:56+08:00" || n.ResourceType != "encrypt-resource" {
		t.Fatalf("notification %+v", n)
	}
	body, err := n.Body()
	if err != nil {
		t.Fatal(err)
	}
	verifierFor := map[string]struct {
		v      auth.Verifier
		serial string
	}{
		"certificate": {verifiers.NewSHA256WithRSAVerifier(core.NewCertificateMapWithList([]*x509.Certificate{f.platCert})), testPlatSerial},
		"public key":  {verifiers.NewSHA256WithRSAPubkeyVerifier(testPubKeyID, f.platKey.PublicKey), testPubKeyID},
	}
	request := func(serial string, b []byte, ts int64) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "https://merchant.example/notify", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if err := SignResponse(req.Header, f.platKey, serial, ts, "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", body); err != nil {
			t.Fatal(err)
		}
		return req
	}
	for mode, m := range verifierFor {
		h, err := notify.NewRSANotifyHandler(testAPIv3Key, m.v)
		if err != nil {
			t.Fatal(err)
		}
		var content struct {
			OutTradeNo string `json:"out_trade_no"`
			TradeState string `json:"trade_state"`
			Amount     struct {
				Total int64 `json:"total"`
			} `json:"amount"`
		}
		got, err := h.ParseNotifyRequest(ctx, request(m.serial, body, time.Now().Unix()), &content)
		if err != nil {
			t.Fatalf("%s: SDK rejects our notification: %v", mode, err)
		}
		if got.ID != n.ID || got.EventType != "TRANSACTION.SUCCESS" || got.ResourceType != "encrypt-resource" ||
			got.Summary != "支付成功" || !got.CreateTime.Equal(created) || got.Resource.OriginalType != "transaction" ||
			got.Resource.Plaintext != testTransaction {
			t.Fatalf("%s: parsed %+v", mode, got)
		}
		if content.OutTradeNo != "1217752501201407033233368018" || content.TradeState != "SUCCESS" || content.Amount.Total != 100 {
			t.Fatalf("%s: content %+v", mode, content)
		}
		// Signed over body, but another body is sent.
		tampered := bytes.Replace(body, []byte("EV-"), []byte("EX-"), 1)
		if _, err := h.ParseNotifyRequest(ctx, request(m.serial, tampered, time.Now().Unix()), &content); err == nil {
			t.Errorf("%s: tampered notification accepted", mode)
		}
		// The notify validator has the same real-clock 5-minute window as responses.
		if _, err := h.ParseNotifyRequest(ctx, request(m.serial, body, time.Now().Unix()-600), &content); err == nil {
			t.Errorf("%s: 10-minute-old notification accepted", mode)
		}
		// Wrong APIv3 key: verified but not decryptable.
		h2, _ := notify.NewRSANotifyHandler(strings.Repeat("k", 32), m.v)
		if _, err := h2.ParseNotifyRequest(ctx, request(m.serial, body, time.Now().Unix()), &content); err == nil {
			t.Errorf("%s: decrypted with the wrong APIv3 key", mode)
		}
	}
}
