package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl/cli"
)

// runTTY runs one command line with stdin as a terminal that types answer.
func runTTY(home, answer string, args ...string) result {
	return runCLI(&cli.IOStreams{In: strings.NewReader(answer), InTTY: true}, nil, append([]string{"--home", home}, args...)...)
}

func TestVersionFlag(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	v := runIn(home, "", nil, "version")
	for _, flag := range []string{"--version", "-v"} {
		r := runIn(home, "", nil, flag)
		if r.code != 0 || r.out != v.out || !strings.HasPrefix(r.out, "walletctl ") {
			t.Fatalf("%s: %s\nwant what version prints: %q", flag, r, v.out)
		}
	}
}

// sandbox reset wipes everything: like init over a sandbox, it needs --force, or a yes on a
// terminal; without either nothing changes.
func TestSandboxResetNeedsForce(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	runIn(home, "", nil, "user", "register", "--phone", "13900000001")
	still := func(when string) {
		t.Helper()
		if r := runIn(home, "", nil, "user", "list"); !strings.Contains(r.out, "13900000001") {
			t.Fatalf("%s: the user is gone: %s", when, r)
		}
	}
	r := runIn(home, "", nil, "sandbox", "reset")
	if r.code != 2 || !strings.Contains(r.errOut, "INVALID_ARGUMENT") || !strings.Contains(r.errOut, "--force") {
		t.Fatalf("reset without --force: %s", r)
	}
	still("reset without --force")
	for _, no := range []string{"n\n", "\n", ""} {
		if r := runTTY(home, no, "sandbox", "reset"); r.code != 2 || !strings.Contains(r.errOut, "[y/N]") {
			t.Fatalf("reset answered %q: %s", no, r)
		}
		still("reset answered no")
	}
	if r := runTTY(home, "y\n", "sandbox", "reset"); r.code != 0 {
		t.Fatalf("reset answered y: %s", r)
	}
	if r := runIn(home, "", nil, "user", "list"); strings.Contains(r.out, "13900000001") {
		t.Fatalf("reset answered y kept the user: %s", r)
	}
	runIn(home, "", nil, "user", "register", "--phone", "13900000001")
	if r := runIn(home, "", nil, "sandbox", "reset", "--force"); r.code != 0 {
		t.Fatalf("reset --force: %s", r)
	}
	if r := runIn(home, "", nil, "user", "list"); strings.Contains(r.out, "13900000001") {
		t.Fatalf("reset --force kept the user: %s", r)
	}
}

// A malformed --set names the setting and the form it takes, not Go's decoder; the settings
// table shows yuan and durations as people write them, -o json the raw values.
func TestSettingsForPeople(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	for _, c := range []struct{ set, want string }{
		{"confirm_threshold=abc", "confirm_threshold takes an amount in fen"},
		{"confirm_threshold=1.5", "confirm_threshold takes an amount in fen"},
		{"password_lock=soon", "password_lock takes a duration like 3h"},
		{"velocity_max=many", "velocity_max takes a whole number"},
	} {
		r := runIn(home, "", nil, "sandbox", "init", "--set", c.set)
		if r.code != 2 || !strings.Contains(r.errOut, "INVALID_ARGUMENT") || !strings.Contains(r.errOut, c.want) {
			t.Fatalf("--set %s: %s", c.set, r)
		}
		for _, goSpeak := range []string{"json:", "unmarshal", "Go value", "time: invalid"} {
			if strings.Contains(r.errOut, goSpeak) {
				t.Fatalf("--set %s speaks Go (%q): %s", c.set, goSpeak, r)
			}
		}
	}
	if r := runIn(home, "", nil, "sandbox", "init", "--set", "confirm_threshold=100000", "--set", "password_lock=90m"); r.code != 0 {
		t.Fatal(r)
	}
	r := runIn(home, "", nil, "sandbox", "settings")
	for _, want := range []string{"1000.00 CNY", "0.10 CNY", "│ 2h ", "│ 24h ", "│ 10m ", "│ 1h30m "} {
		if !strings.Contains(r.out, want) {
			t.Errorf("settings table lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "0m0s") || strings.Contains(r.out, "100000 ") {
		t.Errorf("settings table shows raw values:\n%s", r.out)
	}
	r = runIn(home, "", nil, "-o", "json", "sandbox", "settings")
	for _, want := range []string{`"confirm_threshold": 100000`, `"password_lock": "1h30m0s"`} {
		if !strings.Contains(r.out, want) {
			t.Errorf("settings JSON lacks %s:\n%s", want, r.out)
		}
	}
}

// A card or ID number given as --as is masked in the error that repeats it.
func TestAsNumberMaskedInErrors(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	for _, as := range []string{"6222020000000000018", "110105198503071230", "11010519850307123X"} {
		for _, o := range []string{"table", "json"} {
			r := runIn(home, "", nil, "-o", o, "--as", as, "balance")
			if r.code != 3 || strings.Contains(r.errOut+r.out, as) || !strings.Contains(r.errOut, as[:4]) {
				t.Fatalf("--as %s (-o %s): %s", as, o, r)
			}
		}
	}
	if r := runIn(home, "", nil, "--as", "13900000009", "balance"); !strings.Contains(r.errOut, "13900000009") {
		t.Fatalf("a phone is not a secret: %s", r)
	}
}
