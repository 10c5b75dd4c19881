// Package cli is the walletctl command line: a cobra command tree built afresh for every call of
// Run (no package-level mutable state), over the embedded sandbox (walletctl/sandbox).
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/walletctl/walletctl/cnid"
	"github.com/walletctl/walletctl/internal/cmdtree"
	"github.com/walletctl/walletctl/internal/tablefit"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/bankadapter"
	"github.com/walletctl/walletctl/walletctl/chaos"
	"github.com/walletctl/walletctl/walletctl/conformance"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// IOStreams are the standard streams of one invocation and whether each is a terminal.
type IOStreams struct {
	In            io.Reader
	Out, ErrOut   io.Writer
	InTTY, OutTTY bool
	ErrTTY        bool
}

// Main runs walletctl on the process's arguments, streams and environment and returns the exit
// code; cmd/walletctl calls os.Exit with it.
func Main() int {
	isTTY := func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
	ios := &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY: isTTY(os.Stdin), OutTTY: isTTY(os.Stdout), ErrTTY: isTTY(os.Stderr),
	}
	return Run(context.Background(), os.Args[1:], ios, os.Getenv)
}

// Run executes one walletctl command line and returns its exit code (walletctl.ExitCode of the
// error's code, 0 on success). It never calls os.Exit and is safe to call concurrently: every
// call builds its own command tree, and the sandbox lock serialises calls on one home.
func Run(ctx context.Context, args []string, ios *IOStreams, getenv func(string) string) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if ios.In == nil {
		ios.In = strings.NewReader("")
	}
	a := newApp(ios, getenv)
	root := a.newRoot()
	root.SetArgs(args)
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	err := root.ExecuteContext(ctx)
	if cerr := a.closeSandbox(ctx); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		return 0
	}
	return a.printError(err)
}

// app is the state of one invocation: streams, global flags and the sandbox once opened.
type app struct {
	ios    *IOStreams
	getenv func(string) string

	out *Output  // the output flags and every command's output
	f   *Factory // what commands get from this invocation

	home, backend, bankURL, as string
	apiKey                     string        // tenant key for --backend
	storeDSN                   string        // --store: the wallet's records in PostgreSQL
	pg                         sandbox.Store // --store, opened once
	bankURLFlag                bool          // --bank URL given through a command's own --bank

	sb      *sandbox.Sandbox
	remote  *httpapi.Client // with --backend
	stdin   *bufio.Reader
	idemKey string // the idempotency key of the money movement sent, for the hint of a lost answer
}

func newApp(ios *IOStreams, getenv func(string) string) *app {
	a := &app{ios: ios, getenv: getenv, out: &Output{IO: ios, Format: "table", Getenv: getenv}}
	a.f = newFactory(a)
	return a
}

// reader is the buffered standard input, shared by every read of this invocation so that lines
// are never lost between two reads.
func (a *app) reader() *bufio.Reader {
	if a.stdin == nil {
		a.stdin = bufio.NewReader(a.ios.In)
	}
	return a.stdin
}

func (a *app) newRoot() *cobra.Command {
	root := &cobra.Command{Use: "walletctl", Short: "Drive a WeChat-style digital wallet on an embedded sandbox",
		Long: `walletctl opens, uses and breaks a digital wallet on a local sandbox: a SQLite wallet and a
deterministic mock bank in one folder (--home, default ./.walletctl), on a virtual clock.

Start with:  walletctl flow open-wallet
Error codes and exit codes:  walletctl codes`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: a.preRun,
	}
	// --version prints what `walletctl version` prints.
	v := buildVersion()
	root.Version = v.Version
	root.SetVersionTemplate(versionLine(v) + "\n")
	pf := root.PersistentFlags()
	for _, g := range a.globals() {
		pf.StringVar(g.dst, g.flag, "", g.usage)
	}
	pf.StringVarP(&a.out.Format, "output", "o", "table", "output format: table or json")
	pf.BoolVar(&a.out.NoColor, "no-color", false, "never colour the output (also NO_COLOR)")
	root.RegisterFlagCompletionFunc("output", fixedCompletion("table", "json"))
	root.RegisterFlagCompletionFunc("as", a.completeUsers)

	root.SetFlagErrorFunc(flagError)
	root.CompletionOptions.HiddenDefaultCmd = false

	root.AddCommand(a.commands()...)
	root.SetHelpCommand(a.helpCmd(root))
	// cobra adds its completion command when it executes; added now, its parent rule applies too.
	// Its scripts go to the writer set when it is made: this invocation's.
	if a.ios.Out != nil {
		root.SetOut(a.ios.Out)
	}
	root.InitDefaultCompletionCmd()
	cmdtree.RejectUnknown(root, unknownCommand)
	typedArgs(root)
	return root
}

// commands is the tree below the root, in one place: the groups (a group with a long help is
// built beside its commands) and the commands in them.
func (a *app) commands() []*cobra.Command {
	f := a.f
	return []*cobra.Command{
		a.sandboxCmd(),
		group("bank", "Stage the mock bank: customers, faults, OTPs, journal, test cards",
			NewCmdBankCustomers(f, nil), a.bankFaultCmd(), NewCmdBankOTP(f, nil), NewCmdBankJournal(f, nil), NewCmdBankCards(f, nil)),
		group("clock", "The sandbox's virtual clock: show it, move it forward", NewCmdClockShow(f, nil), NewCmdClockAdvance(f, nil)),
		group("user", "Wallet accounts: register, show, list, set status",
			NewCmdUserRegister(f, nil), NewCmdUserShow(f, nil), NewCmdUserList(f, nil), NewCmdUserSetStatus(f, nil), NewCmdUserOpenID(f, nil)),
		group("kyc", "Real-name verification (实名认证): submit, status", NewCmdKYCSubmit(f, nil), NewCmdKYCStatus(f, nil)),
		group("card", "Bank cards: bind (with the bank's SMS code), confirm, list, unbind",
			NewCmdCardBind(f, nil), NewCmdCardConfirm(f, nil), NewCmdCardList(f, nil), NewCmdCardUnbind(f, nil)),
		group("password", "The 6-digit payment password: set it, recover it", NewCmdPasswordSet(f, nil), NewCmdPasswordReset(f, nil)),
		NewCmdTopUp(f, nil), NewCmdWithdraw(f, nil), NewCmdPay(f, nil), NewCmdScan(f, nil),
		withSubs(NewCmdPaycode(f, nil), NewCmdPaycodeConfirm(f, nil)),
		NewCmdBalance(f, nil),
		withSubs(NewCmdTransfer(f, nil), NewCmdTransferAccept(f, nil), NewCmdTransferCancel(f, nil), NewCmdTransferList(f, nil)),
		group("tx", "Transaction history: list, show (with ledger postings)", NewCmdTxList(f, nil), NewCmdTxShow(f, nil)),
		group("security", "The account's security log", NewCmdSecurityLog(f, nil)),
		group("merchant", "Merchants: the catalogue, v3 merchants with credentials, orders, refunds, bills",
			NewCmdMerchantList(f, nil), NewCmdMerchantCreate(f, nil), NewCmdMerchantShow(f, nil), NewCmdMerchantKeys(f, nil),
			group("order", "A merchant's orders: create, show, list, close, reverse", NewCmdOrderCreate(f, nil), NewCmdOrderShow(f, nil),
				NewCmdOrderList(f, nil), NewCmdOrderClose(f, nil), NewCmdOrderReverse(f, nil)),
			NewCmdCodePay(f, nil), NewCmdRefund(f, nil), NewCmdBill(f, nil)),
		NewCmdReconcile(f, nil),
		a.notifyCmd(), NewCmdListen(f, nil), NewCmdTrigger(f, nil),
		group("flow", "Whole journeys in one command", NewCmdFlowOpenWallet(f, nil)),
		NewCmdVersion(f, nil), NewCmdCodes(f, nil), a.scenarioCmd(),
		chaos.NewCommand(), NewCmdServe(f, nil),
		conformance.NewCommand(conformance.WithService(a.service)),
	}
}

// unknownSubcommand is cobra's own message for a mistyped subcommand or help topic, with its
// "Did you mean this?" suggestions, as INVALID_ARGUMENT (exit 2).
func unknownSubcommand(parent *cobra.Command, word string) *walletctl.Error {
	return unknownCommand(parent, word, cmdtree.Message(parent, word)).(*walletctl.Error)
}

// unknownCommand is cmdtree.Unknown in walletctl's words.
func unknownCommand(parent *cobra.Command, _, message string) error {
	return &walletctl.Error{Code: walletctl.CodeInvalidArgument, Message: message,
		Hint: "see the commands: " + parent.CommandPath() + " --help"}
}

// preRun fills flags from the environment and checks the global ones.
func (a *app) preRun(cmd *cobra.Command, args []string) error {
	a.applyEnv(cmd)
	if err := checkFlags(cmd); err != nil {
		return err
	}
	if a.out.Format != "table" && a.out.Format != "json" {
		bad := a.out.Format
		a.out.Format = "table"
		return invalidArg("use -o table or -o json", "unknown output format %q", bad)
	}
	return nil
}

// global is a global flag that a WALLETCTL_* variable sets when the command line does not.
type global struct {
	flag, env string
	dst       *string
	usage     string
}

// globals are the global flags the environment can set, for newRoot to add and applyEnv to fill.
func (a *app) globals() []global {
	return []global{
		{"home", "WALLETCTL_HOME", &a.home, "sandbox folder (env WALLETCTL_HOME, default ./.walletctl)"},
		{"backend", "WALLETCTL_BACKEND", &a.backend, "use a remote wallet server (walletctl serve) at this URL instead of the embedded sandbox (env WALLETCTL_BACKEND)"},
		{"api-key", "WALLETCTL_API_KEY", &a.apiKey, "the tenant's API key for --backend (env WALLETCTL_API_KEY)"},
		{"store", "WALLETCTL_STORE", &a.storeDSN, "keep the wallet's records in this PostgreSQL database (postgres://…?search_path=SCHEMA) instead of wallet.db in the home (env WALLETCTL_STORE)"},
		{"bank", "WALLETCTL_BANK", &a.bankURL, "use a running bankmock server at this URL instead of the in-process bank (env WALLETCTL_BANK)"},
		{"as", "WALLETCTL_AS", &a.as, "act as this user: id or phone (env WALLETCTL_AS)"},
	}
}

// applyEnv gives the WALLETCTL_* variables to the global flags not set on the command line.
func (a *app) applyEnv(cmd *cobra.Command) {
	for _, g := range a.globals() {
		// The root's own flag: a command may shadow --bank with its --bank CODE.
		if f := cmd.Root().PersistentFlags().Lookup(g.flag); f != nil && f.Changed {
			continue
		}
		if g.flag == "bank" && a.bankURLFlag {
			continue
		}
		if v := a.getenv(g.env); v != "" {
			*g.dst = v
		}
	}
	if a.home == "" {
		a.home = ".walletctl"
	}
}

// openSandbox opens (and on first use creates, with the default seed) the sandbox.
func (a *app) openSandbox(ctx context.Context) (*sandbox.Sandbox, error) { return a.open(ctx, true) }

// openExisting opens the sandbox without creating one: NO_SANDBOX when there is none.
func (a *app) openExisting(ctx context.Context) (*sandbox.Sandbox, error) { return a.open(ctx, false) }

// open opens the sandbox once for the invocation; create makes one when there is none.
func (a *app) open(ctx context.Context, create bool) (*sandbox.Sandbox, error) {
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
	sb, created, err := sandbox.Open(ctx, opts, create)
	if err != nil {
		return nil, err
	}
	if created {
		// Zero set-up: the first command creates the sandbox; say so once, on stderr.
		fmt.Fprintf(a.ios.ErrOut, "walletctl: created a new sandbox in %s (seed %d); start over any time with: walletctl sandbox reset --force\n",
			a.home, sandbox.DefaultSeed)
	}
	a.sb = sb
	return sb, nil
}

// checkBackend refuses the local sandbox's own commands with --backend: on a server the sandbox
// is a tenant, which the server's admin creates, resets and deletes.
func (a *app) checkBackend() error {
	if a.backend == "" {
		return nil
	}
	return invalidArg("sandbox commands manage the local sandbox (drop --backend and WALLETCTL_BACKEND); a server's sandboxes are tenants its admin manages: POST /admin/tenants",
		"--backend %s: this command works on the embedded sandbox only", a.backend)
}

// bankTimeout is WALLETCTL_BANK_TIMEOUT: how long one call to a remote bank may take before its
// outcome is unknown (0: the default, 5s).
func (a *app) bankTimeout() (time.Duration, error) {
	v := a.getenv("WALLETCTL_BANK_TIMEOUT")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > 10*time.Minute {
		return 0, invalidArg("a Go duration up to 10m, e.g. WALLETCTL_BANK_TIMEOUT=10s", "WALLETCTL_BANK_TIMEOUT=%q is not a positive duration", v)
	}
	return d, nil
}

func (a *app) sandboxOptions(ctx context.Context) (sandbox.Options, error) {
	// WALLETCTL_SANDBOX_THROWAWAY=1 (set by the scenario runner and tests, not documented for
	// users) makes a sandbox created now skip fsync; sandbox.json records it.
	bankTimeout, err := a.bankTimeout()
	if err != nil {
		return sandbox.Options{}, err
	}
	opts := sandbox.Options{Home: a.home, BankURL: a.bankURL, BankToken: a.getenv("WALLETCTL_BANK_TOKEN"), BankKey: a.getenv("WALLETCTL_BANK_KEY"),
		Throwaway: a.getenv("WALLETCTL_SANDBOX_THROWAWAY") == "1", LockWait: a.lockWait, BankTimeout: bankTimeout}
	if a.storeDSN != "" {
		if a.pg == nil {
			pg, err := sandbox.OpenStore(ctx, sandbox.StoreSpec{DSN: a.storeDSN})
			if err != nil {
				return opts, &walletctl.Error{Code: walletctl.CodeInternal, Message: "--store: " + err.Error(),
					Hint: "check the PostgreSQL DSN (postgres://user@host:port/db?search_path=SCHEMA) and that the server is up"}
			}
			a.pg = pg
		}
		opts.Store = a.pg
	}
	return opts, nil
}

// lockWait tells a person why the command does not go on: another walletctl holds the home.
func (a *app) lockWait(pid int) {
	who := ""
	if pid > 0 {
		who = fmt.Sprintf(" (pid %d)", pid)
	}
	fmt.Fprintf(a.ios.ErrOut, "walletctl: waiting for another walletctl using %s%s…\n", a.home, who)
}

// releaseSandbox closes the sandbox if it is open, saving what changed and releasing the home's
// lock, so that no one waits on this command while it waits for a person (a prompt): a second
// terminal can still fetch the SMS code the prompt asks for. The next a.service or a.bank opens
// the sandbox again; a Service obtained before is closed and must not be used.
func (a *app) releaseSandbox(ctx context.Context) error {
	sb := a.sb
	a.sb = nil
	return sb.Close(context.WithoutCancel(ctx))
}

// settle delivers what is due with nothing held: the embedded home is settled and released
// (sandbox.Settle; the next a.service opens it again), a --backend server drains its queue.
func (a *app) settle(ctx context.Context) error {
	if a.backend != "" {
		c, err := a.remoteClient()
		if err != nil {
			return err
		}
		_, err = c.DeliverNotifications(ctx)
		return err
	}
	sb := a.sb
	a.sb = nil
	return sb.Settle(context.WithoutCancel(ctx))
}

// closeSandbox ends the invocation: the notification tries its command made due are delivered
// once the home is released (sandbox.Settle), so that a slow receiver blocks no other terminal.
func (a *app) closeSandbox(ctx context.Context) error {
	sb := a.sb
	a.sb = nil
	err := sb.Settle(context.WithoutCancel(ctx))
	if a.pg != nil { // after the sandbox, which never closes a store it was given
		a.pg.Close()
		a.pg = nil
	}
	return err
}

// actor resolves --as (id or phone) to a user.
func (a *app) actor(ctx context.Context) (walletctl.Service, *walletctl.User, error) {
	if a.as == "" {
		return nil, nil, invalidArg("pass --as USER (an id like u1 or a phone), or set WALLETCTL_AS; list them: walletctl user list",
			"this command acts as a user, and none was given")
	}
	svc, err := a.service(ctx)
	if err != nil {
		return nil, nil, err
	}
	u, err := svc.User(ctx, a.as)
	if err != nil {
		return nil, nil, maskAs(err, a.as)
	}
	return svc, u, nil
}

// maskAs masks a card or ID number given as --as where the error repeats it: an error message
// ends up in terminals' scrollback, CI logs and bug reports.
func maskAs(err error, as string) error {
	masked := cnid.MaskDigits(as)
	var we *walletctl.Error
	if masked == as || !errors.As(err, &we) || !strings.Contains(we.Message, as) {
		return err
	}
	e := *we
	e.Message = strings.ReplaceAll(we.Message, as, masked)
	if len(we.Details) > 0 {
		e.Details = map[string]any{}
		for k, v := range we.Details {
			if sv, ok := v.(string); ok {
				v = strings.ReplaceAll(sv, as, masked)
			}
			e.Details[k] = v
		}
	}
	return &e
}

// invalidArg is an INVALID_ARGUMENT error with a specific hint ("" keeps the default one).
func invalidArg(hint, format string, args ...any) *walletctl.Error {
	e := walletctl.Errorf(walletctl.CodeInvalidArgument, format, args...)
	if hint != "" {
		e.Hint = hint
	}
	return e
}

// asWalletError turns any error into the one error type, so that every failure has a code.
func asWalletError(err error) *walletctl.Error {
	var we *walletctl.Error
	if errors.As(err, &we) {
		return we
	}
	var fe *FlagError
	if errors.As(err, &fe) {
		return fe.walletError()
	}
	if be, ok := bankadapter.AdminError(err); ok {
		return be
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &walletctl.Error{Code: walletctl.CodeNetwork, Message: err.Error(), Hint: walletctl.Hint(walletctl.CodeNetwork)}
	}
	if df := walletctl.DiskFull(err); df != nil {
		return df
	}
	return &walletctl.Error{Code: walletctl.CodeInternal, Message: err.Error(), Hint: walletctl.Hint(walletctl.CodeInternal)}
}

func (a *app) printError(err error) int {
	we := asWalletError(err)
	if we.Code == walletctl.CodeOutcomeUnknown && a.idemKey != "" {
		// In the words of the command line: the flag that repeats the operation safely.
		e := *we
		e.Hint = fmt.Sprintf("retry with --idempotency-key %s: the server runs it at most once", a.idemKey)
		e.Details = map[string]any{"idempotency_key": a.idemKey}
		for k, v := range we.Details {
			e.Details[k] = v
		}
		we = &e
	}
	if a.out.JSON() {
		body := struct {
			Error errorBody `json:"error"`
		}{errorBody{Code: we.Code, Message: we.Message, Hint: we.Hint, Details: we.Details}}
		writeJSON(a.ios.ErrOut, body)
		return ExitCode(we.Code)
	}
	// On a terminal the lines wrap to its width at spaces, under their text; anywhere else
	// (pipes, CI logs, goldens) each stays one line, for grep.
	width := 0
	if a.ios.ErrTTY {
		width = a.out.ErrWidth()
	}
	msg := wrapLabelled("error: ", we.Code+": "+we.Message, width)
	if a.out.ErrColor() {
		msg = ansi("1;31", "error:") + strings.TrimPrefix(msg, "error:")
	}
	fmt.Fprintln(a.ios.ErrOut, msg)
	if d := formatDetails(we.Details); d != "" {
		fmt.Fprintln(a.ios.ErrOut, wrapLabelled("details: ", d, width))
	}
	if we.Hint != "" {
		fmt.Fprintln(a.ios.ErrOut, wrapLabelled("hint: ", we.Hint, width))
	}
	return ExitCode(we.Code)
}

// wrapLabelled is label and text, each line of text wrapped at spaces to width columns (0: not
// wrapped) with its continuation under the text's first column. A word is never broken: a URL,
// a path or a command's argument longer than the line stays whole on a line of its own.
func wrapLabelled(label, text string, width int) string {
	lines := strings.Split(text, "\n")
	lines[0] = label + lines[0]
	if width <= 0 {
		return strings.Join(lines, "\n")
	}
	for i, l := range lines {
		indent := len(label)
		if i > 0 { // a line of its own in the message (Did you mean this?): its own indent
			indent = len(l) - len(strings.TrimLeft(l, " \t"))
		}
		lines[i] = tablefit.WrapHanging(l, width, indent)
	}
	return strings.Join(lines, "\n")
}

type errorBody struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Hint    string         `json:"hint,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}
