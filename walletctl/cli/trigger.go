package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
)

// trigger makes the real state that fires a notification, with the sandbox's own operations
// (never a made-up event): an order paid, a refund finished, a card unbound, a bank fault staged.

// triggerNotifyURL is the notify_url of trigger's orders when none is given: a loopback port
// nothing listens on, so that the notification exists (and walletctl listen receives it, as
// every delivery goes to its --forward-to) while, without a listener, its attempts fail at once.
const triggerNotifyURL = "http://127.0.0.1:9/walletctl-trigger"

// triggerResult is what trigger made.
type triggerResult struct {
	Event           string                  `json:"event"`
	MchID           string                  `json:"mchid"`
	MerchantCreated bool                    `json:"merchant_created,omitempty"`
	Payer           string                  `json:"payer"`
	PayerCreated    bool                    `json:"payer_created,omitempty"`
	Source          string                  `json:"source"`
	CardUnbound     string                  `json:"card_unbound,omitempty"`
	BankFault       string                  `json:"bank_fault,omitempty"`
	Order           *walletctl.Order        `json:"order"`
	Refund          *walletctl.Refund       `json:"refund,omitempty"`
	Notification    *walletctl.Notification `json:"notification"`
}

func (a *app) triggerCmd() *cobra.Command {
	var mchid, notifyURL, amount, cardID string
	cmd := &cobra.Command{
		Use:   "trigger EVENT [--mchid M] [--notify-url URL] [--as U]",
		Short: "Fire a notification event by making the real state that sends it",
		Long: `Fire a notification by doing, with the sandbox's real operations, what makes it
happen (no event is made up: the order, the refund and the money are real):

  TRANSACTION.SUCCESS  a Native order, paid by the payer from the balance
  REFUND.SUCCESS       such a paid order, refunded to the balance
  REFUND.ABNORMAL      an order paid by card, the card unbound, then refunded
  REFUND.CLOSED        an order paid by card, refunded while the bank refuses
                       the credit (a refuse;op=credit;first=1 bank fault,
                       deleted after)

The merchant is --mchid, else the first v3 merchant, else a new one. The payer
is --as U (password from --password-stdin or the prompt; the balance is topped
up from the card if short; REFUND.ABNORMAL unbinds the card paid with), else a
new user made from an unused bank customer as flow open-wallet makes one.
The order's notify_url is --notify-url, else an address nothing listens on:
run walletctl listen --forward-to URL to receive the notifications. Prints the
order, the refund and the notification (with its first attempt).`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, noFiles
			}
			return eventTypes, noFiles
		},
	}
	stdin := passwordFlag(cmd)
	f := cmd.Flags()
	f.StringVar(&mchid, "mchid", "", "the merchant (default: the first v3 merchant, else a new one)")
	f.StringVar(&notifyURL, "notify-url", "", "the order's and refund's notify_url")
	f.StringVar(&amount, "amount", "1.00", "the order's amount in yuan")
	f.StringVar(&cardID, "card", "", "with --as: the card to pay with for REFUND.* by card (default: the first)")
	cmd.RegisterFlagCompletionFunc("mchid", a.completeMchids)
	cmd.RegisterFlagCompletionFunc("card", a.completeCards)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		event := strings.ToUpper(strings.TrimSpace(args[0]))
		known := false
		for _, e := range eventTypes {
			known = known || e == event
		}
		if !known {
			return invalidArg("events: "+strings.Join(eventTypes, ", "), "unknown event %q", args[0])
		}
		fen, err := parseYuan(amount)
		if err != nil {
			return err
		}
		if notifyURL == "" {
			notifyURL = triggerNotifyURL
		}
		// Before anything is created: the wallet would refuse it at the order.
		if err := walletctl.CheckNotifyURL("--notify-url", notifyURL); err != nil {
			return err
		}
		t := &trigger{a: a, event: event, mchid: mchid, amount: fen, url: notifyURL, res: &triggerResult{Event: event}}
		if a.as != "" {
			// Resolve the payer before asking for the password, which is asked before anything moves.
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			if t.byCard() {
				if t.card, err = payerCard(ctx, svc, u.ID, cardID); err != nil {
					return err
				}
			}
			t.user = u.ID
			if t.password, err = a.readSecret(ctx, "Payment password: ", *stdin); err != nil {
				return err
			}
		} else if cardID != "" {
			return invalidArg("--card is the --as user's card; without --as trigger makes its own payer", "--card without --as")
		}
		err = t.run(ctx)
		if t.res.Order != nil {
			a.printTrigger(t.res)
		}
		return err
	}
	return cmd
}

type trigger struct {
	a        *app
	event    string
	mchid    string // --mchid
	amount   int64
	url      string
	user     string
	card     string // the card paid with (REFUND.ABNORMAL, REFUND.CLOSED)
	cardNo   string // its full number, when trigger bound it (to aim the bank fault at it)
	password string
	res      *triggerResult
}

func (t *trigger) byCard() bool {
	return t.event == walletctl.EventRefundAbnormal || t.event == walletctl.EventRefundClosed
}

// payerCard is the --as user's card to pay with: the one given, else the first.
func payerCard(ctx context.Context, svc walletctl.Service, user, given string) (string, error) {
	cards, err := svc.Cards(ctx, user)
	if err != nil {
		return "", err
	}
	for _, c := range cards {
		if given == "" || c.ID == given {
			return c.ID, nil
		}
	}
	if given != "" {
		return "", walletctl.Errorf(walletctl.CodeNotFound, "no card %q bound by %s", given, user)
	}
	return "", &walletctl.Error{Code: walletctl.CodeNotFound, Message: user + " has no bound card to pay with",
		Hint: "bind one (walletctl --as " + user + " card bind), or drop --as: trigger then makes its own payer"}
}

func (t *trigger) run(ctx context.Context) error {
	a := t.a
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	if err := t.merchant(ctx, svc); err != nil {
		return err
	}
	if t.user == "" {
		if err := t.freshPayer(ctx, svc); err != nil {
			return err
		}
	}
	t.res.Payer = t.user
	source := "balance"
	if t.byCard() {
		source = "card:" + t.card
	} else if err := t.fundBalance(ctx, svc); err != nil {
		return err
	}
	t.res.Source = source
	suffix := randomHex(4)
	o, err := svc.CreateOrder(ctx, walletctl.OrderRequest{MchID: t.res.MchID, TradeType: walletctl.TradeNative,
		OutTradeNo: "trigger-" + suffix, Description: "walletctl trigger " + t.event, Amount: t.amount, NotifyURL: t.url})
	if err != nil {
		return err
	}
	t.res.Order = o
	pctx, err := a.moneyCtx(ctx, "")
	if err != nil {
		return err
	}
	o, err = svc.PayOrder(pctx, walletctl.PayOrderRequest{UserID: t.user, Ref: o.CodeURL, Source: source, Password: t.password})
	if err != nil {
		return err
	}
	t.res.Order = o
	if o.TradeState != walletctl.StateSuccess {
		return &walletctl.Error{Code: walletctl.CodePending, Message: fmt.Sprintf("order %s is %s, not paid", o.OutTradeNo, o.TradeState),
			Hint: "the payment has not settled: walletctl reconcile, then walletctl notify list"}
	}
	if t.event != walletctl.EventTransactionSuccess {
		if err := t.refund(ctx, svc); err != nil {
			return err
		}
	}
	return t.findNotification(ctx, svc)
}

// merchant picks --mchid, else the first v3 merchant, else creates one.
func (t *trigger) merchant(ctx context.Context, svc walletctl.Service) error {
	if t.mchid != "" {
		m, err := svc.Merchant(ctx, t.mchid)
		if err != nil {
			return err
		}
		t.res.MchID = m.ID
		return nil
	}
	ms, err := svc.Merchants(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.AppID != "" { // a v3 merchant, not one of the catalogue's
			t.res.MchID = m.ID
			return nil
		}
	}
	m, err := svc.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "Trigger Shop", Category: "sandbox"})
	if err != nil {
		return err
	}
	t.res.MchID, t.res.MerchantCreated = m.ID, true
	return nil
}

// freshPayer makes a user from an unused bank customer, as flow open-wallet does: registered,
// verified, the card bound (the bank's SMS code read from the bank), the sandbox's password set.
func (t *trigger) freshPayer(ctx context.Context, svc walletctl.Service) error {
	bank, err := t.a.bank(ctx)
	if err != nil {
		return err
	}
	c, err := pickCustomer(ctx, svc, bank, -1)
	if err != nil {
		return err
	}
	u, err := svc.Register(ctx, c.Phone)
	if err != nil {
		return err
	}
	if _, err := svc.SubmitKYC(ctx, u.ID, c.Name, c.IDNo); err != nil {
		return err
	}
	b, err := svc.BindCard(ctx, u.ID, c.CardNo, c.Phone)
	if err != nil {
		return err
	}
	otp, err := bank.LastOTP(ctx, c.Phone)
	if err != nil {
		return err
	}
	card, err := svc.ConfirmCard(ctx, u.ID, b.BindingID, otp)
	if err != nil {
		return err
	}
	if err := svc.SetPassword(ctx, u.ID, SandboxPassword); err != nil {
		return err
	}
	t.user, t.card, t.cardNo, t.password = u.ID, card.ID, c.CardNo, SandboxPassword
	t.res.PayerCreated = true
	return nil
}

// fundBalance tops the payer's balance up from a card when it is short of the amount.
func (t *trigger) fundBalance(ctx context.Context, svc walletctl.Service) error {
	b, err := svc.Balance(ctx, t.user)
	if err != nil {
		return err
	}
	if b.Available >= t.amount {
		return nil
	}
	card := t.card
	if card == "" {
		if card, err = payerCard(ctx, svc, t.user, ""); err != nil {
			return err
		}
	}
	tctx, err := t.a.moneyCtx(ctx, "")
	if err != nil {
		return err
	}
	_, err = svc.TopUp(tctx, t.user, card, t.amount-b.Available, t.password)
	return err
}

// refund makes the refund of the paid order that fires the event.
func (t *trigger) refund(ctx context.Context, svc walletctl.Service) error {
	a := t.a
	switch t.event {
	case walletctl.EventRefundAbnormal:
		if err := svc.UnbindCard(ctx, t.user, t.card); err != nil {
			return err
		}
		t.res.CardUnbound = t.card
	case walletctl.EventRefundClosed:
		bank, err := a.bank(ctx)
		if err != nil {
			return err
		}
		spec := "refuse;op=credit;first=1"
		if t.cardNo != "" {
			spec += ";card=" + t.cardNo
		}
		f, err := bankapi.ParseFault(spec)
		if err != nil {
			return err
		}
		added, err := bank.AddFault(ctx, f)
		if err != nil {
			return err
		}
		t.res.BankFault = maskFault(*added).String()
		defer bank.DeleteFault(context.WithoutCancel(ctx), added.ID)
	}
	rctx, err := a.moneyCtx(ctx, "")
	if err != nil {
		return err
	}
	r, err := svc.Refund(rctx, walletctl.RefundRequest{MchID: t.res.MchID, OutTradeNo: t.res.Order.OutTradeNo,
		OutRefundNo: "trigger-r-" + strings.TrimPrefix(t.res.Order.OutTradeNo, "trigger-"), Amount: t.amount,
		Reason: "walletctl trigger " + t.event, NotifyURL: t.url})
	if err != nil {
		return err
	}
	t.res.Refund = r
	want := map[string]string{walletctl.EventRefundSuccess: walletctl.RefundSuccess, walletctl.EventRefundAbnormal: walletctl.RefundAbnormal,
		walletctl.EventRefundClosed: walletctl.RefundClosed}[t.event]
	if r.Status != want {
		return &walletctl.Error{Code: walletctl.CodePending, Message: fmt.Sprintf("refund %s is %s, not %s", r.OutRefundNo, r.Status, want),
			Hint: "the bank has not settled it: walletctl reconcile, then walletctl notify list"}
	}
	return nil
}

// findNotification reads the notification the event made.
func (t *trigger) findNotification(ctx context.Context, svc walletctl.Service) error {
	ns, err := svc.Notifications(ctx)
	if err != nil {
		return err
	}
	for i := len(ns) - 1; i >= 0; i-- {
		n := ns[i]
		if n.EventType != t.event || n.MchID != t.res.MchID {
			continue
		}
		if (n.Order != nil && n.Order.OutTradeNo == t.res.Order.OutTradeNo && t.res.Refund == nil) ||
			(n.Refund != nil && t.res.Refund != nil && n.Refund.OutRefundNo == t.res.Refund.OutRefundNo) {
			t.res.Notification = &n
			return nil
		}
	}
	return &walletctl.Error{Code: walletctl.CodeNotFound, Message: "the " + t.event + " notification was not recorded",
		Hint: "list them: walletctl notify list"}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (a *app) printTrigger(r *triggerResult) {
	if a.out.JSON() {
		writeJSON(a.ios.Out, r)
		return
	}
	mch := r.MchID
	if r.MerchantCreated {
		mch += " (created)"
	}
	payer := r.Payer
	if r.PayerCreated {
		payer += " (created)"
	}
	rows := []kv{{"EVENT", r.Event}, {"MCHID", mch}, {"PAYER", payer}, {"PAID FROM", r.Source}}
	o := r.Order
	rows = append(rows, kv{"ORDER", o.OutTradeNo + " " + o.TradeState + " " + yuan(o.Amount)})
	if o.TransactionID != "" {
		rows = append(rows, kv{"TRANSACTION", o.TransactionID})
	}
	if r.CardUnbound != "" {
		rows = append(rows, kv{"CARD UNBOUND", r.CardUnbound})
	}
	if r.BankFault != "" {
		rows = append(rows, kv{"BANK FAULT", r.BankFault + " (deleted after)"})
	}
	if x := r.Refund; x != nil {
		rows = append(rows, kv{"REFUND", x.OutRefundNo + " " + x.Status + " " + yuan(x.Amount)}, kv{"REFUND ID", x.RefundID})
	}
	if n := r.Notification; n != nil {
		rows = append(rows, kv{"NOTIFICATION", n.ID + " " + n.Status}, kv{"URL", n.URL})
		if len(n.Attempts) > 0 {
			at := n.Attempts[len(n.Attempts)-1]
			last := attemptStatus(at)
			if at.Error != "" {
				last += " " + at.Error
			}
			rows = append(rows, kv{"LAST ATTEMPT", last})
		}
		rows = append(rows, kv{"NEXT", "walletctl notify show " + n.ID})
	}
	a.out.Record(r, rows)
}
