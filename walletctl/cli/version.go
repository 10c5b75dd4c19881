package cli

import (
	"context"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at link time (-ldflags "-X github.com/walletctl/walletctl/walletctl/cli.version=v1.2.3");
// otherwise the module version from the build info, or "dev".
var version = ""

type versionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
}

func buildVersion() versionInfo {
	v := versionInfo{Version: version, Commit: "unknown", Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
				if len(v.Commit) > 12 {
					v.Commit = v.Commit[:12]
				}
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && v.Commit != "unknown" {
			v.Commit += "-dirty"
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

// VersionOptions are version's inputs: none.
type VersionOptions struct{ *Factory }

// NewCmdVersion is `version`.
func NewCmdVersion(f *Factory, runF func(context.Context, *VersionOptions) error) *cobra.Command {
	return newCmd(&cobra.Command{Use: "version", Short: "Print the version, commit and Go version"}, &VersionOptions{Factory: f}, nil, runF,
		func(_ context.Context, o *VersionOptions) error {
			v := buildVersion()
			o.Out.Message(v, "walletctl %s (commit %s, %s)", v.Version, v.Commit, v.Go)
			return nil
		})
}
