package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/notify"
)

// walletctl serve hands its tenants' notification senders the fence: its own listening address
// (known only after it listens, after its tenants were opened) and the operator's ranges
// (--notify-deny). A tenant's trigger naming either gets an attempt refused with the fence's
// error, visible in the notification; bad ranges are refused at start.
func TestServeNotifyFence(t *testing.T) {
	const key = "e2e-fence-tenant-key-0123456789"
	p := startServe(t, []string{"WALLETCTL_ADMIN_TOKEN=e2e-fence-admin-token"}, "--data", t.TempDir(), "--tenant-key", key,
		"--seed", "11", "--customers", "20", "--notify-deny", "10.9.0.0/16,192.0.2.7")
	env := []string{"WALLETCTL_BACKEND=" + p.url, "WALLETCTL_API_KEY=" + key}
	for target, why := range map[string]string{
		p.url + "/admin/tenants":       "the wallet server's own address",
		"http://10.9.8.7:8080/notify":  "in a denied range (10.9.0.0/16)",
		"http://192.0.2.7/notify":      "in a denied range (192.0.2.7/32)",
		"http://169.254.169.254/meta/": "link-local",
	} {
		r := exeEnv(t, env, "", "trigger", "TRANSACTION.SUCCESS", "--notify-url", target, "-o", "json")
		if r.code != 0 {
			t.Fatalf("trigger --notify-url %s: %s", target, r)
		}
		var res struct {
			Notification *walletctl.Notification `json:"notification"`
		}
		if err := json.Unmarshal([]byte(r.out), &res); err != nil || res.Notification == nil || len(res.Notification.Attempts) == 0 {
			t.Fatalf("trigger -o json: %v\n%s", err, r.out)
		}
		a := res.Notification.Attempts[0]
		if a.OK || a.Status != 0 || !strings.HasPrefix(a.Error, notify.FencePrefix) || !strings.Contains(a.Error, why) {
			t.Errorf("%s: attempt %+v; want refused by the fence as %q", target, a, why)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("serve exited %d; stderr:\n%s", code, p.stderr)
	}
	r := exe(t, t.TempDir(), "", "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--notify-allow", "10.0.0.0/33")
	if r.code != cli.ExitCode(walletctl.CodeInvalidArgument) || !strings.Contains(r.errOut, "--notify-allow") {
		t.Errorf("serve --notify-allow 10.0.0.0/33: %s", r)
	}
}
