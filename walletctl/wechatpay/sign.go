package wechatpay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Schema is the authorization scheme of the Authorization header and the value of
// Wechatpay-Signature-Type: SHA256withRSA (PKCS#1 v1.5) with a 2048-bit key.
const Schema = "WECHATPAY2-SHA256-RSA2048"

// Headers WeChat Pay puts on responses and notifications (the SDK's consts.WechatPay*). Clients
// also send HeaderSerial on requests: the serial (or PUB_KEY_ID) they can verify.
const (
	HeaderSerial        = "Wechatpay-Serial"
	HeaderSignature     = "Wechatpay-Signature"
	HeaderTimestamp     = "Wechatpay-Timestamp"
	HeaderNonce         = "Wechatpay-Nonce"
	HeaderSignatureType = "Wechatpay-Signature-Type"
)

// RequestMessage is the string a merchant signs for a request: "METHOD\nURL\nTS\nNONCE\nBODY\n".
// url is the request-URI as sent: the escaped path plus "?query" if any, no scheme or host (the
// SDK signs http.Request.URL.RequestURI()). body is the exact bytes sent, empty for GET; note
// that the SDK JSON-encodes bodies with json.Encoder, so they end in "\n".
func RequestMessage(method, url string, ts int64, nonce string, body []byte) string {
	return method + "\n" + url + "\n" + strconv.FormatInt(ts, 10) + "\n" + nonce + "\n" + string(body) + "\n"
}

// ResponseMessage is the string WeChat Pay signs for a response or notification:
// "TS\nNONCE\nBODY\n".
func ResponseMessage(ts int64, nonce string, body []byte) string {
	return strconv.FormatInt(ts, 10) + "\n" + nonce + "\n" + string(body) + "\n"
}

// Sign returns the base64 (standard, padded) SHA256withRSA PKCS#1 v1.5 signature of message.
func Sign(key *rsa.PrivateKey, message string) (string, error) {
	if key == nil {
		return "", errors.New("wechatpay: Sign: nil key")
	}
	h := sha256.Sum256([]byte(message))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
	if err != nil {
		return "", fmt.Errorf("wechatpay: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifySignature checks a base64 SHA256withRSA signature of message.
func VerifySignature(pub *rsa.PublicKey, message, sigB64 string) error {
	if pub == nil {
		return errors.New("wechatpay: verify: nil public key")
	}
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return fmt.Errorf("wechatpay: signature is not base64: %w", err)
	}
	h := sha256.Sum256([]byte(message))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		return errors.New("wechatpay: signature does not match")
	}
	return nil
}

// Auth is the content of a request's Authorization header.
type Auth struct {
	MchID     string // mchid
	NonceStr  string // nonce_str
	Timestamp int64  // timestamp, Unix seconds
	SerialNo  string // serial_no: the merchant certificate's serial
	Signature string // signature, base64
}

// Message is the string the Authorization's signature must cover for this request.
func (a Auth) Message(method, url string, body []byte) string {
	return RequestMessage(method, url, a.Timestamp, a.NonceStr, body)
}

// BuildAuthorization renders a exactly as the SDK does (consts.HeaderAuthorizationFormat):
// `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"`.
func BuildAuthorization(a Auth) string {
	return fmt.Sprintf(`%s mchid="%s",nonce_str="%s",timestamp="%d",serial_no="%s",signature="%s"`,
		Schema, a.MchID, a.NonceStr, a.Timestamp, a.SerialNo, a.Signature)
}

// ParseAuthorization parses an Authorization header as the SDK sends it. The parameters may come
// in any order, separated by commas (spaces around them are allowed), their values in double
// quotes; all five are required, each at most once; unknown parameters are ignored. Errors say
// what is missing or malformed.
func ParseAuthorization(h string) (Auth, error) {
	var a Auth
	h = strings.TrimSpace(h)
	if h == "" {
		return a, errors.New("wechatpay: missing Authorization header")
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if scheme != Schema {
		return a, fmt.Errorf("wechatpay: Authorization scheme %q, want %q", scheme, Schema)
	}
	seen := map[string]string{}
	rest = strings.TrimSpace(rest)
	for rest != "" {
		name, after, ok := strings.Cut(rest, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, `", `) {
			return a, fmt.Errorf("wechatpay: malformed Authorization parameters near %q", rest)
		}
		after = strings.TrimLeft(after, " ")
		var value string
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				return a, fmt.Errorf("wechatpay: Authorization parameter %s has an unterminated quoted value", name)
			}
			value, after = after[1:1+end], after[2+end:]
		} else {
			end := strings.IndexByte(after, ',')
			if end < 0 {
				end = len(after)
			}
			value, after = strings.TrimSpace(after[:end]), after[end:]
		}
		if _, dup := seen[name]; dup {
			return a, fmt.Errorf("wechatpay: Authorization parameter %s appears twice", name)
		}
		seen[name] = value
		after = strings.TrimSpace(after)
		if after != "" {
			if after[0] != ',' {
				return a, fmt.Errorf("wechatpay: Authorization parameters must be separated by commas, near %q", after)
			}
			after = strings.TrimSpace(after[1:])
		}
		rest = after
	}
	var missing []string
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if seen[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return a, fmt.Errorf("wechatpay: Authorization lacks %s", strings.Join(missing, ", "))
	}
	ts, err := strconv.ParseInt(seen["timestamp"], 10, 64)
	if err != nil || ts <= 0 {
		return a, fmt.Errorf("wechatpay: Authorization timestamp %q is not Unix seconds", seen["timestamp"])
	}
	return Auth{
		MchID:     seen["mchid"],
		NonceStr:  seen["nonce_str"],
		Timestamp: ts,
		SerialNo:  seen["serial_no"],
		Signature: seen["signature"],
	}, nil
}

// SignResponse signs body as WeChat Pay signs a response or a notification and sets
// Wechatpay-Serial (serial: the platform certificate serial, or the PUB_KEY_ID in public-key
// mode — it must be what the client's verifier knows), Wechatpay-Timestamp, Wechatpay-Nonce,
// Wechatpay-Signature and Wechatpay-Signature-Type on h.
//
// The SDK rejects responses and notifications whose timestamp differs from its own time.Now()
// by 300 s or more, so ts should be the real wall-clock time, not a sandbox's virtual clock.
func SignResponse(h http.Header, key *rsa.PrivateKey, serial string, ts int64, nonce string, body []byte) error {
	if serial == "" || nonce == "" {
		return errors.New("wechatpay: SignResponse needs a serial and a nonce")
	}
	sig, err := Sign(key, ResponseMessage(ts, nonce, body))
	if err != nil {
		return err
	}
	setSignature(h, serial, ts, nonce, sig)
	return nil
}

// ResponseHash is the SHA-256 of a response's signed message ("TS\nNONCE\nBODY\n") taken as the
// body is written to it, for a body too big to hold: SignResponseHash then signs it. Len is the
// body's length so far.
type ResponseHash struct {
	ts    int64
	nonce string
	h     hash.Hash
	n     int64
}

// NewResponseHash starts the hash of a response signed at ts with nonce.
func NewResponseHash(ts int64, nonce string) *ResponseHash {
	r := &ResponseHash{ts: ts, nonce: nonce, h: sha256.New()}
	io.WriteString(r.h, strconv.FormatInt(ts, 10)+"\n"+nonce+"\n")
	return r
}

func (r *ResponseHash) Write(p []byte) (int, error) {
	r.n += int64(len(p))
	return r.h.Write(p)
}

// Len is how many bytes of body were written.
func (r *ResponseHash) Len() int64 { return r.n }

// SignResponseHash is SignResponse of the body written to r (which it ends: write no more).
func SignResponseHash(h http.Header, key *rsa.PrivateKey, serial string, r *ResponseHash) error {
	if serial == "" || r.nonce == "" {
		return errors.New("wechatpay: SignResponseHash needs a serial and a nonce")
	}
	if key == nil {
		return errors.New("wechatpay: SignResponseHash: nil key")
	}
	r.h.Write([]byte("\n"))
	raw, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, r.h.Sum(nil))
	if err != nil {
		return fmt.Errorf("wechatpay: sign: %w", err)
	}
	setSignature(h, serial, r.ts, r.nonce, base64.StdEncoding.EncodeToString(raw))
	return nil
}

func setSignature(h http.Header, serial string, ts int64, nonce, sig string) {
	h.Set(HeaderSerial, serial)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderNonce, nonce)
	h.Set(HeaderSignature, sig)
	h.Set(HeaderSignatureType, Schema)
}

// VerifyResponse checks the Wechatpay-* signature headers of a response or notification against
// pub. It does not look at the clock (callers decide on skew) nor choose the key by
// Wechatpay-Serial (callers do, and should check it).
func VerifyResponse(h http.Header, body []byte, pub *rsa.PublicKey) error {
	get := func(k string) string { return strings.TrimSpace(h.Get(k)) }
	var missing []string
	for _, k := range []string{HeaderSerial, HeaderSignature, HeaderTimestamp, HeaderNonce} {
		if get(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("wechatpay: response lacks %s", strings.Join(missing, ", "))
	}
	if t := get(HeaderSignatureType); t != "" && t != Schema {
		return fmt.Errorf("wechatpay: unsupported %s %q", HeaderSignatureType, t)
	}
	ts, err := strconv.ParseInt(get(HeaderTimestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("wechatpay: %s %q is not Unix seconds", HeaderTimestamp, get(HeaderTimestamp))
	}
	return VerifySignature(pub, ResponseMessage(ts, get(HeaderNonce), body), get(HeaderSignature))
}

// Nonce is a random nonce of 2n upper-case hex digits (nonce_str, Wechatpay-Nonce).
func Nonce(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail
	}
	return strings.ToUpper(hex.EncodeToString(b))
}
