package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

type passwordOutcome struct {
	UserID      string `json:"user_id"`
	PasswordSet bool   `json:"password_set"`
	Reset       bool   `json:"reset,omitempty"`
}

func (a *app) passwordCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "password",
		Short: "The 6-digit payment password: set it, recover it",
	}
	set := &cobra.Command{
		Use:   "set",
		Short: "Set the --as user's payment password (prompt, or --password-stdin)",
		Long: `Set the payment password: exactly 6 digits; repeated digits, runs like 123456 and the birth date
in the ID are refused. On a terminal it is asked twice without echo; scripts pipe one line to
--password-stdin. It is stored only as a slow salted hash and never shown.`,
		Args: cobra.NoArgs,
	}
	setStdin := passwordFlag(set)
	set.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		_, u, err := a.actor(ctx)
		if err != nil {
			return err
		}
		p, err := a.readNewPassword(ctx, *setStdin)
		if err != nil {
			return err
		}
		svc, err := a.service(ctx) // released while the password was read
		if err != nil {
			return err
		}
		if err := svc.SetPassword(ctx, u.ID, p); err != nil {
			return err
		}
		a.out.Message(passwordOutcome{UserID: u.ID, PasswordSet: true}, "payment password set for %s", u.ID)
		return nil
	}

	var name, id, cardNo, resetID, otp string
	reset := &cobra.Command{
		Use:   "reset --name NAME --id IDNO --card NO | --reset-id R --otp CODE",
		Short: "Recover a forgotten payment password with identity, a bound card and the bank's SMS code",
		Long: `Recover the payment password in two steps (找回支付密码):

  1. walletctl password reset --name NAME --id IDNO --card NO
     checks the real name, ID number and a bound card, and the card's bank sends an SMS code;
     prints the reset id and the masked phone.
  2. walletctl password reset --reset-id R --otp CODE --password-stdin
     sets the new password, clears any lock and records the reset in the security log.

On a terminal, step 1 goes on to ask for the code and the new password in the same call.`,
		Args: cobra.NoArgs,
	}
	resetStdin := passwordFlag(reset)
	reset.Flags().StringVar(&name, "name", "", "real name, as verified")
	reset.Flags().StringVar(&id, "id", "", "resident ID number, as verified")
	reset.Flags().StringVar(&cardNo, "card", "", "the full number of a card bound to the wallet")
	reset.Flags().StringVar(&resetID, "reset-id", "", "finish the reset started earlier")
	reset.Flags().StringVar(&otp, "otp", "", "the SMS code the bank sent (with --reset-id)")
	reset.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if resetID == "" && (name == "" || id == "" || cardNo == "") {
			return invalidArg("start with --name NAME --id IDNO --card NO, finish with --reset-id R --otp CODE --password-stdin",
				"--name, --id and --card are required to start a reset")
		}
		svc, u, err := a.actor(ctx)
		if err != nil {
			return err
		}
		if resetID == "" {
			r, err := svc.StartPasswordReset(ctx, u.ID, name, id, cardNo)
			if err != nil {
				return err
			}
			if !a.ios.InTTY || *resetStdin {
				a.out.Record(r, []kv{
					{"RESET", r.ResetID},
					{"SMS SENT TO", r.PhoneMasked},
					{"EXPIRES", ts(r.ExpiresAt)},
					{"NEXT", "walletctl password reset --reset-id " + r.ResetID + " --otp CODE --password-stdin"},
				})
				return nil
			}
			a.infof("identity checked; the bank sent an SMS code to %s", r.PhoneMasked)
			resetID = r.ResetID
		}
		// The prompts release the sandbox (and its lock), which also saves the bank's SMS: the
		// code can be fetched from another terminal (walletctl bank otp) while this one waits.
		code := otp
		if code == "" {
			if code, err = a.readSecret(ctx, "SMS code: ", false); err != nil {
				return err
			}
		}
		p, err := a.readNewPassword(ctx, *resetStdin)
		if err != nil {
			return err
		}
		if svc, err = a.service(ctx); err != nil {
			return err
		}
		if err := svc.CompletePasswordReset(ctx, u.ID, resetID, code, p); err != nil {
			return err
		}
		a.out.Message(passwordOutcome{UserID: u.ID, PasswordSet: true, Reset: true},
			"payment password reset for %s; any lock is cleared (see: walletctl security log)", u.ID)
		return nil
	}
	cmd.AddCommand(set, reset)
	return cmd
}

// infof writes a progress note for people on stderr, leaving stdout to the result.
func (a *app) infof(format string, args ...any) {
	if !a.out.JSON() {
		fmt.Fprintf(a.ios.ErrOut, format+"\n", args...)
	}
}
