package chaos

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
)

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := NewCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestCommandTable(t *testing.T) {
	out, _, err := runCmd(t, "--seed", "3", "--seeds", "2", "--users", "4", "--ops", "40", "--dir", testDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"chaos seed 3:", "chaos seed 4:", "FAULT FIRED", "violations", "state hash "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestCommandJSON(t *testing.T) {
	out, _, err := runCmd(t, "--seed", "9", "--users", "4", "--ops", "30", "--kinds", "drop_after,hang", "--json", "--dir", testDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if r.Seed != 9 || r.Ops != 30 || strings.Join(r.Kinds, ",") != "drop_after,hang" || len(r.Hash) != 64 || r.Violations == nil {
		t.Errorf("report: %+v", r)
	}
}

func TestCommandClasses(t *testing.T) {
	out, _, err := runCmd(t, "--seed", "5", "--users", "6", "--ops", "80", "--wallets", "2", "--kill-rate", "0.2", "--give-up-rate", "0.2", "--json", "--dir", testDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if r.Wallets != 2 || r.KillRate != 0.2 || r.GiveUpRate != 0.2 || r.Restarts != r.KillsBefore+r.KillsAfter || r.GiveUps == nil || !r.OK() {
		t.Errorf("report: %+v", r)
	}
	if !strings.Contains(out, `"kills_before_bank"`) || !strings.Contains(out, `"give_ups"`) {
		t.Errorf("json lacks the class counts:\n%s", out)
	}
}

func TestCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--kinds", "earthquake"},
		{"--fault-rate", "1.5"},
		{"--users", "0"},
		{"--wallets", "0"},
		{"--kill-rate", "1.5"},
		{"--give-up-rate", "-0.1"},
	} {
		_, _, err := runCmd(t, args...)
		if walletctl.ErrorCode(err) != walletctl.CodeInvalidArgument {
			t.Errorf("%v: want INVALID_ARGUMENT, got %v", args, err)
		}
	}
}

func TestReplayLine(t *testing.T) {
	got := replay(17, 20, 2000, 0.2, []string{"hang", "refuse"})
	want := "walletctl chaos --seed 17 --users 20 --ops 2000 --fault-rate 0.2 --kinds hang,refuse"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
