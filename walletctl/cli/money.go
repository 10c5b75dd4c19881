package cli

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// MoneyFlags are the flags of every command that moves money.
type MoneyFlags struct {
	PasswordStdin  bool   // --password-stdin
	IdempotencyKey string // --idempotency-key
}

// moneyFlags adds --password-stdin and --idempotency-key to a command that moves money.
func moneyFlags(cmd *cobra.Command, m *MoneyFlags) {
	passwordFlagVar(cmd, &m.PasswordStdin)
	cmd.Flags().StringVar(&m.IdempotencyKey, "idempotency-key", "",
		"run this operation at most once under this key: the same command again with the same key returns the first outcome instead of moving money twice (1-100 letters, digits, '-', '_', '.' or ':'; default with --backend: a new cli-… key per invocation, shown when the answer is lost; works with the embedded sandbox too)")
}

// AmountFlags are the flags of a command that moves an amount it is given: those of every money
// movement, and --amount.
type AmountFlags struct {
	MoneyFlags
	Amount    string // --amount, in yuan
	AmountFen int64  // Amount, parsed
}

// flags adds the money flags, and --amount with usage as its help.
func (m *AmountFlags) flags(cmd *cobra.Command, usage string) {
	moneyFlags(cmd, &m.MoneyFlags)
	cmd.Flags().StringVar(&m.Amount, "amount", "", usage)
}

// readAmount reads --amount into fen, once the command's other inputs are checked.
func (m *AmountFlags) readAmount() (err error) {
	m.AmountFen, err = parseAmount(m.Amount)
	return err
}

// moneyCtx gives the money movement about to be sent its idempotency key: the --idempotency-key
// given, else with --backend a fresh one, so that the server can tell a retry from a new
// operation (the client's own retries of this invocation send the same one). The embedded
// sandbox runs the command in this process and needs none unless one is given.
func (a *app) moneyCtx(ctx context.Context, given string) (context.Context, error) {
	k := given
	if k == "" {
		if a.backend == "" {
			return ctx, nil
		}
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		k = "cli-" + hex.EncodeToString(b[:])
	} else if !validIdemKey(k) {
		return nil, invalidArg("e.g. --idempotency-key order-1234: 1-100 letters, digits, '-', '_', '.' or ':'",
			"--idempotency-key %q is not a valid key", k)
	}
	a.idemKey = k
	return walletctl.WithIdempotencyKey(ctx, k), nil
}

// validIdemKey keeps keys to what travels unchanged in an HTTP header and reads well in a log.
func validIdemKey(k string) bool {
	if len(k) == 0 || len(k) > 100 {
		return false
	}
	for _, r := range k {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)
		if !ok {
			return false
		}
	}
	return true
}

// parseAmount is a required --amount (yuan) in fen.
func parseAmount(amount string) (int64, error) {
	if amount == "" {
		return 0, invalidArg("amounts are yuan, e.g. --amount 12.50", "--amount is required")
	}
	return walletctl.ParseAmount(amount)
}

// checkSource refuses a --source that is neither the balance nor a card.
func checkSource(source string) error {
	if source != "balance" && !strings.HasPrefix(source, "card:") {
		return invalidArg("--source balance, or --source card:c1 (walletctl card list)", "unknown source %q", source)
	}
	return nil
}

// fromSource is what paying fen from source needs: the balance to hold it, or the card bound.
func fromSource(source string, fen int64) precheck {
	if source == "balance" {
		return precheck{need: fen}
	}
	return precheck{card: strings.TrimPrefix(source, "card:")}
}

// payer resolves --as and runs the checks that need no secret, so that a typo never costs a
// prompt.
func (f *Factory) payer(ctx context.Context, pre precheck) (*walletctl.User, error) {
	svc, u, err := f.Actor(ctx)
	if err != nil {
		return nil, err
	}
	return u, beforePrompt(ctx, svc, u, pre)
}

// paymentPassword asks for the payment password, then opens the wallet again: it was released
// while a person typed.
func (f *Factory) paymentPassword(ctx context.Context, fromStdin bool) (walletctl.Service, string, error) {
	p, err := f.Secret(ctx, "Payment password: ", fromStdin)
	if err != nil {
		return nil, "", err
	}
	svc, err := f.Service(ctx)
	if err != nil {
		return nil, "", err
	}
	return svc, p, nil
}

// send is the end every money movement with an idempotency key shares, once the checks that
// need no secret have passed: the payment password, the movement under its key, its answer shown.
func send[T any](ctx context.Context, f *Factory, m MoneyFlags,
	move func(ctx context.Context, svc walletctl.Service, password string) (T, error), show func(T)) error {
	svc, p, err := f.paymentPassword(ctx, m.PasswordStdin)
	if err != nil {
		return err
	}
	if ctx, err = f.IdempotencyKey(ctx, m.IdempotencyKey); err != nil {
		return err
	}
	v, err := whileWaiting(f, "waiting for the bank's answer (a slow bank: past the bank timeout it stays pending for walletctl reconcile)", func() (T, error) {
		return move(ctx, svc, p)
	})
	if err != nil {
		return err
	}
	show(v)
	return nil
}

// precheck is what a money movement can check before it asks for the payment password.
type precheck struct {
	card, merchant string // that exist (card: bound by the user)
	need           int64  // fen the balance must hold
}

// beforePrompt runs the checks that need no secret (no password set, an unknown merchant or
// card, more than the balance) before the prompt, so that no one types a password for a
// movement that cannot happen. The service checks all of them again with the password.
func beforePrompt(ctx context.Context, svc walletctl.Service, u *walletctl.User, pre precheck) error {
	if pre.merchant != "" {
		ms, err := walletctl.All(ctx, svc.Merchants, merchantID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(ms, func(m walletctl.Merchant) bool { return m.ID == pre.merchant }) {
			return walletctl.Errorf(walletctl.CodeNotFound, "no merchant %q (see: walletctl merchant list)", pre.merchant)
		}
	}
	if pre.card != "" {
		cs, err := walletctl.All(ctx, func(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Card], error) {
			return svc.Cards(ctx, u.ID, p)
		}, cardID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(cs, func(c walletctl.Card) bool { return c.ID == pre.card }) {
			return walletctl.Errorf(walletctl.CodeNotFound, "no card %q bound by %s", pre.card, u.ID)
		}
	}
	if u.Status == walletctl.StatusFrozen {
		return &walletctl.Error{Code: walletctl.CodeAccountFrozen, Message: fmt.Sprintf("account %s is frozen", u.ID),
			Hint: walletctl.Hint(walletctl.CodeAccountFrozen), Details: map[string]any{"status": string(u.Status)}}
	}
	if !u.PasswordSet {
		return walletctl.Errorf(walletctl.CodePasswordNotSet, "no payment password is set")
	}
	if pre.need > 0 {
		b, err := svc.Balance(ctx, u.ID)
		if err != nil {
			return err
		}
		if b.Available < pre.need {
			return &walletctl.Error{Code: walletctl.CodeInsufficientBalance,
				Message: fmt.Sprintf("the balance is %s CNY, %s CNY needed", walletctl.FormatAmount(b.Available), walletctl.FormatAmount(pre.need)),
				Hint:    walletctl.Hint(walletctl.CodeInsufficientBalance), Details: map[string]any{"available": b.Available, "needed": pre.need}}
		}
	}
	return nil
}

// CardMoveOptions are the inputs of topup and withdraw: money between the balance and a card.
type CardMoveOptions struct {
	*Factory
	AmountFlags
	Card string

	fromBalance bool // the amount leaves the balance (withdraw)
	move        func(svc walletctl.Service, ctx context.Context, userID, cardID string, amount int64, password string) (*walletctl.Txn, error)
}

// NewCmdTopUp is `topup`.
func NewCmdTopUp(f *Factory, runF func(context.Context, *CardMoveOptions) error) *cobra.Command {
	return newCmdCardMove(f, runF, &CardMoveOptions{move: walletctl.Service.TopUp}, "topup --card ID --amount A",
		"Top up the balance from a bound card (asks for the payment password)")
}

// NewCmdWithdraw is `withdraw`.
func NewCmdWithdraw(f *Factory, runF func(context.Context, *CardMoveOptions) error) *cobra.Command {
	return newCmdCardMove(f, runF, &CardMoveOptions{move: walletctl.Service.Withdraw, fromBalance: true}, "withdraw --card ID --amount A",
		"Withdraw from the balance to a bound card (fee 0.1%, min 0.10, after a free quota)")
}

func newCmdCardMove(f *Factory, runF func(context.Context, *CardMoveOptions) error, opts *CardMoveOptions, use, short string) *cobra.Command {
	opts.Factory = f
	cmd := newCmd(&cobra.Command{Use: use, Short: short}, opts, func([]string) error {
		if err := required("pick a card from: walletctl card list", "--card is required", opts.Card); err != nil {
			return err
		}
		return opts.readAmount()
	}, runF, cardMoveRun)
	opts.flags(cmd, "amount in yuan, e.g. 100 or 12.50")
	cmd.Flags().StringVar(&opts.Card, "card", "", "bound card id (walletctl card list)")
	cmd.RegisterFlagCompletionFunc("card", f.app.completeCards)
	return cmd
}

func cardMoveRun(ctx context.Context, o *CardMoveOptions) error {
	pre := precheck{card: o.Card}
	if o.fromBalance {
		pre.need = o.AmountFen
	}
	u, err := o.payer(ctx, pre)
	if err != nil {
		return err
	}
	return send(ctx, o.Factory, o.MoneyFlags, func(ctx context.Context, svc walletctl.Service, password string) (*walletctl.Txn, error) {
		return o.move(svc, ctx, u.ID, o.Card, o.AmountFen, password)
	}, o.Out.Txn)
}

// PayOptions are pay's inputs.
type PayOptions struct {
	*Factory
	AmountFlags
	Merchant, Source string
}

// NewCmdPay is `pay`.
func NewCmdPay(f *Factory, runF func(context.Context, *PayOptions) error) *cobra.Command {
	opts := &PayOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "pay --merchant M --amount A [--source balance|card:ID]",
		Short: "Pay a merchant from the balance or a bound card (asks for the payment password)"}, opts, func([]string) error {
		if err := cmp.Or(required("pick one from: walletctl merchant list", "--merchant is required", opts.Merchant),
			checkSource(opts.Source)); err != nil {
			return err
		}
		return opts.readAmount()
	}, runF, payRun)
	opts.flags(cmd, "amount in yuan, e.g. 12.50")
	cmd.Flags().StringVar(&opts.Merchant, "merchant", "", "merchant id (walletctl merchant list)")
	sourceFlag(f, cmd, &opts.Source)
	cmd.RegisterFlagCompletionFunc("merchant", f.app.completeMerchants)
	return cmd
}

// sourceFlag adds --source: where a payment comes from.
func sourceFlag(f *Factory, cmd *cobra.Command, source *string) {
	cmd.Flags().StringVar(source, "source", "balance", "pay from: balance, or card:ID")
	cmd.RegisterFlagCompletionFunc("source", f.app.completeSources)
}

func payRun(ctx context.Context, o *PayOptions) error {
	pre := fromSource(o.Source, o.AmountFen)
	pre.merchant = o.Merchant
	u, err := o.payer(ctx, pre)
	if err != nil {
		return err
	}
	return send(ctx, o.Factory, o.MoneyFlags, func(ctx context.Context, svc walletctl.Service, password string) (*walletctl.Txn, error) {
		return svc.Pay(ctx, walletctl.PayRequest{UserID: u.ID, Merchant: o.Merchant, Amount: o.AmountFen, Source: o.Source, Password: password})
	}, o.Out.Txn)
}

// BalanceOptions are balance's inputs.
type BalanceOptions struct{ *Factory }

// NewCmdBalance is `balance`.
func NewCmdBalance(f *Factory, runF func(context.Context, *BalanceOptions) error) *cobra.Command {
	return newUserViewCmd(&cobra.Command{Use: "balance", Short: "Show the --as user's balance"}, &BalanceOptions{Factory: f}, runF,
		walletctl.Service.Balance, (*Output).Balance)
}

// Balance shows a balance and what is on its way in or out.
func (o *Output) Balance(b *walletctl.Balance) {
	o.Record(b, []kv{
		{"USER", b.UserID},
		{"AVAILABLE", yuan(b.Available) + " " + b.Currency},
		{"PENDING", yuan(b.Pending)},
		{"IN TRANSIT", yuan(b.InTransit)},
		{"INCOMING", yuan(b.Incoming)},
	})
}

// Txn shows one transaction, with only the fields it has.
func (o *Output) Txn(t *walletctl.Txn) {
	rows := []kv{
		{"TXN", t.ID},
		{"KIND", t.Kind},
		{"STATUS", txnStatus(t)},
		{"AMOUNT", yuan(t.Amount)},
	}
	if t.Fee != 0 {
		rows = append(rows, kv{"FEE", yuan(t.Fee)})
	}
	for _, r := range []kv{
		{"DIRECTION", t.Direction},
		{"COUNTERPARTY", t.Counterparty},
		{"SOURCE", t.Source},
		{"CARD", t.CardMasked},
		{"BANK TXN", t.BankTxnID},
		{"BANK KEY", t.BankIdempotencyKey}, // the KEY of bank journal
		{"FAILURE", t.FailureCode},
		{"NOTE", t.Note},
	} {
		if r.v != "" {
			rows = append(rows, r)
		}
	}
	rows = append(rows, kv{"CREATED", ts(t.CreatedAt)})
	if t.SettledAt != nil {
		rows = append(rows, kv{"SETTLED", tsp(t.SettledAt)})
	}
	o.Record(t, rows)
}

// txnStatus is a txn's one status for people: a transfer's own (scheduled, arrived, accepted,
// ...) when known, else the ledger's (pending, succeeded, failed); -o json has both.
func txnStatus(t *walletctl.Txn) string {
	if t.TransferStatus != "" {
		return t.TransferStatus
	}
	return t.Status
}
