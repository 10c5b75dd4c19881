package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// A rule changed at init is the rule the wallet enforces, survives a reset, and a bad one leaves
// the existing sandbox alone.
func TestSandboxSettings(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	if r := runIn(home, "", nil, "sandbox", "init", "--set", "confirm_threshold=100", "--set", "password_max_attempts=2"); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.errOut)
	}
	r := runIn(home, "", nil, "sandbox", "settings")
	if r.code != 0 || !strings.Contains(r.out, "confirm_threshold") || !strings.Contains(r.out, "│ 1.00 CNY ") {
		t.Fatalf("settings: %d\n%s%s", r.code, r.out, r.errOut)
	}
	if r := runIn(home, "", nil, "sandbox", "reset", "--force"); r.code != 0 {
		t.Fatalf("reset: %s", r.errOut)
	}
	r = runIn(home, "", nil, "-o", "json", "sandbox", "settings")
	if !strings.Contains(r.out, `"password_max_attempts": 2`) {
		t.Fatalf("reset lost the settings:\n%s", r.out)
	}
	r = runIn(home, "", nil, "sandbox", "init", "--force", "--set", "password_lock=soon")
	if r.code != 2 || !strings.Contains(r.errOut, "INVALID_ARGUMENT") {
		t.Fatalf("bad setting: %d %s", r.code, r.errOut)
	}
	r = runIn(home, "", nil, "-o", "json", "sandbox", "settings")
	if !strings.Contains(r.out, `"confirm_threshold": 100,`) {
		t.Fatalf("a refused init changed the sandbox:\n%s", r.out)
	}
}
