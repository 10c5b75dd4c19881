package cli_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankmock"
	bankserver "github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/postgres"
	"github.com/walletctl/walletctl/walletctl/postgres/pgtest"
)

// Two real `walletctl serve --store postgres://…` processes, each with its own --data, serve one
// tenant (the same --tenant-key) over one bankmock server: top-ups sent to both at once, some
// under one Idempotency-Key, move the money once each and leave a balanced ledger in the
// tenant's schema. Without --tenant-bank such a server refuses to start.
func TestServePostgresTwoProcesses(t *testing.T) {
	base := pgtest.DSN(t)
	ctx := context.Background()
	sp := fmt.Sprintf("e2e_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	dsn := base + "&search_path=" + sp
	const key = "e2e-shared-tenant-0001"

	if r := exeEnv(t, nil, "", "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--store", dsn, "--tenant-key", key); r.code != 2 ||
		!strings.Contains(r.errOut, "bank_url") {
		t.Fatalf("serve --store without --tenant-bank: %v", r)
	}

	clock := vclock.NewManual(vclock.DefaultEpoch)
	bank := bankmock.New(bankmock.Config{Seed: 3, Customers: 4, Clock: clock, Sleep: bankmock.InstantSleep})
	bs := httptest.NewServer(bankserver.New(bank, bankserver.Options{}))
	defer bs.Close()
	// Both servers serve one tenant, so they are one partner of the bank: the key is issued once.
	partner, err := bank.CreatePartner(ctx, "shared tenant")
	if err != nil {
		t.Fatal(err)
	}

	st, err := postgres.OpenWith(ctx, dsn, postgres.Options{Schema: sp + "_tenant_t1"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		st.DropSchema(dctx)
		st.Close()
	}()
	env := []string{"WALLETCTL_SANDBOX_THROWAWAY=1"}
	var procs []*servedProcess
	var cs []*httpapi.Client
	for range 2 {
		p := startServe(t, env, "--data", t.TempDir(), "--store", dsn, "--tenant-key", key, "--tenant-bank", bs.URL, "--tenant-bank-key", partner.Key)
		procs = append(procs, p)
		cs = append(cs, httpapi.NewClient(p.url, key, httpapi.ClientOptions{}))
	}

	ok := bankmock.TestCards[0].Customer
	u, err := cs[0].Register(ctx, ok.Phone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs[1].SubmitKYC(ctx, u.ID, ok.Name, ok.IDNo); err != nil {
		t.Fatal(err)
	}
	cb, err := cs[0].BindCard(ctx, u.ID, ok.CardNo, ok.Phone)
	if err != nil {
		t.Fatal(err)
	}
	otp, err := bank.LastOTP(ctx, ok.Phone)
	if err != nil {
		t.Fatal(err)
	}
	card, err := cs[1].ConfirmCard(ctx, u.ID, cb.BindingID, otp)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs[0].SetPassword(ctx, u.ID, "135790"); err != nil {
		t.Fatal(err)
	}

	// 12 top-ups of 1 yuan, each sent to both servers at once; the even ones under one key (one
	// movement), the odd ones without (two movements).
	var wg sync.WaitGroup
	for i := range 12 {
		for _, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cctx := ctx
				if i%2 == 0 {
					cctx = walletctl.WithIdempotencyKey(ctx, fmt.Sprintf("e2e-%d", i))
				}
				if _, err := c.TopUp(cctx, u.ID, card.ID, 1_00, "135790"); err != nil &&
					!(i%2 == 0 && (walletctl.ErrorCode(err) == walletctl.CodeConflict || walletctl.ErrorCode(err) == walletctl.CodePending)) {
					t.Errorf("top-up %d: %v", i, err)
				}
			}()
		}
	}
	wg.Wait()
	day := vclock.Day(vclock.DefaultEpoch)
	rep, err := cs[1].Reconcile(ctx, day)
	if err != nil || len(rep.Mismatches) > 0 || rep.StillPending > 0 {
		t.Fatalf("reconcile: %+v, %v", rep, err)
	}
	bal, err := cs[1].Balance(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(6*1_00 + 6*2*1_00); bal.Available != want {
		t.Errorf("balance %d fen; want %d (6 keyed top-ups once, 6 unkeyed twice)", bal.Available, want)
	}
	st.View(ctx, func(tx walletctl.StoreTx) error {
		lr, err := tx.LedgerCheck()
		if err != nil || lr.Sum != 0 || len(lr.UnbalancedTxns)+len(lr.DriftedAccounts)+len(lr.NegativeAccounts) > 0 {
			t.Errorf("ledger: %+v, %v", lr, err)
		}
		return nil
	})
	for i, p := range procs {
		if code := p.stop(t); code != 0 {
			t.Errorf("server %d exit %d; stderr:\n%s", i, code, p.stderr)
		}
	}
}
