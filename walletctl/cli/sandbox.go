package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// maxCustomers bounds sandbox init --customers.
const maxCustomers = 100000

func (a *app) sandboxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Create, reset and inspect the embedded sandbox",
		Long: `The sandbox is one folder (--home, WALLETCTL_HOME, default ./.walletctl) holding the wallet's SQLite
database, the mock bank's state and the virtual clock. Any command creates it with the default seed
on first use; sandbox init chooses the seed and the number of bank customers.`,
	}
	var seed int64
	var customers int
	var force bool
	var sets []string
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create a fresh sandbox (clock at the fixed epoch)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			// The same bound as bankmock's admin generate: a typo must not exhaust memory.
			if customers < 0 || customers > maxCustomers {
				return invalidArg("", "--customers must be 0..%d", maxCustomers)
			}
			if err := a.checkBackend(); err != nil {
				return err
			}
			settings := walletctl.SandboxSettings()
			for _, kv := range sets {
				if err := settings.Set(kv); err != nil {
					return err
				}
			}
			opts, err := a.sandboxOptions(ctx)
			if err != nil {
				return err
			}
			sb, err := sandbox.Init(ctx, opts, sandbox.InitOptions{Seed: seed, Customers: customers, Force: force, Settings: &settings})
			if err != nil {
				return err
			}
			a.sb = sb
			return a.printSandboxStatus(ctx, sb, "created")
		},
	}
	initCmd.Flags().Int64Var(&seed, "seed", sandbox.DefaultSeed, "world seed: the same seed gives the same bank customers")
	initCmd.Flags().IntVar(&customers, "customers", sandbox.DefaultCustomers, "bank customers to generate (besides the documented test cards)")
	initCmd.Flags().BoolVar(&force, "force", false, "replace an existing sandbox")
	initCmd.Flags().StringArrayVar(&sets, "set", nil, "change a rule, e.g. --set confirm_threshold=100000 (fen) --set password_lock=1h (see sandbox settings)")

	var resetForce bool
	resetCmd := &cobra.Command{
		Use:   "reset --force",
		Short: "Wipe the sandbox back to its seed's fresh state",
		Long: `Put the sandbox back to its seed's fresh state: every user, card, transaction
and bank change is wiped, the clock goes back to the epoch; the seed and the
settings stay. Like init over an existing sandbox, it needs --force, or a yes
at the question it asks on a terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sb, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			if !resetForce {
				if !a.ios.InTTY {
					return invalidArg("pass --force to wipe it: walletctl sandbox reset --force",
						"sandbox reset wipes every user, card and transaction in %s", a.home)
				}
				if err := a.releaseSandbox(ctx); err != nil { // no lock held while a person answers
					return err
				}
				fmt.Fprintf(a.ios.ErrOut, "Wipe every user, card and transaction in %s? [y/N] ", a.home)
				line, _ := a.reader().ReadString('\n')
				if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
					return invalidArg("pass --force to wipe it without the question", "sandbox reset: not confirmed, nothing changed")
				}
				if sb, err = a.openExisting(ctx); err != nil {
					return err
				}
			}
			if err := sb.Reset(ctx); err != nil {
				return err
			}
			return a.printSandboxStatus(ctx, sb, "reset")
		},
	}
	resetCmd.Flags().BoolVar(&resetForce, "force", false, "wipe without asking")
	statusCmd := &cobra.Command{
		Use:   "status",
		Short: "Show the sandbox: seed, users, cards, pending work, clock",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sb, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			return a.printSandboxStatus(ctx, sb, "")
		},
	}
	settingsCmd := &cobra.Command{
		Use:   "settings",
		Short: "Show the rules this sandbox enforces (change them with sandbox init --set KEY=VALUE)",
		Long: `Show the rules this sandbox enforces. The table shows amounts in yuan and
durations as written (2h, 10m); -o json keeps the values that --set and
sandbox.json use: amounts as integer fen, durations as Go duration strings
("2h0m0s"). Change them with: walletctl sandbox init --force --set KEY=VALUE`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sb, err := a.openExisting(cmd.Context())
			if err != nil {
				return err
			}
			return a.printSettings(sb.Meta().Settings)
		},
	}
	cmd.AddCommand(initCmd, resetCmd, statusCmd, settingsCmd)
	return cmd
}

type sandboxStatus struct {
	Home          string `json:"home"`
	Seed          int64  `json:"seed"`
	Customers     int    `json:"customers"`              // generated at init, besides the test cards
	Bank          string `json:"bank"`                   // "in-process" or the server's URL
	BankPartner   string `json:"bank_partner,omitempty"` // who this home is at a bank server
	BankCustomers int    `json:"bank_customers"`         // cards at the bank now
	Users         int    `json:"users"`
	Cards         int    `json:"cards"`
	// TxnsPending counts the top-ups, withdrawals and payments whose outcome at the bank is not
	// known yet (reconcile settles them); transfers are counted apart, each once.
	TxnsPending         int       `json:"txns_pending"`
	TransfersScheduled  int       `json:"transfers_scheduled"`  // delayed, not arrived yet
	TransfersUnaccepted int       `json:"transfers_unaccepted"` // arrived, awaiting the payee's acceptance
	Clock               time.Time `json:"clock"`
	FormatVersion       int       `json:"format_version"`
}

func sandboxStatusOf(ctx context.Context, sb *sandbox.Sandbox) (*sandboxStatus, error) {
	m := sb.Meta()
	// The home as given, not made absolute: transcripts of scenarios must not carry temp paths
	// they did not type.
	st := &sandboxStatus{Home: sb.Home(), Seed: m.Seed, Customers: m.Customers, Bank: "in-process",
		Clock: m.Clock, FormatVersion: m.FormatVersion}
	if sb.Remote() {
		st.Bank = sb.BankRef().URL
		st.BankPartner = sb.BankRef().PartnerID
		if st.BankPartner == "" {
			st.BankPartner = "(a key from WALLETCTL_BANK_KEY)"
		}
	}
	svc := sb.Service()
	users, err := svc.Users(ctx)
	if err != nil {
		return nil, err
	}
	st.Users = len(users)
	for _, u := range users {
		cards, err := svc.Cards(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		st.Cards += len(cards)
		txns, err := svc.Transactions(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range txns {
			// Only the user's own: a transfer is listed for its payee too.
			if t.UserID == u.ID && t.Kind != walletctl.KindTransfer && t.Status == walletctl.TxnPending {
				st.TxnsPending++
			}
		}
		trs, err := svc.Transfers(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range trs {
			if t.From != u.ID { // counted once, at its payer
				continue
			}
			switch t.Status {
			case walletctl.TransferScheduled:
				st.TransfersScheduled++
			case walletctl.TransferArrived:
				st.TransfersUnaccepted++
			}
		}
	}
	customers, err := sb.Bank().Customers(ctx)
	if err != nil {
		return nil, err
	}
	st.BankCustomers = len(customers)
	return st, nil
}

func (a *app) printSandboxStatus(ctx context.Context, sb *sandbox.Sandbox, verb string) error {
	st, err := sandboxStatusOf(ctx, sb)
	if err != nil {
		return err
	}
	if verb != "" && !a.out.JSON() {
		fmt.Fprintf(a.ios.Out, "sandbox %s in %s\n", verb, st.Home)
	}
	rows := []kv{
		{"HOME", st.Home},
		{"SEED", st.Seed},
		{"BANK", st.Bank},
	}
	if st.BankPartner != "" {
		rows = append(rows, kv{"BANK PARTNER", st.BankPartner})
	}
	a.out.Record(st, append(rows, []kv{
		{"BANK CUSTOMERS", st.BankCustomers},
		{"USERS", st.Users},
		{"CARDS", st.Cards},
		{"PENDING AT BANK", st.TxnsPending},
		{"TRANSFERS SCHEDULED", st.TransfersScheduled},
		{"AWAITING ACCEPTANCE", st.TransfersUnaccepted},
		{"CLOCK", ts(st.Clock)},
	}...))
	return nil
}

// openExisting opens the sandbox without creating one: NO_SANDBOX when there is none.
func (a *app) openExisting(ctx context.Context) (*sandbox.Sandbox, error) {
	if a.sb != nil {
		return a.sb, nil
	}
	if err := a.checkBackend(); err != nil {
		return nil, err
	}
	opts, err := a.sandboxOptions(ctx)
	if err != nil {
		return nil, err
	}
	sb, _, err := sandbox.Open(ctx, opts, false)
	if err != nil {
		return nil, err
	}
	a.sb = sb
	return sb, nil
}

// printSettings shows every rule by the key that sandbox init --set takes.
func (a *app) printSettings(s walletctl.Settings) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	var tree map[string]json.RawMessage
	if err := json.Unmarshal(raw, &tree); err != nil {
		return err
	}
	// The table is for people: amounts in yuan, durations as written (2h, 10m). -o json keeps
	// the values sandbox.json and --set use: fen integers, Go duration strings ("2h0m0s").
	var rows []kv
	for _, k := range walletctl.SettingKeys() {
		raw := tree[k]
		v := string(raw)
		var n int64
		var str string
		switch {
		case walletctl.IsAmountSetting(k) && json.Unmarshal(raw, &n) == nil:
			v = yuan(n) + " CNY"
		case json.Unmarshal(raw, &str) == nil:
			if d, err := time.ParseDuration(str); err == nil {
				v = humanDuration(d)
			}
		case k == "password_hash":
			p := s.PasswordHash
			v = fmt.Sprintf("argon2id t=%d m=%d KiB p=%d", p.Time, p.MemoryKiB, p.Threads)
		}
		rows = append(rows, kv{k, v})
	}
	a.out.Record(s, rows)
	return nil
}

// humanDuration writes a duration as people do: 2h, 10m, 1h30m (not 2h0m0s).
func humanDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
