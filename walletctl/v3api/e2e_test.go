package v3api_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/tenant"
	"github.com/walletctl/walletctl/walletctl/tenant/tenanttest"
)

// TestSDKServe is the "done means": the official SDK (v0.2.21, unpatched), configured
// with a sandbox merchant's credentials and an http.Client whose transport sends
// https://api.mch.weixin.qq.com to a tenant of walletctl serve on loopback, runs Native prepay,
// the user pays (through the wallet API), query (the SDK verifies the answer's signature),
// partial refund, refund query, close of a second order and the trade bill download with its
// hash, in the platform-certificate mode and in the public-key mode. In the certificate mode the
// user pays as a person would, with the built CLI (walletctl --backend URL --as U scan CODE_URL
// --password-stdin); in the public-key mode through the wallet API (ScanOrder, PayOrder).
func TestSDKServe(t *testing.T) {
	ctx := context.Background()
	srv := tenanttest.Start(t, httpapi.Options{}, tenant.Options{KeepOpen: true})
	ct := srv.Create(t, walletctl.TenantSpec{Seed: 3, Customers: 4})
	svc := httpapi.NewClient(srv.URL, ct.APIKey, httpapi.ClientOptions{})

	// A payer with money: registered, verified, a card bound (the bank's OTP), a password, a top-up.
	c := bankmock.TestCards[0].Customer
	u, err := svc.Register(ctx, c.Phone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SubmitKYC(ctx, u.ID, c.Name, c.IDNo); err != nil {
		t.Fatal(err)
	}
	cb, err := svc.BindCard(ctx, u.ID, c.CardNo, c.Phone)
	if err != nil {
		t.Fatal(err)
	}
	otp, err := svc.Bank(5*time.Second).LastOTP(ctx, c.Phone)
	if err != nil {
		t.Fatal(err)
	}
	card, err := svc.ConfirmCard(ctx, u.ID, cb.BindingID, otp)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetPassword(ctx, u.ID, "135790"); err != nil {
		t.Fatal(err)
	}
	if txn, err := svc.TopUp(ctx, u.ID, card.ID, 10000, "135790"); err != nil || txn.Status != walletctl.TxnSucceeded {
		t.Fatalf("top-up: %+v %v", txn, err)
	}

	m, err := svc.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "腾大QQ公仔店"})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := svc.MerchantCredentials(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	base := srv.URL + "/tenants/" + ct.ID
	for _, mode := range []string{"cert", "pubkey"} {
		t.Run(mode, func(t *testing.T) {
			client := sdkClient(t, mode, base, creds)
			sdkFlow(t, client, creds, mode, func(codeURL string) {
				if mode == "cert" {
					bin := filepath.Join(t.TempDir(), "walletctl")
					if out, err := exec.Command("go", "build", "-o", bin, "github.com/walletctl/walletctl/cmd/walletctl").CombinedOutput(); err != nil {
						t.Fatalf("go build: %v\n%s", err, out)
					}
					cmd := exec.Command(bin, "--home", t.TempDir(), "--backend", srv.URL, "--api-key", ct.APIKey, "--as", u.ID,
						"scan", codeURL, "--password-stdin")
					cmd.Stdin = strings.NewReader("135790\n")
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("walletctl scan: %v\n%s", err, out)
					}
					return
				}
				seen, err := svc.ScanOrder(ctx, u.ID, codeURL)
				if err != nil {
					t.Fatalf("scan: %v", err)
				}
				if seen.Amount != 1000 || seen.MchID != creds.MchID {
					t.Fatalf("the payer sees %+v", seen)
				}
				o, err := svc.PayOrder(ctx, walletctl.PayOrderRequest{UserID: u.ID, Ref: codeURL, Password: "135790"})
				if err != nil || o.TradeState != walletctl.StateSuccess {
					t.Fatalf("pay: %+v %v", o, err)
				}
			})
		})
	}
}
