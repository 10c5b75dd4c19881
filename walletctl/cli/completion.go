package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// Dynamic shell completion reads the sandbox (never creating one) and offers its ids.

const noFiles = cobra.ShellCompDirectiveNoFileComp

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

func (a *app) completeUsers(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return a.withService(cmd, func(ctx context.Context, svc walletctl.Service) []string {
		users, err := svc.Users(ctx)
		if err != nil {
			return nil
		}
		var out []string
		for _, u := range users {
			out = append(out, u.ID+"\t"+u.Phone, u.Phone+"\t"+u.ID)
		}
		return out
	})
}

func (a *app) completeUsersArg(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	return a.completeUsers(cmd, args, s)
}

func (a *app) completeCards(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return a.withActor(cmd, func(ctx context.Context, svc walletctl.Service, u *walletctl.User) []string {
		cards, err := svc.Cards(ctx, u.ID)
		if err != nil {
			return nil
		}
		var out []string
		for _, c := range cards {
			out = append(out, c.ID+"\t"+c.Bank+" "+c.CardMasked)
		}
		return out
	})
}

func (a *app) completeCardsArg(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	return a.completeCards(cmd, args, s)
}

func (a *app) completeSources(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
	cards, d := a.completeCards(cmd, args, s)
	out := []string{"balance\tthe wallet balance"}
	for _, c := range cards {
		out = append(out, "card:"+c)
	}
	return out, d
}

func (a *app) completeMerchants(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return a.withService(cmd, func(ctx context.Context, svc walletctl.Service) []string {
		ms, err := svc.Merchants(ctx)
		if err != nil {
			return nil
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.ID+"\t"+m.Name)
		}
		return out
	})
}

func (a *app) completeTransfersArg(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	return a.withActor(cmd, func(ctx context.Context, svc walletctl.Service, u *walletctl.User) []string {
		trs, err := svc.Transfers(ctx, u.ID)
		if err != nil {
			return nil
		}
		var out []string
		for _, t := range trs {
			if t.Status == walletctl.TransferScheduled || t.Status == walletctl.TransferArrived {
				out = append(out, t.ID+"\t"+strings.Join([]string{t.From, "->", t.To, yuan(t.Amount), t.Status}, " "))
			}
		}
		return out
	})
}

func (a *app) completeTxnsArg(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, noFiles
	}
	return a.withActor(cmd, func(ctx context.Context, svc walletctl.Service, u *walletctl.User) []string {
		txns, err := svc.Transactions(ctx, u.ID)
		if err != nil {
			return nil
		}
		var out []string
		for _, t := range txns {
			out = append(out, t.ID+"\t"+t.Kind+" "+yuan(t.Amount)+" "+t.Status)
		}
		return out
	})
}
