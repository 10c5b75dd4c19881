package conformance_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/conformance"
	"github.com/walletctl/walletctl/walletctl/notify/receiver"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// fakeWallet is a MerchantBackend with one v3 merchant and a platform identity made for the test.
type fakeWallet struct {
	creds    walletctl.MerchantCredentials
	platform walletctl.Platform
	pubMode  bool
}

var fakeOnce = sync.OnceValue(func() *fakeWallet {
	pk := wechatpay.DeriveKey([]byte("conformance test platform"))
	const serial = "5A1B2C3D4E5F60718293A4B5C6D7E8F901234567"
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	der, err := wechatpay.Certificate(pk, serial, "walletctl test platform", "walletctl", nb, nb.AddDate(10, 0, 0))
	if err != nil {
		panic(err)
	}
	mk := wechatpay.DeriveKey([]byte("conformance test merchant"))
	p := walletctl.Platform{Serial: serial, PublicKeyID: "PUB_KEY_ID_0100000000000000000000000000000001",
		PrivateKey: string(wechatpay.PrivateKeyPEM(pk)), Cert: string(wechatpay.CertificatePEM(der)), PublicKey: string(wechatpay.PublicKeyPEM(&pk.PublicKey))}
	return &fakeWallet{platform: p, creds: walletctl.MerchantCredentials{MchID: "1900000001", AppID: "wx0123456789abcdef",
		CertSerial: "5F00000000000000000000000000000000000001", PrivateKey: string(wechatpay.PrivateKeyPEM(mk)),
		APIv3Key: "ABCDEFGHJKLMNPQRSTUVWXYZabcdefgh", PlatformSerial: p.Serial, PlatformCert: p.Cert,
		PlatformPublicKey: p.PublicKey, PublicKeyID: p.PublicKeyID}}
})

func newFakeWallet(pubMode bool) *fakeWallet {
	f := *fakeOnce()
	f.pubMode = pubMode
	return &f
}

func (f *fakeWallet) Merchants(_ context.Context, p walletctl.Page) (*walletctl.List[walletctl.Merchant], error) {
	ms := []walletctl.Merchant{{ID: "m-cinema", Name: "Cinema"}, {ID: f.creds.MchID, AppID: f.creds.AppID, CertSerial: f.creds.CertSerial, PublicKeyMode: f.pubMode}}
	return walletctl.PageSlice(ms, p, func(m walletctl.Merchant) string { return m.ID }, "a merchant")
}
func (f *fakeWallet) Merchant(_ context.Context, id string) (*walletctl.MerchantInfo, error) {
	if id != f.creds.MchID {
		return nil, walletctl.Errorf(walletctl.CodeNotFound, "no merchant %s", id)
	}
	return &walletctl.MerchantInfo{Merchant: walletctl.Merchant{ID: id, PublicKeyMode: f.pubMode}}, nil
}
func (f *fakeWallet) MerchantCredentials(_ context.Context, id string) (*walletctl.MerchantCredentials, error) {
	c := f.creds
	return &c, nil
}
func (f *fakeWallet) Platform(context.Context) (*walletctl.Platform, error) {
	p := f.platform
	return &p, nil
}

func (f *fakeWallet) keys(t *testing.T) *receiver.Keys {
	c, err := utils.LoadCertificate(f.creds.PlatformCert)
	if err != nil {
		t.Fatal(err)
	}
	return &receiver.Keys{MchID: f.creds.MchID, APIv3Key: f.creds.APIv3Key, PublicKeyID: f.creds.PublicKeyID, Cert: c, PublicKeyPEM: f.creds.PlatformPublicKey}
}

// carelessParser decrypts the resource without verifying anything: no signature, no timestamp,
// no serial. It is what the SDKs' trackers show going wrong.
func carelessParser(apiV3Key string) receiver.Parser {
	return func(r *http.Request) (*receiver.Event, error) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		var n wechatpay.Notification
		if err := json.Unmarshal(body, &n); err != nil {
			return nil, err
		}
		plain, err := n.Resource.Decrypt(apiV3Key)
		if err != nil {
			return nil, err
		}
		return &receiver.Event{ID: n.ID, EventType: n.EventType, Plaintext: plain}, nil
	}
}

func runMerchant(t *testing.T, f *fakeWallet, h http.Handler, cfg conformance.MerchantConfig) *conformance.Report {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	cfg.NotifyURL = ts.URL + "/notify"
	if cfg.RunID == "" {
		cfg.RunID = "t1"
	}
	rep, err := conformance.RunMerchant(context.Background(), f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, conformance.MerchantChecks) {
		t.Errorf("checks run %v\nwant %v", names, conformance.MerchantChecks)
	}
	return rep
}

func table(rep *conformance.Report) string {
	var b strings.Builder
	rep.WriteTable(&b, false)
	return b.String()
}

// The reference receiver (examples/notify-receiver, the SDK's notify handler) passes every check,
// in certificate mode and in public-key mode.
func TestMerchantReferenceReceiverPasses(t *testing.T) {
	for _, pub := range []bool{false, true} {
		f := newFakeWallet(pub)
		rc, err := receiver.New(f.keys(t))
		if err != nil {
			t.Fatal(err)
		}
		rep := runMerchant(t, f, rc, conformance.MerchantConfig{})
		if !rep.OK() || len(rep.Names(conformance.Pass)) != len(conformance.MerchantChecks) {
			t.Errorf("public-key mode %v:\n%s", pub, table(rep))
		}
		// Handled once each: the valid payment (its duplicate not again), the out-of-order pair
		// in the right order; nothing spoiled.
		want := []string{"TRANSACTION.SUCCESS t1-valid", "TRANSACTION.SUCCESS t1-ooo", "REFUND.SUCCESS t1-ooo"}
		if got := rc.Handled(); !slices.Equal(got, want) {
			t.Errorf("public-key mode %v: the receiver handled %q\nwant %q", pub, got, want)
		}
	}
}

// A careless receiver decrypts without verifying: it fails exactly the four checks of what it
// skips, and passes the others.
func TestMerchantCarelessReceiverFailsExactly(t *testing.T) {
	f := newFakeWallet(false)
	rep := runMerchant(t, f, receiver.NewWithParser(carelessParser(f.creds.APIv3Key)), conformance.MerchantConfig{})
	want := []string{conformance.CheckMBadSignature, conformance.CheckMStaleTimestamp, conformance.CheckMWrongSerial, conformance.CheckMSignatureProbe}
	t.Log("\n" + table(rep))
	if got := rep.Names(conformance.Fail); !slices.Equal(got, want) || len(rep.Names(conformance.NA)) > 0 || rep.OK() {
		t.Errorf("failed %v\nwant   %v\n%s", got, want, table(rep))
	}
}

// rewriteStatus answers what next answers, except that status from becomes to.
type rewriteStatus struct {
	next     http.Handler
	from, to int
	delay    time.Duration
}

type statusWriter struct {
	http.ResponseWriter
	from, to int
}

func (w *statusWriter) WriteHeader(s int) {
	if s == w.from {
		s = w.to
	}
	w.ResponseWriter.WriteHeader(s)
}

func (rs rewriteStatus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(rs.delay)
	rs.next.ServeHTTP(&statusWriter{ResponseWriter: w, from: rs.from, to: rs.to}, r)
}

// A receiver that crashes (500) on a refund whose payment it has not seen fails exactly
// refund-before-payment; one that answers too slowly fails answers-in-time.
func TestMerchantFaultyReceivers(t *testing.T) {
	f := newFakeWallet(false)
	rc, err := receiver.New(f.keys(t))
	if err != nil {
		t.Fatal(err)
	}
	rep := runMerchant(t, f, rewriteStatus{next: rc, from: http.StatusConflict, to: http.StatusInternalServerError}, conformance.MerchantConfig{})
	if got := rep.Names(conformance.Fail); !slices.Equal(got, []string{conformance.CheckMRefundBeforePayment}) {
		t.Errorf("500 on an early refund: failed %v\n%s", got, table(rep))
	}

	rc, _ = receiver.New(f.keys(t))
	rep = runMerchant(t, f, rewriteStatus{next: rc, delay: 300 * time.Millisecond}, conformance.MerchantConfig{Deadline: 200 * time.Millisecond, RunID: "slow"})
	if c, _ := rep.Get(conformance.CheckMAnswersInTime); c.Status != conformance.Fail || !strings.Contains(c.Detail, "no answer within 200ms") {
		t.Errorf("a slow receiver:\n%s", table(rep))
	}
}
