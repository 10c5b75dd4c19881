package conformance

import (
	"strings"
	"testing"

	"github.com/walletctl/walletctl/internal/tablefit"
)

// The report fits the width it is given (issue 22 item 8: it was 132-135 columns on an
// 80-column terminal): the details wrap at spaces, every check and status still there.
func TestReportTableFitsTheWidth(t *testing.T) {
	r := &Report{Suite: "bank", URL: "http://127.0.0.1:8086"}
	r.add("verify.card-status", Pass, "frozen and lost cards are ISSUER_RESTRICTED (77), an expired one CARD_EXPIRED (78), and this detail goes on long enough to need wrapping twice over")
	r.add("partner.admin-refused", Fail, "GET /admin/customers with a partner key: HTTP 200; want 403 UNAUTHORIZED (bank-wide admin needs the admin token)")
	r.add("statement.totals", NA, "no admin API")
	for _, width := range []int{80, 60} {
		var b strings.Builder
		r.WriteTableWidth(&b, false, width)
		out := b.String()
		if w := tablefit.LineWidth(out); w > width {
			t.Errorf("at %d columns the report is %d wide:\n%s", width, w, out)
		}
		for _, c := range r.Checks {
			if !strings.Contains(out, c.Name) {
				t.Errorf("at %d columns %s is missing:\n%s", width, c.Name, out)
			}
		}
	}
}
