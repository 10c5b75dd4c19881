package cli

import (
	"context"
	"fmt"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/internal/tablefit"
	"github.com/walletctl/walletctl/walletctl"
)

// SandboxPassword is the payment password `flow open-wallet` sets when none is piped to
// --password-stdin: a documented sandbox fixture (not weak, not a birth date), like a test card.
const SandboxPassword = "135790"

// flowFirstPayment is the amount of the flow's first payment, in fen.
const flowFirstPayment = 100

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

func (a *app) flowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flow",
		Short: "Whole journeys in one command",
	}
	var seedCustomer int
	var phone string
	open := &cobra.Command{
		Use:   "open-wallet [--seed-customer N] [--phone P]",
		Short: "Open a wallet end to end, as the seed's section 3: register, real-name, bind, password, pay",
		Long: `Open a wallet the way the guide's section 3 describes, printing each step:

  3.1 install and register with a phone    3.4 bind the customer's bank card (SMS code from the bank)
  3.2 enter the wallet                     3.5 set the payment password
  3.3 real-name verification               3.6 done: a first payment of 1.00 to a merchant, from the card

The identity comes from the bank: the Nth healthy, active debit customer of a bank that allows
online binding (--seed-customer N, default: the first one no wallet uses yet). The phone defaults to
the one the customer reserved at the bank. The payment password is read from --password-stdin, or
is the sandbox's documented default, ` + SandboxPassword + `.`,
		Args: cobra.NoArgs,
	}
	stdin := passwordFlag(open)
	open.Flags().IntVar(&seedCustomer, "seed-customer", -1, "use the Nth eligible bank customer (0-based)")
	open.Flags().StringVar(&phone, "phone", "", "register with this phone (default: the customer's reserved phone)")
	open.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		password := SandboxPassword
		if *stdin {
			p, err := a.readStdinLine(ctx, "password")
			if err != nil {
				return err
			}
			password = p
		}
		svc, err := a.service(ctx)
		if err != nil {
			return err
		}
		bank, err := a.bank(ctx)
		if err != nil {
			return err
		}
		res, err := a.openWallet(ctx, svc, bank, seedCustomer, phone, password)
		if a.out.JSON() {
			writeJSON(a.ios.Out, res)
		}
		return err
	}
	cmd.AddCommand(open)
	return cmd
}

// eligible reports whether a bank customer can open a wallet without trouble: a healthy active
// debit card, not a magic test card, at a big bank that binds online.
func eligible(c bankapi.Customer, banks map[string]bankapi.BankInfo, magic map[string]bool) bool {
	b, ok := banks[c.Bank]
	return ok && b.OnlineBinding && b.Kind != "rural" && c.Status == bankapi.CardActive && c.Type == bankapi.CardDebit &&
		c.Note == "" && !magic[c.CardNo] && c.Balance >= 100*100
}

func (a *app) openWallet(ctx context.Context, svc walletctl.Service, bank bankBackend, nth int, phone, password string) (*flowResult, error) {
	res := &flowResult{}

	step := func(id, title string, run func() (string, error)) error {
		detail, err := run()
		s := flowStep{Step: id, Title: title, Status: "ok", Detail: detail}
		if err != nil {
			we := asWalletError(err)
			s.Status, s.Error = "failed", &errorBody{Code: we.Code, Message: we.Message, Hint: we.Hint, Details: we.Details}
		}
		res.Steps = append(res.Steps, s)
		if !a.out.JSON() {
			mark := "✓"
			if err != nil {
				mark = "✗"
				detail = asWalletError(err).Code
			}
			if a.out.Color() {
				if err != nil {
					mark = ansi("31", mark)
				} else {
					mark = ansi("32", mark)
				}
			}
			// Continuation lines of a long detail hang under the title.
			line := fmt.Sprintf("%s %s %s: %s", mark, id, title, detail)
			fmt.Fprintln(a.ios.Out, tablefit.WrapHanging(line, a.out.Width(), 2+text.StringWidth(id)+1))
		}
		return err
	}

	var cust bankapi.Customer
	var user *walletctl.User
	if err := step("3.1", "install and register", func() (string, error) {
		// Pick the identity before anything is written, so a bad choice leaves no half-made user.
		c, err := pickCustomer(ctx, svc, bank, nth)
		if err != nil {
			return "", err
		}
		cust = *c
		if phone == "" {
			phone = cust.Phone
		}
		u, err := svc.Register(ctx, phone)
		if err != nil {
			return "", err
		}
		user, res.UserID, res.Phone = u, u.ID, u.Phone
		return fmt.Sprintf("%s with phone %s, status %s; identity from the bank: %s, %s debit card %s",
			u.ID, u.Phone, u.Status, cnid.MaskName(c.Name), c.Bank, cnid.MaskCard(c.CardNo)), nil
	}); err != nil {
		return res, err
	}
	if err := step("3.2", "enter the wallet", func() (string, error) {
		b, err := svc.Balance(ctx, user.ID)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("balance %s %s", yuan(b.Available), b.Currency), nil
	}); err != nil {
		return res, err
	}
	if err := step("3.3", "real-name verification", func() (string, error) {
		k, err := svc.SubmitKYC(ctx, user.ID, cust.Name, cust.IDNo)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s %s verified, class %s", k.NameMasked, k.IDMasked, classLabel(k.Class)), nil
	}); err != nil {
		return res, err
	}
	if err := step("3.4", "bind a bank card", func() (string, error) {
		b, err := svc.BindCard(ctx, user.ID, cust.CardNo, cust.Phone)
		if err != nil {
			return "", err
		}
		otp, err := bank.LastOTP(ctx, cust.Phone) // the sandbox stands in for the SMS
		if err != nil {
			return "", err
		}
		c, err := svc.ConfirmCard(ctx, user.ID, b.BindingID, otp)
		if err != nil {
			return "", err
		}
		res.CardID = c.ID
		return fmt.Sprintf("%s %s %s bound as %s (SMS code sent to %s)", c.Bank, c.CardType, c.CardMasked, c.ID, b.PhoneMasked), nil
	}); err != nil {
		return res, err
	}
	if err := step("3.5", "set the payment password", func() (string, error) {
		if err := svc.SetPassword(ctx, user.ID, password); err != nil {
			return "", err
		}
		return "6 digits, stored as a salted hash", nil
	}); err != nil {
		return res, err
	}
	err := step("3.6", "done: first payment", func() (string, error) {
		ms, err := svc.Merchants(ctx)
		if err != nil {
			return "", err
		}
		if len(ms) == 0 {
			return "", walletctl.Errorf(walletctl.CodeNotFound, "the sandbox has no merchants")
		}
		pctx, err := a.moneyCtx(ctx, "")
		if err != nil {
			return "", err
		}
		t, err := svc.Pay(pctx, walletctl.PayRequest{UserID: user.ID, Merchant: ms[0].ID, Amount: flowFirstPayment,
			Source: "card:" + res.CardID, Password: password})
		if err != nil {
			return "", err
		}
		res.TxnID = t.ID
		return fmt.Sprintf("paid %s to %s from card %s: %s %s", yuan(t.Amount), ms[0].Name, res.CardID, t.ID, t.Status), nil
	})
	if err == nil && !a.out.JSON() {
		t := a.out.NewTable()
		t.AppendRow(table.Row{"USER", res.UserID})
		t.AppendRow(table.Row{"CARD", res.CardID})
		t.AppendRow(table.Row{"NEXT", "walletctl --as " + res.UserID + " balance"})
		a.out.Render(t)
	}
	return res, err
}

// pickCustomer returns the nth eligible customer, or with nth < 0 the first whose identity and
// phone no wallet uses yet.
func pickCustomer(ctx context.Context, svc walletctl.Service, bank bankapi.Admin, nth int) (*bankapi.Customer, error) {
	customers, err := bank.Customers(ctx)
	if err != nil {
		return nil, err
	}
	banks := map[string]bankapi.BankInfo{}
	for _, b := range bankmock.Catalogue() {
		banks[b.Code] = b
	}
	magic := map[string]bool{}
	for _, t := range bankmock.TestCards {
		magic[t.Customer.CardNo] = true
	}
	var pool []bankapi.Customer
	for _, c := range customers {
		if eligible(c, banks, magic) {
			pool = append(pool, c)
		}
	}
	if nth >= 0 {
		if nth >= len(pool) {
			return nil, &walletctl.Error{Code: walletctl.CodeNotFound,
				Message: fmt.Sprintf("there are %d eligible bank customers; --seed-customer %d is out of range", len(pool), nth),
				Hint:    "list them: walletctl bank customers --status active --type debit"}
		}
		return &pool[nth], nil
	}
	users, err := svc.Users(ctx)
	if err != nil {
		return nil, err
	}
	// Users carry masked identities only; a masked ID and name pair is a safe enough fingerprint.
	used := map[string]bool{}
	for _, u := range users {
		used["phone:"+u.Phone] = true
		if u.IDMasked != "" {
			used["id:"+u.IDMasked+u.NameMasked] = true
		}
	}
	for i := range pool {
		c := &pool[i]
		if !used["phone:"+c.Phone] && !used["id:"+cnid.MaskID(c.IDNo)+cnid.MaskName(c.Name)] {
			return c, nil
		}
	}
	return nil, &walletctl.Error{Code: walletctl.CodeNotFound,
		Message: "every eligible bank customer already has a wallet",
		Hint:    "start over (walletctl sandbox reset --force) or init with more customers: walletctl sandbox init --force --customers 200"}
}
