package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/mock"
)

// fake is a Factory over a mock.Service, for unit tests of one command's parsing and rendering:
// no sandbox, no bank, no files. The --as user is u1 unless the test's UserFn says otherwise.
type fake struct {
	svc         *mock.Service
	f           *cli.Factory
	out, errOut bytes.Buffer
}

func newFake(format string) *fake {
	k := &fake{svc: &mock.Service{}}
	k.svc.UserFn = func(_ context.Context, ref string) (*walletctl.User, error) {
		return &walletctl.User{ID: ref, Phone: "13800138000"}, nil
	}
	ios := &cli.IOStreams{In: strings.NewReader(""), Out: &k.out, ErrOut: &k.errOut}
	k.f = &cli.Factory{IO: ios, Out: &cli.Output{IO: ios, Format: format}}
	k.f.Service = func(context.Context) (walletctl.Service, error) { return k.svc, nil }
	k.f.Actor = func(ctx context.Context) (walletctl.Service, *walletctl.User, error) {
		u, err := k.svc.User(ctx, "u1")
		return k.svc, u, err
	}
	return k
}

// runCmd runs cmd with args as cobra would, and the error as the one error type's code ("" for none).
func runCmd(t *testing.T, cmd *cobra.Command, args ...string) string {
	t.Helper()
	cli.Typed(cmd)
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	if err == nil {
		return ""
	}
	return cli.ErrorCode(err)
}
