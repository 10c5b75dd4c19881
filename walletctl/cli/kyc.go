package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// KYCSubmitOptions are kyc submit's inputs.
type KYCSubmitOptions struct {
	*Factory
	Name, ID string
}

// NewCmdKYCSubmit is `kyc submit`; runF (tests) replaces kycSubmitRun.
func NewCmdKYCSubmit(f *Factory, runF func(context.Context, *KYCSubmitOptions) error) *cobra.Command {
	opts := &KYCSubmitOptions{Factory: f}
	cmd := newCmd(&cobra.Command{Use: "submit --name NAME --id IDNO", Short: "Verify the --as user's real name and 18-digit resident ID"},
		opts, func([]string) error {
			return required("walletctl kyc submit --name 张伟 --id 110105198503071230 (exactly as on the ID card)",
				"--name and --id are required", opts.Name, opts.ID)
		}, runF, kycSubmitRun)
	cmd.Flags().StringVar(&opts.Name, "name", "", "real name, as on the ID card")
	cmd.Flags().StringVar(&opts.ID, "id", "", "18-digit resident ID number")
	return cmd
}

func kycSubmitRun(ctx context.Context, o *KYCSubmitOptions) error {
	return asUser(ctx, o.Factory, func(svc walletctl.Service, u *walletctl.User) (*walletctl.KYC, error) {
		return svc.SubmitKYC(ctx, u.ID, o.Name, o.ID)
	}, o.Out.KYC)
}

// KYCStatusOptions are kyc status's inputs.
type KYCStatusOptions struct{ *Factory }

// NewCmdKYCStatus is `kyc status`.
func NewCmdKYCStatus(f *Factory, runF func(context.Context, *KYCStatusOptions) error) *cobra.Command {
	return newUserViewCmd(&cobra.Command{Use: "status", Short: "Show the --as user's verification, account class and limit"},
		&KYCStatusOptions{Factory: f}, runF, walletctl.Service.KYCStatus, (*Output).KYC)
}

// KYC shows a verification: the class, and what of its limit is used.
func (o *Output) KYC(k *walletctl.KYC) {
	limit := ""
	if k.LimitFen > 0 {
		limit = yuan(k.UsedFen) + " of " + yuan(k.LimitFen) + " (" + k.LimitPeriod + ")"
	}
	o.Record(k, []kv{
		{"USER", k.UserID},
		{"VERIFIED", yesNo(k.Verified)},
		{"NAME", k.NameMasked},
		{"ID NUMBER", k.IDMasked},
		{"CLASS", classLabel(k.Class)},
		{"CHECKS", strings.Join(k.Checks, ", ")},
		{"BALANCE PAYMENTS", limit},
		{"VERIFIED AT", tsp(k.VerifiedAt)},
	})
}
