package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/fixtures"
)

// trigger and flow run the workflows of walletctl/fixtures: these commands only parse, run the
// fixture against this invocation's wallet and bank, and print what it made.

// TriggerOptions are trigger's inputs.
type TriggerOptions struct {
	*Factory
	Trigger          *fixtures.Trigger // EVENT's
	MchID, NotifyURL string
	Amount           int64  // fen
	Card             string // with --as: the card to pay with
	PasswordStdin    bool
}

// NewCmdTrigger is `trigger EVENT`.
func NewCmdTrigger(f *Factory, runF func(context.Context, *TriggerOptions) error) *cobra.Command {
	opts := &TriggerOptions{Factory: f}
	var amount string
	cmd := &cobra.Command{Use: "trigger EVENT [--mchid M] [--notify-url URL] [--as U]", Short: "Fire a notification event by making the real state that sends it",
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
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: firstArg(fixedCompletion(eventTypes...)),
	}
	passwordFlagVar(cmd, &opts.PasswordStdin)
	fl := cmd.Flags()
	mchidFlag(cmd, f, &opts.MchID, "the merchant (default: the first v3 merchant, else a new one)")
	fl.StringVar(&opts.NotifyURL, "notify-url", "", "the order's and refund's notify_url")
	fl.StringVar(&amount, "amount", "1.00", "the order's amount in yuan")
	fl.StringVar(&opts.Card, "card", "", "with --as: the card to pay with for REFUND.* by card (default: the first)")
	cmd.RegisterFlagCompletionFunc("card", f.app.completeCards)
	return newCmd(cmd, opts, func(args []string) error {
		t, ok := fixtures.LookupTrigger(strings.ToUpper(strings.TrimSpace(args[0])))
		if !ok {
			return invalidArg("events: "+strings.Join(eventTypes, ", "), "unknown event %q", args[0])
		}
		fen, err := parseAmount(amount)
		if err != nil {
			return err
		}
		opts.Trigger, opts.Amount = t, fen
		if opts.NotifyURL == "" {
			opts.NotifyURL = fixtures.DefaultNotifyURL
		}
		// Before anything is created: the wallet would refuse it at the order.
		return walletctl.CheckNotifyURL("--notify-url", opts.NotifyURL)
	}, runF, triggerRun)
}

func triggerRun(ctx context.Context, o *TriggerOptions) error {
	in := fixtures.TriggerInput{MchID: o.MchID, Amount: o.Amount, NotifyURL: o.NotifyURL}
	if o.As != nil && o.As() != "" {
		// The payer and their card before the password, which is asked before anything moves.
		svc, u, err := o.Actor(ctx)
		if err != nil {
			return err
		}
		if o.Trigger.ByCard() {
			if in.Card, err = fixtures.PayerCard(ctx, svc, u.ID, o.Card); err != nil {
				return err
			}
		}
		in.Payer = u.ID
		if in.Password, err = o.Secret(ctx, "Payment password: ", o.PasswordStdin); err != nil {
			return err
		}
	} else if o.Card != "" {
		return invalidArg("--card is the --as user's card; without --as trigger makes its own payer", "--card without --as")
	}
	w, err := fixtureWorld(ctx, o.Factory)
	if err != nil {
		return err
	}
	res, err := w.Trigger(ctx, o.Trigger, in)
	if res.Order != nil {
		o.Out.Trigger(res)
	}
	return err
}

// fixtureWorld is this invocation's wallet and bank as the fixtures see them, with the mock
// bank's catalogue and test cards.
func fixtureWorld(ctx context.Context, f *Factory) (*fixtures.World, error) {
	svc, err := f.Service(ctx)
	if err != nil {
		return nil, err
	}
	bank, err := f.Bank(ctx)
	if err != nil {
		return nil, err
	}
	w := &fixtures.World{Wallet: svc, Bank: bank, Banks: bankmock.Catalogue(),
		MoneyCtx: func(ctx context.Context) (context.Context, error) { return f.IdempotencyKey(ctx, "") },
		Settle: func(ctx context.Context) (walletctl.Service, error) {
			if err := f.Settle(ctx); err != nil {
				return nil, err
			}
			return f.Service(ctx)
		}}
	for _, t := range bankmock.TestCards {
		w.TestCards = append(w.TestCards, t.Customer.CardNo)
	}
	return w, nil
}

// Trigger shows what trigger made: the order, the refund, the notification and its last attempt.
func (o *Output) Trigger(r *fixtures.Triggered) {
	mch := r.MchID
	if r.MerchantCreated {
		mch += " (created)"
	}
	payer := r.Payer
	if r.PayerCreated {
		payer += " (created)"
	}
	rows := []kv{{"EVENT", r.Event}, {"MCHID", mch}, {"PAYER", payer}, {"PAID FROM", r.Source}}
	x := r.Order
	rows = append(rows, kv{"ORDER", x.OutTradeNo + " " + x.TradeState + " " + yuan(x.Amount)})
	if x.TransactionID != "" {
		rows = append(rows, kv{"TRANSACTION", x.TransactionID})
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
		if to := sentTo(n); to != "" {
			rows = append(rows, kv{"SENT TO", to})
		}
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
	o.Record(r, rows)
}
