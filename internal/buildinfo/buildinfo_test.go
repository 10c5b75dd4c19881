package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFrom(t *testing.T) {
	stamp := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/walletctl/walletctl", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "-buildmode", Value: "exe"}, {Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "986f43f7431d2b098c3a30fb55d10534a309b463"},
				{Key: "vcs.time", Value: "2026-12-08T03:08:14Z"}, {Key: "vcs.modified", Value: modified}}}
	}
	pseudo := stamp("true")
	pseudo.Main.Version = "v0.0.0-20261208030814-986f43f7431d+dirty"
	tagged := stamp("false")
	tagged.Main.Version = "v1.4.0"
	noStamp := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	for _, c := range []struct {
		name        string
		bi          *debug.BuildInfo
		ver, commit string
		want        string
	}{
		{"go build in a checkout", stamp("false"), "", "", "dev (commit 986f43f7431d of 2026-12-08T03:08:14Z, go1.26.8)"},
		{"with changes", stamp("true"), "", "", "dev (commit 986f43f7431d-dirty of 2026-12-08T03:08:14Z, go1.26.8)"},
		{"the pseudo-version of the stamp", pseudo, "", "", "dev (commit 986f43f7431d-dirty of 2026-12-08T03:08:14Z, go1.26.8)"},
		{"a tag", tagged, "", "", "v1.4.0 (commit 986f43f7431d of 2026-12-08T03:08:14Z, go1.26.8)"},
		{"make build, stamped too", stamp("false"), "v1.2.3", "0000000000000000", "v1.2.3 (commit 986f43f7431d of 2026-12-08T03:08:14Z, go1.26.8)"},
		{"make build, -buildvcs=false", noStamp, "986f43f-dirty", "986f43f7431d2b09-dirty", "986f43f-dirty (commit 986f43f7431d-dirty, go1.26.8)"},
		{"no stamp, no link values", noStamp, "", "", "dev (commit unknown, go1.26.8)"},
		{"go install of a tagged module", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.0.0"}}, "", "", "v1.0.0 (commit unknown, go1.26.8)"},
	} {
		if got := From(c.bi, c.ver, c.commit).String(); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := From(nil, "", ""); got.Version != "dev" || got.Commit != "unknown" || got.Go == "" {
		t.Errorf("no build information: %+v", got)
	}
}
