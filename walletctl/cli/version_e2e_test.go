package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitIn runs a git command that only reads, in the checkout at dir; it skips the test where there
// is no git or no checkout (a source archive).
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		t.Skipf("git %s: %v (not a git checkout?)", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// The binaries say which commit they were built from. go build in a checkout stamps it (Go's
// VCS stamp: the commit, its time, whether the tree had changes), and both version commands read
// it; make build also passes it at link time, for a Go told not to stamp (GOFLAGS=-buildvcs=false,
// as on machines where git refuses the checkout's owner).
func TestVersionSaysTheCommit(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	head := gitIn(t, root, "rev-parse", "HEAD")
	want := head[:12]
	if gitIn(t, root, "status", "--porcelain") != "" {
		want += "-dirty"
	}
	at, err := time.Parse(time.RFC3339, gitIn(t, root, "log", "-1", "--format=%cI", "HEAD"))
	if err != nil {
		t.Fatal(err)
	}

	// make build's link-time commit, read from its dry run (nothing is built).
	if _, err := exec.LookPath("make"); err == nil {
		mk := exec.Command("make", "-s", "-n", "build")
		mk.Dir = root
		out, err := mk.Output()
		if err != nil {
			t.Fatalf("make -n build: %v", err)
		}
		for _, pkg := range []string{"walletctl/cli.commit=", "bankmock/cli.Commit="} {
			if !strings.Contains(string(out), pkg+want+" ") && !strings.Contains(string(out), pkg+want+`"`) {
				t.Errorf("make build does not pass the commit %s at link time (%s):\n%s", want, pkg, out)
			}
		}
	}

	// go build in the checkout, with the stamp asked for explicitly: this machine's GOFLAGS may
	// say -buildvcs=false, which is what the link-time commit above is for.
	dir := t.TempDir()
	build := exec.Command("go", "build", "-buildvcs=true", "-o", dir+string(os.PathSeparator), "./cmd/walletctl", "./cmd/bankmock")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "walletctl"), "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("walletctl version: %v", err)
	}
	var v struct {
		Version, Commit, Go string
		CommitTime          string `json:"commit_time"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("walletctl version -o json: %v\n%s", err, out)
	}
	ct, err := time.Parse(time.RFC3339, v.CommitTime)
	if v.Commit != want || err != nil || !ct.Equal(at) || v.Version == "" || !strings.HasPrefix(v.Go, "go") {
		t.Errorf("walletctl version -o json: %s\nwant commit %s of %s", out, want, at.UTC().Format(time.RFC3339))
	}
	text, err := exec.Command(filepath.Join(dir, "walletctl"), "version").Output()
	line := "walletctl " + v.Version + " (commit " + want + " of " + v.CommitTime + ", " + v.Go + ")\n"
	if err != nil || string(text) != line || len(line) > 81 {
		t.Errorf("walletctl version: %q (%v), want %q, at most 80 columns", text, err, line)
	}
	text, err = exec.Command(filepath.Join(dir, "bankmock"), "version").Output()
	if err != nil || !strings.HasPrefix(string(text), "bankmock ") || !strings.Contains(string(text), " (commit "+want+" of "+v.CommitTime+", ") {
		t.Errorf("bankmock version: %q (%v), want its commit %s of %s", text, err, want, v.CommitTime)
	}
}
