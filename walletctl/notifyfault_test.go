package walletctl

import (
	"strings"
	"testing"
	"time"
)

// Notification faults share the bank faults' spec syntax (bankapi.SplitSpec): what it refuses,
// ParseNotifyFault refuses with INVALID_ARGUMENT and the syntax as a hint, and a parsed rule
// prints back as the spec it came from.
func TestParseNotifyFault(t *testing.T) {
	for _, spec := range []string{
		"duplicate", "drop_ack;event=REFUND.SUCCESS", " out_of_order ; first=1 ",
		"delay;d=30s;mchid=1900000001", "sign_probe;event=TRANSACTION.SUCCESS;mchid=1900000002;first=2",
	} {
		f, err := ParseNotifyFault(spec)
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		again, err := ParseNotifyFault(f.String())
		if err != nil || again.String() != f.String() {
			t.Errorf("%q prints as %q, which reads back as %v %v", spec, f.String(), again, err)
		}
	}
	if f, _ := ParseNotifyFault("delay;d=30s"); f.Delay != 30*time.Second {
		t.Errorf("delay %v", f.Delay)
	}
	for spec, want := range map[string]string{
		"explode":                   "unknown kind",
		"duplicate;first":           "not key=value",
		"duplicate;mchid=":          "not key=value",
		"duplicate;first=1;first=2": "given twice",
		"duplicate;event=PAID":      "unknown event",
		"duplicate;first=0":         "positive count",
		"delay":                     "needs d=",
		"delay;d=-1s":               "positive duration",
		"duplicate;color=red":       "unknown parameter",
	} {
		_, err := ParseNotifyFault(spec)
		var we *Error
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", spec, err, want)
			continue
		}
		if e, ok := err.(*Error); ok {
			we = e
		}
		if we == nil || we.Code != CodeInvalidArgument || !strings.Contains(we.Hint, "KIND") {
			t.Errorf("%q: %#v, want INVALID_ARGUMENT with the syntax as a hint", spec, err)
		}
	}
}
