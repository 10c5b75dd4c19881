package cli

import (
	"context"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// NewCmdTxList is `tx list`.
func NewCmdTxList(f *Factory, runF func(context.Context, *TxListOptions) error) *cobra.Command {
	return newListCmd(f, &cobra.Command{Use: "list", Short: "List the --as user's transactions, newest first"}, runF, true, true,
		walletctl.Service.Transactions, txnID, (*Output).Txns)
}

// TxShowOptions are tx show's inputs.
type TxShowOptions struct {
	*Factory
	ID string
}

// NewCmdTxShow is `tx show`.
func NewCmdTxShow(f *Factory, runF func(context.Context, *TxShowOptions) error) *cobra.Command {
	opts := &TxShowOptions{Factory: f}
	return newIDCmd(&cobra.Command{Use: "show ID", Short: "Show one transaction and its double-entry postings"}, opts, &opts.ID,
		f.app.completeTxns, runF, txShowRun)
}

func txShowRun(ctx context.Context, o *TxShowOptions) error {
	return asUser(ctx, o.Factory, func(svc walletctl.Service, u *walletctl.User) (*walletctl.Txn, error) {
		return svc.Transaction(ctx, u.ID, o.ID)
	}, o.Out.TxnPostings)
}

// Txns lists transactions; a narrow table leaves out SOURCE, FEE, TIME and FAILURE, in that
// order, unless wide.
func (o *Output) Txns(txns []walletctl.Txn, wide bool) {
	o.Table(txns, []string{"ID", "TIME", "KIND", "DIR", "STATUS", "AMOUNT", "COUNTERPARTY", "FEE", "SOURCE", "FAILURE"},
		rowsOf(txns, func(t walletctl.Txn) table.Row {
			// A transfer has one status here, its own (as transfer list shows it); the
			// ledger's pending/succeeded stays in -o json.
			status := txnStatus(&t)
			source := t.Source
			if t.Direction == walletctl.DirectionIn && t.Kind == walletctl.KindTransfer {
				source = "" // the payer's source of funds is not the payee's
			}
			return table.Row{t.ID, ts(t.CreatedAt), t.Kind, t.Direction, status, yuan(t.Amount), t.Counterparty, yuanIfAny(t.Fee), source, t.FailureCode}
		}), wide, "SOURCE", "FEE", "TIME", "FAILURE")
}

// TxnPostings shows a transaction and, for people, its double-entry postings.
func (o *Output) TxnPostings(t *walletctl.Txn) {
	o.Txn(t)
	if o.JSON() || len(t.Postings) == 0 {
		return
	}
	pt := o.NewTable("ACCOUNT", "DEBIT", "CREDIT")
	for _, p := range t.Postings {
		if p.Amount >= 0 {
			pt.AppendRow(table.Row{p.Account, yuan(p.Amount), ""})
		} else {
			pt.AppendRow(table.Row{p.Account, "", yuan(-p.Amount)})
		}
	}
	o.Render(pt)
}
