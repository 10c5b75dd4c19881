package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/walletctl"
)

// bankFlag is a command's own --bank CODE (a bank of the catalogue). It shadows the global
// --bank URL on that command, so a value that looks like a URL is routed to the global one:
// `walletctl --bank http://127.0.0.1:8086 bank customers --bank ICBC` means both.
type bankFlag struct {
	a    *app
	code string
}

func (b *bankFlag) String() string { return b.code }
func (b *bankFlag) Type() string   { return "CODE" }
func (b *bankFlag) Set(s string) error {
	if strings.Contains(s, "://") {
		b.a.bankURL, b.a.bankURLFlag = s, true
		return nil
	}
	b.code = strings.ToUpper(s)
	return nil
}

func (a *app) bankCodeFlag(cmd *cobra.Command, usage string) *bankFlag {
	b := &bankFlag{a: a}
	cmd.Flags().Var(b, "bank", usage+" (a URL here sets the global --bank)")
	cmd.RegisterFlagCompletionFunc("bank", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var codes []string
		for _, bi := range bankmock.Catalogue() {
			codes = append(codes, bi.Code+"\t"+bi.NameEN)
		}
		return codes, cobra.ShellCompDirectiveNoFileComp
	})
	return b
}

func (a *app) bankCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bank",
		Short: "Stage the mock bank: customers, faults, OTPs, journal, test cards",
	}
	cmd.AddCommand(a.bankCustomersCmd(), a.bankFaultCmd(), a.bankOTPCmd(), a.bankJournalCmd(), a.bankCardsCmd())
	return cmd
}

func (a *app) bankCustomersCmd() *cobra.Command {
	var status, typ string
	cmd := &cobra.Command{
		Use:   "customers",
		Short: "List the bank's customers with full card and ID numbers (sandbox fixtures)",
		Long: `List the simulated bank's customers. This fixture listing is the one output that shows full card
and ID numbers: scripts need them to act as those customers, as a processor documents its test cards.`,
		Args: cobra.NoArgs,
	}
	only := a.bankCodeFlag(cmd, "only this bank")
	cmd.Flags().StringVar(&status, "status", "", "only this card status: active, frozen, lost, expired")
	cmd.Flags().StringVar(&typ, "type", "", "only this card type: debit, credit")
	cmd.RegisterFlagCompletionFunc("status", fixedCompletion("active", "frozen", "lost", "expired"))
	cmd.RegisterFlagCompletionFunc("type", fixedCompletion("debit", "credit"))
	var wide bool
	cmd.Flags().BoolVar(&wide, "wide", false, wideUsage)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		bank, err := a.bank(ctx)
		if err != nil {
			return err
		}
		all, err := bank.Customers(ctx)
		if err != nil {
			return err
		}
		list := make([]bankapi.Customer, 0, len(all))
		var rows []table.Row
		for _, c := range all {
			if (only.code != "" && c.Bank != only.code) || (status != "" && string(c.Status) != status) || (typ != "" && string(c.Type) != typ) {
				continue
			}
			list = append(list, c)
			rows = append(rows, table.Row{c.CardNo, c.Bank, c.Type, c.Status, c.Name, c.IDNo, c.Phone, yuan(c.Balance), c.Note})
		}
		a.out.Table(list, []string{"CARD", "BANK", "TYPE", "STATUS", "NAME", "ID", "PHONE", "BALANCE", "NOTE"}, rows,
			wide, "TYPE", "NOTE", "STATUS", "BALANCE")
		return nil
	}
	return cmd
}

func (a *app) bankFaultCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fault",
		Short: "Inject faults into the bank: add, list, delete, clear",
	}
	var kind, op, card, minAmt, maxAmt string
	var first, status int
	var prob float64
	var delay string
	add := &cobra.Command{
		Use:   "add [SPEC]",
		Short: "Add a fault rule (spec: kind;op=debit;first=2;... or flags)",
		Long: `Add a fault rule. SPEC is the X-Bankmock-Fault syntax, amounts in fen:

  drop_after;op=debit;first=2;bank=ICBC;card=NO;min=100;max=5000;p=0.2;delay=500ms;status=502

Flags add to or override the spec; their amounts are in yuan. Kinds: ` + bankapi.FaultKindsHelp() + `.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeFaultKinds,
	}
	only := a.bankCodeFlag(add, "only requests to this bank")
	add.Flags().StringVar(&kind, "kind", "", "fault kind (instead of a spec)")
	add.Flags().StringVar(&op, "op", "", "only this operation: verify, bind, confirm, unbind, debit, credit, transaction, statement")
	add.Flags().StringVar(&card, "card", "", "only this card number")
	add.Flags().IntVar(&first, "first", 0, "fire on the first N matching requests, then pass")
	add.Flags().Float64Var(&prob, "probability", 0, "fire with this seeded probability (0-1; 0 never fires; without it: always)")
	add.Flags().StringVar(&minAmt, "min-amount", "", "only amounts of at least this many yuan")
	add.Flags().StringVar(&maxAmt, "max-amount", "", "only amounts of at most this many yuan")
	add.Flags().StringVar(&delay, "delay", "", "for delay: how long (Go duration)")
	add.Flags().IntVar(&status, "status", 0, "for http_error: the HTTP status (default 503)")
	add.RegisterFlagCompletionFunc("kind", completeFaultKinds)
	add.RegisterFlagCompletionFunc("op", fixedCompletion(bankapi.OpVerify, bankapi.OpBind, bankapi.OpConfirm, bankapi.OpUnbind,
		bankapi.OpDebit, bankapi.OpCredit, bankapi.OpTransaction, bankapi.OpStatement))
	add.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		var f bankapi.Fault
		switch {
		case len(args) == 1:
			var err error
			if f, err = bankapi.ParseFault(args[0]); err != nil {
				return invalidArg("kinds: "+faultKindList(), "%v", err)
			}
			if kind != "" {
				f.Kind = bankapi.FaultKind(kind)
			}
		case kind != "":
			f.Kind = bankapi.FaultKind(kind)
		default:
			return invalidArg("walletctl bank fault add drop_after --op debit --first 1 (kinds: "+faultKindList()+")", "give a fault spec or --kind")
		}
		fl := cmd.Flags()
		if fl.Changed("op") {
			f.Op = op
		}
		if only.code != "" {
			f.Bank = only.code
		}
		if fl.Changed("card") {
			f.CardNo = card
		}
		if fl.Changed("first") {
			f.First = first
		}
		if fl.Changed("probability") {
			f.Probability = bankapi.Chance(prob)
		}
		for _, m := range []struct {
			flag, v string
			dst     *int64
		}{{"min-amount", minAmt, &f.MinAmount}, {"max-amount", maxAmt, &f.MaxAmount}} {
			if fl.Changed(m.flag) {
				fen, err := walletctl.ParseAmount(m.v)
				if err != nil {
					return err
				}
				*m.dst = fen
			}
		}
		if fl.Changed("delay") {
			d, err := parseDuration(delay)
			if err != nil {
				return err
			}
			f.Delay = d
		}
		if fl.Changed("status") {
			f.Status = status
		}
		// Validate the merged rule with the same parser the bank's header uses.
		if _, err := bankapi.ParseFault(f.String()); err != nil {
			return invalidArg("kinds: "+faultKindList(), "%v", err)
		}
		bank, err := a.bank(ctx)
		if err != nil {
			return err
		}
		added, err := bank.AddFault(ctx, f)
		if err != nil {
			return err
		}
		out := maskFault(*added)
		a.out.Record(out, []kv{{"ID", out.ID}, {"KIND", out.Kind}, {"RULE", out.String()}})
		return nil
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List the fault rules with their counters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			bank, err := a.bank(ctx)
			if err != nil {
				return err
			}
			faults, err := bank.Faults(ctx)
			if err != nil {
				return err
			}
			out := make([]bankapi.Fault, len(faults))
			rows := make([]table.Row, len(faults))
			for i, f := range faults {
				out[i] = maskFault(f)
				rows[i] = table.Row{f.ID, f.Kind, out[i].String(), f.Matched, f.Fired}
			}
			a.out.List(out, []string{"ID", "KIND", "RULE", "MATCHED", "FIRED"}, rows)
			return nil
		},
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete one fault rule",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			bank, err := a.bank(ctx)
			if err != nil {
				return err
			}
			if err := bank.DeleteFault(ctx, args[0]); err != nil {
				return err
			}
			a.out.Message(map[string]string{"deleted": args[0]}, "deleted fault %s", args[0])
			return nil
		},
	}
	clear := &cobra.Command{
		Use:   "clear",
		Short: "Delete every fault rule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			bank, err := a.bank(ctx)
			if err != nil {
				return err
			}
			if err := bank.ClearFaults(ctx); err != nil {
				return err
			}
			a.out.Message(map[string]bool{"cleared": true}, "all fault rules cleared")
			return nil
		},
	}
	cmd.AddCommand(add, list, del, clear)
	return cmd
}

// maskFault hides a fault's card number: only `bank customers` shows full numbers.
func maskFault(f bankapi.Fault) bankapi.Fault {
	if f.CardNo != "" {
		f.CardNo = cnid.MaskCard(f.CardNo)
	}
	return f
}

func faultKindList() string {
	s := make([]string, len(bankapi.FaultKinds))
	for i, k := range bankapi.FaultKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func completeFaultKinds(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	s := bankapi.FaultKindNames()
	for i, k := range bankapi.FaultKinds {
		s[i] += "\t" + k.Help() // shown beside the name by shells that can
	}
	return s, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) bankOTPCmd() *cobra.Command {
	var phone string
	cmd := &cobra.Command{
		Use:   "otp --phone P",
		Short: "Show the last SMS code the bank sent to a phone (a sandbox has no SMS)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if phone == "" {
				return invalidArg("walletctl bank otp --phone 13800138000", "--phone is required")
			}
			bank, err := a.bank(ctx)
			if err != nil {
				return err
			}
			otp, err := bank.LastOTP(ctx, phone)
			if err != nil {
				if be, ok := bankapi.AsError(err); ok && be.Code == bankapi.CodeNotFound {
					return &walletctl.Error{Code: walletctl.CodeNotFound,
						Message: fmt.Sprintf("the bank sent no SMS code to %s", cnid.MaskPhone(phone)),
						Hint:    "start a card binding or a password reset first; the code goes to the phone reserved at the bank"}
				}
				return err
			}
			// The one place an OTP is printed: the sandbox stands in for the phone.
			a.out.Message(struct {
				Phone string `json:"phone"`
				OTP   string `json:"otp"`
			}{phone, otp}, "%s", otp)
			return nil
		},
	}
	cmd.Flags().StringVar(&phone, "phone", "", "the phone reserved at the bank")
	return cmd
}

func (a *app) bankJournalCmd() *cobra.Command {
	var (
		last int
		wide bool
	)
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "Every request the bank saw, what it did and which fault fired (masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			bank, err := a.bank(ctx)
			if err != nil {
				return err
			}
			entries, err := bank.Journal(ctx)
			if err != nil {
				return err
			}
			if last > 0 && len(entries) > last {
				entries = entries[len(entries)-last:]
			}
			rows := make([]table.Row, len(entries))
			for i, e := range entries {
				amount := ""
				if e.Amount != 0 {
					amount = yuan(e.Amount)
				}
				rows[i] = table.Row{e.Seq, ts(e.Time), e.Op, e.Bank, e.Card, amount, e.IdempotencyKey, e.Outcome, e.RespCode, e.Fault, e.Detail}
			}
			a.out.Table(entries, []string{"SEQ", "TIME", "OP", "BANK", "CARD", "AMOUNT", "KEY", "OUTCOME", "RESP", "FAULT", "DETAIL"}, rows,
				wide, "TIME", "BANK", "RESP", "DETAIL", "KEY")
			return nil
		},
	}
	cmd.Flags().IntVar(&last, "last", 0, "only the last N entries")
	cmd.Flags().BoolVar(&wide, "wide", false, wideUsage)
	return cmd
}

func (a *app) bankCardsCmd() *cobra.Command {
	var wide bool
	cmd := &cobra.Command{
		Use:   "cards",
		Short: "The documented test cards and magic amounts (fixtures, full numbers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.out.JSON() {
				writeJSON(a.ios.Out, struct {
					TestCards    []bankmock.TestCard    `json:"test_cards"`
					MagicAmounts []bankmock.MagicAmount `json:"magic_amounts"`
				}{bankmock.TestCards, bankmock.MagicAmounts})
				return nil
			}
			rows := make([]table.Row, len(bankmock.TestCards))
			for i, c := range bankmock.TestCards {
				rows[i] = table.Row{c.Key, c.Customer.CardNo, c.Customer.Bank, c.Customer.Name, c.Customer.IDNo, c.Customer.Phone, c.Expect}
			}
			a.out.Table(nil, []string{"KEY", "CARD", "BANK", "HOLDER", "ID", "PHONE", "EXPECT"}, rows, wide, "ID", "PHONE", "BANK", "HOLDER")
			rows = make([]table.Row, len(bankmock.MagicAmounts))
			for i, x := range bankmock.MagicAmounts {
				kind := string(x.Fault)
				if x.Status != 0 {
					kind += " " + strconv.Itoa(x.Status)
				}
				rows[i] = table.Row{yuan(x.Amount), kind, x.Purpose}
			}
			a.out.Table(nil, []string{"AMOUNT", "FAULT", "WHAT"}, rows, wide)
			return nil
		},
	}
	cmd.Flags().BoolVar(&wide, "wide", false, wideUsage)
	return cmd
}

func fixedCompletion(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}
