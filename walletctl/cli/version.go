package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/internal/buildinfo"
)

// version and commit are set at link time (make build: -ldflags "-X
// github.com/walletctl/walletctl/walletctl/cli.version=v1.2.3 -X ….commit=0123456789ab"); without
// them the module's version, or "dev", and the VCS stamp that go build records in a checkout.
var version, commit = "", ""

func buildVersion() buildinfo.Info { return buildinfo.Read(version, commit) }

// versionLine is what version and --version print.
func versionLine(v buildinfo.Info) string { return "walletctl " + v.String() }

// VersionOptions are version's inputs: none.
type VersionOptions struct{ *Factory }

// NewCmdVersion is `version`.
func NewCmdVersion(f *Factory, runF func(context.Context, *VersionOptions) error) *cobra.Command {
	return newCmd(&cobra.Command{Use: "version", Short: "Print the version, the commit it was built from and the Go version"}, &VersionOptions{Factory: f}, nil, runF,
		func(_ context.Context, o *VersionOptions) error {
			v := buildVersion()
			o.Out.Message(v, "%s", versionLine(v))
			return nil
		})
}
