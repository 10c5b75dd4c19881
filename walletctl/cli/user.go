package cli

import (
	"context"
	"fmt"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// UserRegisterOptions are user register's inputs.
type UserRegisterOptions struct {
	*Factory
	Phone string // the new account's mobile phone
}

// NewCmdUserRegister is `user register`.
func NewCmdUserRegister(f *Factory, runF func(context.Context, *UserRegisterOptions) error) *cobra.Command {
	opts := &UserRegisterOptions{Factory: f}
	return newFlagCmd(&cobra.Command{Use: "register --phone P", Short: "Register a wallet account with a mobile phone; prints its id"},
		opts, requiredFlag{&opts.Phone, "phone", "mobile phone number (11 digits)", "walletctl user register --phone 13800138000"}, runF, userRegisterRun)
}

func userRegisterRun(ctx context.Context, o *UserRegisterOptions) error {
	return withServiceOf(ctx, o.Factory, walletctl.Service.Register, o.Phone, func(u *walletctl.User) {
		// The bare id, so that scripts can capture it: U=$(walletctl user register --phone P).
		o.Out.Message(u, "%s", u.ID)
	})
}

// UserShowOptions are user show's inputs.
type UserShowOptions struct {
	*Factory
	User string // the USER argument; "" for --as
}

// NewCmdUserShow is `user show`.
func NewCmdUserShow(f *Factory, runF func(context.Context, *UserShowOptions) error) *cobra.Command {
	opts := &UserShowOptions{Factory: f}
	return newCmd(&cobra.Command{Use: "show [USER]", Short: "Show a user (default: --as)", Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: firstArg(f.app.completeUsers)}, opts, func(args []string) error {
		if len(args) == 1 {
			opts.User = args[0]
		}
		return nil
	}, runF, userShowRun)
}

func userShowRun(ctx context.Context, o *UserShowOptions) error {
	if o.User != "" {
		return withServiceOf(ctx, o.Factory, walletctl.Service.User, o.User, o.Out.User)
	}
	_, u, err := o.Actor(ctx)
	if err != nil {
		return err
	}
	o.Out.User(u)
	return nil
}

// NewCmdUserList is `user list`.
func NewCmdUserList(f *Factory, runF func(context.Context, *UserListOptions) error) *cobra.Command {
	return newListCmd(f, &cobra.Command{Use: "list", Short: "List the users, newest first"}, runF, false, false,
		func(svc walletctl.Service, ctx context.Context, _ string, p walletctl.Page) (*walletctl.List[walletctl.User], error) {
			return svc.Users(ctx, p)
		}, userID, func(o *Output, us []walletctl.User, _ bool) { o.Users(us) })
}

// UserSetStatusOptions are user set-status's inputs.
type UserSetStatusOptions struct {
	*Factory
	Status walletctl.UserStatus
}

// NewCmdUserSetStatus is `user set-status`.
func NewCmdUserSetStatus(f *Factory, runF func(context.Context, *UserSetStatusOptions) error) *cobra.Command {
	opts := &UserSetStatusOptions{Factory: f}
	return newCmd(&cobra.Command{Use: "set-status normal|restricted|frozen", Short: "Set the --as user's account status (an admin action)",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{string(walletctl.StatusNormal), string(walletctl.StatusRestricted), string(walletctl.StatusFrozen)},
	}, opts, func(args []string) error {
		switch opts.Status = walletctl.UserStatus(args[0]); opts.Status {
		case walletctl.StatusNormal, walletctl.StatusRestricted, walletctl.StatusFrozen:
			return nil
		}
		return invalidArg("the status is one of normal, restricted, frozen", "unknown status %q", args[0])
	}, runF, userSetStatusRun)
}

func userSetStatusRun(ctx context.Context, o *UserSetStatusOptions) error {
	return asUser(ctx, o.Factory, func(svc walletctl.Service, u *walletctl.User) (*walletctl.User, error) {
		return svc.SetUserStatus(ctx, u.ID, o.Status)
	}, func(u *walletctl.User) { o.Out.Message(u, "%s is now %s", u.ID, u.Status) })
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

// User shows one user: the real name and ID number masked.
func (o *Output) User(u *walletctl.User) {
	o.Record(u, []kv{
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

// Users lists users.
func (o *Output) Users(users []walletctl.User) {
	o.List(users, []string{"ID", "PHONE", "STATUS", "CLASS", "VERIFIED", "NAME", "PASSWORD"}, rowsOf(users, func(u walletctl.User) table.Row {
		return table.Row{u.ID, u.Phone, u.Status, classLabel(u.Class), yesNo(u.Verified), u.NameMasked, yesNo(u.PasswordSet)}
	}))
}
