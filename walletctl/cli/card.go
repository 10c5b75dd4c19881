package cli

import (
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

func (a *app) cardCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "card",
		Short: "Bank cards: bind (with the bank's SMS code), confirm, list, unbind",
	}
	var cardNo, phone string
	bind := &cobra.Command{
		Use:   "bind --card NO [--phone P]",
		Short: "Start binding a card: the bank sends an SMS code to the reserved phone",
		Long: `Start binding a bank card to the --as user (real-name verification first). The bank checks the
four elements (card number, the verified name and ID number, the phone reserved at the bank) and
sends an SMS code to that phone; finish with: walletctl card confirm --binding ID --otp CODE.
In the sandbox the code is shown by: walletctl bank otp --phone P.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if cardNo == "" {
				return invalidArg("walletctl card bind --card 6222020000000000018 --phone 13800138000", "--card is required")
			}
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			p := phone
			if p == "" {
				p = u.Phone // most people reserved the phone they register with
			}
			b, err := svc.BindCard(ctx, u.ID, cardNo, p)
			if err != nil {
				return err
			}
			a.out.Record(b, []kv{
				{"BINDING", b.BindingID},
				{"BANK", b.Bank},
				{"CARD", b.CardMasked},
				{"SMS SENT TO", b.PhoneMasked},
				{"EXPIRES", ts(b.ExpiresAt)},
				{"NEXT", "walletctl card confirm --binding " + b.BindingID + " --otp CODE"},
			})
			return nil
		},
	}
	bind.Flags().StringVar(&cardNo, "card", "", "card number, digits only")
	bind.Flags().StringVar(&phone, "phone", "", "the phone reserved at the bank (default: the user's phone)")

	var bindingID, otp string
	confirm := &cobra.Command{
		Use:   "confirm --binding ID --otp CODE",
		Short: "Finish a binding with the bank's SMS code",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if bindingID == "" || otp == "" {
				return invalidArg("walletctl card confirm --binding b1 --otp CODE (the code: walletctl bank otp --phone P)", "--binding and --otp are required")
			}
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			c, err := svc.ConfirmCard(ctx, u.ID, bindingID, otp)
			if err != nil {
				return err
			}
			a.printCard(c)
			return nil
		},
	}
	confirm.Flags().StringVar(&bindingID, "binding", "", "binding id from card bind")
	confirm.Flags().StringVar(&otp, "otp", "", "the SMS code")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the --as user's cards (masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			cards, err := svc.Cards(ctx, u.ID)
			if err != nil {
				return err
			}
			rows := make([]table.Row, len(cards))
			for i, c := range cards {
				rows[i] = table.Row{c.ID, c.Bank, c.BankName, c.CardType, c.CardMasked, ts(c.BoundAt)}
			}
			a.out.List(cards, []string{"ID", "BANK", "BANK NAME", "TYPE", "CARD", "BOUND"}, rows)
			return nil
		},
	}

	unbind := &cobra.Command{
		Use:               "unbind ID",
		Short:             "Unbind a card",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeCardsArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			if err := svc.UnbindCard(ctx, u.ID, args[0]); err != nil {
				return err
			}
			a.out.Message(map[string]string{"unbound": args[0]}, "card %s unbound", args[0])
			return nil
		},
	}
	cmd.AddCommand(bind, confirm, list, unbind)
	return cmd
}

func (a *app) printCard(c *walletctl.Card) {
	a.out.Record(c, []kv{
		{"CARD", c.ID},
		{"BANK", c.Bank + " " + c.BankName},
		{"TYPE", c.CardType},
		{"NUMBER", c.CardMasked},
		{"BOUND", ts(c.BoundAt)},
	})
}
