package cli

import (
	"context"
	"fmt"
	"slices"
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
	f    *Factory
	code *string
}

func (b *bankFlag) String() string { return *b.code }
func (b *bankFlag) Type() string   { return "CODE" }
func (b *bankFlag) Set(s string) error {
	if strings.Contains(s, "://") {
		if a := b.f.app; a != nil {
			a.bankURL, a.bankURLFlag = s, true
		}
		return nil
	}
	*b.code = strings.ToUpper(s)
	return nil
}

// bankCodeFlag gives cmd its own --bank CODE, into code.
func bankCodeFlag(f *Factory, cmd *cobra.Command, code *string, usage string) {
	cmd.Flags().Var(&bankFlag{f: f, code: code}, "bank", usage+" (a URL here sets the global --bank)")
	cmd.RegisterFlagCompletionFunc("bank", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var codes []string
		for _, bi := range bankmock.Catalogue() {
			codes = append(codes, bi.Code+"\t"+bi.NameEN)
		}
		return codes, cobra.ShellCompDirectiveNoFileComp
	})
}

// withBank is withService for the bank commands: ask the bank one thing (q, a BankBackend method
// or a function of its shape), show the answer.
func withBank[T any](ctx context.Context, f *Factory, q func(bank BankBackend, ctx context.Context) (T, error), show func(T)) error {
	return ask(ctx, f.Bank, func(bank BankBackend) (T, error) { return q(bank, ctx) }, show)
}

// bankRunE is the RunE of a bank command that asks the bank one thing of its arguments and shows
// the answer.
func bankRunE[T any](f *Factory, q func(ctx context.Context, bank BankBackend, args []string) (T, error), show func(T)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		return ask(ctx, f.Bank, func(bank BankBackend) (T, error) { return q(ctx, bank, args) }, show)
	}
}

// BankCustomersOptions are bank customers' inputs: the filters and the page.
type BankCustomersOptions struct {
	*Factory
	PageFlags
	BankCode, Status, Type string
	Wide                   bool
}

// NewCmdBankCustomers is `bank customers`.
func NewCmdBankCustomers(f *Factory, runF func(context.Context, *BankCustomersOptions) error) *cobra.Command {
	opts := &BankCustomersOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "customers", Short: "List the bank's customers with full card and ID numbers (sandbox fixtures)",
		Long: `List the simulated bank's customers. This fixture listing is the one output that shows full card
and ID numbers: scripts need them to act as those customers, as a processor documents its test cards.

Customers are listed in the bank's catalogue order (the documented test cards first, then the
generated and added ones), a page at a time: --starting-after and --ending-before take a card
number; --all lists every one.`,
	}, opts, func([]string) error { _, err := opts.Page(); return err }, runF, bankCustomersRun)
	bankCodeFlag(f, cmd, &opts.BankCode, "only this bank")
	choiceFlag(cmd, &opts.Status, "status", "", "only this card status: active, frozen, lost, expired", "active", "frozen", "lost", "expired")
	choiceFlag(cmd, &opts.Type, "type", "", "only this card type: debit, credit", "debit", "credit")
	wideFlag(cmd, &opts.Wide)
	pageFlags(cmd, &opts.PageFlags)
	// Customers are a catalogue, not events: its pages are in catalogue order, not newest first.
	fl := cmd.Flags()
	fl.Lookup("limit").Usage = "how many to show, in catalogue order: 1 to 100"
	fl.Lookup("starting-after").Usage = "show the ones after this card number (the next page)"
	fl.Lookup("ending-before").Usage = "show the ones before this card number (the previous page)"
	return cmd
}

func bankCustomersRun(ctx context.Context, o *BankCustomersOptions) error {
	bank, err := o.Bank(ctx)
	if err != nil {
		return err
	}
	fetch := bankPages(bank.Customers)
	if o.BankCode != "" || o.Status != "" || o.Type != "" {
		fetch = filteredPages(bank.Customers, bankapi.Customer.Cursor, func(c bankapi.Customer) bool {
			return (o.BankCode == "" || c.Bank == o.BankCode) && (o.Status == "" || string(c.Status) == o.Status) && (o.Type == "" || string(c.Type) == o.Type)
		})
	}
	pf := o.PageFlags
	pf.cursorColumn = "CARD" // the cursor is a full card number: not for standard error
	return listPages(ctx, o.Out, pf, fetch, bankapi.Customer.Cursor, func(list []bankapi.Customer) { o.Out.BankCustomers(list, o.Wide) })
}

// bankPages is a bank list as listPages reads it. bankapi.Page and bankapi.List repeat
// walletctl's field for field (the protocol does not import the wallet), so they convert.
func bankPages[T any](list func(context.Context, bankapi.Page) (*bankapi.List[T], error)) func(context.Context, walletctl.Page) (*walletctl.List[T], error) {
	return func(ctx context.Context, p walletctl.Page) (*walletctl.List[T], error) {
		l, err := list(ctx, bankapi.Page(p))
		if err != nil {
			return nil, err
		}
		return (*walletctl.List[T])(l), nil
	}
}

// filteredPages pages the items of a bank list that keep accepts: a page of them is read from as
// many of the bank's pages as it takes, from the cursor on (the bank's lists have no filters;
// those filtered here, the customers, are a bounded fixture set). The cursor is any item's id.
func filteredPages[T any](list func(context.Context, bankapi.Page) (*bankapi.List[T], error), id func(T) string, keep func(T) bool) func(context.Context, walletctl.Page) (*walletctl.List[T], error) {
	return func(ctx context.Context, p walletctl.Page) (*walletctl.List[T], error) {
		n, back := p.N(), p.EndingBefore != ""
		var got []T // nearest to the cursor first
		for bp := &(bankapi.Page{Limit: bankapi.MaxPageLimit, StartingAfter: p.StartingAfter, EndingBefore: p.EndingBefore}); bp != nil && len(got) <= n; {
			l, err := list(ctx, *bp)
			if err != nil {
				return nil, err
			}
			for k := range l.Data {
				it := l.Data[k]
				if back { // an ending_before page is read from its end: its last item is the nearest
					it = l.Data[len(l.Data)-1-k]
				}
				if keep(it) {
					if got = append(got, it); len(got) > n {
						break
					}
				}
			}
			bp = bankapi.NextPage(*bp, l, id)
		}
		out := &walletctl.List[T]{Data: got[:min(n, len(got))], HasMore: len(got) > n}
		if back {
			slices.Reverse(out.Data)
		}
		if out.Data == nil {
			out.Data = []T{}
		}
		return out, nil
	}
}

// BankCustomers lists bank customers with their full numbers: the one listing that shows them.
func (o *Output) BankCustomers(list []bankapi.Customer, wide bool) {
	o.Table(list, []string{"CARD", "BANK", "TYPE", "STATUS", "NAME", "ID", "PHONE", "BALANCE", "NOTE"}, rowsOf(list, func(c bankapi.Customer) table.Row {
		return table.Row{c.CardNo, c.Bank, c.Type, c.Status, c.Name, c.IDNo, c.Phone, yuan(c.Balance), c.Note}
	}), wide, "TYPE", "NOTE", "STATUS", "BALANCE")
}

func (a *app) bankFaultCmd() *cobra.Command {
	var kind, op, card, minAmt, maxAmt string
	var first, status int
	var prob float64
	var delay string
	add := &cobra.Command{Use: "add [SPEC]", Short: "Add a fault rule (spec: kind;op=debit;first=2;... or flags)",
		Long: `Add a fault rule. SPEC is the X-Bankmock-Fault syntax, amounts in fen, e.g.

  drop_after;op=debit;first=2;bank=ICBC;min=100;max=5000
  delay;card=NO;p=0.2;delay=500ms
  http_error;op=credit;status=502

Flags add to or override the spec; their amounts are in yuan. Kinds: ` + bankapi.FaultKindsHelp() + `.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeFaultKinds,
	}
	var only string
	bankCodeFlag(a.f, add, &only, "only requests to this bank")
	add.Flags().StringVar(&kind, "kind", "", "fault kind (instead of a spec)")
	choiceFlag(add, &op, "op", "", "only this operation: verify, bind, confirm, unbind, debit, credit, transaction, statement",
		bankapi.OpVerify, bankapi.OpBind, bankapi.OpConfirm, bankapi.OpUnbind, bankapi.OpDebit, bankapi.OpCredit, bankapi.OpTransaction, bankapi.OpStatement)
	add.Flags().StringVar(&card, "card", "", "only this card number")
	add.Flags().IntVar(&first, "first", 0, "fire on the first N matching requests, then pass")
	add.Flags().Float64Var(&prob, "probability", 0, "fire with this seeded probability (0-1; 0 never fires; without it: always)")
	add.Flags().StringVar(&minAmt, "min-amount", "", "only amounts of at least this many yuan")
	add.Flags().StringVar(&maxAmt, "max-amount", "", "only amounts of at most this many yuan")
	add.Flags().StringVar(&delay, "delay", "", "for delay: how long (Go duration)")
	add.Flags().IntVar(&status, "status", 0, "for http_error: the HTTP status (default 503)")
	add.RegisterFlagCompletionFunc("kind", completeFaultKinds)
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
		if only != "" {
			f.Bank = only
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

	list := &cobra.Command{Use: "list", Short: "List the fault rules with their counters", Args: cobra.NoArgs,
		RunE: bankRunE(a.f, func(ctx context.Context, bank BankBackend, _ []string) ([]bankapi.Fault, error) {
			return bank.Faults(ctx)
		}, a.out.Faults)}
	del := &cobra.Command{Use: "delete ID", Short: "Delete one fault rule", Args: cobra.ExactArgs(1),
		RunE: bankRunE(a.f, func(ctx context.Context, bank BankBackend, args []string) (string, error) {
			return args[0], bank.DeleteFault(ctx, args[0])
		}, func(id string) { a.out.Message(map[string]string{"deleted": id}, "deleted fault %s", id) })}
	clear := &cobra.Command{Use: "clear", Short: "Delete every fault rule", Args: cobra.NoArgs,
		RunE: bankRunE(a.f, func(ctx context.Context, bank BankBackend, _ []string) (bool, error) {
			return true, bank.ClearFaults(ctx)
		}, func(bool) { a.out.Message(map[string]bool{"cleared": true}, "all fault rules cleared") })}
	return group("fault", "Inject faults into the bank: add, list, delete, clear", add, list, del, clear)
}

// Faults lists fault rules with their counters, card numbers masked.
func (o *Output) Faults(faults []bankapi.Fault) {
	out := make([]bankapi.Fault, len(faults))
	rows := make([]table.Row, len(faults))
	for i, f := range faults {
		out[i] = maskFault(f)
		rows[i] = table.Row{f.ID, f.Kind, out[i].String(), f.Matched, f.Fired}
	}
	o.List(out, []string{"ID", "KIND", "RULE", "MATCHED", "FIRED"}, rows)
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

// BankOTPOptions are bank otp's inputs.
type BankOTPOptions struct {
	*Factory
	Phone string // reserved at the bank
}

// NewCmdBankOTP is `bank otp --phone P`.
func NewCmdBankOTP(f *Factory, runF func(context.Context, *BankOTPOptions) error) *cobra.Command {
	opts := &BankOTPOptions{Factory: f}
	return newFlagCmd(&cobra.Command{Use: "otp --phone P", Short: "Show the last SMS code the bank sent to a phone (a sandbox has no SMS)"},
		opts, requiredFlag{&opts.Phone, "phone", "the phone reserved at the bank", "walletctl bank otp --phone 13800138000"}, runF, bankOTPRun)
}

func bankOTPRun(ctx context.Context, o *BankOTPOptions) error {
	return withBank(ctx, o.Factory, func(bank BankBackend, ctx context.Context) (string, error) {
		otp, err := bank.LastOTP(ctx, o.Phone)
		if be, ok := bankapi.AsError(err); ok && be.Code == bankapi.CodeNotFound {
			return "", &walletctl.Error{Code: walletctl.CodeNotFound,
				Message: fmt.Sprintf("the bank sent no SMS code to %s", cnid.MaskPhone(o.Phone)),
				Hint:    "start a card binding or a password reset first; the code goes to the phone reserved at the bank"}
		}
		return otp, err
	}, func(otp string) {
		// The one place an OTP is printed: the sandbox stands in for the phone.
		o.Out.Message(struct {
			Phone string `json:"phone"`
			OTP   string `json:"otp"`
		}{o.Phone, otp}, "%s", otp)
	})
}

// BankJournalOptions are bank journal's inputs.
type BankJournalOptions struct {
	*Factory
	PageFlags
	Last int // --last N: --limit N, kept from before the journal was paged
	Wide bool
}

// NewCmdBankJournal is `bank journal`: the newest entries first, a page at a time; with --all -o
// json the whole journal streams (an export never held whole in memory).
func NewCmdBankJournal(f *Factory, runF func(context.Context, *BankJournalOptions) error) *cobra.Command {
	opts := &BankJournalOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "journal", Short: "Every request the bank saw, what it did and which fault fired (masked)",
		Long: `Every request the bank saw, what it did and which fault fired, card numbers masked: the newest
first, a page at a time (--starting-after and --ending-before take an entry's SEQ). --all reads every
page; with -o json it streams, for an export of the whole journal. A partner sees only its own
requests. --last N is --limit N.`},
		opts, func([]string) error { _, err := opts.journalPage(); return err }, runF, bankJournalRun)
	cmd.Flags().IntVar(&opts.Last, "last", 0, "only the last N entries: the same as --limit N")
	wideFlag(cmd, &opts.Wide)
	pageFlags(cmd, &opts.PageFlags)
	return cmd
}

// journalPage is the paging flags with --last folded into --limit.
func (o *BankJournalOptions) journalPage() (PageFlags, error) {
	pf := o.PageFlags
	if o.Last != 0 {
		if o.Last < 1 || o.Last > walletctl.MaxPageLimit {
			return pf, invalidArg("for example --last 5, or --all for every entry", "--last must be 1 to 100, not %d", o.Last)
		}
		if pf.Limit != walletctl.DefaultPageLimit && pf.Limit != o.Last {
			return pf, invalidArg("walletctl bank journal --limit 5", "--last %d and --limit %d: --last N is --limit N, give one", o.Last, pf.Limit)
		}
		pf.Limit, pf.quiet = o.Last, true
	}
	_, err := pf.Page()
	return pf, err
}

func bankJournalRun(ctx context.Context, o *BankJournalOptions) error {
	pf, err := o.journalPage()
	if err != nil {
		return err
	}
	bank, err := o.Bank(ctx)
	if err != nil {
		return err
	}
	return listPages(ctx, o.Out, pf, bankPages(bank.Journal), bankapi.JournalEntry.Cursor, func(entries []bankapi.JournalEntry) { o.Out.Journal(entries, o.Wide) })
}

// Journal lists the bank's journal entries (masked by the bank).
func (o *Output) Journal(entries []bankapi.JournalEntry, wide bool) {
	o.Table(entries, []string{"SEQ", "TIME", "OP", "BANK", "CARD", "AMOUNT", "KEY", "OUTCOME", "RESP", "FAULT", "DETAIL"},
		rowsOf(entries, func(e bankapi.JournalEntry) table.Row {
			return table.Row{e.Seq, ts(e.Time), e.Op, e.Bank, e.Card, yuanIfAny(e.Amount), e.IdempotencyKey, e.Outcome, e.RespCode, e.Fault, e.Detail}
		}), wide, "TIME", "BANK", "RESP", "DETAIL", "KEY")
}

// NewCmdBankCards is `bank cards`: the mock's documented fixtures, no sandbox needed.
func NewCmdBankCards(f *Factory, runF func(context.Context, *BankCardsOptions) error) *cobra.Command {
	return newWideCmd(f, &cobra.Command{Use: "cards", Short: "The documented test cards and magic amounts (fixtures, full numbers)"},
		runF, func(_ context.Context, o *BankCardsOptions) error {
			o.Out.TestCards(bankmock.TestCards, bankmock.MagicAmounts, o.Wide)
			return nil
		})
}

// TestCards lists the bank's documented test cards, then its magic amounts.
func (o *Output) TestCards(cards []bankmock.TestCard, amounts []bankmock.MagicAmount, wide bool) {
	if o.JSON() {
		writeJSON(o.IO.Out, struct {
			TestCards    []bankmock.TestCard    `json:"test_cards"`
			MagicAmounts []bankmock.MagicAmount `json:"magic_amounts"`
		}{cards, amounts})
		return
	}
	o.Table(nil, []string{"KEY", "CARD", "BANK", "HOLDER", "ID", "PHONE", "EXPECT"}, rowsOf(cards, func(c bankmock.TestCard) table.Row {
		return table.Row{c.Key, c.Customer.CardNo, c.Customer.Bank, c.Customer.Name, c.Customer.IDNo, c.Customer.Phone, c.Expect}
	}), wide, "ID", "PHONE", "BANK", "HOLDER")
	o.Table(nil, []string{"AMOUNT", "FAULT", "WHAT"}, rowsOf(amounts, func(x bankmock.MagicAmount) table.Row {
		kind := string(x.Fault)
		if x.Status != 0 {
			kind += " " + strconv.Itoa(x.Status)
		}
		return table.Row{yuan(x.Amount), kind, x.Purpose}
	}), wide)
}
