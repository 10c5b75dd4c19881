package conformance

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/tenant/tenanttest"
	"github.com/walletctl/walletctl/walletctl/wechatpay"
)

// brokenV3 is walletctl serve with one defect of its v3 API bolted on; each must fail exactly
// the v3 check that covers it.
type brokenV3 struct {
	next   http.Handler
	break_ string
	slots  chan struct{} // queue-before-auth: the v3 queue, counted in before anything is checked
}

func (b *brokenV3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v3 := strings.Contains(r.URL.Path, "/v3/")
	if b.break_ == "queue-before-auth" && v3 {
		// issue 18's attack 4: a request counts in the v3 queue before its body is read or its
		// signature checked, so slow unsigned bodies fill it.
		select {
		case b.slots <- struct{}{}:
			defer func() { <-b.slots }()
		default:
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"code":"FREQUENCY_LIMITED","message":"频率超限"}`))
			return
		}
	}
	if b.break_ == "unsigned-accepted" && v3 && r.Header.Get("Authorization") == "" {
		// A server that lets an unsigned request through to the next layer, which then refuses
		// it as a malformed request instead of SIGN_ERROR.
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code":"PARAM_ERROR","message":"bad request"}`))
		return
	}
	bw := &bufferedWriter{h: http.Header{}}
	b.next.ServeHTTP(bw, r)
	body, status := bw.body.Bytes(), bw.status
	if status == 0 {
		status = http.StatusOK
	}
	switch {
	case b.break_ == "answers-unsigned" && strings.HasSuffix(r.URL.Path, "/v3/pay/transactions/native") && status == http.StatusOK:
		bw.h.Del(wechatpay.HeaderSignature)
	case b.break_ == "close-paid-204" && strings.HasSuffix(r.URL.Path, "/close") && status == http.StatusBadRequest:
		status, body = http.StatusNoContent, nil
	case b.break_ == "certificates-other-key" && strings.HasSuffix(r.URL.Path, "/v3/certificates"):
		body = bytes.Replace(body, []byte(`"ciphertext":"`), []byte(`"ciphertext":"AAAA`), 1)
	case b.break_ == "bill-hash" && strings.Contains(r.URL.Path, "/v3/billdownload/"):
		body = append(body, "extra row\n"...)
	}
	for k, v := range bw.h {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	w.Write(body)
}

func TestBrokenV3FailsItsCheck(t *testing.T) {
	cases := map[string]string{
		"unsigned-accepted":      CheckV3Unsigned,
		"answers-unsigned":       CheckV3Native,
		"close-paid-204":         CheckV3ClosePaid,
		"certificates-other-key": CheckV3Certificates,
		"bill-hash":              CheckV3Bill,
		"queue-before-auth":      CheckV3UnauthNoDelay,
	}
	for br, check := range cases {
		t.Run(br, func(t *testing.T) {
			const key = "conformance-test-key-0002"
			srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{})
			ct := srv.Create(t, walletctl.TenantSpec{Name: "partner", Seed: 5, Customers: 3, APIKey: key})
			ts := httptest.NewServer(&brokenV3{next: srv.Handler, break_: br, slots: make(chan struct{}, 16)})
			defer ts.Close()
			cfg := testConfig(ts.URL)
			cfg.APIKey = key
			if br == "bill-hash" {
				cfg.TenantID = ct.ID // and the other cases ask GET /v1/tenant
			}
			rep := RunWallet(context.Background(), cfg)
			if got := rep.Names(Fail); !slices.Equal(got, []string{check}) || len(rep.Names(NA)) > 0 {
				var b strings.Builder
				rep.WriteTable(&b, false)
				t.Errorf("%s: failed %v, want [%s]\n%s", br, got, check, b.String())
			}
		})
	}
}
