package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// Dynamic shell completion reads the sandbox (never creating one) and offers its ids.

const noFiles = cobra.ShellCompDirectiveNoFileComp

// completion is cobra's completion function of an argument or a flag.
type completion = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// firstArg completes the first argument with c, and no other.
func firstArg(c completion) completion {
	return func(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		return c(cmd, args, s)
	}
}

// fixedCompletion completes with values, whatever the command line holds.
func fixedCompletion(values ...string) completion {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, noFiles
	}
}

// noArgCompletion completes no argument, and no file names either.
func noArgCompletion(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return nil, noFiles
}

// choiceFlag is a string flag that takes one of choices, which completion offers.
func choiceFlag(cmd *cobra.Command, p *string, name, value, usage string, choices ...string) {
	cmd.Flags().StringVar(p, name, value, usage)
	cmd.RegisterFlagCompletionFunc(name, fixedCompletion(choices...))
}

// lines is what line makes of each item (nil: none), or nothing when listing them failed.
func lines[T any](items []T, err error, line func(T) []string) []string {
	if err != nil {
		return nil
	}
	var out []string
	for _, it := range items {
		out = append(out, line(it)...)
	}
	return out
}

// withService runs f on the existing sandbox for a completion; any failure completes nothing.
func (a *app) withService(cmd *cobra.Command, f func(ctx context.Context, svc walletctl.Service) []string) ([]string, cobra.ShellCompDirective) {
	a.applyEnv(cmd)
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if a.backend != "" {
		c, err := a.remoteClient()
		if err != nil {
			return nil, noFiles
		}
		return f(ctx, c), noFiles
	}
	sb, err := a.openExisting(ctx)
	if err != nil {
		return nil, noFiles
	}
	return f(ctx, sb.Service()), noFiles
}

func (a *app) withActor(cmd *cobra.Command, f func(ctx context.Context, svc walletctl.Service, u *walletctl.User) []string) ([]string, cobra.ShellCompDirective) {
	return a.withService(cmd, func(ctx context.Context, svc walletctl.Service) []string {
		if a.as == "" {
			return nil
		}
		u, err := svc.User(ctx, a.as)
		if err != nil {
			return nil
		}
		return f(ctx, svc, u)
	})
}

// completionPage is what a completion offers of a list: its first (newest) 100 items.
var completionPage = walletctl.Page{Limit: walletctl.MaxPageLimit}

// listed completes with the items of the first page list gives, each as line makes it: an id, a
// tab and what it is (nil: not offered).
func listed[T any](a *app, list func(svc walletctl.Service, ctx context.Context, p walletctl.Page) (*walletctl.List[T], error), line func(T) []string) completion {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return a.withService(cmd, func(ctx context.Context, svc walletctl.Service) []string {
			l, err := list(svc, ctx, completionPage)
			if err != nil {
				return nil
			}
			return lines(l.Data, err, line)
		})
	}
}

// listedFor is listed for the --as user's items.
func listedFor[T any](a *app, list func(svc walletctl.Service, ctx context.Context, userID string, p walletctl.Page) (*walletctl.List[T], error), line func(T) []string) completion {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return a.withActor(cmd, func(ctx context.Context, svc walletctl.Service, u *walletctl.User) []string {
			l, err := list(svc, ctx, u.ID, completionPage)
			if err != nil {
				return nil
			}
			return lines(l.Data, err, line)
		})
	}
}

func (a *app) completeUsers(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return listed(a, walletctl.Service.Users, func(u walletctl.User) []string {
		return []string{u.ID + "\t" + u.Phone, u.Phone + "\t" + u.ID}
	})(cmd, args, s)
}

func (a *app) completeCards(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return listedFor(a, walletctl.Service.Cards, func(c walletctl.Card) []string {
		return []string{c.ID + "\t" + c.Bank + " " + c.CardMasked}
	})(cmd, args, s)
}

func (a *app) completeSources(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	cards, d := a.completeCards(cmd, args, s)
	out := []string{"balance\tthe wallet balance"}
	for _, c := range cards {
		out = append(out, "card:"+c)
	}
	return out, d
}

func (a *app) completeMerchants(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return listed(a, walletctl.Service.Merchants, func(m walletctl.Merchant) []string { return []string{m.ID + "\t" + m.Name} })(cmd, args, s)
}

// completeMchids offers the v3 merchants (those with an app id), not the catalogue.
func (a *app) completeMchids(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return listed(a, walletctl.Service.Merchants, func(m walletctl.Merchant) []string {
		if m.AppID == "" {
			return nil
		}
		return []string{m.ID + "\t" + m.Name}
	})(cmd, args, s)
}

// completeTransfers offers the --as user's transfers still in flight.
func (a *app) completeTransfers(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return listedFor(a, walletctl.Service.Transfers, func(t walletctl.Transfer) []string {
		if t.Status != walletctl.TransferScheduled && t.Status != walletctl.TransferArrived {
			return nil
		}
		return []string{t.ID + "\t" + strings.Join([]string{t.From, "->", t.To, yuan(t.Amount), t.Status}, " ")}
	})(cmd, args, s)
}

// completeTxns offers the --as user's transactions.
func (a *app) completeTxns(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	return listedFor(a, walletctl.Service.Transactions, func(t walletctl.Txn) []string {
		return []string{t.ID + "\t" + t.Kind + " " + yuan(t.Amount) + " " + t.Status}
	})(cmd, args, s)
}

// completeNotifications offers the notification ids, newest first.
func (a *app) completeNotifications(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	all := func(svc walletctl.Service, ctx context.Context, p walletctl.Page) (*walletctl.List[walletctl.Notification], error) {
		return svc.Notifications(ctx, walletctl.NotificationFilter{}, p)
	}
	return listed(a, all, func(n walletctl.Notification) []string {
		return []string{n.ID + "\t" + n.EventType + " " + n.Status}
	})(cmd, args, s)
}
