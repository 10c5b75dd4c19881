// Package buildinfo is what a binary knows of its own build, for the version commands of
// walletctl and bankmock: its version (set at link time, else the module's), the commit it was
// built from and that commit's time (Go's VCS stamp, which go build records in a checkout unless
// -buildvcs=false; else a commit set at link time, as make build does), and the Go version.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Info is a binary's build.
type Info struct {
	Version    string `json:"version"`               // the link-time version, the module's, or "dev"
	Commit     string `json:"commit"`                // 12 hex digits, "-dirty" when the tree had changes; or "unknown"
	CommitTime string `json:"commit_time,omitempty"` // the commit's time (RFC 3339), from the VCS stamp
	Go         string `json:"go"`
}

// Read is the running binary's build. linkVersion and linkCommit are the values set at link time
// (-ldflags "-X ...=v1.2.3"), "" when none was.
func Read(linkVersion, linkCommit string) Info {
	bi, _ := debug.ReadBuildInfo()
	return From(bi, linkVersion, linkCommit)
}

// From reads bi (nil: no build information). The VCS stamp wins over linkCommit: it is what the
// compiler saw, the tree's changes included.
func From(bi *debug.BuildInfo, linkVersion, linkCommit string) Info {
	v := Info{Version: linkVersion, Commit: Short(linkCommit), Go: runtime.Version()}
	if bi != nil {
		if bi.GoVersion != "" {
			v.Go = bi.GoVersion
		}
		var rev, modified, at string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			case "vcs.time":
				at = s.Value
			}
		}
		if rev != "" {
			v.Commit, v.CommitTime = Short(rev), at
			if modified == "true" {
				v.Commit += "-dirty"
			}
		}
		// A tag's version, not the pseudo-version Go makes from the stamp itself
		// (v0.0.0-20261208030814-986f43f7431d+dirty), which says no more than the commit and its
		// time and would push the line past 80 columns.
		if mv := bi.Main.Version; v.Version == "" && mv != "" && mv != "(devel)" && (rev == "" || !strings.Contains(mv, "-"+Short(rev))) {
			v.Version = mv
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

// Short is a commit id as the version commands show it: its first 12 characters (a "-dirty"
// suffix kept).
func Short(commit string) string {
	id, dirty := strings.CutSuffix(commit, "-dirty")
	if len(id) > 12 {
		id = id[:12]
	}
	if dirty {
		id += "-dirty"
	}
	return id
}

// String is the version line after the command's name: "v1.2.3 (commit 0123456789ab of
// 2026-01-05T01:00:00Z, go1.26.8)".
func (i Info) String() string {
	commit := i.Commit
	if i.CommitTime != "" {
		commit += " of " + i.CommitTime
	}
	return i.Version + " (commit " + commit + ", " + i.Go + ")"
}
