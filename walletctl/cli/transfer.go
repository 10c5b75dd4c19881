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

// TransferOptions are transfer's inputs.
type TransferOptions struct {
	*Factory
	AmountFlags
	To, Delay    string
	ConfirmPayee string // the payee's full real name
}

// NewCmdTransfer is `transfer` (without its subcommands).
func NewCmdTransfer(f *Factory, runF func(context.Context, *TransferOptions) error) *cobra.Command {
	opts := &TransferOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "transfer --to USER --amount A [--delay 2h|24h] [--confirm-payee NAME]", Short: "Send money to another user; the payee's masked real name is shown first",
		Long: `Send money to another wallet user (id or phone). The payee's real name is shown masked before
anything moves, so you can check who you are paying (谨防诈骗). A transfer to a stranger (no earlier
transfer between you) above the threshold needs --confirm-payee with the payee's full real name:
confirm it another way first. --delay 2h or 24h delays arrival; a delayed transfer can be cancelled
before it arrives. The payee accepts with: walletctl transfer accept ID; unaccepted transfers go
back after 24 h.`,
	}, opts, func([]string) error {
		if err := required("walletctl transfer --to u2 --amount 10", "--to is required", opts.To); err != nil {
			return err
		}
		switch opts.Delay {
		case "", "none", "2h", "24h":
		default:
			return invalidArg("--delay none, 2h or 24h", "unknown delay %q", opts.Delay)
		}
		return opts.readAmount()
	}, runF, transferRun)
	opts.flags(cmd, "amount in yuan")
	cmd.Flags().StringVar(&opts.To, "to", "", "payee: user id or phone")
	choiceFlag(cmd, &opts.Delay, "delay", "none", "arrival: none, 2h or 24h", "none", "2h", "24h")
	cmd.Flags().StringVar(&opts.ConfirmPayee, "confirm-payee", "", "the payee's full real name, when confirmation is needed")
	cmd.RegisterFlagCompletionFunc("to", f.app.completeUsers)
	return cmd
}

func transferRun(ctx context.Context, o *TransferOptions) error {
	svc, u, err := o.Actor(ctx)
	if err != nil {
		return err
	}
	pv, err := svc.PreviewTransfer(ctx, u.ID, o.To, o.AmountFen)
	if err != nil {
		return err
	}
	if err := beforePrompt(ctx, svc, u, precheck{need: o.AmountFen}); err != nil {
		return err
	}
	o.Out.TransferPayee(pv)
	if pv.NeedsConfirmation && o.ConfirmPayee == "" {
		// Stop before the password prompt: nothing should move until the payer has checked.
		return payeeConfirmation(pv, o.AmountFen)
	}
	return send(ctx, o.Factory, o.MoneyFlags, func(ctx context.Context, svc walletctl.Service, password string) (*walletctl.Transfer, error) {
		return svc.Transfer(ctx, walletctl.TransferRequest{UserID: u.ID, To: o.To, Amount: o.AmountFen, Delay: o.Delay,
			ConfirmPayee: o.ConfirmPayee, Password: password})
	}, func(tr *walletctl.Transfer) { o.Out.TransferSent(pv, tr) })
}

// payeeConfirmation is the error of a transfer that needs --confirm-payee and was not given it.
func payeeConfirmation(pv *walletctl.TransferPreview, fen int64) error {
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

// TransferActionOptions are the inputs of transfer accept and transfer cancel.
type TransferActionOptions struct {
	*Factory
	ID string

	act func(svc walletctl.Service, ctx context.Context, userID, transferID string) (*walletctl.Transfer, error)
}

// NewCmdTransferAccept is `transfer accept`.
func NewCmdTransferAccept(f *Factory, runF func(context.Context, *TransferActionOptions) error) *cobra.Command {
	return newCmdTransferAction(f, runF, "accept ID", "Accept a transfer sent to the --as user", walletctl.Service.AcceptTransfer)
}

// NewCmdTransferCancel is `transfer cancel`.
func NewCmdTransferCancel(f *Factory, runF func(context.Context, *TransferActionOptions) error) *cobra.Command {
	return newCmdTransferAction(f, runF, "cancel ID", "Cancel a delayed transfer before it arrives (money back to the payer)", walletctl.Service.CancelTransfer)
}

// newCmdTransferAction is a command that acts on one transfer by its ID.
func newCmdTransferAction(f *Factory, runF func(context.Context, *TransferActionOptions) error, use, short string,
	act func(svc walletctl.Service, ctx context.Context, userID, transferID string) (*walletctl.Transfer, error)) *cobra.Command {
	opts := &TransferActionOptions{Factory: f, act: act}
	return newIDCmd(&cobra.Command{Use: use, Short: short}, opts, &opts.ID, f.app.completeTransfers, runF, transferActionRun)
}

func transferActionRun(ctx context.Context, o *TransferActionOptions) error {
	return asUser(ctx, o.Factory, func(svc walletctl.Service, u *walletctl.User) (*walletctl.Transfer, error) {
		return o.act(svc, ctx, u.ID, o.ID)
	}, o.Out.Transfer)
}

// NewCmdTransferList is `transfer list`.
func NewCmdTransferList(f *Factory, runF func(context.Context, *TransferListOptions) error) *cobra.Command {
	return newListCmd(f, &cobra.Command{Use: "list", Short: "List the --as user's transfers, sent and received, newest first"}, runF, true, false,
		walletctl.Service.Transfers, transferID, func(o *Output, trs []walletctl.Transfer, _ bool) { o.Transfers(trs) })
}

// TransferPayee tells the payer whom they are about to pay, before anything moves (-o json has
// the preview in its answer).
func (o *Output) TransferPayee(pv *walletctl.TransferPreview) {
	if o.JSON() {
		return
	}
	stranger := ""
	if pv.Stranger {
		stranger = " (a stranger: no earlier transfer between you)"
	}
	fmt.Fprintf(o.IO.Out, "payee: %s %s%s\n", pv.To, pv.PayeeNameMasked, stranger)
}

// TransferSent shows a transfer just sent; -o json has the preview with it.
func (o *Output) TransferSent(pv *walletctl.TransferPreview, tr *walletctl.Transfer) {
	if o.JSON() {
		writeJSON(o.IO.Out, transferResult{Preview: pv, Transfer: tr})
		return
	}
	o.Transfer(tr)
}

// Transfer shows one transfer.
func (o *Output) Transfer(t *walletctl.Transfer) {
	o.Record(t, []kv{
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

// Transfers lists transfers, sent and received.
func (o *Output) Transfers(trs []walletctl.Transfer) {
	rows := make([]table.Row, len(trs))
	for i, t := range trs {
		rows[i] = table.Row{t.ID, t.From, t.To, t.PayeeNameMasked, yuan(t.Amount), t.Status, t.Delay, ts(t.ArrivesAt), ts(t.RefundAt)}
	}
	o.List(trs, []string{"ID", "FROM", "TO", "PAYEE", "AMOUNT", "STATUS", "DELAY", "ARRIVES", "REFUND AT"}, rows)
}
