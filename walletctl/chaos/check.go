package chaos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/walletctl"
)

// Violation is one broken invariant.
type Violation struct {
	Check  string `json:"check"` // ledger, matching, conservation, pending, duplicate, reconcile, determinism, usage
	Detail string `json:"detail"`
}

func (v Violation) String() string { return v.Check + ": " + v.Detail }

// Totals are the money figures the checker computed, for the report.
type Totals struct {
	WalletTxns   int   `json:"wallet_txns"`
	BankTxns     int   `json:"bank_txns"` // succeeded debits and credits on the statements
	BankIn       int64 `json:"bank_in"`   // fen debited from cards (top-ups, card payments)
	BankOut      int64 `json:"bank_out"`  // fen credited to cards (withdrawals)
	Users        int64 `json:"users"`     // fen in user balances
	Merchants    int64 `json:"merchants"`
	InTransit    int64 `json:"in_transit"` // transfers not yet accepted
	Fees         int64 `json:"fees"`
	Withdrawing  int64 `json:"withdrawing"` // withdrawals held, waiting for the bank
	StillPending int   `json:"still_pending"`
	// Merchant orders (issue 12): orders seen, orders paid (a succeeded payment linked), refunds,
	// and fen held on their way to cards (transit:refunds).
	Orders     int   `json:"orders"`
	OrdersPaid int   `json:"orders_paid"`
	Refunds    int   `json:"refunds"`
	Refunding  int64 `json:"refunding"`
}

// snapshot is the wallet side as the checker sees it.
type snapshot struct {
	txns     []walletctl.TxnRecord // every txn, by id order
	postings map[string][]walletctl.Posting
	accounts map[string]int64
	cards    map[string]walletctl.CardRecord // by agreement
	users    []walletctl.UserRecord
	usage    []walletctl.UsageCounter // every user's usage counters
	ledger   *walletctl.LedgerReport
	// The merchants of the v3 API, with their orders and refunds (by mchid), oldest first.
	merchants []walletctl.Merchant
	orders    map[string][]walletctl.Order
	refunds   map[string][]walletctl.Refund
}

func txnNum(id string) int {
	n := 0
	fmt.Sscanf(strings.TrimPrefix(id, "t"), "%d", &n)
	return n
}

// readWallet reads the whole wallet in one read transaction, through the Store interface only.
func readWallet(ctx context.Context, st walletctl.Store) (*snapshot, error) {
	s := &snapshot{postings: map[string][]walletctl.Posting{}, accounts: map[string]int64{}, cards: map[string]walletctl.CardRecord{},
		orders: map[string][]walletctl.Order{}, refunds: map[string][]walletctl.Refund{}}
	err := st.View(ctx, func(tx walletctl.StoreTx) error {
		var err error
		if s.ledger, err = tx.LedgerCheck(); err != nil {
			return err
		}
		if s.users, err = tx.ListUsers(); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, u := range s.users {
			ts, err := tx.ListTxns(u.ID)
			if err != nil {
				return err
			}
			for _, t := range ts {
				if !seen[t.ID] {
					seen[t.ID] = true
					s.txns = append(s.txns, t)
				}
			}
			cs, err := tx.ListCards(u.ID)
			if err != nil {
				return err
			}
			for _, c := range cs {
				s.cards[c.Agreement] = c
			}
			us, err := tx.UsageCounters(u.ID)
			if err != nil {
				return err
			}
			s.usage = append(s.usage, us...)
		}
		sort.Slice(s.txns, func(i, j int) bool { return txnNum(s.txns[i].ID) < txnNum(s.txns[j].ID) })
		if s.merchants, err = tx.ListMerchants(); err != nil {
			return err
		}
		for _, m := range s.merchants {
			if s.orders[m.ID], err = tx.ListOrders(m.ID); err != nil {
				return err
			}
			if s.refunds[m.ID], err = tx.ListRefunds(m.ID, ""); err != nil {
				return err
			}
		}
		names := map[string]bool{}
		for _, t := range s.txns {
			ps, err := tx.Postings(t.ID)
			if err != nil {
				return err
			}
			s.postings[t.ID] = ps
			for _, p := range ps {
				names[p.Account] = true
			}
		}
		for n := range names {
			b, err := tx.AccountBalance(n)
			if err != nil {
				return err
			}
			s.accounts[n] = b
		}
		return nil
	})
	return s, err
}

// bankSide is what the bank's statements say.
type bankSide struct {
	byKey map[string]bankapi.Transaction
	// byAgreement sums credits minus debits per agreement.
	byAgreement map[string]int64
}

func readBank(ctx context.Context, api bankapi.API, days []string) (*bankSide, error) {
	b := &bankSide{byKey: map[string]bankapi.Transaction{}, byAgreement: map[string]int64{}}
	for _, d := range days {
		st, err := api.Statement(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("statement %s: %w", d, err)
		}
		var debits, credits int64
		for _, t := range st.Transactions {
			b.byKey[t.IdempotencyKey] = t
			if t.Kind == bankapi.OpDebit {
				debits += t.Amount
				b.byAgreement[t.Agreement] -= t.Amount
			} else {
				credits += t.Amount
				b.byAgreement[t.Agreement] += t.Amount
			}
		}
		if debits != st.DebitTotal || credits != st.CreditTotal {
			return nil, fmt.Errorf("statement %s: totals %d/%d do not add up to its lines %d/%d", d, st.DebitTotal, st.CreditTotal, debits, credits)
		}
	}
	return b, nil
}

// bankAmount is what the bank should have moved for a wallet txn, and in which direction.
func bankAmount(t *walletctl.TxnRecord) (string, int64) {
	switch t.Kind {
	case walletctl.KindWithdraw:
		return bankapi.OpCredit, t.Amount - t.Fee
	case walletctl.KindRefund: // a merchant refund to a card
		return bankapi.OpCredit, t.Amount
	}
	return bankapi.OpDebit, t.Amount
}

// Check verifies every invariant of issue 5 on a world after reconciliation: the ledger, the
// key-by-key match of wallet and bank, money conservation on both sides, nothing pending. It
// returns the violations found (none when all hold) and the money totals.
func Check(ctx context.Context, w *World) ([]Violation, *Totals, error) {
	vs, tot, _, err := check(ctx, w)
	return vs, tot, err
}

// check is Check that also returns what the wallet's statement lines moved on each card, by the
// wallet's keyed card hash, for the cross-wallet check (CheckCards).
func check(ctx context.Context, w *World) ([]Violation, *Totals, map[string]int64, error) {
	s, err := readWallet(ctx, w.Store)
	if err != nil {
		return nil, nil, nil, err
	}
	now := w.Clock.Now()
	if w.Admin != nil {
		if t, err := w.Admin.Now(ctx); err == nil && t.After(now) {
			now = t
		}
	}
	bank, err := readBank(ctx, w.Bank, Days(w.Start, now))
	if err != nil {
		return nil, nil, nil, err
	}
	var vs []Violation
	add := func(check, format string, args ...any) {
		vs = append(vs, Violation{Check: check, Detail: fmt.Sprintf(format, args...)})
	}
	tot := &Totals{WalletTxns: len(s.txns), BankTxns: len(bank.byKey)}

	// 1. The ledger: sums to zero, every entry balances, cached balances equal their postings, no
	// user, merchant, transit or fee account below zero.
	if s.ledger.Sum != 0 {
		add("ledger", "postings sum to %d fen, not 0", s.ledger.Sum)
	}
	for _, x := range s.ledger.UnbalancedTxns {
		add("ledger", "entry %s does not balance", x)
	}
	for _, x := range s.ledger.DriftedAccounts {
		add("ledger", "account %s: cached balance differs from its postings", x)
	}
	for _, x := range s.ledger.NegativeAccounts {
		add("ledger", "account %s is negative", x)
	}
	var postSum int64
	for _, ps := range s.postings {
		for _, p := range ps {
			postSum += p.Amount
		}
	}
	if postSum != s.ledger.Sum {
		add("ledger", "the txns' postings sum to %d fen but the ledger to %d: postings without a txn", postSum, s.ledger.Sum)
	}

	// 2. Wallet and bank agree key by key: each succeeded bank line matches exactly one wallet txn
	// settled succeeded with the same kind and amount, and vice versa; nothing failed that the
	// bank has; nothing pending.
	walletByKey := map[string]*walletctl.TxnRecord{}
	for i := range s.txns {
		t := &s.txns[i]
		if t.BankKey == "" {
			continue
		}
		if prev, dup := walletByKey[t.BankKey]; dup {
			add("duplicate", "bank key %s is used by wallet txns %s and %s", t.BankKey, prev.ID, t.ID)
			continue
		}
		walletByKey[t.BankKey] = t
		kind, amount := bankAmount(t)
		line, has := bank.byKey[t.BankKey]
		switch t.Status {
		case walletctl.TxnPending:
			tot.StillPending++
			add("pending", "%s %s of %d fen (key %s) is still pending after reconciliation", t.ID, t.Kind, t.Amount, t.BankKey)
		case walletctl.TxnSucceeded:
			switch {
			case !has:
				add("matching", "%s %s of %d fen settled succeeded but the bank has no succeeded txn under %s", t.ID, t.Kind, t.Amount, t.BankKey)
			case line.Kind != kind || line.Amount != amount:
				add("matching", "%s: wallet expects a %s of %d fen, bank %s is a %s of %d fen", t.ID, kind, amount, line.TxnID, line.Kind, line.Amount)
			}
		case walletctl.TxnFailed:
			if has {
				add("matching", "%s %s of %d fen settled failed (%s) but the bank took it: %s %s of %d fen", t.ID, t.Kind, t.Amount, t.FailureCode, line.TxnID, line.Kind, line.Amount)
			}
		}
	}
	keys := make([]string, 0, len(bank.byKey))
	for k := range bank.byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := walletByKey[k]; !ok {
			line := bank.byKey[k]
			add("matching", "bank %s %s of %d fen (key %s) has no wallet txn", line.TxnID, line.Kind, line.Amount, k)
		}
		line := bank.byKey[k]
		if line.Kind == bankapi.OpDebit {
			tot.BankIn += line.Amount
		} else {
			tot.BankOut += line.Amount
		}
	}

	// 3. Money conservation, wallet side: what the wallet holds for its users, merchants, transfers
	// in transit, held withdrawals and fees is exactly what came in from the banks minus what went
	// out; and per bank, its clearing account mirrors its statements.
	perBank := map[string]int64{} // bank code -> debits - credits on the statements
	for _, line := range bank.byKey {
		if line.Kind == bankapi.OpDebit {
			perBank[line.Bank] += line.Amount
		} else {
			perBank[line.Bank] -= line.Amount
		}
	}
	clearing := map[string]int64{}
	for name, b := range s.accounts {
		switch {
		case strings.HasPrefix(name, "user:"):
			tot.Users += b
		case strings.HasPrefix(name, "merchant:"):
			tot.Merchants += b
		case name == "transit:transfers":
			tot.InTransit += b
		case name == "transit:withdrawals":
			tot.Withdrawing += b
		case name == "transit:refunds":
			tot.Refunding += b
		case strings.HasPrefix(name, "fees:"):
			tot.Fees += b
		case strings.HasPrefix(name, "bank:") && strings.HasSuffix(name, ":clearing"):
			clearing[strings.TrimSuffix(strings.TrimPrefix(name, "bank:"), ":clearing")] = b
		default:
			add("conservation", "unknown ledger account %s holds %d fen", name, b)
		}
	}
	held := tot.Users + tot.Merchants + tot.InTransit + tot.Withdrawing + tot.Refunding + tot.Fees
	if held != tot.BankIn-tot.BankOut {
		add("conservation", "the wallet holds %d fen (users %d, merchants %d, in transit %d, withdrawing %d, refunding %d, fees %d) but the banks moved in %d and out %d (net %d)",
			held, tot.Users, tot.Merchants, tot.InTransit, tot.Withdrawing, tot.Refunding, tot.Fees, tot.BankIn, tot.BankOut, tot.BankIn-tot.BankOut)
	}
	codes := map[string]bool{}
	for c := range perBank {
		codes[c] = true
	}
	for c := range clearing {
		codes[c] = true
	}
	for _, c := range sortedKeys(codes) {
		if clearing[c] != -perBank[c] {
			add("conservation", "bank:%s:clearing is %d fen but %s's statements net %d fen into the wallet", c, clearing[c], c, perBank[c])
		}
	}
	checkMerchants(s, tot, add)
	checkUsage(s, add)
	if tot.Withdrawing != 0 {
		add("conservation", "transit:withdrawals holds %d fen after reconciliation (a withdrawal neither paid out nor released)", tot.Withdrawing)
	}
	// In transit on the ledger equals the transfers that are still live.
	var live int64
	for _, u := range s.users {
		b, err := w.Engine.Balance(ctx, u.ID)
		if err != nil {
			return nil, nil, nil, err
		}
		live += b.InTransit
		if b.Available != s.accounts["user:"+u.ID] {
			add("conservation", "user %s: balance shows %d fen, ledger %d", u.ID, b.Available, s.accounts["user:"+u.ID])
		}
	}
	if live != tot.InTransit {
		add("conservation", "transfers in flight total %d fen but transit:transfers holds %d", live, tot.InTransit)
	}

	// 4. Money conservation, bank side: every card's balance moved by exactly its statement lines.
	var byCard map[string]int64 // by the card's keyed hash: the wallet keeps no card number
	if w.Initial != nil && w.Admin != nil {
		byCard = map[string]int64{}
		for agr, d := range bank.byAgreement {
			c, ok := s.cards[agr]
			if !ok {
				add("conservation", "the bank moved %d fen on agreement %s, which no wallet card holds", d, agr)
				continue
			}
			byCard[c.CardHash] += d
		}
	}
	if byCard != nil && !w.SkipCardConservation {
		final, err := Balances(ctx, w.Admin)
		if err != nil {
			return nil, nil, nil, err
		}
		cards := make([]string, 0, len(final))
		for no := range final {
			cards = append(cards, no)
		}
		sort.Strings(cards)
		for _, no := range cards {
			if got, want := final[no]-w.Initial[no], byCard[w.Engine.CardHash(no)]; got != want {
				add("conservation", "card %s moved by %d fen at the bank but its statement lines net %d", cnid.MaskCardGrouped(no), got, want)
			}
		}
	}
	return vs, tot, byCard, nil
}

// CheckCards is the bank side of money conservation across several wallets on one bank: every
// card's balance moved by exactly what all the wallets' statement lines net on it (each wallet
// names cards by its own keyed hash), and a card no wallet moved did not move at all. byCard[k]
// is what check found for worlds[k]; the worlds share the bank, its Admin and Initial.
func CheckCards(ctx context.Context, worlds []*World, byCard []map[string]int64) ([]Violation, error) {
	if len(worlds) == 0 || worlds[0].Initial == nil || worlds[0].Admin == nil {
		return nil, nil
	}
	initial := worlds[0].Initial
	final, err := Balances(ctx, worlds[0].Admin)
	if err != nil {
		return nil, err
	}
	cards := make([]string, 0, len(final))
	for no := range final {
		cards = append(cards, no)
	}
	sort.Strings(cards)
	var vs []Violation
	for _, no := range cards {
		var want int64
		var by []string
		for k, w := range worlds {
			if d, ok := byCard[k][w.Engine.CardHash(no)]; ok {
				want += d
				by = append(by, fmt.Sprintf("wallet %d: %d", k, d))
			}
		}
		got := final[no] - initial[no]
		switch {
		case got == want:
		case len(by) == 0:
			vs = append(vs, Violation{Check: "conservation", Detail: fmt.Sprintf("card %s moved by %d fen at the bank, but no wallet's statement has a line on it (another customer's card moved)", cnid.MaskCardGrouped(no), got)})
		default:
			vs = append(vs, Violation{Check: "conservation", Detail: fmt.Sprintf("card %s moved by %d fen at the bank but the wallets' statement lines net %d (%s)", cnid.MaskCardGrouped(no), got, want, strings.Join(by, ", "))})
		}
	}
	return vs, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// StateHash is a digest of the final state: every txn in id order with its postings, every
// account balance, and the bank's snapshot. The same seed must give the same hash.
func StateHash(ctx context.Context, w *World) (string, error) {
	return stateHash(ctx, []*World{w})
}

// stateHash is StateHash over wallets on one bank: each wallet's state in turn, then the bank's.
func stateHash(ctx context.Context, ws []*World) (string, error) {
	h := sha256.New()
	for k, w := range ws {
		if len(ws) > 1 {
			fmt.Fprintf(h, "wallet %d %s\n", k, w.Partner)
		}
		s, err := readWallet(ctx, w.Store)
		if err != nil {
			return "", err
		}
		for _, t := range s.txns {
			fmt.Fprintf(h, "txn %s %s %s %s %d %d %s %s %s %s %d\n", t.ID, t.Kind, t.Status, t.UserID, t.Amount, t.Fee,
				t.Counterparty, t.Source, t.BankKey, t.FailureCode, t.CreatedAt.UnixNano())
			for _, p := range s.postings[t.ID] {
				fmt.Fprintf(h, "  %s %d\n", p.Account, p.Amount)
			}
		}
		for _, m := range s.merchants {
			for _, o := range s.orders[m.ID] {
				fmt.Fprintf(h, "order %s %s %s %s %s %d %d %s %s\n", o.ID, m.ID, o.OutTradeNo, o.TradeType, o.TradeState, o.Amount, o.Refunded, o.TxnID, o.PayerUserID)
			}
			for _, r := range s.refunds[m.ID] {
				fmt.Fprintf(h, "refund %s %s %s %s %d %s\n", r.RefundID, r.OutRefundNo, r.TransactionID, r.Status, r.Amount, r.TxnID)
			}
		}
		names := make([]string, 0, len(s.accounts))
		for n := range s.accounts {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(h, "acct %s %d\n", n, s.accounts[n])
		}
	}
	snap, err := ws[0].Admin.Snapshot(ctx)
	if err != nil {
		return "", err
	}
	h.Write(snap)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkUsage checks the usage counters the limits read (walletctl.UsageCounter): each equals
// the sum over the txns that count in it (walletctl.TxnUsage), and no such sum lacks its counter.
// The counters are kept where the txns are written; a txn settled, failed or refunded by any
// path must have moved them.
func checkUsage(s *snapshot, add func(check, format string, args ...any)) {
	want := map[walletctl.UsageCounter]int64{} // by the counter's key (Amount 0)
	for i := range s.txns {
		for _, c := range walletctl.TxnUsage(&s.txns[i].Txn) {
			want[walletctl.UsageCounter{UserID: c.UserID, Scope: c.Scope, Period: c.Period}] += c.Amount
		}
	}
	seen := map[walletctl.UsageCounter]bool{}
	for _, c := range s.usage {
		k := walletctl.UsageCounter{UserID: c.UserID, Scope: c.Scope, Period: c.Period}
		seen[k] = true
		if c.Amount != want[k] {
			add("usage", "user %s: counter %s %d holds %d fen but its txns sum to %d", c.UserID, c.Scope, c.Period, c.Amount, want[k])
		}
	}
	var missing []string
	for k, sum := range want {
		if !seen[k] && sum != 0 {
			missing = append(missing, fmt.Sprintf("user %s: counter %s %d is missing; its txns sum to %d fen", k.UserID, k.Scope, k.Period, sum))
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		add("usage", "%s", m)
	}
}

// checkMerchants checks the merchant orders and refunds (issue 12) against the txns and the
// ledger, after reconciliation:
//   - an order is SUCCESS or REFUND iff it links exactly one succeeded pay txn (TxnID) of its
//     amount, to its merchant, by its payer; a NOTPAY, CLOSED or PAYERROR order, or a REVOKED one
//     not refunded in full, links none; no txn is linked by two orders, and every succeeded pay
//     txn to a merchant is linked by one;
//   - an order's SUCCESS and PROCESSING refunds sum to its Refunded, and to no more than it was
//     paid; every refund belongs to an order; a SUCCESS refund's txn succeeded with its amount;
//     an ABNORMAL one moved nothing; every refund txn to a merchant's payer is a refund's;
//   - each merchant's account holds its paid orders less its SUCCESS and PROCESSING refunds (a
//     card refund's hold leaves at once), and transit:refunds holds the PROCESSING card refunds;
//   - nothing is still USERPAYING on a bank answer, nor PROCESSING, after reconciliation.
func checkMerchants(s *snapshot, tot *Totals, add func(check, format string, args ...any)) {
	txns := map[string]*walletctl.TxnRecord{}
	for i := range s.txns {
		txns[s.txns[i].ID] = &s.txns[i]
	}
	v3 := map[string]bool{}
	for _, m := range s.merchants {
		v3[m.ID] = true
	}
	linked := map[string]string{}     // pay txn id -> the order that links it
	refundTxns := map[string]string{} // refund txn id -> the refund
	var processing int64              // fen of PROCESSING card refunds, all merchants
	succeeded := func(t *walletctl.TxnRecord, kind string) bool {
		return t != nil && t.Kind == kind && t.Status == walletctl.TxnSucceeded
	}
	for _, m := range s.merchants {
		byTrade := map[string][]walletctl.Refund{}
		for _, r := range s.refunds[m.ID] {
			byTrade[r.TransactionID] = append(byTrade[r.TransactionID], r)
		}
		trades := map[string]bool{}
		var paid, refunded int64
		for _, o := range s.orders[m.ID] {
			tot.Orders++
			name := fmt.Sprintf("order %s (out_trade_no %s, merchant %s, %s)", o.ID, o.OutTradeNo, m.ID, o.TradeState)
			var t *walletctl.TxnRecord
			if o.TxnID != "" {
				t = txns[o.TxnID]
				switch prev, dup := linked[o.TxnID]; {
				case t == nil:
					add("merchant", "%s links txn %s, which does not exist", name, o.TxnID)
				case dup:
					add("merchant", "%s links pay txn %s, which order %s links too", name, o.TxnID, prev)
				default:
					linked[o.TxnID] = o.ID
				}
			}
			ok := succeeded(t, walletctl.KindPay)
			switch o.TradeState {
			case walletctl.StateSuccess, walletctl.StateRefund:
				switch {
				case !ok:
					status := "missing"
					if t != nil {
						status = t.Kind + " " + t.Status
					}
					add("merchant", "%s of %d fen is paid but links no succeeded pay txn (txn %q: %s)", name, o.Amount, o.TxnID, status)
				case t.Amount != o.Amount || t.Counterparty != m.ID || t.UserID != o.PayerUserID:
					add("merchant", "%s of %d fen paid by %s links pay txn %s of %d fen by %s to %s", name, o.Amount, o.PayerUserID, t.ID, t.Amount, t.UserID, t.Counterparty)
				}
			case walletctl.StateRevoked:
				if ok && o.Refunded != o.Amount {
					add("merchant", "%s was reversed but its pay txn %s of %d fen succeeded and only %d fen were refunded", name, t.ID, t.Amount, o.Refunded)
				}
			case walletctl.StateUserPaying:
				if o.TxnID != "" {
					add("pending", "%s is still being paid by txn %s after reconciliation", name, o.TxnID)
				}
				if ok {
					add("merchant", "%s is USERPAYING but its pay txn %s succeeded", name, t.ID)
				}
			default: // NOTPAY, CLOSED, PAYERROR
				if ok {
					add("merchant", "%s links pay txn %s of %d fen, which succeeded", name, t.ID, t.Amount)
				}
			}
			if ok {
				tot.OrdersPaid++
				paid += t.Amount
			}
			if o.TransactionID == "" {
				continue
			}
			trades[o.TransactionID] = true
			var sum int64
			var ids []string
			for _, r := range byTrade[o.TransactionID] {
				if r.Status == walletctl.RefundSuccess || r.Status == walletctl.RefundProcessing {
					sum += r.Amount
					ids = append(ids, fmt.Sprintf("%s %s %d", r.OutRefundNo, r.Status, r.Amount))
				}
			}
			if sum > o.Amount {
				add("refunds", "%s of %d fen has %d fen of refunds (%s): more than was paid", name, o.Amount, sum, strings.Join(ids, ", "))
			}
			if sum != o.Refunded {
				add("refunds", "%s says %d fen refunded but its refunds sum to %d (%s)", name, o.Refunded, sum, strings.Join(ids, ", "))
			}
			if sum > 0 && !ok {
				add("refunds", "%s has %d fen of refunds (%s) but no succeeded payment", name, sum, strings.Join(ids, ", "))
			}
		}
		for _, r := range s.refunds[m.ID] {
			tot.Refunds++
			name := fmt.Sprintf("refund %s (out_refund_no %s, order %s, merchant %s, %s, %d fen)", r.RefundID, r.OutRefundNo, r.OutTradeNo, m.ID, r.Status, r.Amount)
			if !trades[r.TransactionID] {
				add("refunds", "%s names transaction %s, which is no order of the merchant", name, r.TransactionID)
			}
			var t *walletctl.TxnRecord
			if r.TxnID != "" {
				if t = txns[r.TxnID]; t == nil {
					add("refunds", "%s links txn %s, which does not exist", name, r.TxnID)
				} else if prev, dup := refundTxns[r.TxnID]; dup {
					add("refunds", "%s links txn %s, which refund %s links too", name, r.TxnID, prev)
				} else {
					refundTxns[r.TxnID] = r.RefundID
					if t.Kind != walletctl.KindRefund || t.Amount != r.Amount || t.Counterparty != m.ID || t.UserID != r.UserID {
						add("refunds", "%s links txn %s, a %s of %d fen to %s from %s", name, t.ID, t.Kind, t.Amount, t.UserID, t.Counterparty)
					}
				}
			}
			switch r.Status {
			case walletctl.RefundSuccess:
				refunded += r.Amount
				if !succeeded(t, walletctl.KindRefund) {
					add("refunds", "%s is SUCCESS but its txn %q did not succeed", name, r.TxnID)
				}
			case walletctl.RefundProcessing:
				refunded += r.Amount
				processing += r.Amount
				add("pending", "%s is still PROCESSING after reconciliation", name)
			case walletctl.RefundAbnormal:
				if t != nil && t.Status != walletctl.TxnFailed {
					add("refunds", "%s is ABNORMAL but its txn %s is %s", name, t.ID, t.Status)
				}
			}
		}
		if bal := s.accounts["merchant:"+m.ID]; bal != paid-refunded {
			add("merchant", "merchant %s holds %d fen but its paid orders (%d fen) less its refunds (%d fen) make %d", m.ID, bal, paid, refunded, paid-refunded)
		}
	}
	for i := range s.txns {
		t := &s.txns[i]
		if !v3[t.Counterparty] {
			continue
		}
		if t.Kind == walletctl.KindPay && t.Status == walletctl.TxnSucceeded && linked[t.ID] == "" {
			add("merchant", "pay txn %s of %d fen by %s to merchant %s succeeded but no order links it", t.ID, t.Amount, t.UserID, t.Counterparty)
		}
		if t.Kind == walletctl.KindRefund && refundTxns[t.ID] == "" {
			add("refunds", "refund txn %s of %d fen from merchant %s to %s (%s) belongs to no refund", t.ID, t.Amount, t.Counterparty, t.UserID, t.Status)
		}
	}
	if held := s.accounts["transit:refunds"]; held != processing {
		add("merchant", "transit:refunds holds %d fen but the PROCESSING card refunds total %d", held, processing)
	}
}
