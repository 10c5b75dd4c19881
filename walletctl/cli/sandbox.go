package cli

import (
	"context"
	"encoding/json"
	"fmt"
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

	resetCmd := &cobra.Command{
		Use:   "reset",
		Short: "Put the sandbox back to its seed's fresh state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sb, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			if err := sb.Reset(ctx); err != nil {
				return err
			}
			return a.printSandboxStatus(ctx, sb, "reset")
		},
	}
	statusCmd := &cobra.Command{
		Use:   "status",
		Short: "Show the sandbox: seed, users, cards, pending transactions, clock",
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
		Args:  cobra.NoArgs,
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
	Home          string    `json:"home"`
	Seed          int64     `json:"seed"`
	Customers     int       `json:"customers"`              // generated at init, besides the test cards
	Bank          string    `json:"bank"`                   // "in-process" or the server's URL
	BankPartner   string    `json:"bank_partner,omitempty"` // who this home is at a bank server
	BankCustomers int       `json:"bank_customers"`         // cards at the bank now
	Users         int       `json:"users"`
	Cards         int       `json:"cards"`
	TxnsPending   int       `json:"txns_pending"`
	Clock         time.Time `json:"clock"`
	FormatVersion int       `json:"format_version"`
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
			if t.Status == walletctl.TxnPending {
				st.TxnsPending++
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
	if verb != "" && !a.json() {
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
	a.printRecord(st, append(rows, []kv{
		{"BANK CUSTOMERS", st.BankCustomers},
		{"USERS", st.Users},
		{"CARDS", st.Cards},
		{"TXNS PENDING", st.TxnsPending},
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
	var rows []kv
	for _, k := range walletctl.SettingKeys() {
		rows = append(rows, kv{k, string(tree[k])})
	}
	a.printRecord(s, rows)
	return nil
}
