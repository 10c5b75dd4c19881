package cli

import (
	"cmp"
	"context"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// CardBindOptions are card bind's inputs.
type CardBindOptions struct {
	*Factory
	Card  string // the full card number
	Phone string // "": the user's own
}

// NewCmdCardBind is `card bind`.
func NewCmdCardBind(f *Factory, runF func(context.Context, *CardBindOptions) error) *cobra.Command {
	opts := &CardBindOptions{Factory: f}
	cmd := newFlagCmd(&cobra.Command{Use: "bind --card NO [--phone P]", Short: "Start binding a card: the bank sends an SMS code to the reserved phone",
		Long: `Start binding a bank card to the --as user (real-name verification first). The bank checks the
four elements (card number, the verified name and ID number, the phone reserved at the bank) and
sends an SMS code to that phone; finish with: walletctl card confirm --binding ID --otp CODE.
In the sandbox the code is shown by: walletctl bank otp --phone P.`,
	}, opts, requiredFlag{&opts.Card, "card", "card number, digits only", "walletctl card bind --card 6222020000000000018 --phone 13800138000"},
		runF, cardBindRun)
	cmd.Flags().StringVar(&opts.Phone, "phone", "", "the phone reserved at the bank (default: the user's phone)")
	return cmd
}

func cardBindRun(ctx context.Context, o *CardBindOptions) error {
	return asUser(ctx, o.Factory, func(svc walletctl.Service, u *walletctl.User) (*walletctl.CardBinding, error) {
		// Most people reserved the phone they register with.
		return whileWaiting(o.Factory, "waiting for the bank to check the card and send its SMS code", func() (*walletctl.CardBinding, error) {
			return svc.BindCard(ctx, u.ID, o.Card, cmp.Or(o.Phone, u.Phone))
		})
	}, o.Out.CardBinding)
}

// CardConfirmOptions are card confirm's inputs.
type CardConfirmOptions struct {
	*Factory
	Binding, OTP string
}

// NewCmdCardConfirm is `card confirm`.
func NewCmdCardConfirm(f *Factory, runF func(context.Context, *CardConfirmOptions) error) *cobra.Command {
	opts := &CardConfirmOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "confirm --binding ID --otp CODE", Short: "Finish a binding with the bank's SMS code"}, opts, func([]string) error {
		return required("walletctl card confirm --binding b1 --otp CODE (the code: walletctl bank otp --phone P)",
			"--binding and --otp are required", opts.Binding, opts.OTP)
	}, runF, cardConfirmRun)
	cmd.Flags().StringVar(&opts.Binding, "binding", "", "binding id from card bind")
	cmd.Flags().StringVar(&opts.OTP, "otp", "", "the SMS code")
	return cmd
}

func cardConfirmRun(ctx context.Context, o *CardConfirmOptions) error {
	return asUser(ctx, o.Factory, func(svc walletctl.Service, u *walletctl.User) (*walletctl.Card, error) {
		return svc.ConfirmCard(ctx, u.ID, o.Binding, o.OTP)
	}, o.Out.Card)
}

// NewCmdCardList is `card list`.
func NewCmdCardList(f *Factory, runF func(context.Context, *CardListOptions) error) *cobra.Command {
	return newListCmd(f, &cobra.Command{Use: "list", Short: "List the --as user's cards (masked), newest first"}, runF, true, false,
		walletctl.Service.Cards, cardID, func(o *Output, cs []walletctl.Card, _ bool) { o.Cards(cs) })
}

// CardUnbindOptions are card unbind's inputs.
type CardUnbindOptions struct {
	*Factory
	ID string
}

// NewCmdCardUnbind is `card unbind`.
func NewCmdCardUnbind(f *Factory, runF func(context.Context, *CardUnbindOptions) error) *cobra.Command {
	opts := &CardUnbindOptions{Factory: f}
	return newIDCmd(&cobra.Command{Use: "unbind ID", Short: "Unbind a card"}, opts, &opts.ID, f.app.completeCards, runF, cardUnbindRun)
}

func cardUnbindRun(ctx context.Context, o *CardUnbindOptions) error {
	return asUser(ctx, o.Factory, func(svc walletctl.Service, u *walletctl.User) (map[string]string, error) {
		return map[string]string{"unbound": o.ID}, svc.UnbindCard(ctx, u.ID, o.ID)
	}, func(v map[string]string) { o.Out.Message(v, "card %s unbound", o.ID) })
}

// CardBinding shows a binding started: where the SMS went and how to finish.
func (o *Output) CardBinding(b *walletctl.CardBinding) {
	o.Record(b, []kv{
		{"BINDING", b.BindingID},
		{"BANK", b.Bank},
		{"CARD", b.CardMasked},
		{"SMS SENT TO", b.PhoneMasked},
		{"EXPIRES", ts(b.ExpiresAt)},
		{"NEXT", "walletctl card confirm --binding " + b.BindingID + " --otp CODE"},
	})
}

// Card shows one bound card, its number masked.
func (o *Output) Card(c *walletctl.Card) {
	o.Record(c, []kv{
		{"CARD", c.ID},
		{"BANK", c.Bank + " " + c.BankName},
		{"TYPE", c.CardType},
		{"NUMBER", c.CardMasked},
		{"BOUND", ts(c.BoundAt)},
	})
}

// Cards lists bound cards, their numbers masked.
func (o *Output) Cards(cards []walletctl.Card) {
	o.List(cards, []string{"ID", "BANK", "BANK NAME", "TYPE", "CARD", "BOUND"}, rowsOf(cards, func(c walletctl.Card) table.Row {
		return table.Row{c.ID, c.Bank, c.BankName, c.CardType, c.CardMasked, ts(c.BoundAt)}
	}))
}
