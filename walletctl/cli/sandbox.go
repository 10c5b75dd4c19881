package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// maxCustomers bounds sandbox init --customers.
const maxCustomers = 100000

func (a *app) sandboxCmd() *cobra.Command {
	cmd := group("sandbox", "Create, reset and inspect the embedded sandbox",
		NewCmdSandboxInit(a.f, nil), NewCmdSandboxReset(a.f, nil), NewCmdSandboxStatus(a.f, nil), NewCmdSandboxSettings(a.f, nil),
		NewCmdSandboxCheck(a.f, nil))
	cmd.Long = `The sandbox is one folder (--home, WALLETCTL_HOME, default ./.walletctl) holding the wallet's SQLite
database, the mock bank's state and the virtual clock. Any command creates it with the default seed
on first use; sandbox init chooses the seed and the number of bank customers.`
	return cmd
}

// The sandbox commands manage the sandbox itself: their runs go through the Factory's app.

// SandboxInitOptions are sandbox init's inputs.
type SandboxInitOptions struct {
	*Factory
	Seed      int64
	Customers int // bank customers besides the test cards, 0..maxCustomers
	Force     bool
	Sets      []string // KEY=VALUE rule changes
}

// NewCmdSandboxInit is `sandbox init`.
func NewCmdSandboxInit(f *Factory, runF func(context.Context, *SandboxInitOptions) error) *cobra.Command {
	opts := &SandboxInitOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "init", Short: "Create a fresh sandbox (clock at the fixed epoch)"}, opts, func([]string) error {
		// The same bound as bankmock's admin generate: a typo must not exhaust memory.
		if opts.Customers < 0 || opts.Customers > maxCustomers {
			return invalidArg("", "--customers must be 0..%d", maxCustomers)
		}
		return nil
	}, runF, sandboxInitRun)
	cmd.Flags().Int64Var(&opts.Seed, "seed", sandbox.DefaultSeed, "world seed: the same seed gives the same bank customers")
	cmd.Flags().IntVar(&opts.Customers, "customers", sandbox.DefaultCustomers, "bank customers to generate (besides the documented test cards)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace an existing sandbox")
	cmd.Flags().StringArrayVar(&opts.Sets, "set", nil, "change a rule, e.g. --set confirm_threshold=100000 (fen) --set password_lock=1h (see sandbox settings)")
	return cmd
}

func sandboxInitRun(ctx context.Context, o *SandboxInitOptions) error {
	a := o.app
	if err := a.checkBackend(); err != nil {
		return err
	}
	settings := walletctl.SandboxSettings()
	for _, kv := range o.Sets {
		if err := settings.Set(kv); err != nil {
			return err
		}
	}
	opts, err := a.sandboxOptions(ctx)
	if err != nil {
		return err
	}
	sb, err := sandbox.Init(ctx, opts, sandbox.InitOptions{Seed: o.Seed, Customers: o.Customers, Force: o.Force, Settings: &settings})
	if err != nil {
		return err
	}
	a.sb = sb
	return showSandbox(ctx, o.Out, sb, "created")
}

// SandboxResetOptions are sandbox reset's inputs.
type SandboxResetOptions struct {
	*Factory
	Force bool // wipe without asking
}

// NewCmdSandboxReset is `sandbox reset`.
func NewCmdSandboxReset(f *Factory, runF func(context.Context, *SandboxResetOptions) error) *cobra.Command {
	opts := &SandboxResetOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "reset --force", Short: "Wipe the sandbox back to its seed's fresh state",
		Long: `Put the sandbox back to its seed's fresh state: every user, card, transaction
and bank change is wiped, the clock goes back to the epoch; the seed and the
settings stay. Like init over an existing sandbox, it needs --force, or a yes
at the question it asks on a terminal.`,
	}, opts, nil, runF, sandboxResetRun)
	cmd.Flags().BoolVar(&opts.Force, "force", false, "wipe without asking")
	return cmd
}

func sandboxResetRun(ctx context.Context, o *SandboxResetOptions) error {
	a := o.app
	sb, err := a.openExisting(ctx)
	if err != nil {
		return err
	}
	if !o.Force {
		if !o.IO.InTTY {
			return invalidArg("pass --force to wipe it: walletctl sandbox reset --force",
				"sandbox reset wipes every user, card and transaction in %s", a.home)
		}
		if err := a.releaseSandbox(ctx); err != nil { // no lock held while a person answers
			return err
		}
		fmt.Fprintf(o.IO.ErrOut, "Wipe every user, card and transaction in %s? [y/N] ", a.home)
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
	return showSandbox(ctx, o.Out, sb, "reset")
}

// SandboxStatusOptions are sandbox status's inputs: none.
type SandboxStatusOptions struct{ *Factory }

// NewCmdSandboxStatus is `sandbox status`.
func NewCmdSandboxStatus(f *Factory, runF func(context.Context, *SandboxStatusOptions) error) *cobra.Command {
	return newCmd(&cobra.Command{Use: "status", Short: "Show the sandbox: seed, users, cards, pending work, clock"},
		&SandboxStatusOptions{Factory: f}, nil, runF, func(ctx context.Context, o *SandboxStatusOptions) error {
			return withSandbox(ctx, o.Factory, func(sb *sandbox.Sandbox) error { return showSandbox(ctx, o.Out, sb, "") })
		})
}

// SandboxSettingsOptions are sandbox settings' inputs: none.
type SandboxSettingsOptions struct{ *Factory }

// NewCmdSandboxSettings is `sandbox settings`.
func NewCmdSandboxSettings(f *Factory, runF func(context.Context, *SandboxSettingsOptions) error) *cobra.Command {
	return newCmd(&cobra.Command{Use: "settings", Short: "Show the rules this sandbox enforces (change them with sandbox init --set KEY=VALUE)",
		Long: `Show the rules this sandbox enforces. The table shows amounts in yuan and
durations as written (2h, 10m); -o json keeps the values that --set and
sandbox.json use: amounts as integer fen, durations as Go duration strings
("2h0m0s"). Change them with: walletctl sandbox init --force --set KEY=VALUE`,
	}, &SandboxSettingsOptions{Factory: f}, nil, runF, func(ctx context.Context, o *SandboxSettingsOptions) error {
		return withSandbox(ctx, o.Factory, func(sb *sandbox.Sandbox) error { return o.Out.Settings(sb.Meta().Settings) })
	})
}

// SandboxCheckOptions are sandbox check's inputs: none.
type SandboxCheckOptions struct{ *Factory }

// NewCmdSandboxCheck is `sandbox check`.
func NewCmdSandboxCheck(f *Factory, runF func(context.Context, *SandboxCheckOptions) error) *cobra.Command {
	return newCmd(&cobra.Command{Use: "check", Short: "Look for damage: the settings, every page of wallet.db and bank.db, wallet and bank agreement",
		Long: `Look at the sandbox without changing anything, as git fsck looks at a repository:
sandbox.json (readable, valid rules), every page of wallet.db and bank.db (SQLite's
integrity check), and what walletctl reconcile would report of wallet and bank
(a dry run: nothing pending is settled, the bank journals nothing).

Commands read only the pages they need, so damage deep in a file is found by
the first command that reads it (SANDBOX_DAMAGED, exit 5) or by this check,
which reads everything and takes time in proportion to the files' size.
Exits 0 when all is well, 5 (SANDBOX_DAMAGED) when a file is damaged, 4
(CONFLICT) when wallet and bank disagree.`,
	}, &SandboxCheckOptions{Factory: f}, nil, runF, sandboxCheckRun)
}

func sandboxCheckRun(ctx context.Context, o *SandboxCheckOptions) error {
	a := o.app
	if err := a.checkBackend(); err != nil {
		return err
	}
	opts, err := a.sandboxOptions(ctx)
	if err != nil {
		return err
	}
	rep, err := sandbox.Check(ctx, opts)
	if err != nil {
		return err
	}
	o.Out.SandboxCheck(rep)
	return rep.Err()
}

// SandboxCheck shows what sandbox check found: one row per check.
func (o *Output) SandboxCheck(r *sandbox.CheckReport) {
	o.Table(r, []string{"CHECK", "RESULT", "DETAIL"}, rowsOf(r.Checks, func(c sandbox.CheckLine) table.Row {
		return table.Row{c.Check, c.Result, c.Detail}
	}), false)
}

// withSandbox runs show on the existing sandbox: NO_SANDBOX when there is none.
func withSandbox(ctx context.Context, f *Factory, show func(*sandbox.Sandbox) error) error {
	sb, err := f.app.openExisting(ctx)
	if err != nil {
		return err
	}
	return show(sb)
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
	// It reads every user's lists: a status of the whole sandbox, not a per-request read.
	users, err := walletctl.All(ctx, svc.Users, userID)
	if err != nil {
		return nil, err
	}
	st.Users = len(users)
	for _, u := range users {
		cards, err := walletctl.All(ctx, func(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Card], error) {
			return svc.Cards(ctx, u.ID, p)
		}, cardID)
		if err != nil {
			return nil, err
		}
		st.Cards += len(cards)
		txns, err := walletctl.All(ctx, func(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Txn], error) {
			return svc.Transactions(ctx, u.ID, p)
		}, txnID)
		if err != nil {
			return nil, err
		}
		for _, t := range txns {
			// Only the user's own: a transfer is listed for its payee too.
			if t.UserID == u.ID && t.Kind != walletctl.KindTransfer && t.Status == walletctl.TxnPending {
				st.TxnsPending++
			}
		}
		trs, err := walletctl.All(ctx, func(ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Transfer], error) {
			return svc.Transfers(ctx, u.ID, p)
		}, transferID)
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
	customers, err := bankapi.AllCustomers(ctx, sb.Bank())
	if err != nil {
		return nil, err
	}
	st.BankCustomers = len(customers)
	return st, nil
}

// showSandbox shows the sandbox's status, after "sandbox VERB in HOME" for people when verb is
// given.
func showSandbox(ctx context.Context, o *Output, sb *sandbox.Sandbox, verb string) error {
	st, err := sandboxStatusOf(ctx, sb)
	if err != nil {
		return err
	}
	o.SandboxStatus(st, verb)
	return nil
}

// SandboxStatus shows a sandbox's status.
func (o *Output) SandboxStatus(st *sandboxStatus, verb string) {
	if verb != "" && !o.JSON() {
		fmt.Fprintf(o.IO.Out, "sandbox %s in %s\n", verb, st.Home)
	}
	rows := []kv{
		{"HOME", st.Home},
		{"SEED", st.Seed},
		{"BANK", st.Bank},
	}
	if st.BankPartner != "" {
		rows = append(rows, kv{"BANK PARTNER", st.BankPartner})
	}
	o.Record(st, append(rows, []kv{
		{"BANK CUSTOMERS", st.BankCustomers},
		{"USERS", st.Users},
		{"CARDS", st.Cards},
		{"PENDING AT BANK", st.TxnsPending},
		{"TRANSFERS SCHEDULED", st.TransfersScheduled},
		{"AWAITING ACCEPTANCE", st.TransfersUnaccepted},
		{"CLOCK", ts(st.Clock)},
	}...))
}

// Settings shows every rule by the key that sandbox init --set takes.
func (o *Output) Settings(s walletctl.Settings) error {
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
	o.Record(s, rows)
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
