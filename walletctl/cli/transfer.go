package cli

import (
	"context"
	"fmt"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

type transferResult struct {
	Preview  *walletctl.TransferPreview `json:"preview"`
	Transfer *walletctl.Transfer        `json:"transfer"`
}

func (a *app) transferCmd() *cobra.Command {
	var to, amount, delay, confirm string
	cmd := &cobra.Command{
		Use:   "transfer --to USER --amount A [--delay 2h|24h] [--confirm-payee NAME]",
		Short: "Send money to another user; the payee's masked real name is shown first",
		Long: `Send money to another wallet user (id or phone). The payee's real name is shown masked before
anything moves, so you can check who you are paying (谨防诈骗). A transfer to a stranger (no earlier
transfer between you) above the threshold needs --confirm-payee with the payee's full real name:
confirm it another way first. --delay 2h or 24h delays arrival; a delayed transfer can be cancelled
before it arrives. The payee accepts with: walletctl transfer accept ID; unaccepted transfers go
back after 24 h.`,
		Args: cobra.NoArgs,
	}
	stdin := passwordFlag(cmd)
	idem := idempotencyFlag(cmd)
	cmd.Flags().StringVar(&to, "to", "", "payee: user id or phone")
	cmd.Flags().StringVar(&amount, "amount", "", "amount in yuan")
	cmd.Flags().StringVar(&delay, "delay", "none", "arrival: none, 2h or 24h")
	cmd.Flags().StringVar(&confirm, "confirm-payee", "", "the payee's full real name, when confirmation is needed")
	cmd.RegisterFlagCompletionFunc("to", a.completeUsers)
	cmd.RegisterFlagCompletionFunc("delay", fixedCompletion("none", "2h", "24h"))
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if to == "" {
			return invalidArg("walletctl transfer --to u2 --amount 10", "--to is required")
		}
		switch delay {
		case "", "none", "2h", "24h":
		default:
			return invalidArg("--delay none, 2h or 24h", "unknown delay %q", delay)
		}
		if amount == "" {
			return invalidArg("amounts are yuan, e.g. --amount 12.50", "--amount is required")
		}
		fen, err := walletctl.ParseAmount(amount)
		if err != nil {
			return err
		}
		svc, u, err := a.actor(ctx)
		if err != nil {
			return err
		}
		pv, err := svc.PreviewTransfer(ctx, u.ID, to, fen)
		if err != nil {
			return err
		}
		if err := a.beforePrompt(ctx, svc, u, precheck{need: fen}); err != nil {
			return err
		}
		if !a.out.JSON() {
			stranger := ""
			if pv.Stranger {
				stranger = " (a stranger: no earlier transfer between you)"
			}
			fmt.Fprintf(a.ios.Out, "payee: %s %s%s\n", pv.To, pv.PayeeNameMasked, stranger)
		}
		if pv.NeedsConfirmation && confirm == "" {
			// Stop before the password prompt: nothing should move until the payer has checked.
			reason := pv.ConfirmationReason
			if reason == "" {
				reason = "a transfer to a stranger above the threshold"
			}
			return &walletctl.Error{
				Code:    walletctl.CodePayeeConfirm,
				Message: fmt.Sprintf("confirm the payee %s before sending %s: %s", pv.PayeeNameMasked, yuan(fen), reason),
				Hint:    walletctl.Hint(walletctl.CodePayeeConfirm),
				Details: map[string]any{"to": pv.To, "payee_name_masked": pv.PayeeNameMasked, "stranger": pv.Stranger},
			}
		}
		p, err := a.readSecret(ctx, "Payment password: ", *stdin)
		if err != nil {
			return err
		}
		if svc, err = a.service(ctx); err != nil { // released while the password was read
			return err
		}
		if ctx, err = a.moneyCtx(ctx, *idem); err != nil {
			return err
		}
		tr, err := svc.Transfer(ctx, walletctl.TransferRequest{UserID: u.ID, To: to, Amount: fen, Delay: delay, ConfirmPayee: confirm, Password: p})
		if err != nil {
			return err
		}
		if a.out.JSON() {
			writeJSON(a.ios.Out, transferResult{Preview: pv, Transfer: tr})
			return nil
		}
		a.printTransfer(tr)
		return nil
	}

	accept := a.transferActionCmd("accept ID", "Accept a transfer sent to the --as user", walletctl.Service.AcceptTransfer)
	cancel := a.transferActionCmd("cancel ID", "Cancel a delayed transfer before it arrives (money back to the payer)", walletctl.Service.CancelTransfer)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the --as user's transfers, sent and received",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			trs, err := svc.Transfers(ctx, u.ID)
			if err != nil {
				return err
			}
			rows := make([]table.Row, len(trs))
			for i, t := range trs {
				rows[i] = table.Row{t.ID, t.From, t.To, t.PayeeNameMasked, yuan(t.Amount), t.Status, t.Delay, ts(t.ArrivesAt), ts(t.RefundAt)}
			}
			a.out.List(trs, []string{"ID", "FROM", "TO", "PAYEE", "AMOUNT", "STATUS", "DELAY", "ARRIVES", "REFUND AT"}, rows)
			return nil
		},
	}
	cmd.AddCommand(accept, cancel, list)
	return cmd
}

func (a *app) printTransfer(t *walletctl.Transfer) {
	a.out.Record(t, []kv{
		{"TRANSFER", t.ID},
		{"FROM", t.From},
		{"TO", t.To},
		{"PAYEE", t.PayeeNameMasked},
		{"AMOUNT", yuan(t.Amount)},
		{"STATUS", t.Status},
		{"DELAY", t.Delay},
		{"ARRIVES", ts(t.ArrivesAt)},
		{"REFUND AT", ts(t.RefundAt)},
		{"DONE", tsp(t.DoneAt)},
	})
}

// transferActionCmd is a command that acts on one transfer by its ID (accept, cancel).
func (a *app) transferActionCmd(use, short string,
	act func(svc walletctl.Service, ctx context.Context, userID, transferID string) (*walletctl.Transfer, error)) *cobra.Command {
	return &cobra.Command{
		Use:               use,
		Short:             short,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTransfersArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			tr, err := act(svc, ctx, u.ID, args[0])
			if err != nil {
				return err
			}
			a.printTransfer(tr)
			return nil
		},
	}
}
