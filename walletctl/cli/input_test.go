package cli_test

import (
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
)

// Issue 18's bad inputs on the command line: INVALID_ARGUMENT (its exit code, a hint, the field
// in the details) for a notify URL the sender must not be given and for control characters in
// text that ends up in a bill, a table or a log. Nothing is created.
func TestUnsafeInputRefusedOnTheCommandLine(t *testing.T) {
	w := newWorld(t, false)
	var m walletctl.Merchant
	w.jsonOf(&m, "", "merchant", "create", "--name", "Input Shop")
	long := "http://127.0.0.1:8090/" + strings.Repeat("a", 257-len("http://127.0.0.1:8090/"))
	order := func(flag, value string) []string {
		args := []string{"merchant", "order", "create", "--mchid", m.ID, "--out-trade-no", "input-cli-1", "--amount", "1", "--description", "tea"}
		for i, a := range args {
			if a == flag {
				args[i+1] = value
				return args
			}
		}
		return append(args, flag, value)
	}
	exit := cli.ExitCode(walletctl.CodeInvalidArgument)
	for _, c := range []struct {
		field string
		args  []string
	}{
		{"notify_url", order("--notify-url", "http://a b/c")},
		{"notify_url", order("--notify-url", "http://")},
		{"notify_url", order("--notify-url", "ftp://x")},
		{"notify_url", order("--notify-url", long)},
		{"description", order("--description", "tea\nforged")},
		{"attach", order("--attach", "x\x1b[2J")},
		{"reason", []string{"merchant", "refund", "--mchid", m.ID, "--out-trade-no", "input-cli-1", "--out-refund-no", "input-r-1",
			"--amount", "1", "--reason", "tab\there"}},
		{"notify_url", []string{"merchant", "refund", "--mchid", m.ID, "--out-trade-no", "input-cli-1", "--out-refund-no", "input-r-1",
			"--amount", "1", "--notify-url", "ftp://x"}},
		{"name", []string{"merchant", "create", "--name", "nul\x00shop"}},
		{"--forward-to", []string{"listen", "--forward-to", "http://", "--timeout", "1s"}},
		{"--notify-url", []string{"trigger", "TRANSACTION.SUCCESS", "--notify-url", "http://a b/c"}},
	} {
		r := w.fail("", walletctl.CodeInvalidArgument, exit, c.args...)
		if !strings.Contains(r.errOut, "field="+c.field) {
			t.Errorf("walletctl %s: no field=%s in\n%s", strings.Join(c.args, " "), c.field, r.errOut)
		}
	}
	var orders []walletctl.Order
	w.jsonOf(&orders, "", "merchant", "order", "list", "--mchid", m.ID)
	if len(orders) != 0 {
		t.Errorf("orders were made: %+v", orders)
	}
}
