package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
)

const pw = "258036" // a payment password that is neither weak nor any fixture's birth date

// flow open-wallet: TestOpenWallet (walletctl/fixtures, a real world), TestFlowOpenWallet*
// (bank_test.go, what the command prints) and the flow-open-wallet golden in every transport.

// walletctlSandboxPassword reads the documented default from the flow's help text, so the test
// does not hard-code what the help promises.
func walletctlSandboxPassword(t *testing.T, w *world) string {
	t.Helper()
	help := w.ok("flow", "open-wallet", "--help").out
	w.outputs = w.outputs[:len(w.outputs)-2] // the help documents the fixture password
	return documentedPassword(t, help)
}

// documentedPassword is the default payment password flow open-wallet's help documents.
func documentedPassword(t *testing.T, help string) string {
	t.Helper()
	m := regexp.MustCompile(`documented default, (\d{6})`).FindStringSubmatch(help)
	if m == nil {
		t.Fatalf("flow help does not document the default password:\n%s", help)
	}
	return m[1]
}

// TestBindFailures: every cause of the seed's 5.1, each with its own code and hint, and the
// "try another card" path out of them.
func TestBindFailures(t *testing.T) {
	transports(t, func(t *testing.T, w *world) {
		ok := testCard(t, "ok")
		// Real-name missing: binding refused until KYC is done.
		u := strings.TrimSpace(w.ok("user", "register", "--phone", "13900000001").out)
		r := w.fail("", walletctl.CodeKYCRequired, 5, "--as", u, "card", "bind", "--card", ok.CardNo, "--phone", ok.Phone)
		if !strings.Contains(r.errOut, "real-name") {
			t.Errorf("KYC_REQUIRED hint should point to real-name verification:\n%s", r.errOut)
		}
		w.ok("--as", u, "kyc", "submit", "--name", ok.Name, "--id", ok.IDNo)

		// Info mismatch, naming the field: the reserved phone.
		r = w.fail("", walletctl.CodeCardInfoMismatch, 8, "--as", u, "card", "bind", "--card", ok.CardNo, "--phone", "13912345678")
		if !strings.Contains(r.errOut, "fields=phone") {
			t.Errorf("mismatch should name the phone field:\n%s", r.errOut)
		}
		// Someone else's card: name and ID number both differ.
		other := testCard(t, "no_funds")
		r = w.fail("", walletctl.CodeCardInfoMismatch, 8, "--as", u, "card", "bind", "--card", other.CardNo, "--phone", other.Phone)
		if !strings.Contains(r.errOut, "fields=name,id_no") {
			t.Errorf("mismatch should name the name and id_no fields:\n%s", r.errOut)
		}
		var je errorJSON
		r = w.run("", "-o", "json", "--as", u, "card", "bind", "--card", ok.CardNo, "--phone", "13912345678")
		if err := json.Unmarshal([]byte(r.errOut), &je); err != nil || je.Error.Code != walletctl.CodeCardInfoMismatch || je.Error.Hint == "" || r.out != "" {
			t.Errorf("-o json error: %v %+v stdout %q", err, je, r.out)
		}

		// Small-bank restriction: a rural bank that refuses online binding.
		small := testCard(t, "no_online_binding")
		u2 := w.verifiedUser("13900000002", small)
		r = w.fail("", walletctl.CodeBankBindingDenied, 8, "--as", u2, "card", "bind", "--card", small.CardNo, "--phone", small.Phone)
		if !strings.Contains(r.errOut, "contact the bank") || !strings.Contains(r.errOut, "another card") {
			t.Errorf("small-bank hint:\n%s", r.errOut)
		}

		// Network drop on binding, injected with bank fault add; the retry succeeds.
		w.ok("bank", "fault", "add", "refuse", "--op", "bind", "--first", "1")
		r = w.fail("", walletctl.CodeNetwork, 9, "--as", u, "card", "bind", "--card", ok.CardNo, "--phone", ok.Phone)
		if !strings.Contains(r.errOut, "retry") {
			t.Errorf("network hint should say to retry:\n%s", r.errOut)
		}
		faults := w.ok("bank", "fault", "list").out
		if !strings.Contains(faults, "refuse") || !regexp.MustCompile(`│\s+1\s+│\s+1\s+│`).MatchString(faults) {
			t.Errorf("fault list should show the rule matched and fired once:\n%s", faults)
		}
		card := w.bindCard(u, ok)
		if card != "c1" {
			t.Errorf("bind after the network drop: card %q", card)
		}

		// Try another card: the small-bank user binds a card at a big bank in their own name.
		// The bank lets a fixture add one (same person, another bank), as a customer would own two.
		cs := w.customers("--bank", "ICBC", "--status", "active", "--type", "debit")
		if len(cs) == 0 {
			t.Fatal("no active ICBC debit customers")
		}
		for _, c := range cs {
			if c.Bank != "ICBC" || c.Status != "active" || c.Type != "debit" {
				t.Fatalf("bank customers filters leak: %+v", c)
			}
		}
		// A fresh user with a healthy customer's identity: the small bank refuses online binding
		// before it looks at the four elements; the hint says to try another card, which binds.
		var healthy customer
		for _, c := range cs {
			if c.Balance > 10000 && c.Note == "" && c.CardNo != ok.CardNo && c.Name != ok.Name {
				healthy = c
				break
			}
		}
		u3 := w.verifiedUser("13900000003", healthy)
		w.fail("", walletctl.CodeBankBindingDenied, 8, "--as", u3, "card", "bind", "--card", small.CardNo, "--phone", healthy.Phone)
		if got := w.bindCard(u3, healthy); got == "" {
			t.Error("binding another card failed")
		}
		assertNoSecrets(t, w.outputs, w.customers())
	})
}

// TestPayFailures: the seed's 5.2 — balance and card insufficient, restricted account, the
// network (pending, then reconcile), the wrong password to the lock and the clock to unlock it.
func TestPayFailures(t *testing.T) {
	transports(t, func(t *testing.T, w *world) {
		user, card := w.openWallet(0)
		defPW := walletctlSandboxPassword(t, w)

		// Balance insufficient: nothing topped up yet.
		r := w.fail(defPW, walletctl.CodeInsufficientBalance, 6, "--as", user, "pay", "--merchant", "m-cinema", "--amount", "35", "--password-stdin")
		if !strings.Contains(r.errOut, "top up") {
			t.Errorf("insufficient balance hint:\n%s", r.errOut)
		}
		// Card insufficient: the empty test card.
		empty := testCard(t, "no_funds")
		u2 := w.verifiedUser("13900000011", empty)
		c2 := w.bindCard(u2, empty)
		w.okIn(pw, "--as", u2, "password", "set", "--password-stdin")
		w.fail(pw, walletctl.CodeInsufficientFunds, 8, "--as", u2, "pay", "--merchant", "m-cinema", "--amount", "35", "--source", "card:"+c2, "--password-stdin")

		// Top up, then pay from the balance.
		w.okIn(defPW, "--as", user, "topup", "--card", card, "--amount", "200", "--password-stdin")
		w.okIn(defPW, "--as", user, "pay", "--merchant", "m-cinema", "--amount", "35", "--password-stdin")
		var bal walletctl.Balance
		w.jsonOf(&bal, "", "--as", user, "balance")
		if bal.Available != 16500 {
			t.Errorf("balance after top-up 200 and pay 35: %+v", bal)
		}
		if !strings.Contains(w.ok("--as", user, "balance").out, "165.00 CNY") {
			t.Error("table balance does not match the JSON one")
		}

		// Restricted account: payments refused, with the seed's advice; lifted, they work again.
		w.ok("--as", user, "user", "set-status", "restricted")
		r = w.fail(defPW, walletctl.CodeAccountRestricted, 6, "--as", user, "pay", "--merchant", "m-cinema", "--amount", "1", "--password-stdin")
		if !strings.Contains(r.errOut, "customer service") {
			t.Errorf("restricted hint:\n%s", r.errOut)
		}
		w.ok("--as", user, "user", "set-status", "normal")

		// Network on pay: the bank processes the debit but the answer is lost (magic amount
		// 666.66); the payment stays pending, then reconcile settles it.
		r = w.fail(defPW, walletctl.CodePending, 10, "--as", user, "pay", "--merchant", "m-rail", "--amount", "666.66", "--source", "card:"+card, "--password-stdin")
		if !strings.Contains(r.errOut, "reconcile") {
			t.Errorf("pending hint should mention reconcile:\n%s", r.errOut)
		}
		if !strings.Contains(w.ok("sandbox", "status").out, "PENDING AT BANK     │ 1 ") {
			t.Errorf("sandbox status should count the pending txn:\n%s", w.ok("sandbox", "status").out)
		}
		var rep walletctl.ReconcileReport
		w.jsonOf(&rep, "", "reconcile")
		if rep.Settled != 1 || rep.StillPending != 0 || rep.LedgerSum != 0 || len(rep.Mismatches) != 0 {
			t.Errorf("reconcile: %+v", rep)
		}
		var txns []walletctl.Txn
		w.jsonOf(&txns, "", "--as", user, "tx", "list")
		for _, tx := range txns {
			if tx.Status == walletctl.TxnPending {
				t.Errorf("still pending after reconcile: %+v", tx)
			}
		}

		// Wrong password: attempts remaining, then the lock; the clock unlocks it.
		for i := 1; i <= 4; i++ {
			r = w.fail("000000", walletctl.CodePasswordWrong, 7, "--as", user, "pay", "--merchant", "m-cafe", "--amount", "1", "--password-stdin")
			if !strings.Contains(r.errOut, "attempts_remaining="+itoa(5-i)) {
				t.Errorf("attempt %d: remaining not shown:\n%s", i, r.errOut)
			}
		}
		w.fail("000000", walletctl.CodePasswordLocked, 7, "--as", user, "pay", "--merchant", "m-cafe", "--amount", "1", "--password-stdin")
		// Locked: even the right password is refused.
		w.fail(defPW, walletctl.CodePasswordLocked, 7, "--as", user, "pay", "--merchant", "m-cafe", "--amount", "1", "--password-stdin")
		if got := strings.TrimSpace(w.ok("clock", "advance", "3h").out); got != "2026-01-05 12:00:00" {
			t.Errorf("clock advance 3h printed %q", got)
		}
		w.okIn(defPW, "--as", user, "pay", "--merchant", "m-cafe", "--amount", "1", "--password-stdin")
		log := w.ok("--as", user, "security", "log").out
		for _, ev := range []string{"password_wrong", "password_locked"} {
			if !strings.Contains(log, ev) {
				t.Errorf("security log lacks %s:\n%s", ev, log)
			}
		}
		assertNoSecrets(t, w.outputs, w.customers(), pw, defPW)
	})
}

// TestTransferFraud: the seed's 5.3 — the payee's masked name first, a stranger above the
// threshold needs the full name, a delayed transfer can be cancelled.
func TestTransferFraud(t *testing.T) {
	transports(t, func(t *testing.T, w *world) {
		payer, card := w.openWallet(0)
		payee, _ := w.openWallet(1)
		defPW := walletctlSandboxPassword(t, w)
		w.okIn(defPW, "--as", payer, "topup", "--card", card, "--amount", "2000", "--password-stdin")

		var payeeKYC walletctl.KYC
		w.jsonOf(&payeeKYC, "", "--as", payee, "kyc", "status")
		name := customerNameOf(t, w, payeeKYC)

		// A stranger, 600 >= the 500 threshold: refused before the password is asked.
		r := w.fail("", walletctl.CodePayeeConfirm, 6, "--as", payer, "transfer", "--to", payee, "--amount", "600")
		if !strings.Contains(r.out, "payee: "+payee+" "+payeeKYC.NameMasked) || !strings.Contains(r.out, "stranger") {
			t.Errorf("the preview should show the masked payee:\n%s", r)
		}
		if strings.Contains(r.out+r.errOut, name) {
			t.Errorf("the preview leaks the payee's full name %q", name)
		}
		w.fail(defPW, walletctl.CodePayeeMismatch, 6, "--as", payer, "transfer", "--to", payee, "--amount", "600", "--confirm-payee", "王小二", "--password-stdin")
		var tr struct {
			Preview  walletctl.TransferPreview `json:"preview"`
			Transfer walletctl.Transfer        `json:"transfer"`
		}
		w.jsonOf(&tr, defPW, "--as", payer, "transfer", "--to", payee, "--amount", "600", "--confirm-payee", name, "--password-stdin")
		if !tr.Preview.NeedsConfirmation || tr.Transfer.Amount != 60000 || tr.Transfer.PayeeNameMasked != payeeKYC.NameMasked {
			t.Errorf("confirmed transfer: %+v", tr)
		}
		w.ok("--as", payee, "transfer", "accept", tr.Transfer.ID)

		// Delayed transfer, cancelled inside its window: the money comes back.
		w.jsonOf(&tr, defPW, "--as", payer, "transfer", "--to", payee, "--amount", "100", "--delay", "2h", "--password-stdin")
		if tr.Transfer.Status != walletctl.TransferScheduled {
			t.Fatalf("delayed transfer: %+v", tr.Transfer)
		}
		var bal walletctl.Balance
		w.jsonOf(&bal, "", "--as", payer, "balance")
		if bal.Available != 200000-60000-10000 {
			t.Errorf("payer balance with 100 in transit: %+v", bal)
		}
		w.ok("clock", "advance", "1h")
		out := w.ok("--as", payer, "transfer", "cancel", tr.Transfer.ID).out
		if !strings.Contains(out, "cancelled") {
			t.Errorf("cancel:\n%s", out)
		}
		w.jsonOf(&bal, "", "--as", payer, "balance")
		if bal.Available != 200000-60000 {
			t.Errorf("payer balance after the cancel: %+v", bal)
		}
		// Too late to cancel once arrived.
		w.jsonOf(&tr, defPW, "--as", payer, "transfer", "--to", payee, "--amount", "50", "--delay", "2h", "--password-stdin")
		w.ok("clock", "advance", "2h")
		w.fail("", walletctl.CodeTransferState, 4, "--as", payer, "transfer", "cancel", tr.Transfer.ID)
		assertNoSecrets(t, w.outputs, w.customers(), defPW)
	})
}

// customerNameOf finds the bank customer behind a verified user by its masked ID and name.
func customerNameOf(t *testing.T, w *world, k walletctl.KYC) string {
	t.Helper()
	for _, c := range w.customers() {
		if len(c.IDNo) == 18 && c.IDNo[:4] == k.IDMasked[:4] && c.IDNo[14:] == k.IDMasked[14:] &&
			strings.HasSuffix(c.Name, strings.TrimLeft(k.NameMasked, "*")) {
			return c.Name
		}
	}
	t.Fatalf("no customer behind %+v", k)
	return ""
}

// TestPasswordReset: the seed's 5.4 — identity, a bound card and the bank's SMS code recover the
// password, clear the lock, and the security log records it.
func TestPasswordReset(t *testing.T) {
	transports(t, func(t *testing.T, w *world) {
		ok := testCard(t, "ok")
		u := w.verifiedUser(ok.Phone, ok)
		w.bindCard(u, ok)
		w.okIn(pw, "--as", u, "password", "set", "--password-stdin")
		for i := 0; i < 5; i++ {
			w.run("111111", "--as", u, "pay", "--merchant", "m-cafe", "--amount", "1", "--source", "card:c1", "--password-stdin")
		}
		w.fail(pw, walletctl.CodePasswordLocked, 7, "--as", u, "pay", "--merchant", "m-cafe", "--amount", "1", "--source", "card:c1", "--password-stdin")

		// Wrong identity is refused.
		w.fail("", walletctl.CodeIdentityFailed, 7, "--as", u, "password", "reset", "--name", "李四", "--id", ok.IDNo, "--card", ok.CardNo)
		var start walletctl.PasswordReset
		w.jsonOf(&start, "", "--as", u, "password", "reset", "--name", ok.Name, "--id", ok.IDNo, "--card", ok.CardNo)
		if start.ResetID == "" || !strings.Contains(start.PhoneMasked, "****") {
			t.Fatalf("reset start: %+v", start)
		}
		code := w.otp(ok.Phone)
		// A wrong code first, then the right one with a new password.
		w.fail("147036", walletctl.CodeOTPInvalid, 7, "--as", u, "password", "reset", "--reset-id", start.ResetID, "--otp", "000000", "--password-stdin")
		const newPW = "147036"
		out := w.okIn(newPW, "--as", u, "password", "reset", "--reset-id", start.ResetID, "--otp", code, "--password-stdin").out
		if !strings.Contains(out, "reset") {
			t.Errorf("reset done:\n%s", out)
		}
		// The lock is cleared: the new password pays at once, the old one is wrong.
		w.okIn(newPW, "--as", u, "pay", "--merchant", "m-cafe", "--amount", "1", "--source", "card:c1", "--password-stdin")
		w.fail(pw, walletctl.CodePasswordWrong, 7, "--as", u, "pay", "--merchant", "m-cafe", "--amount", "1", "--source", "card:c1", "--password-stdin")
		if log := w.ok("--as", u, "security", "log").out; !strings.Contains(log, "password_reset") {
			t.Errorf("security log lacks the reset:\n%s", log)
		}
		// OTPs appear only in `bank otp`'s own output.
		otpOut := 0
		for _, o := range w.outputs {
			if strings.Contains(o, code) {
				otpOut++
			}
		}
		if otpOut != 1 {
			t.Errorf("the OTP appears in %d outputs, want only bank otp's", otpOut)
		}
		assertNoSecrets(t, w.outputs, w.customers(), pw, newPW)
	})
}
