package cli_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// The sandbox's own commands on a fake: sandbox, clock, reconcile and serve. The runs of sandbox
// and serve manage a real home or server (TestSandboxLifecycle, TestSandboxSettings,
// TestSandboxResetNeedsForce, serve_e2e_test.go); here, what their flags and arguments become.

func TestSandboxInitFlags(t *testing.T) {
	inits := func(want cli.SandboxInitOptions) func(o *cli.SandboxInitOptions) bool {
		return func(o *cli.SandboxInitOptions) bool {
			return o.Seed == want.Seed && o.Customers == want.Customers && o.Force == want.Force && slices.Equal(o.Sets, want.Sets)
		}
	}
	checkFlags(t, cli.NewCmdSandboxInit, []flagCase[*cli.SandboxInitOptions]{
		{args: []string{}, ok: inits(cli.SandboxInitOptions{Seed: sandbox.DefaultSeed, Customers: sandbox.DefaultCustomers})},
		{args: []string{"--seed", "9", "--customers", "0", "--force", "--set", "a=1", "--set", "b=2h"},
			ok: inits(cli.SandboxInitOptions{Seed: 9, Force: true, Sets: []string{"a=1", "b=2h"}})},
		{args: []string{"--customers", "100000"}, ok: inits(cli.SandboxInitOptions{Seed: sandbox.DefaultSeed, Customers: 100000})},
		{args: []string{"--customers", "100001"}, code: invalid},
		{args: []string{"--customers", "-1"}, code: invalid},
		{args: []string{"--seed", "x"}, code: invalid},
		{args: []string{"now"}, code: invalid},
	})
}

func TestSandboxCommandsArgs(t *testing.T) {
	checkFlags(t, cli.NewCmdSandboxReset, []flagCase[*cli.SandboxResetOptions]{
		{args: []string{"--force"}, ok: func(o *cli.SandboxResetOptions) bool { return o.Force }},
		{args: []string{"--force", "now"}, code: invalid},
	})
	refusesArgs(t, cli.NewCmdSandboxStatus, []string{"x"})
	refusesArgs(t, cli.NewCmdSandboxSettings, []string{"x"})
}

func TestClockShow(t *testing.T) {
	epoch := func(k *fake) {
		k.svc.NowFn = func(context.Context) (time.Time, error) { return vclock.DefaultEpoch, nil }
	}
	k := newFake("table", epoch)
	// The sandbox's calendar is China Standard Time.
	if got := k.must(t, cli.NewCmdClockShow(k.f, nil)); got != vclock.DefaultEpoch.In(vclock.Shanghai).Format("2006-01-02 15:04:05")+"\n" {
		t.Fatalf("clock show: %q", got)
	}
	k = newFake("json", epoch)
	k.must(t, cli.NewCmdClockShow(k.f, nil))
	var v struct{ Now time.Time }
	if k.decode(t, &v); !v.Now.Equal(vclock.DefaultEpoch) {
		t.Fatalf("%s", k.out.String())
	}
	refusesArgs(t, cli.NewCmdClockShow, []string{"now"})
}

func TestClockAdvanceArgs(t *testing.T) {
	by := func(d time.Duration) func(o *cli.ClockAdvanceOptions) bool {
		return func(o *cli.ClockAdvanceOptions) bool { return o.By == d }
	}
	checkFlags(t, cli.NewCmdClockAdvance, []flagCase[*cli.ClockAdvanceOptions]{
		{args: []string{"2h"}, ok: by(2 * time.Hour)},
		{args: []string{"90m"}, ok: by(90 * time.Minute)},
		{args: []string{"1d"}, ok: by(24 * time.Hour)},
		{args: []string{"1d12h"}, ok: by(36 * time.Hour)},
	})
	refusesArgs(t, cli.NewCmdClockAdvance, []string{"0"}, []string{"--", "-1h"}, []string{"1d-1h"}, []string{"soon"}, []string{"99999d"},
		[]string{}, []string{"1h", "2h"})
}

func TestClockAdvanceRun(t *testing.T) {
	k := newFake("table")
	var asked time.Duration
	k.f.Advance = func(_ context.Context, d time.Duration) (time.Time, error) {
		asked = d
		return vclock.DefaultEpoch.Add(d), nil
	}
	if out := k.must(t, cli.NewCmdClockAdvance(k.f, nil), "1d2h"); asked != 26*time.Hour || out != "2026-01-06 11:00:00\n" {
		t.Fatalf("advanced %s, printed %q", asked, out)
	}
	k = newFake("table")
	k.f.Advance = func(context.Context, time.Duration) (time.Time, error) {
		return time.Time{}, walletctl.Errorf(walletctl.CodeNetwork, "the bank's clock did not move")
	}
	k.refuses(t, walletctl.CodeNetwork, cli.NewCmdClockAdvance(k.f, nil), "1h")
}

func TestReconcileFlags(t *testing.T) {
	on := func(date string) func(o *cli.ReconcileOptions) bool {
		return func(o *cli.ReconcileOptions) bool { return o.Date == date }
	}
	checkFlags(t, cli.NewCmdReconcile, []flagCase[*cli.ReconcileOptions]{
		{args: []string{}, ok: on("")},
		{args: []string{"--date", "2026-01-05"}, ok: on("2026-01-05")},
		{args: []string{"--date", "2026-13-01"}, code: invalid},
		{args: []string{"--date", "yesterday"}, code: invalid},
		{args: []string{"2026-01-05"}, code: invalid},
	})
}

func TestReconcileRun(t *testing.T) {
	report := func(mism []string, sum int64) func(*fake) {
		return func(k *fake) {
			k.svc.ReconcileFn = func(_ context.Context, date string) (*walletctl.ReconcileReport, error) {
				return &walletctl.ReconcileReport{Date: date, Checked: 3, Settled: 2, Failed: 1, Matched: 4, Mismatches: mism, LedgerSum: sum}, nil
			}
		}
	}
	// Agreement: exit 0, "none", and [] (not null) for scripts.
	k := newFake("json", report(nil, 0))
	k.must(t, cli.NewCmdReconcile(k.f, nil), "--date", "2026-01-05")
	var got struct {
		Date       string   `json:"date"`
		Mismatches []string `json:"mismatches"`
	}
	if k.decode(t, &got); got.Date != "2026-01-05" || got.Mismatches == nil {
		t.Fatalf("%s", k.out.String())
	}
	k = newFake("table", report(nil, 0))
	contains(t, "reconcile", k.must(t, cli.NewCmdReconcile(k.f, nil)), "PENDING CHECKED", "MISMATCHES", "none", "0.00")
	// Disagreement: the report still shows, then CONFLICT.
	for _, tc := range []struct {
		mism []string
		sum  int64
	}{{[]string{"t7: wallet succeeded, bank has no record"}, 0}, {nil, 150}} {
		k = newFake("table", report(tc.mism, tc.sum))
		if code := runCmd(t, cli.NewCmdReconcile(k.f, nil)); code != walletctl.CodeConflict {
			t.Errorf("%+v: code %q", tc, code)
		}
		shown := []string{"LEDGER SUM"}
		if tc.mism != nil {
			shown = append(shown, "t7: wallet succeeded")
		}
		contains(t, "the report of a disagreement", k.out.String(), shown...)
	}
	k = newFake("table", failing("Reconcile", walletctl.CodeNetwork))
	k.refuses(t, walletctl.CodeNetwork, cli.NewCmdReconcile(k.f, nil))
}

// serve's run is a real server (serve_e2e_test.go); here, what its flags become and which it
// refuses before anything starts.
func TestServeFlags(t *testing.T) {
	checkFlags(t, cli.NewCmdServe, []flagCase[*cli.ServeOptions]{
		{args: []string{"--data", "d"}, check: func(t *testing.T, o *cli.ServeOptions) {
			if o.Addr != "127.0.0.1:8087" || o.Data != "d" || !o.KeepOpen || o.KeepOpenGiven || o.MaxQueue < 1 ||
				o.Seed != sandbox.DefaultSeed || o.Customers != sandbox.DefaultCustomers || o.ShutdownWait != 30*time.Second ||
				o.Settings == nil || o.Settings.PasswordHash != walletctl.SandboxSettings().PasswordHash || o.Clock != sandbox.ClockVirtual {
				t.Fatalf("defaults: %+v", o)
			}
		}},
		{args: []string{"--data", "d", "--keep-open=false", "--password-cost", "production", "--tenant-key", "k", "--max-queue", "3",
			"--addr", "127.0.0.1:0", "--shutdown-timeout", "1s", "--clock", "real"}, ok: func(o *cli.ServeOptions) bool {
			return !o.KeepOpen && o.KeepOpenGiven && o.Settings.PasswordHash == walletctl.ProductionHash && o.TenantKey == "k" && o.Clock == sandbox.ClockReal &&
				o.MaxQueue == 3 && o.Addr == "127.0.0.1:0" && o.ShutdownWait == time.Second
		}},
	})
	refusesArgs(t, cli.NewCmdServe,
		[]string{},
		[]string{"--data", "d", "--customers", "-1"},
		[]string{"--data", "d", "--customers", "100001"},
		[]string{"--data", "d", "--max-queue", "0"},
		[]string{"--data", "d", "--password-cost", "cheap"},
		[]string{"--data", "d", "--clock", "wall"},
		[]string{"--data", "d", "now"},
	)
}
