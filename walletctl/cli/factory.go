package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
)

// Factory is what every command gets from the invocation, as GitHub CLI's cmdutil.Factory: the
// streams, the output, and the wallet (embedded or remote) behind function fields, so that a
// command's run function can be tested against a fake (walletctl/mock) with no sandbox at all.
// Commands are built as NewCmdX(f, runF): an options struct filled by flags, and xRun(ctx, opts)
// doing the work; runF replaces xRun in tests of flag parsing.
type Factory struct {
	IO  *IOStreams
	Out *Output

	// Service is the wallet of this invocation: the embedded sandbox, or the server of --backend.
	Service func(ctx context.Context) (walletctl.Service, error)
	// Actor is the --as user and the service to act as them with.
	Actor func(ctx context.Context) (walletctl.Service, *walletctl.User, error)
	// As is --as (or WALLETCTL_AS) as given, "" for none: for commands that act as a user only
	// when one is given.
	As func() string
	// Secret reads a secret (the payment password) from the terminal, or a line of standard input
	// with fromStdin; no lock is held while a person types.
	Secret func(ctx context.Context, prompt string, fromStdin bool) (string, error)
	// IdempotencyKey gives the money movement about to be sent its key: key (--idempotency-key)
	// when given, else with --backend a fresh one; the invocation keeps it for the hint of a
	// lost answer.
	IdempotencyKey func(ctx context.Context, key string) (context.Context, error)
	// Bank is the wallet's bank: the in-process mock, the server of --bank, or with --backend the
	// tenant's bank through the wallet server.
	Bank func(ctx context.Context) (BankBackend, error)
	// Advance moves the virtual clock of the wallet and its bank together.
	Advance func(ctx context.Context, d time.Duration) (time.Time, error)
	// Settle delivers the notification tries that are due with nothing held (DESIGN.md section
	// 11): the embedded home is released first (the next Service opens it again), a server
	// drains its tenant's queue. For commands that show what a delivery did.
	Settle func(ctx context.Context) error

	// SlowAfter is how long a command waits on the bank before it says so on a terminal (0: a
	// second); tests make it short.
	SlowAfter time.Duration

	app *app // the invocation behind the fields above, for commands that manage the sandbox itself
}

func newFactory(a *app) *Factory {
	return &Factory{IO: a.ios, Out: a.out, Service: a.service, Actor: a.actor, Secret: a.readSecret,
		IdempotencyKey: a.moneyCtx, Advance: a.advance, Settle: a.settle, app: a, As: func() string { return a.as },
		Bank: func(ctx context.Context) (BankBackend, error) { return a.bank(ctx) }}
}

// BankBackend is the bank's protocol and admin API, wherever the bank is.
type BankBackend interface {
	bankapi.API
	bankapi.Admin
}

// ask is the body of the commands that ask one thing: open what they ask (the wallet, the bank),
// ask it, show the answer.
func ask[S, T any](ctx context.Context, open func(context.Context) (S, error), q func(S) (T, error), show func(T)) error {
	s, err := open(ctx)
	if err != nil {
		return err
	}
	v, err := q(s)
	if err != nil {
		return err
	}
	show(v)
	return nil
}

// asUser is the body most user commands share: resolve --as, ask the service one thing for
// that user, show the answer.
func asUser[T any](ctx context.Context, f *Factory, q func(svc walletctl.Service, u *walletctl.User) (T, error), show func(T)) error {
	svc, u, err := f.Actor(ctx)
	if err != nil {
		return err
	}
	v, err := q(svc, u)
	if err != nil {
		return err
	}
	show(v)
	return nil
}

// forUser is asUser for an ask that is one Service method of the user's id, written as a
// method expression (walletctl.Service.Balance).
func forUser[T any](ctx context.Context, f *Factory, q func(svc walletctl.Service, ctx context.Context, userID string) (T, error), show func(T)) error {
	return asUser(ctx, f, func(svc walletctl.Service, u *walletctl.User) (T, error) { return q(svc, ctx, u.ID) }, show)
}

// withService is asUser for commands that act as nobody in particular (merchants, admin).
func withService[T any](ctx context.Context, f *Factory, q func(svc walletctl.Service) (T, error), show func(T)) error {
	return ask(ctx, f.Service, q, show)
}

// withServiceOf is withService for an ask that is one Service method of one argument, written as
// a method expression (walletctl.Service.CreateMerchant).
func withServiceOf[A, T any](ctx context.Context, f *Factory, q func(svc walletctl.Service, ctx context.Context, arg A) (T, error), arg A, show func(T)) error {
	return withService(ctx, f, func(svc walletctl.Service) (T, error) { return q(svc, ctx, arg) }, show)
}

// newCmd gives c the RunE of a command built as options and a run function: parse (nil: none)
// takes the arguments into opts and refuses bad flags and arguments before anything runs, then
// runF (tests) or own does the work. c takes no arguments unless its Args says otherwise.
func newCmd[O any](c *cobra.Command, opts O, parse func(args []string) error, runF, own func(context.Context, O) error) *cobra.Command {
	if c.Args == nil {
		c.Args = cobra.NoArgs
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if parse != nil {
			if err := parse(args); err != nil {
				return err
			}
		}
		return run(cmd, opts, runF, own)
	}
	return c
}

// requiredFlag is a string flag a command cannot do without: where it lands, its name and help,
// and the hint when it is missing.
type requiredFlag struct {
	p                 *string
	name, usage, hint string
}

// newFlagCmd is newCmd for a command that cannot do without the flag fl: parse refuses it empty
// ("--phone is required").
func newFlagCmd[O any](c *cobra.Command, opts O, fl requiredFlag, runF, own func(context.Context, O) error) *cobra.Command {
	cmd := newCmd(c, opts, func([]string) error { return missing(need{"--" + fl.name, *fl.p, fl.hint}) }, runF, own)
	cmd.Flags().StringVar(fl.p, fl.name, "", fl.usage)
	return cmd
}

// newIDCmd is newCmd for a command on the one thing its argument names: the argument lands in
// id, and complete offers the candidates.
func newIDCmd[O any](c *cobra.Command, opts O, id *string, complete completion, runF, own func(context.Context, O) error) *cobra.Command {
	c.Args, c.ValidArgsFunction = cobra.ExactArgs(1), firstArg(complete)
	return newCmd(c, opts, func(args []string) error {
		*id = args[0]
		return nil
	}, runF, own)
}

// options are the options of a command: any struct that embeds the Factory.
type options interface{ factory() *Factory }

func (f *Factory) factory() *Factory { return f }

// newUserViewCmd is a command that shows one thing of the --as user: q, a Service method of the
// user's id, asks it, and show, an Output method, prints it.
func newUserViewCmd[O options, T any](c *cobra.Command, opts O, runF func(context.Context, O) error,
	q func(walletctl.Service, context.Context, string) (T, error), show func(*Output, T)) *cobra.Command {
	return newCmd(c, opts, nil, runF, func(ctx context.Context, o O) error {
		f := o.factory()
		return forUser(ctx, f, q, func(v T) { show(f.Out, v) })
	})
}

// newViewCmd is newUserViewCmd for what the wallet answers to anyone: q is a Service method of
// nothing but the context.
func newViewCmd[O options, T any](c *cobra.Command, opts O, runF func(context.Context, O) error,
	q func(walletctl.Service, context.Context) (T, error), show func(*Output, T)) *cobra.Command {
	return newCmd(c, opts, nil, runF, func(ctx context.Context, o O) error {
		f := o.factory()
		return withService(ctx, f, func(svc walletctl.Service) (T, error) { return q(svc, ctx) }, func(v T) { show(f.Out, v) })
	})
}

// WideOptions are the inputs of a command whose only flag is --wide.
type WideOptions struct {
	*Factory
	Wide bool
}

// The commands whose only flag is --wide share WideOptions under their own names.
type (
	CodesOptions     = WideOptions
	BankCardsOptions = WideOptions
)

// newWideCmd is a command on WideOptions.
func newWideCmd(f *Factory, c *cobra.Command, runF, own func(context.Context, *WideOptions) error) *cobra.Command {
	opts := &WideOptions{Factory: f}
	cmd := newCmd(c, opts, nil, runF, own)
	wideFlag(cmd, &opts.Wide)
	return cmd
}

// wideFlag is --wide, of the commands whose tables leave columns out to fit the terminal.
func wideFlag(cmd *cobra.Command, wide *bool) {
	cmd.Flags().BoolVar(wide, "wide", false, wideUsage)
}

// required is the parse check of flags that must be given: INVALID_ARGUMENT with msg and hint
// when any of values is empty.
func required(hint, msg string, values ...string) error {
	for _, v := range values {
		if v == "" {
			return invalidArg(hint, "%s", msg)
		}
	}
	return nil
}

// group is a command that only groups its subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	return withSubs(&cobra.Command{Use: use, Short: short}, subs...)
}

// withSubs is cmd with subcommands.
func withSubs(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.AddCommand(subs...)
	return cmd
}

// FlagError is a mistake in how a command was called, a flag or an argument, whoever found it
// (cobra or the command): INVALID_ARGUMENT, exit 2. Typed, as cli/cli's cmdutil.FlagError, so
// that nothing is classified by its message.
type FlagError struct {
	Err  error
	Hint string
}

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// walletError is the FlagError as the one error type.
func (e *FlagError) walletError() *walletctl.Error {
	hint := e.Hint
	if hint == "" {
		hint = walletctl.Hint(walletctl.CodeInvalidArgument)
	}
	return &walletctl.Error{Code: walletctl.CodeInvalidArgument, Message: e.Err.Error(), Hint: hint}
}

// typedArgs makes every argument check of c and its subcommands answer a FlagError, so that
// cobra's own plain errors ("accepts 1 arg(s), received 0") carry the code.
func typedArgs(c *cobra.Command) {
	for _, sub := range c.Commands() {
		typedArgs(sub)
	}
	if own := c.Args; own != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			err := own(cmd, args)
			var we *walletctl.Error
			if err == nil || errors.As(err, &we) {
				return err
			}
			return &FlagError{Err: err, Hint: "see the usage: " + cmd.CommandPath() + " --help"}
		}
	}
}

// flagError is cobra's flag-parsing error as a FlagError.
func flagError(c *cobra.Command, err error) error {
	// A parent given a mistyped subcommand and that subcommand's flags (user regster --phone P):
	// the mistyped word is the error, not the flag.
	if c.HasSubCommands() {
		if rest := c.Flags().Args(); len(rest) > 0 {
			return unknownSubcommand(c, rest[0])
		}
	}
	return &FlagError{Err: err, Hint: "see the flags: " + c.CommandPath() + " --help"}
}

// checkFlags runs cobra's required-flag and flag-group checks before cobra does, so that their
// plain errors arrive as FlagErrors.
func checkFlags(cmd *cobra.Command) error {
	for _, check := range []func() error{cmd.ValidateRequiredFlags, cmd.ValidateFlagGroups} {
		if err := check(); err != nil {
			return &FlagError{Err: err, Hint: fmt.Sprintf("see the flags: %s --help", cmd.CommandPath())}
		}
	}
	return nil
}

// run is every command's RunE tail: the test's runF when given, else the command's own run.
func run[O any](cmd *cobra.Command, opts O, runF, own func(context.Context, O) error) error {
	if runF != nil {
		return runF(cmd.Context(), opts)
	}
	return own(cmd.Context(), opts)
}
