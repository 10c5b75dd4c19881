package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

func (a *app) kycCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kyc",
		Short: "Real-name verification (实名认证): submit, status",
	}
	var name, id string
	submit := &cobra.Command{
		Use:   "submit --name NAME --id IDNO",
		Short: "Verify the --as user's real name and 18-digit resident ID",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if name == "" || id == "" {
				return invalidArg("walletctl kyc submit --name 张伟 --id 110105198503071230 (exactly as on the ID card)", "--name and --id are required")
			}
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			k, err := svc.SubmitKYC(ctx, u.ID, name, id)
			if err != nil {
				return err
			}
			a.printKYC(k)
			return nil
		},
	}
	submit.Flags().StringVar(&name, "name", "", "real name, as on the ID card")
	submit.Flags().StringVar(&id, "id", "", "18-digit resident ID number")

	status := &cobra.Command{
		Use:   "status",
		Short: "Show the --as user's verification, account class and limit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			k, err := svc.KYCStatus(ctx, u.ID)
			if err != nil {
				return err
			}
			a.printKYC(k)
			return nil
		},
	}
	cmd.AddCommand(submit, status)
	return cmd
}

func (a *app) printKYC(k *walletctl.KYC) {
	limit := ""
	if k.LimitFen > 0 {
		limit = yuan(k.UsedFen) + " of " + yuan(k.LimitFen) + " (" + k.LimitPeriod + ")"
	}
	a.printRecord(k, []kv{
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
