package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

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
	// Secret reads a secret (the payment password) from the terminal, or a line of standard input
	// with fromStdin; no lock is held while a person types.
	Secret func(ctx context.Context, prompt string, fromStdin bool) (string, error)

	app *app // the invocation behind the fields above, for commands that manage the sandbox itself
}

func newFactory(a *app) *Factory {
	return &Factory{IO: a.ios, Out: a.out, Service: a.service, Actor: a.actor, Secret: a.readSecret, app: a}
}

// asUser is the body most user commands share: resolve --as, ask the service one thing for
// that user, show the answer.
func asUser[T any](ctx context.Context, f *Factory, ask func(svc walletctl.Service, userID string) (T, error), show func(T)) error {
	svc, u, err := f.Actor(ctx)
	if err != nil {
		return err
	}
	v, err := ask(svc, u.ID)
	if err != nil {
		return err
	}
	show(v)
	return nil
}

// withService is asUser for commands that act as nobody in particular (merchants, admin).
func withService[T any](ctx context.Context, f *Factory, ask func(svc walletctl.Service) (T, error), show func(T)) error {
	svc, err := f.Service(ctx)
	if err != nil {
		return err
	}
	v, err := ask(svc)
	if err != nil {
		return err
	}
	show(v)
	return nil
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
