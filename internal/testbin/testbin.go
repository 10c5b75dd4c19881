// Package testbin builds the project's commands once per test process, for tests that run them
// as real processes (end-to-end, crash and full-disk tests).
package testbin

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	mu      sync.Mutex
	dir     string
	built   = map[string]string{}
	started chan struct{} // closed when Start's build ends; nil before Start
)

// Start builds pkgs in the background with one go build, which compiles and links them in
// parallel, so that the tests that run them wait less (TestMain calls it before m.Run). Build
// waits for it, and builds a package itself if Start's build failed.
func Start(pkgs ...string) {
	mu.Lock()
	defer mu.Unlock()
	if os.Getenv(PrebuiltEnv) != "" || started != nil || mkdir() != nil {
		return
	}
	started = make(chan struct{})
	go func() {
		defer close(started)
		if exec.Command(goTool(), append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...).Run() != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, pkg := range pkgs {
			built[pkg] = binPath(pkg)
		}
	}()
}

func mkdir() error {
	if dir != "" {
		return nil
	}
	d, err := os.MkdirTemp("", "walletctl-testbin-")
	dir = d
	return err
}

func binPath(pkg string) string {
	out := filepath.Join(dir, filepath.Base(pkg))
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	return out
}

// PrebuiltEnv names a folder that holds the commands already built from this tree (make test
// sets it to bin/ after make build): every test process of the run uses them instead of linking
// its own copies, which cost seconds each.
const PrebuiltEnv = "WALLETCTL_TEST_BINDIR"

// Build compiles the main package pkg (e.g. "github.com/walletctl/walletctl/cmd/walletctl") once
// and returns the binary's path, in a folder of os.TempDir shared by the process's tests
// (TestMain removes it with Cleanup); with PrebuiltEnv set, the binary of that folder.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	if d := os.Getenv(PrebuiltEnv); d != "" {
		p := filepath.Join(d, filepath.Base(pkg))
		if runtime.GOOS == "windows" {
			p += ".exe"
		}
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v (make build puts the commands there)", PrebuiltEnv, d, err)
		}
		return p
	}
	mu.Lock()
	wait := started
	mu.Unlock()
	if wait != nil {
		<-wait
	}
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if err := mkdir(); err != nil {
		t.Fatal(err)
	}
	out := binPath(pkg)
	cmd := exec.Command(goTool(), "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// Cleanup removes the binaries; call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if started != nil {
		mu.Unlock()
		<-started
		mu.Lock()
	}
	if dir != "" {
		os.RemoveAll(dir)
		dir, built, started = "", map[string]string{}, nil
	}
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go" // where the Makefile and .ci/run put it
}

// Buffer is an output a test reads while a process (or a server's goroutines) still writes it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
