package scenario_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/scenario"
)

// The sandbox's notify_timeout reaches the sender in every transport (in serve as the tenant's
// settings, from the init header's --set): a receiver that never answers is given up on after it,
// really, and retried on the schedule. The time is checked from below only: the two attempts
// waited their 200ms each, however loaded the machine.
func TestNotifyTimeoutSetting(t *testing.T) {
	sc := mustParse(t, filepath.Join("testdata", "notify", "notify-timeout-setting.txt"))
	var want string
	for _, tr := range []string{scenario.TransportInproc, scenario.TransportHTTP, scenario.TransportServe} {
		t.Run(tr, func(t *testing.T) {
			w := world()
			w.Transport, w.TempDir = tr, t.TempDir()
			o := scenario.RunScenario(context.Background(), sc, w)
			if o.Err != nil {
				t.Fatalf("%v\n%s", o.Err, o.Transcript)
			}
			if n := strings.Count(o.Transcript, "│ no answer within 200ms │"); n != 3 { // attempt 1, then attempts 1 and 2
				t.Errorf("%d attempts say no answer within 200ms, want 3:\n%s", n, o.Transcript)
			}
			if strings.Contains(o.Transcript, "within 5s") {
				t.Errorf("the default timeout was used:\n%s", o.Transcript)
			}
			if !strings.Contains(o.Transcript, "→ 2 request(s)") {
				t.Errorf("the receiver did not get the first attempt and its retry:\n%s", o.Transcript)
			}
			if o.Duration < 400*time.Millisecond {
				t.Errorf("the scenario took %s: its two attempts did not wait their 200ms", o.Duration)
			}
			if want == "" {
				want = o.Transcript
			} else if o.Transcript != want {
				t.Errorf("%s differs from inproc:\n%s", tr, scenario.Diff("inproc", tr, want, o.Transcript))
			}
		})
	}
}

// The serve transport gives a tenant the init header's --set settings, and refuses every other
// word of it, saying so, rather than run a world other than the header asks for.
func TestServeInitHeader(t *testing.T) {
	for _, tc := range []struct{ init, err string }{
		{"--set=notify_timeout=300ms --set password_lock=1h", ""},
		{"--force", `transport serve: the init header's "--force" is not supported`},
		{"--set notify_timeout", `transport serve: the init header's --set "notify_timeout" is not KEY=VALUE`},
		{"--set", "transport serve: the init header's --set needs KEY=VALUE"},
		{"--set notify_timeot=1s", `unknown setting "notify_timeot"`},
	} {
		sc, err := scenario.Parse("serve-init", "# title: serve init\n# customers: 2\n# init: "+tc.init+"\n\nwalletctl clock show\n")
		if err != nil {
			t.Fatal(err)
		}
		var got walletctl.TenantSpec
		w := world()
		w.Transport, w.TempDir = scenario.TransportServe, t.TempDir()
		w.StartWallet = func(ctx context.Context, spec scenario.WalletSpec) (string, string, func(), error) {
			got = walletctl.TenantSpec{Seed: spec.Seed, Customers: spec.Customers, Settings: spec.Settings}
			return scenario.StartHTTPWallet(ctx, spec)
		}
		o := scenario.RunScenario(context.Background(), sc, w)
		switch {
		case tc.err == "" && o.Err != nil:
			t.Errorf("init %q: %v", tc.init, o.Err)
		case tc.err == "" && !maps.Equal(got.Settings, map[string]string{"notify_timeout": "300ms", "password_lock": "1h"}):
			t.Errorf("init %q: the tenant got settings %v", tc.init, got.Settings)
		case tc.err != "" && (o.Err == nil || !strings.Contains(o.Err.Error(), tc.err)):
			t.Errorf("init %q: error %v, want %q", tc.init, o.Err, tc.err)
		}
	}
}

// In a suite, in-process worlds with the same init are copies of one initialized home: their
// transcripts are those of worlds that run their own init (TestGolden), the copy is removed at
// the end, and a world whose init fails still records the failure.
func TestSuiteWorldsFromOneInit(t *testing.T) {
	dir := t.TempDir()
	same := "# title: a user\n# customers: 10\n\nwalletctl user register --phone 13900000001\nwalletctl user list\n"
	bad := "# title: a bad init\n# init: --set nope=1\n\nwalletctl user list\n"
	for name, text := range map[string]string{"a.txt": same, "b.txt": same, "bad.txt": bad} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w := world()
	w.TempDir = t.TempDir()
	rep, err := scenario.RunSuite(context.Background(), scenario.Options{World: w, Paths: []string{dir}, GoldenDir: t.TempDir(), Update: true})
	if err != nil {
		t.Fatal(err)
	}
	alone := map[string]string{}
	for _, r := range rep.Results {
		switch {
		case r.Name == "bad" && (r.Status != scenario.StatusError || !strings.Contains(r.Message, "nope")):
			t.Errorf("bad: %s %s, want the init's failure", r.Status, r.Message)
		case r.Name != "bad" && r.Status != scenario.StatusCreated:
			t.Errorf("%s: %s %s", r.Name, r.Status, r.Message)
		}
		if r.Name != "bad" {
			sc := mustParse(t, filepath.Join(dir, r.Name+".txt"))
			alone[r.Name] = scenario.RunScenario(context.Background(), sc, w).Transcript
			if golden, _ := os.ReadFile(r.Golden); string(golden) != alone[r.Name] {
				t.Errorf("%s from the copy differs from a world of its own:\n%s", r.Name, scenario.Diff("suite", "alone", string(golden), alone[r.Name]))
			}
		}
	}
	if left, _ := filepath.Glob(filepath.Join(w.TempDir, "walletctl-template-*")); len(left) != 0 {
		t.Errorf("the suite left %v", left)
	}
}
