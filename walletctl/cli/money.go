package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// idempotencyFlag adds --idempotency-key to a command that moves money.
func idempotencyFlag(cmd *cobra.Command) *string {
	k := new(string)
	cmd.Flags().StringVar(k, "idempotency-key", "",
		"run this operation at most once under this key: the same command again with the same key returns the first outcome instead of moving money twice (1-100 letters, digits, '-', '_', '.' or ':'; default with --backend: a new cli-… key per invocation, shown when the answer is lost; works with the embedded sandbox too)")
	return k
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

// moneyOut is the common path of every command that moves money out of a user's hands: parse
// the amount, resolve --as, then ask for the password (last, so that a typo never costs a prompt;
// the sandbox is released while it is asked, then opened again).
func (a *app) moneyOut(ctx context.Context, amount string, fromStdin bool, pre precheck) (walletctl.Service, *walletctl.User, int64, string, error) {
	if amount == "" {
		return nil, nil, 0, "", invalidArg("amounts are yuan, e.g. --amount 12.50", "--amount is required")
	}
	fen, err := walletctl.ParseAmount(amount)
	if err != nil {
		return nil, nil, 0, "", err
	}
	svc, u, err := a.actor(ctx)
	if err != nil {
		return nil, nil, 0, "", err
	}
	if pre.fromBalance {
		pre.need = fen
	}
	if err := a.beforePrompt(ctx, svc, u, pre); err != nil {
		return nil, nil, 0, "", err
	}
	p, err := a.readSecret(ctx, "Payment password: ", fromStdin)
	if err != nil {
		return nil, nil, 0, "", err
	}
	svc, err = a.service(ctx) // opened again: it was released while the password was asked
	if err != nil {
		return nil, nil, 0, "", err
	}
	return svc, u, fen, p, nil
}

// precheck is what a money movement can check before it asks for the payment password.
type precheck struct {
	card, merchant string // that exist (card: bound by the user)
	fromBalance    bool   // the amount must be available
	need           int64  // fen the balance must hold (set by moneyOut from the amount)
}

// beforePrompt runs the checks that need no secret (no password set, an unknown merchant or
// card, more than the balance) before the prompt, so that no one types a password for a
// movement that cannot happen. The service checks all of them again with the password.
func (a *app) beforePrompt(ctx context.Context, svc walletctl.Service, u *walletctl.User, pre precheck) error {
	if pre.merchant != "" {
		ms, err := svc.Merchants(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(ms, func(m walletctl.Merchant) bool { return m.ID == pre.merchant }) {
			return walletctl.Errorf(walletctl.CodeNotFound, "no merchant %q (see: walletctl merchant list)", pre.merchant)
		}
	}
	if pre.card != "" {
		cs, err := svc.Cards(ctx, u.ID)
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

func (a *app) topupCmd() *cobra.Command {
	return a.cardMoveCmd("topup --card ID --amount A",
		"Top up the balance from a bound card (asks for the payment password)", false, walletctl.Service.TopUp)
}

func (a *app) withdrawCmd() *cobra.Command {
	return a.cardMoveCmd("withdraw --card ID --amount A",
		"Withdraw from the balance to a bound card (fee 0.1%, min 0.10, after a free quota)", true, walletctl.Service.Withdraw)
}

// cardMoveCmd is a command that moves money between the balance and a bound card.
func (a *app) cardMoveCmd(use, short string, fromBalance bool,
	move func(svc walletctl.Service, ctx context.Context, userID, cardID string, amount int64, password string) (*walletctl.Txn, error)) *cobra.Command {
	var card, amount string
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
	stdin := passwordFlag(cmd)
	idem := idempotencyFlag(cmd)
	cmd.Flags().StringVar(&card, "card", "", "bound card id (walletctl card list)")
	cmd.Flags().StringVar(&amount, "amount", "", "amount in yuan, e.g. 100 or 12.50")
	cmd.RegisterFlagCompletionFunc("card", a.completeCards)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if card == "" {
			return invalidArg("pick a card from: walletctl card list", "--card is required")
		}
		svc, u, fen, p, err := a.moneyOut(ctx, amount, *stdin, precheck{card: card, fromBalance: fromBalance})
		if err != nil {
			return err
		}
		if ctx, err = a.moneyCtx(ctx, *idem); err != nil {
			return err
		}
		t, err := move(svc, ctx, u.ID, card, fen, p)
		if err != nil {
			return err
		}
		a.printTxn(t)
		return nil
	}
	return cmd
}

func (a *app) payCmd() *cobra.Command {
	var merchant, amount, source string
	cmd := &cobra.Command{
		Use:   "pay --merchant M --amount A [--source balance|card:ID]",
		Short: "Pay a merchant from the balance or a bound card (asks for the payment password)",
		Args:  cobra.NoArgs,
	}
	stdin := passwordFlag(cmd)
	idem := idempotencyFlag(cmd)
	cmd.Flags().StringVar(&merchant, "merchant", "", "merchant id (walletctl merchant list)")
	cmd.Flags().StringVar(&amount, "amount", "", "amount in yuan, e.g. 12.50")
	cmd.Flags().StringVar(&source, "source", "balance", "pay from: balance, or card:ID")
	cmd.RegisterFlagCompletionFunc("merchant", a.completeMerchants)
	cmd.RegisterFlagCompletionFunc("source", a.completeSources)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if merchant == "" {
			return invalidArg("pick one from: walletctl merchant list", "--merchant is required")
		}
		if source != "balance" && !strings.HasPrefix(source, "card:") {
			return invalidArg("--source balance, or --source card:c1 (walletctl card list)", "unknown source %q", source)
		}
		pre := precheck{merchant: merchant, fromBalance: source == "balance", card: strings.TrimPrefix(source, "card:")}
		if source == "balance" {
			pre.card = ""
		}
		svc, u, fen, p, err := a.moneyOut(ctx, amount, *stdin, pre)
		if err != nil {
			return err
		}
		if ctx, err = a.moneyCtx(ctx, *idem); err != nil {
			return err
		}
		t, err := svc.Pay(ctx, walletctl.PayRequest{UserID: u.ID, Merchant: merchant, Amount: fen, Source: source, Password: p})
		if err != nil {
			return err
		}
		a.printTxn(t)
		return nil
	}
	return cmd
}

func (a *app) balanceCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "balance",
		Short: "Show the --as user's balance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			b, err := svc.Balance(ctx, u.ID)
			if err != nil {
				return err
			}
			a.out.Record(b, []kv{
				{"USER", b.UserID},
				{"AVAILABLE", yuan(b.Available) + " " + b.Currency},
				{"PENDING", yuan(b.Pending)},
				{"IN TRANSIT", yuan(b.InTransit)},
				{"INCOMING", yuan(b.Incoming)},
			})
			return nil
		},
	}
}

func (a *app) printTxn(t *walletctl.Txn) {
	rows := []kv{
		{"TXN", t.ID},
		{"KIND", t.Kind},
		{"STATUS", txnStatus(t)},
		{"AMOUNT", yuan(t.Amount)},
	}
	if t.Fee != 0 {
		rows = append(rows, kv{"FEE", yuan(t.Fee)})
	}
	if t.Direction != "" {
		rows = append(rows, kv{"DIRECTION", t.Direction})
	}
	if t.Counterparty != "" {
		rows = append(rows, kv{"COUNTERPARTY", t.Counterparty})
	}
	if t.Source != "" {
		rows = append(rows, kv{"SOURCE", t.Source})
	}
	if t.CardMasked != "" {
		rows = append(rows, kv{"CARD", t.CardMasked})
	}
	if t.BankTxnID != "" {
		rows = append(rows, kv{"BANK TXN", t.BankTxnID})
	}
	if t.BankIdempotencyKey != "" {
		rows = append(rows, kv{"BANK KEY", t.BankIdempotencyKey}) // the KEY of bank journal
	}
	if t.FailureCode != "" {
		rows = append(rows, kv{"FAILURE", t.FailureCode})
	}
	if t.Note != "" {
		rows = append(rows, kv{"NOTE", t.Note})
	}
	rows = append(rows, kv{"CREATED", ts(t.CreatedAt)})
	if t.SettledAt != nil {
		rows = append(rows, kv{"SETTLED", tsp(t.SettledAt)})
	}
	a.out.Record(t, rows)
}

// txnStatus is a txn's one status for people: a transfer's own (scheduled, arrived, accepted,
// ...) when known, else the ledger's (pending, succeeded, failed); -o json has both.
func txnStatus(t *walletctl.Txn) string {
	if t.TransferStatus != "" {
		return t.TransferStatus
	}
	return t.Status
}
