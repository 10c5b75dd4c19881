package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

type passwordOutcome struct {
	UserID      string `json:"user_id"`
	PasswordSet bool   `json:"password_set"`
	Reset       bool   `json:"reset,omitempty"`
}

// PasswordSetOptions are password set's inputs.
type PasswordSetOptions struct {
	*Factory
	PasswordStdin bool
}

// NewCmdPasswordSet is `password set`.
func NewCmdPasswordSet(f *Factory, runF func(context.Context, *PasswordSetOptions) error) *cobra.Command {
	opts := &PasswordSetOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "set", Short: "Set the --as user's payment password (prompt, or --password-stdin)",
		Long: `Set the payment password: exactly 6 digits; repeated digits, runs like 123456 and the birth date
in the ID are refused. On a terminal it is asked twice without echo; scripts pipe one line to
--password-stdin. It is stored only as a slow salted hash and never shown.`,
	}, opts, nil, runF, passwordSetRun)
	passwordFlagVar(cmd, &opts.PasswordStdin)
	return cmd
}

func passwordSetRun(ctx context.Context, o *PasswordSetOptions) error {
	_, u, err := o.Actor(ctx)
	if err != nil {
		return err
	}
	p, err := o.newPassword(ctx, o.PasswordStdin, "")
	if err != nil {
		return err
	}
	svc, err := o.Service(ctx) // released while the password was read
	if err != nil {
		return err
	}
	if err := svc.SetPassword(ctx, u.ID, p); err != nil {
		return err
	}
	o.Out.Message(passwordOutcome{UserID: u.ID, PasswordSet: true}, "payment password set for %s", u.ID)
	return nil
}

// PasswordResetOptions are password reset's inputs: step 1 (Name, ID, Card) or step 2 (ResetID,
// OTP).
type PasswordResetOptions struct {
	*Factory
	Name, ID, Card string
	ResetID, OTP   string
	PasswordStdin  bool
}

// NewCmdPasswordReset is `password reset`.
func NewCmdPasswordReset(f *Factory, runF func(context.Context, *PasswordResetOptions) error) *cobra.Command {
	opts := &PasswordResetOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "reset --name NAME --id IDNO --card NO | --reset-id R --otp CODE", Short: "Recover a forgotten payment password with identity, a bound card and the bank's SMS code",
		Long: `Recover the payment password in two steps (找回支付密码):

  1. walletctl password reset --name NAME --id IDNO --card NO
     checks the real name, ID number and a bound card, and the card's bank sends an SMS code;
     prints the reset id and the masked phone.
  2. walletctl password reset --reset-id R --otp CODE --password-stdin
     sets the new password, clears any lock and records the reset in the security log.

On a terminal, step 1 goes on to ask for the code and the new password in the same call.`,
	}, opts, func([]string) error {
		if opts.ResetID == "" && (opts.Name == "" || opts.ID == "" || opts.Card == "") {
			return invalidArg("start with --name NAME --id IDNO --card NO, finish with --reset-id R --otp CODE --password-stdin",
				"--name, --id and --card are required to start a reset")
		}
		return nil
	}, runF, passwordResetRun)
	passwordFlagVar(cmd, &opts.PasswordStdin)
	cmd.Flags().StringVar(&opts.Name, "name", "", "real name, as verified")
	cmd.Flags().StringVar(&opts.ID, "id", "", "resident ID number, as verified")
	cmd.Flags().StringVar(&opts.Card, "card", "", "the full number of a card bound to the wallet")
	cmd.Flags().StringVar(&opts.ResetID, "reset-id", "", "finish the reset started earlier")
	cmd.Flags().StringVar(&opts.OTP, "otp", "", "the SMS code the bank sent (with --reset-id)")
	return cmd
}

func passwordResetRun(ctx context.Context, o *PasswordResetOptions) error {
	svc, u, err := o.Actor(ctx)
	if err != nil {
		return err
	}
	resetID := o.ResetID
	if resetID == "" {
		r, err := svc.StartPasswordReset(ctx, u.ID, o.Name, o.ID, o.Card)
		if err != nil {
			return err
		}
		if !o.IO.InTTY || o.PasswordStdin {
			o.Out.PasswordReset(r)
			return nil
		}
		o.Out.Infof("identity checked; the bank sent an SMS code to %s", r.PhoneMasked)
		resetID = r.ResetID
	}
	// The prompts release the sandbox (and its lock), which also saves the bank's SMS: the
	// code can be fetched from another terminal (walletctl bank otp) while this one waits.
	code := o.OTP
	if code == "" {
		if code, err = o.Secret(ctx, "SMS code: ", false); err != nil {
			return err
		}
	}
	p, err := o.newPassword(ctx, o.PasswordStdin, o.ID) // o.ID: given with step 1, else ""
	if err != nil {
		return err
	}
	if svc, err = o.Service(ctx); err != nil {
		return err
	}
	if err := svc.CompletePasswordReset(ctx, u.ID, resetID, code, p); err != nil {
		return err
	}
	o.Out.Message(passwordOutcome{UserID: u.ID, PasswordSet: true, Reset: true},
		"payment password reset for %s; any lock is cleared (see: walletctl security log)", u.ID)
	return nil
}

// PasswordReset shows a started reset and how to finish it.
func (o *Output) PasswordReset(r *walletctl.PasswordReset) {
	o.Record(r, []kv{
		{"RESET", r.ResetID},
		{"SMS SENT TO", r.PhoneMasked},
		{"EXPIRES", ts(r.ExpiresAt)},
		{"NEXT", "walletctl password reset --reset-id " + r.ResetID + " --otp CODE --password-stdin"},
	})
}

// Infof writes a progress note for people on stderr, leaving stdout to the result.
func (o *Output) Infof(format string, args ...any) {
	if !o.JSON() {
		fmt.Fprintf(o.IO.ErrOut, format+"\n", args...)
	}
}
