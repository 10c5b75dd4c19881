package chaos

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/engine"
)

// actor is one wallet user of the workload, with what it needs to act: its card holder's
// identity (the workload knows the bank's fixture people, as a tester would) and password.
type actor struct {
	id       string
	name     string
	password string
	cards    []string // wallet card ids
}

// workload drives the engine with random operations. Shared state is guarded by mu so that
// several workers can run steps at once; engine calls happen outside the lock.
type workload struct {
	w   *World
	mu  sync.Mutex
	rep *Report
	// repMu guards rep when several workloads (wallets) share it; nil: mu does.
	repMu *sync.Mutex
	// holders picks the bank's card holders (by their index) this wallet serves; nil: all.
	holders func(i int) bool
	// giveUpRate is the chance that an operation's client gives up (Config.GiveUpRate).
	giveUpRate float64
	// life is held shared by every step and exclusively by a restart of the wallet process, so
	// that with several workers no step uses the engine or store being replaced; gen counts the
	// restarts, so that two workers meeting the same death restart once.
	life sync.RWMutex
	gen  int

	actors      []*actor
	keyPrefix   string                         // prefixes idempotency keys, so that restarted runs do not reuse them
	ack         func(op, txnID, status string) // told of every money movement the engine answered for, after it committed
	pending     []string                       // "user/txn" refs that answered PENDING and may still be, for status queries
	everPending []string                       // txn ids that answered PENDING, to count how many got settled

	mix       []opKind    // the operations drawn from (nil: ops, the default mix)
	merchants []wMerchant // merchants created at the start (merchants.go)
	orders    []*wOrder   // recent orders, for pays, refunds, closes and reverses
}

func (wl *workload) repLock() *sync.Mutex {
	if wl.repMu != nil {
		return wl.repMu
	}
	return &wl.mu
}

func (wl *workload) count(op, outcome string) {
	mu := wl.repLock()
	mu.Lock()
	wl.rep.count(op, outcome)
	mu.Unlock()
}

func outcomeOf(err error) string {
	if err == nil {
		return "ok"
	}
	return walletctl.ErrorCode(err)
}

// ambiguous reports whether an error leaves the caller not knowing the outcome, so that a retry
// with the same idempotency key is what a careful client does.
func ambiguous(err error) bool {
	switch walletctl.ErrorCode(err) {
	case walletctl.CodePending, walletctl.CodeNetwork, walletctl.CodeBankUnavailable:
		return true
	}
	return false
}

// setup turns up to n bank card holders into ready wallet users: register with the reserved
// phone, real-name verification, bind every card of the holder (the SMS code from the bank's
// admin API, retried through injected faults), set a password.
func (wl *workload) setup(ctx context.Context, rng *rand.Rand, n int) error {
	cs, err := bankapi.AllCustomers(ctx, wl.w.Admin)
	if err != nil {
		return err
	}
	magic := map[string]bool{}
	for _, tc := range bankmock.TestCards {
		magic[tc.Customer.CardNo] = true
	}
	type holder struct {
		c     bankapi.Customer
		cards []bankapi.Customer
	}
	var holders []*holder
	byID := map[string]*holder{}
	for _, c := range cs {
		if magic[c.CardNo] {
			continue // the documented test cards fire their faults on every debit; the rules do that job here
		}
		h := byID[c.IDNo]
		if h == nil {
			h = &holder{c: c}
			byID[c.IDNo] = h
			holders = append(holders, h)
		}
		h.cards = append(h.cards, c)
	}
	for i, h := range holders {
		if len(wl.actors) >= n {
			break
		}
		if wl.holders != nil && !wl.holders(i) {
			continue
		}
		u, err := wl.w.Engine.Register(ctx, h.c.Phone)
		wl.rep.count("register", outcomeOf(err))
		if err != nil {
			continue
		}
		_, err = wl.w.Engine.SubmitKYC(ctx, u.ID, h.c.Name, h.c.IDNo)
		wl.rep.count("kyc", outcomeOf(err))
		if err != nil {
			continue
		}
		a := &actor{id: u.ID, name: h.c.Name}
		for _, c := range h.cards {
			if id := wl.bind(ctx, u.ID, c); id != "" {
				a.cards = append(a.cards, id)
			}
		}
		for try := 0; try < 20; try++ {
			pw := fmt.Sprintf("%06d", rng.IntN(1_000_000))
			err = wl.w.Engine.SetPassword(ctx, u.ID, pw)
			wl.rep.count("password set", outcomeOf(err))
			if err == nil {
				a.password = pw
				break
			}
		}
		if a.password != "" {
			wl.actors = append(wl.actors, a)
		}
	}
	return wl.setupMerchants(ctx, rng)
}

// bind binds one card, retrying what the faults break; it returns the wallet card id or "".
func (wl *workload) bind(ctx context.Context, userID string, c bankapi.Customer) string {
	for attempt := 0; attempt < 4; attempt++ {
		b, err := wl.w.Engine.BindCard(ctx, userID, c.CardNo, c.Phone)
		wl.rep.count("card bind", outcomeOf(err))
		if err != nil {
			if ambiguous(err) {
				continue
			}
			return "" // the data says no (small bank, frozen card, ...): a real outcome
		}
		octx := ctx
		if wl.w.Partner != "" {
			octx = bankmock.WithPartner(ctx, wl.w.Partner) // the code this wallet's binding sent
		}
		otp, err := wl.w.Admin.LastOTP(octx, c.Phone)
		if err != nil {
			return ""
		}
		for try := 0; try < 3; try++ {
			cd, err := wl.w.Engine.ConfirmCard(ctx, userID, b.BindingID, otp)
			wl.rep.count("card confirm", outcomeOf(err))
			if err == nil {
				return cd.ID
			}
			if !ambiguous(err) {
				break
			}
		}
	}
	return ""
}

// amount draws a log-uniform amount in fen between lo and hi.
func amount(rng *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	v := int64(float64(lo) * math.Pow(float64(hi)/float64(lo), rng.Float64()))
	return max(lo, min(v, hi))
}

type opKind struct {
	name   string
	weight int
}

// The mix of operations: mostly money movements, with the seed's failures sprinkled in, and a
// modest share (about one in eight) of merchant work: orders, code payments, refunds, closes
// and reverses (merchants.go).
var ops = []opKind{
	{"topup", 20}, {"pay balance", 14}, {"pay card", 10}, {"transfer", 8}, {"transfer 2h", 3}, {"transfer 24h", 3},
	{"accept", 10}, {"cancel", 4}, {"withdraw", 8}, {"wrong password", 2}, {"advance", 7}, {"query", 4}, {"reconcile", 1},
	{"order", 4}, {"order pay", 1}, {"codepay", 3}, {"refund", 3}, {"close", 2}, {"reverse", 1},
}

// OpKinds lists the operation kinds of the workload, for Config.OpKinds and --ops-kinds.
func OpKinds() []string {
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = o.name
	}
	return out
}

// opMix is the mix restricted to the named kinds ("merchant" names every merchant kind); nil
// names keep the default mix. An unknown name is an error.
func opMix(names []string) ([]opKind, error) {
	if len(names) == 0 {
		return nil, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		switch {
		case n == "merchant":
			for _, m := range merchantOps {
				want[m] = true
			}
			continue
		case n == "":
			continue
		}
		known := false
		for _, o := range ops {
			known = known || o.name == n
		}
		if !known {
			return nil, fmt.Errorf("unknown operation kind %q (want merchant or one of %s)", n, strings.Join(OpKinds(), ", "))
		}
		want[n] = true
	}
	var mix []opKind
	for _, o := range ops {
		if want[o.name] {
			mix = append(mix, o)
		}
	}
	return mix, nil
}

func pickOp(rng *rand.Rand, mix []opKind) string {
	if mix == nil {
		mix = ops
	}
	total := 0
	for _, o := range mix {
		total += o.weight
	}
	n := rng.IntN(total)
	for _, o := range mix {
		if n -= o.weight; n < 0 {
			return o.name
		}
	}
	return mix[0].name
}

var advances = []time.Duration{time.Minute, 10 * time.Minute, time.Hour, 3 * time.Hour, 25 * time.Hour}

// step runs one random operation. Only a broken harness or store returns an error; every
// wallet outcome, failures included, is counted. A simulated death of the wallet process during
// the step (processDeath) ends it and restarts the wallet; any other panic goes on.
func (wl *workload) step(ctx context.Context, rng *rand.Rand, i int) (err error) {
	wl.life.RLock()
	defer func() { wl.life.RUnlock() }()
	defer func() {
		if r := recover(); r != nil {
			pd, ok := r.(processDeath)
			if !ok {
				panic(r)
			}
			wl.died(pd)
			err = wl.restart()
		}
	}()
	return wl.runStep(ctx, rng, i)
}

// died counts a death of the wallet process.
func (wl *workload) died(pd processDeath) string {
	mu := wl.repLock()
	mu.Lock()
	defer mu.Unlock()
	if pd.afterBank {
		wl.rep.KillsAfter++
		return "KILLED (after the bank answered)"
	}
	wl.rep.KillsBefore++
	return "KILLED (before the request left)"
}

// restart starts the wallet process again after a death. The caller holds life shared; it is
// held exclusively for the restart, so that no other worker is inside the old engine.
func (wl *workload) restart() error {
	gen := wl.gen
	wl.life.RUnlock()
	wl.life.Lock()
	var err error
	if wl.gen == gen {
		err = wl.w.Restart()
		wl.gen++
	}
	wl.life.Unlock()
	wl.life.RLock()
	return err
}

// attempt is one client request of a money operation. If the wallet process dies in it, the
// death is counted, the wallet restarted, and attempt reports died with the outcome label.
func (wl *workload) attempt(ctx context.Context, do func(context.Context, *engine.Engine) (*walletctl.Txn, error)) (t *walletctl.Txn, err error, died string, rerr error) {
	defer func() {
		if r := recover(); r != nil {
			pd, ok := r.(processDeath)
			if !ok {
				panic(r)
			}
			t, err = nil, nil
			died = wl.died(pd)
			rerr = wl.restart()
		}
	}()
	t, err = do(ctx, wl.w.Engine)
	return t, err, "", nil
}

// clientCtx is the context of one client request. With probability giveUpRate the client gives
// up: its context is done before the call, or (money operations only) it is armed to be
// cancelled when the wallet calls the bank, after which the request leaves or not. cancel must be
// called when the request is over; settle reports where the client gave up ("" if it did not).
// Nothing is drawn when giveUpRate is 0, so runs without give-ups replay as before.
func (wl *workload) clientCtx(ctx context.Context, rng *rand.Rand, money bool) (c context.Context, cancel context.CancelFunc, settle func() string) {
	none := func() string { return "" }
	if wl.giveUpRate <= 0 || rng.Float64() >= wl.giveUpRate {
		return ctx, func() {}, none
	}
	c, cancel = context.WithCancel(ctx)
	mode := 0
	if money {
		mode = rng.IntN(3)
	}
	if mode == 0 {
		cancel()
		where := giveUpBefore
		if !money {
			where = giveUpNotMoney
		}
		return c, cancel, func() string { return where }
	}
	g := &giveUp{cancel: cancel, forward: mode == 1}
	return context.WithValue(c, giveUpKey{}, g), cancel, func() string {
		switch {
		case !g.fired:
			return giveUpUnreached
		case g.forward:
			return giveUpAtBankSent
		}
		return giveUpAtBankNever
	}
}

// gaveUp counts where a client gave up and returns the operation's label for its outcome.
func (wl *workload) gaveUp(op, where string) string {
	if where == "" {
		return op
	}
	mu := wl.repLock()
	mu.Lock()
	wl.rep.GiveUps[where]++
	mu.Unlock()
	return op + " (client gave up)"
}

func (wl *workload) runStep(ctx context.Context, rng *rand.Rand, i int) error {
	if len(wl.actors) == 0 {
		return nil
	}
	op := pickOp(rng, wl.mix)
	a := wl.actors[rng.IntN(len(wl.actors))]
	e := wl.w.Engine
	card := ""
	if len(a.cards) > 0 {
		card = a.cards[rng.IntN(len(a.cards))]
	}
	key := fmt.Sprintf("%sop-%d", wl.keyPrefix, i)
	switch op {
	case "order", "order pay", "codepay", "refund", "close", "reverse":
		return wl.merchantStep(ctx, rng, op, a, outNo(key))
	case "topup", "withdraw", "pay balance", "pay card":
		if card == "" && op != "pay balance" {
			wl.count(op, "NO_CARD")
			return nil
		}
		var amt int64
		switch op {
		case "topup":
			amt = amount(rng, 100, 500_000)
		case "pay card":
			amt = amount(rng, 100, 200_000)
		default:
			bal, err := e.Balance(ctx, a.id)
			if err != nil {
				return err
			}
			amt = amount(rng, 50, max(bal.Available, 100)*5/4) // now and then more than there is
		}
		// The merchant is drawn once, before any retry, so that a retry repeats the same request.
		m := merchantIDs[rng.IntN(len(merchantIDs))]
		do := func(ctx context.Context, e *engine.Engine) (*walletctl.Txn, error) {
			switch op {
			case "topup":
				return e.TopUp(ctx, a.id, card, amt, a.password)
			case "withdraw":
				return e.Withdraw(ctx, a.id, card, amt, a.password)
			case "pay card":
				return e.Pay(ctx, walletctl.PayRequest{UserID: a.id, Merchant: m, Amount: amt, Source: "card:" + card, Password: a.password})
			}
			return e.Pay(ctx, walletctl.PayRequest{UserID: a.id, Merchant: m, Amount: amt, Password: a.password})
		}
		kctx := walletctl.WithIdempotencyKey(ctx, key)
		gctx, cancel, where := wl.clientCtx(kctx, rng, op != "pay balance")
		t, err, died, rerr := wl.attempt(gctx, do)
		cancel()
		if rerr != nil {
			return rerr
		}
		label := wl.gaveUp(op, where())
		if died != "" {
			wl.count(label, died)
		} else {
			wl.count(label, outcomeOf(err))
		}
		// A careful client retries what it does not know with the same key (a new request: the
		// one that gave up, or whose wallet died, is gone), and so does one whose wallet restarted.
		for r := 0; r < 2 && (died != "" || ambiguous(err)) && rng.IntN(2) == 0; r++ {
			mu := wl.repLock()
			mu.Lock()
			wl.rep.Retries++
			mu.Unlock()
			retried := op + " (retry)"
			if died != "" {
				retried = op + " (retry after restart)"
			}
			t, err, died, rerr = wl.attempt(kctx, do)
			if rerr != nil {
				return rerr
			}
			if died != "" {
				wl.count(retried, died)
			} else {
				wl.count(retried, outcomeOf(err))
			}
		}
		if t != nil && wl.ack != nil {
			wl.ack(op, t.ID, t.Status)
		}
		if walletctl.ErrorCode(err) == walletctl.CodePending && t != nil {
			mu := wl.repLock()
			mu.Lock()
			wl.rep.PendingSeen++
			mu.Unlock()
			wl.mu.Lock()
			wl.pending = append(wl.pending, a.id+"/"+t.ID)
			wl.everPending = append(wl.everPending, t.ID)
			wl.mu.Unlock()
		}
	case "transfer", "transfer 2h", "transfer 24h":
		if len(wl.actors) < 2 {
			return nil
		}
		to := wl.actors[rng.IntN(len(wl.actors))]
		if to == a {
			to = wl.actors[(indexOf(wl.actors, a)+1)%len(wl.actors)]
		}
		bal, err := e.Balance(ctx, a.id)
		if err != nil {
			return err
		}
		amt := amount(rng, 50, max(bal.Available, 100)*5/4)
		delay := map[string]string{"transfer": "none", "transfer 2h": "2h", "transfer 24h": "24h"}[op]
		req := walletctl.TransferRequest{UserID: a.id, To: to.id, Amount: amt, Delay: delay, Password: a.password}
		if rng.IntN(4) != 0 {
			req.ConfirmPayee = to.name // usually the payer knows who they pay; sometimes it is refused
		}
		gctx, cancel, where := wl.clientCtx(walletctl.WithIdempotencyKey(ctx, key), rng, false)
		tr, err := e.Transfer(gctx, req)
		cancel()
		wl.count(wl.gaveUp(op, where()), outcomeOf(err))
		if err == nil && wl.ack != nil {
			wl.ack(op, tr.ID, walletctl.TxnPending)
		}
	case "accept", "cancel":
		trs, err := walletctl.All(ctx, func(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Transfer], error) {
			return e.Transfers(ctx, a.id, p)
		},
			func(t walletctl.Transfer) string { return t.ID })
		if err != nil {
			return err
		}
		var cands []walletctl.Transfer
		for _, t := range trs {
			if (op == "accept" && t.To == a.id && t.Status == walletctl.TransferArrived) ||
				(op == "cancel" && t.From == a.id && t.Status == walletctl.TransferScheduled) {
				cands = append(cands, t)
			}
		}
		if len(cands) == 0 {
			wl.count(op, "NOTHING_TO_DO")
			return nil
		}
		sort.Slice(cands, func(i, j int) bool { return txnNum(cands[i].ID) < txnNum(cands[j].ID) })
		t := cands[rng.IntN(len(cands))]
		gctx, cancel, where := wl.clientCtx(ctx, rng, false)
		if op == "accept" {
			_, err = e.AcceptTransfer(gctx, a.id, t.ID)
		} else {
			_, err = e.CancelTransfer(gctx, a.id, t.ID)
		}
		cancel()
		wl.count(wl.gaveUp(op, where()), outcomeOf(err))
	case "wrong password":
		wrong := fmt.Sprintf("%06d", (atoi(a.password)+1+rng.IntN(999_998))%1_000_000)
		_, err := e.Pay(ctx, walletctl.PayRequest{UserID: a.id, Merchant: "m-cafe", Amount: 100, Password: wrong})
		wl.count(op, outcomeOf(err))
	case "advance":
		_, err := e.Advance(ctx, advances[rng.IntN(len(advances))])
		wl.count(op, outcomeOf(err))
	case "query":
		wl.mu.Lock()
		if len(wl.pending) == 0 {
			wl.mu.Unlock()
			wl.count(op, "NOTHING_TO_DO")
			return nil
		}
		k := rng.IntN(len(wl.pending))
		ref := wl.pending[k]
		wl.mu.Unlock()
		var uid, tid string
		fmt.Sscanf(replaceSlash(ref), "%s %s", &uid, &tid)
		t, err := e.Transaction(ctx, uid, tid)
		wl.count(op, outcomeOf(err))
		if err == nil && t.Status != walletctl.TxnPending {
			wl.mu.Lock()
			wl.pending = removeRef(wl.pending, ref)
			wl.mu.Unlock()
		}
	case "reconcile":
		_, err := e.Reconcile(ctx, "")
		wl.count(op, outcomeOf(err))
	}
	return nil
}

// outNo turns an operation's key into an out_trade_no / out_refund_no (6 to 32 of [A-Za-z0-9_-|*]).
func outNo(key string) string {
	b := []byte("cx-" + key)
	for i, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '|' || c == '*') {
			b[i] = '_'
		}
	}
	if len(b) > 32 {
		b = b[len(b)-32:]
	}
	return string(b)
}

var merchantIDs = []string{"m-cafe", "m-cinema", "m-insurance", "m-mobile", "m-rail", "m-utility"}

func indexOf(as []*actor, a *actor) int {
	for i := range as {
		if as[i] == a {
			return i
		}
	}
	return 0
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func replaceSlash(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '/' {
			b[i] = ' '
		}
	}
	return string(b)
}

func removeRef(refs []string, ref string) []string {
	for i := range refs {
		if refs[i] == ref {
			return append(refs[:i], refs[i+1:]...)
		}
	}
	return refs
}
