package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

func (a *app) kycCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kyc",
		Short: "Real-name verification (实名认证): submit, status",
	}
	cmd.AddCommand(NewCmdKYCSubmit(a.f, nil), NewCmdKYCStatus(a.f, nil))
	return cmd
}

// KYCSubmitOptions are kyc submit's inputs.
type KYCSubmitOptions struct {
	*Factory
	Name, ID string
}

// NewCmdKYCSubmit is `kyc submit`; runF (tests) replaces kycSubmitRun.
func NewCmdKYCSubmit(f *Factory, runF func(context.Context, *KYCSubmitOptions) error) *cobra.Command {
	opts := &KYCSubmitOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "submit --name NAME --id IDNO",
		Short: "Verify the --as user's real name and 18-digit resident ID",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Name == "" || opts.ID == "" {
				return invalidArg("walletctl kyc submit --name 张伟 --id 110105198503071230 (exactly as on the ID card)", "--name and --id are required")
			}
			return run(cmd, opts, runF, kycSubmitRun)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "real name, as on the ID card")
	cmd.Flags().StringVar(&opts.ID, "id", "", "18-digit resident ID number")
	return cmd
}

func kycSubmitRun(ctx context.Context, o *KYCSubmitOptions) error {
	return asUser(ctx, o.Factory, func(svc walletctl.Service, uid string) (*walletctl.KYC, error) {
		return svc.SubmitKYC(ctx, uid, o.Name, o.ID)
	}, o.Out.KYC)
}

// KYCStatusOptions are kyc status's inputs.
type KYCStatusOptions struct{ *Factory }

// NewCmdKYCStatus is `kyc status`.
func NewCmdKYCStatus(f *Factory, runF func(context.Context, *KYCStatusOptions) error) *cobra.Command {
	opts := &KYCStatusOptions{Factory: f}
	return &cobra.Command{
		Use:   "status",
		Short: "Show the --as user's verification, account class and limit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, opts, runF, kycStatusRun)
		},
	}
}

func kycStatusRun(ctx context.Context, o *KYCStatusOptions) error {
	return asUser(ctx, o.Factory, func(svc walletctl.Service, uid string) (*walletctl.KYC, error) {
		return svc.KYCStatus(ctx, uid)
	}, o.Out.KYC)
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
