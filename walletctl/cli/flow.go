package cli

import (
	"context"
	"fmt"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/internal/tablefit"
	"github.com/walletctl/walletctl/walletctl/fixtures"
)

// SandboxPassword is the payment password `flow open-wallet` sets when none is piped to
// --password-stdin: a documented sandbox fixture (not weak, not a birth date), like a test card.
const SandboxPassword = fixtures.SandboxPassword

// FlowOpenWalletOptions are flow open-wallet's inputs.
type FlowOpenWalletOptions struct {
	*Factory
	SeedCustomer  int    // the Nth eligible bank customer; -1: the first no wallet uses
	Phone         string // "": the customer's reserved phone
	PasswordStdin bool
	// ReadLine reads a line of standard input naming what it wants; no lock is held meanwhile.
	ReadLine func(ctx context.Context, what string) (string, error)
}

// NewCmdFlowOpenWallet is `flow open-wallet`.
func NewCmdFlowOpenWallet(f *Factory, runF func(context.Context, *FlowOpenWalletOptions) error) *cobra.Command {
	opts := &FlowOpenWalletOptions{Factory: f, ReadLine: f.app.readStdinLine}
	cmd := &cobra.Command{Use: "open-wallet [--seed-customer N] [--phone P]", Short: "Open a wallet end to end, as the seed's section 3: register, real-name, bind, password, pay",
		Long: `Open a wallet the way the guide's section 3 describes, printing each step:

  3.1 install and register with a phone    3.4 bind the customer's bank card (SMS code from the bank)
  3.2 enter the wallet                     3.5 set the payment password
  3.3 real-name verification               3.6 done: a first payment of 1.00 to a merchant, from the card

The identity comes from the bank: the Nth healthy, active debit customer of a bank that allows
online binding (--seed-customer N, default: the first one no wallet uses yet). The phone defaults to
the one the customer reserved at the bank. The payment password is read from --password-stdin, or
is the sandbox's documented default, ` + SandboxPassword + `.`,
	}
	passwordFlagVar(cmd, &opts.PasswordStdin)
	cmd.Flags().IntVar(&opts.SeedCustomer, "seed-customer", -1, "use the Nth eligible bank customer (0-based)")
	cmd.Flags().StringVar(&opts.Phone, "phone", "", "register with this phone (default: the customer's reserved phone)")
	return newCmd(cmd, opts, nil, runF, flowOpenWalletRun)
}

func flowOpenWalletRun(ctx context.Context, o *FlowOpenWalletOptions) error {
	password := SandboxPassword
	if o.PasswordStdin {
		p, err := o.ReadLine(ctx, "password")
		if err != nil {
			return err
		}
		password = p
	}
	w, err := fixtureWorld(ctx, o.Factory)
	if err != nil {
		return err
	}
	spec := fixtures.OpenWallet{Customer: o.SeedCustomer, Phone: o.Phone, Password: password}
	if !o.Out.JSON() {
		spec.Progress = o.Out.FlowStep
	}
	res, err := w.OpenWallet(ctx, spec)
	if o.Out.JSON() {
		writeJSON(o.IO.Out, flowView(res))
	} else if err == nil {
		t := o.Out.NewTable()
		t.AppendRows([]table.Row{{"USER", res.UserID}, {"CARD", res.CardID}, {"NEXT", "walletctl --as " + res.UserID + " balance"}})
		o.Out.Render(t)
	}
	return err
}

// FlowStep prints one step of a flow as it ends: a mark, the step and what it did, or the code
// it failed with; continuation lines of a long detail hang under the title.
func (o *Output) FlowStep(s fixtures.Step) {
	mark, detail, colour := "✓", s.Detail, "32"
	if s.Err != nil {
		mark, detail, colour = "✗", asWalletError(s.Err).Code, "31"
	}
	if o.Color() {
		mark = ansi(colour, mark)
	}
	line := fmt.Sprintf("%s %s %s: %s", mark, s.ID, s.Title, detail)
	fmt.Fprintln(o.IO.Out, tablefit.WrapHanging(line, o.Width(), 2+text.StringWidth(s.ID)+1))
}

// flowStep and flowResult are the flow's JSON: each step with its status and error.
type flowStep struct {
	Step   string     `json:"step"`   // the seed's section: 3.1 ... 3.6
	Title  string     `json:"title"`  // what the step does
	Status string     `json:"status"` // ok, failed, skipped
	Detail string     `json:"detail,omitempty"`
	Error  *errorBody `json:"error,omitempty"`
}

type flowResult struct {
	UserID string     `json:"user_id,omitempty"`
	Phone  string     `json:"phone,omitempty"`
	CardID string     `json:"card_id,omitempty"`
	TxnID  string     `json:"txn_id,omitempty"`
	Steps  []flowStep `json:"steps"`
}

func flowView(r *fixtures.OpenedWallet) flowResult {
	v := flowResult{UserID: r.UserID, Phone: r.Phone, CardID: r.CardID, TxnID: r.TxnID}
	for _, s := range r.Steps {
		fs := flowStep{Step: s.ID, Title: s.Title, Status: "ok", Detail: s.Detail}
		if s.Err != nil {
			we := asWalletError(s.Err)
			fs.Status, fs.Error = "failed", &errorBody{Code: we.Code, Message: we.Message, Hint: we.Hint, Details: we.Details}
		}
		v.Steps = append(v.Steps, fs)
	}
	return v
}
