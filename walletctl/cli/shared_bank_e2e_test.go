package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
)

// TestSharedBankEndToEnd is the shared-bank test with real processes on loopback: ONE
// `bankmock serve`, three homes (walletctl --bank URL) and two tenants of one `walletctl serve`
// (bank_url = the same bank), all at once. Each runs the README's walk-through with the same test
// card and the same wallet ids (u1, c1, t1..., so the same idempotency keys wlt-t1...), then a
// refuse-amount top-up (the connection closed, the bank never processed it) that ends pending,
// then reconcile. Every reconcile must settle only its own txn (failed: the bank never processed
// it), the bank must hold one debit per wallet, each wallet's journal must be its own, and
// nothing may say INTERNAL.
func TestSharedBankEndToEnd(t *testing.T) {
	t.Parallel() // its own bank, server and homes; mostly waiting on its processes
	bank := startServer(t, bankmockBinary(t), []string{"BANKMOCK_ADMIN_TOKEN=" + e2eBankToken}, "serve", "--addr", "127.0.0.1:0", "--seed", "7", "--customers", "20")
	srv := startServe(t, []string{"WALLETCTL_ADMIN_TOKEN=e2e-wallet-admin", "WALLETCTL_BANK_TOKEN=" + e2eBankToken}, "--data", t.TempDir())
	card := testCard(t, "ok")
	startBalance := bankCustomer(t, bank.url, card.CardNo).Balance

	type wallet struct {
		name string
		env  []string
	}
	var wallets []wallet
	for i := 1; i <= 3; i++ {
		home := t.TempDir()
		env := []string{"WALLETCTL_HOME=" + home, "WALLETCTL_BANK=" + bank.url, "WALLETCTL_BANK_TOKEN=" + e2eBankToken}
		if r := exeEnv(t, env, "", "sandbox", "init", "--seed", "7", "--customers", "20"); r.code != 0 {
			t.Fatalf("home %d: sandbox init: %s", i, r)
		}
		wallets = append(wallets, wallet{fmt.Sprintf("home%d", i), env})
	}
	for i := 1; i <= 2; i++ {
		key := fmt.Sprintf("shared-bank-tenant-key-%d", i)
		createSharedBankTenant(t, srv, fmt.Sprintf("tenant%d", i), bank.url, key)
		wallets = append(wallets, wallet{fmt.Sprintf("tenant%d", i), []string{"WALLETCTL_BACKEND=" + srv.url, "WALLETCTL_API_KEY=" + key}})
	}

	var mu sync.Mutex
	var outputs []string
	t.Run("wallets", func(t *testing.T) {
		for i, w := range wallets {
			t.Run(w.name, func(t *testing.T) {
				t.Parallel()
				run := func(stdin string, want int, args ...string) string {
					t.Helper()
					r := exeEnv(t, w.env, stdin, args...)
					mu.Lock()
					outputs = append(outputs, r.out, r.errOut)
					mu.Unlock()
					if r.code != want {
						t.Fatalf("walletctl %s: want exit %d, got %s", strings.Join(args, " "), want, r)
					}
					return strings.TrimSpace(r.out)
				}
				u := run("", 0, "user", "register", "--phone", fmt.Sprintf("139000000%02d", i+1))
				run("", 0, "--as", u, "kyc", "submit", "--name", card.Name, "--id", card.IDNo)
				var b struct {
					BindingID string `json:"binding_id"`
				}
				json.Unmarshal([]byte(run("", 0, "-o", "json", "--as", u, "card", "bind", "--card", card.CardNo, "--phone", card.Phone)), &b)
				otp := run("", 0, "bank", "otp", "--phone", card.Phone)
				var c struct {
					ID string `json:"id"`
				}
				json.Unmarshal([]byte(run("", 0, "-o", "json", "--as", u, "card", "confirm", "--binding", b.BindingID, "--otp", otp)), &c)
				run("258147\n", 0, "--as", u, "password", "set", "--password-stdin")
				run("258147\n", 0, "--as", u, "topup", "--card", c.ID, "--amount", "200", "--password-stdin")
				run("258147\n", 0, "--as", u, "pay", "--merchant", "m-cinema", "--amount", "66.50", "--password-stdin")
				// 444.44 is the refuse magic amount: an unknown outcome at once, nothing processed
				// (the hang amount gives the same after the client's timeout, in real time).
				run("258147\n", 10, "--as", u, "topup", "--card", c.ID, "--amount", "444.44", "--password-stdin")
				var rep struct {
					Checked, Settled, Failed, StillPending, Matched int
					Mismatches                                      []string
					LedgerSum                                       int64 `json:"ledger_sum"`
				}
				json.Unmarshal([]byte(run("", 0, "-o", "json", "reconcile")), &rep)
				if rep.Checked != 1 || rep.Failed != 1 || rep.Settled != 0 || rep.StillPending != 0 || rep.Matched != 1 ||
					len(rep.Mismatches) != 0 || rep.LedgerSum != 0 {
					t.Errorf("reconcile: %+v", rep)
				}
				var bal struct{ Available, Pending int64 }
				json.Unmarshal([]byte(run("", 0, "-o", "json", "--as", u, "balance")), &bal)
				if bal.Available != 13350 || bal.Pending != 0 {
					t.Errorf("balance %+v, want 133.50 available", bal)
				}
				var j []bankapi.JournalEntry
				json.Unmarshal([]byte(run("", 0, "-o", "json", "bank", "journal")), &j)
				debits := 0
				for _, e := range j {
					if e.Partner != j[0].Partner || e.Partner == "" || e.Partner == bankapi.DefaultPartner {
						t.Fatalf("the journal shows another caller's entry: %+v", e)
					}
					if e.Op == bankapi.OpDebit && e.Outcome == "ok" {
						debits++
					}
				}
				if debits != 1 {
					t.Errorf("%d debits in the wallet's journal, want 1", debits)
				}
			})
		}
	})

	// The bank's view: one partner per wallet, each with exactly one debit of 200.00 processed.
	all, err := bankapi.AllJournal(context.Background(), client.New(bank.url, client.Options{AdminToken: e2eBankToken})) // every page
	if err != nil {
		t.Fatal(err)
	}
	perPartner := map[string]int64{}
	for _, e := range all {
		if e.Op == bankapi.OpDebit && e.Outcome == "ok" {
			perPartner[e.Partner] += e.Amount
		}
	}
	if len(perPartner) != len(wallets) {
		t.Errorf("debits by partner %v, want %d partners", perPartner, len(wallets))
	}
	for p, sum := range perPartner {
		if sum != 20000 {
			t.Errorf("partner %s debited %d fen, want 20000", p, sum)
		}
	}
	if got := bankCustomer(t, bank.url, card.CardNo).Balance; got != startBalance-int64(len(wallets))*20000 {
		t.Errorf("the card's balance is %d, want %d", got, startBalance-int64(len(wallets))*20000)
	}
	for _, o := range outputs {
		if strings.Contains(o, "INTERNAL") || strings.Contains(o, "bug in walletctl") {
			t.Fatalf("an output says INTERNAL:\n%s", o)
		}
	}
	t.Logf("%d wallets on one bank: %d journal entries, %d partners with one debit each", len(wallets), len(all), len(perPartner))
}

// e2eBankToken is the admin token of the bankmock servers these tests start.
const e2eBankToken = "e2e-bank-admin"

func bankCustomer(t *testing.T, bankURL, cardNo string) bankapi.Customer {
	t.Helper()
	req, _ := http.NewRequest("GET", bankURL+"/admin/customers/"+cardNo, nil)
	req.Header.Set("Authorization", "Bearer "+e2eBankToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c bankapi.Customer
	var buf bytes.Buffer
	io.Copy(&buf, resp.Body)
	if err := json.Unmarshal(buf.Bytes(), &c); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/customers: %d %s", resp.StatusCode, buf.String())
	}
	return c
}

// TestFlowOpenWalletOnSharedBankTenant: a tenant of walletctl serve whose bank is a shared
// bankmock server is that bank's partner; partners read the bank's test customers (as everyone
// reads Stripe's test cards), so `flow open-wallet --backend` opens a wallet there as it does on a
// private bank, and `bank customers` lists them.
func TestFlowOpenWalletOnSharedBankTenant(t *testing.T) {
	t.Parallel()
	bank := startServer(t, bankmockBinary(t), []string{"BANKMOCK_ADMIN_TOKEN=" + e2eBankToken}, "serve", "--addr", "127.0.0.1:0", "--seed", "7", "--customers", "20")
	srv := startServe(t, []string{"WALLETCTL_ADMIN_TOKEN=e2e-wallet-admin", "WALLETCTL_BANK_TOKEN=" + e2eBankToken}, "--data", t.TempDir())
	const key = "shared-bank-flow-tenant-key"
	createSharedBankTenant(t, srv, "flow", bank.url, key)
	env := []string{"WALLETCTL_BACKEND=" + srv.url, "WALLETCTL_API_KEY=" + key}
	if r := exeEnv(t, env, "258036\n", "flow", "open-wallet", "--password-stdin"); r.code != 0 || !strings.Contains(r.out, "3.6") {
		t.Fatalf("flow open-wallet on a shared-bank tenant: %s", r)
	}
	if r := exeEnv(t, env, "", "-o", "json", "bank", "customers", "--limit", "3"); r.code != 0 || !strings.Contains(r.out, "card_no") {
		t.Fatalf("bank customers on a shared-bank tenant: %s", r)
	}
}

// createSharedBankTenant makes a tenant of srv (admin token e2e-wallet-admin) with API key key,
// whose bank is the bankmock server at bankURL (seed 7, 20 customers).
func createSharedBankTenant(t *testing.T, srv *servedProcess, name, bankURL, key string) {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"seed":7,"customers":20,"bank_url":%q,"api_key":%q}`, name, bankURL, key)
	req, _ := http.NewRequest("POST", srv.url+"/admin/tenants", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer e2e-wallet-admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create tenant %s: %d %s", name, resp.StatusCode, b)
	}
}
