package cli

import (
	"fmt"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Wallet accounts: register, show, list, set status",
	}
	var phone string
	register := &cobra.Command{
		Use:   "register --phone P",
		Short: "Register a wallet account with a mobile phone; prints its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if phone == "" {
				return invalidArg("walletctl user register --phone 13800138000", "--phone is required")
			}
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			u, err := svc.Register(ctx, phone)
			if err != nil {
				return err
			}
			// The bare id, so that scripts can capture it: U=$(walletctl user register --phone P).
			a.out.Message(u, "%s", u.ID)
			return nil
		},
	}
	register.Flags().StringVar(&phone, "phone", "", "mobile phone number (11 digits)")

	show := &cobra.Command{
		Use:               "show [USER]",
		Short:             "Show a user (default: --as)",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: a.completeUsersArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var u *walletctl.User
			if len(args) == 1 {
				svc, err := a.service(ctx)
				if err != nil {
					return err
				}
				if u, err = svc.User(ctx, args[0]); err != nil {
					return err
				}
			} else {
				var err error
				if _, u, err = a.actor(ctx); err != nil {
					return err
				}
			}
			a.printUser(u)
			return nil
		},
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List every user",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := a.service(ctx)
			if err != nil {
				return err
			}
			users, err := svc.Users(ctx)
			if err != nil {
				return err
			}
			rows := make([]table.Row, len(users))
			for i, u := range users {
				rows[i] = table.Row{u.ID, u.Phone, u.Status, classLabel(u.Class), yesNo(u.Verified), u.NameMasked, yesNo(u.PasswordSet)}
			}
			a.out.List(users, []string{"ID", "PHONE", "STATUS", "CLASS", "VERIFIED", "NAME", "PASSWORD"}, rows)
			return nil
		},
	}

	setStatus := &cobra.Command{
		Use:       "set-status normal|restricted|frozen",
		Short:     "Set the --as user's account status (an admin action)",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{string(walletctl.StatusNormal), string(walletctl.StatusRestricted), string(walletctl.StatusFrozen)},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st := walletctl.UserStatus(args[0])
			switch st {
			case walletctl.StatusNormal, walletctl.StatusRestricted, walletctl.StatusFrozen:
			default:
				return invalidArg("the status is one of normal, restricted, frozen", "unknown status %q", args[0])
			}
			svc, u, err := a.actor(ctx)
			if err != nil {
				return err
			}
			u, err = svc.SetUserStatus(ctx, u.ID, st)
			if err != nil {
				return err
			}
			a.out.Message(u, "%s is now %s", u.ID, u.Status)
			return nil
		},
	}
	cmd.AddCommand(register, show, list, setStatus, a.userOpenIDCmd())
	return cmd
}

func classLabel(c walletctl.AccountClass) string {
	switch c {
	case 0:
		return "-"
	case 1:
		return "I"
	case 2:
		return "II"
	case 3:
		return "III"
	}
	return fmt.Sprint(int(c))
}

func (a *app) printUser(u *walletctl.User) {
	a.out.Record(u, []kv{
		{"ID", u.ID},
		{"PHONE", u.Phone},
		{"STATUS", u.Status},
		{"CLASS", classLabel(u.Class)},
		{"VERIFIED", yesNo(u.Verified)},
		{"NAME", u.NameMasked},
		{"ID NUMBER", u.IDMasked},
		{"PASSWORD SET", yesNo(u.PasswordSet)},
		{"CREATED", ts(u.CreatedAt)},
	})
}
