package scenario_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl/scenario"
)

// A scenario's receiver listens on a random loopback port, its scratch folder is new in every run,
// a notification attempt's latency is real time and trigger numbers its orders at random: none of
// it reaches a transcript, so two runs, and the inproc and serve transports, give the same one.
func TestRunnerMasksNotifyValues(t *testing.T) {
	sc, w, tr := twiceAlike(t, filepath.Join("testdata", "notify", "notify-masked.txt"))
	w.Transport = scenario.TransportServe
	served := scenario.RunScenario(context.Background(), sc, w)
	if served.Err != nil || served.Transcript != tr {
		t.Fatalf("the serve transport differs (%v):\n%s", served.Err, scenario.Diff("inproc", "serve", tr, served.Transcript))
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`127\.0\.0\.1:[0-9]{2,}`),        // a receiver's port (trigger's dead :9 may stay)
		regexp.MustCompile(`walletctl-(workdir|scenario)-`), // a temporary folder
		regexp.MustCompile(`"latency_ms": [0-9]`),
		regexp.MustCompile(`→ [0-9]{3} [0-9]+ms`),
		regexp.MustCompile(`trigger-(r-)?[0-9a-f]{8}\b`),
	} {
		if m := bad.FindString(tr); m != "" && !strings.HasPrefix(m, "trigger-xxxxxxxx") {
			t.Errorf("transcript shows %q\n%s", m, tr)
		}
	}
	for _, want := range []string{
		"receiver R keys=$WORKDIR/keys 500  → http://receiver-R/notify\n",
		"$ walletctl merchant keys 1900000001 --out $WORKDIR/keys\n$WORKDIR/keys/apiclient_key.pem\n",
		`"notify_url": "http://receiver-R/notify"`,
		"│ URL      │ http://receiver-R/notify      │\n", // the table redrawn to fit the shorter value
		"│ N │ TIME           │ STATUS │ MS │ OK │",
		"│ 1 │ 01-05 09:00:00 │ 500    │  N │ no │",
		`"latency_ms": N,`,
		"2026-01-05 09:00:15  TRANSACTION.SUCCESS  n1  → 200 Nms  ",
		"Ready: forwarding notifications of (the wallet) to http://receiver-R/notify (Ctrl-C to stop)\n",
		"│ ORDER        │ trigger-xxxxxxxx SUCCESS 1.00        │\n",
		"   1  TRANSACTION.SUCCESS  EV-202601050000000001  verified       order-000001 SUCCESS  → 500\n",
		"   3  TRANSACTION.SUCCESS  EV-202601050000000002  verified       trigger-xxxxxxxx SUCCESS  → 200\n",
	} {
		if !strings.Contains(tr, want) {
			t.Errorf("transcript lacks %q\n%s", want, tr)
		}
	}
}
