package server

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
)

// TestListPagesOverHTTP: GET /admin/journal and /admin/customers take limit, starting_after and
// ending_before and answer {"data":[…],"has_more":…}; a query no list can answer is 400 with the
// bank's error body, INVALID_REQUEST and a hint; a partner's page holds its own entries only.
var bg = context.Background()

func TestListPagesOverHTTP(t *testing.T) {
	e := newEngine()
	h := New(e, Options{})
	for range 5 {
		do(h, "GET", "/v1/banks", local, "", map[string]string{})
	}
	pc, err := e.CreatePartner(bg, "a")
	if err != nil {
		t.Fatal(err)
	}
	partner := map[string]string{"Authorization": "Bearer " + pc.Key}
	for range 3 {
		do(h, "GET", "/v1/banks", local, "", partner)
	}
	var j bankapi.List[bankapi.JournalEntry]
	r := do(h, "GET", "/admin/journal?limit=2&starting_after=7", local, "", nil)
	if err := json.Unmarshal(r.body, &j); r.status != 200 || err != nil || len(j.Data) != 2 || j.Data[0].Seq != 6 || j.Data[1].Seq != 5 || !j.HasMore {
		t.Fatalf("journal page: %d %s", r.status, r.body)
	}
	if !strings.Contains(string(r.body), `"has_more":true`) || !strings.HasPrefix(string(r.body), `{"data":[`) {
		t.Errorf("not the list JSON: %s", r.body)
	}
	r = do(h, "GET", "/admin/journal?limit=100", local, "", partner)
	if err := json.Unmarshal(r.body, &j); r.status != 200 || err != nil || len(j.Data) != 3 || j.HasMore {
		t.Fatalf("partner's journal: %d %s", r.status, r.body)
	}
	for _, x := range j.Data {
		if x.Partner != pc.ID {
			t.Errorf("the partner's page holds %+v", x)
		}
	}
	var cs bankapi.List[bankapi.Customer]
	first := bankmock.TestCards[0].Customer.CardNo
	r = do(h, "GET", "/admin/customers?limit=3&starting_after="+first, local, "", nil)
	if err := json.Unmarshal(r.body, &cs); r.status != 200 || err != nil || len(cs.Data) != 3 || cs.Data[0].CardNo != bankmock.TestCards[1].Customer.CardNo || !cs.HasMore {
		t.Fatalf("customers page: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ path, want string }{
		{"/admin/journal?limit=0", `not "0"`},
		{"/admin/journal?limit=101", `not "101"`},
		{"/admin/journal?limit=abc", `not "abc"`},
		{"/admin/journal?limit=", ""}, // the default
		{"/admin/journal?starting_after=99", `starting_after "99" is not the seq of a journal entry`},
		{"/admin/journal?starting_after=2&ending_before=3", "cannot be used together"},
		{"/admin/customers?limit=0", `not "0"`},
		{"/admin/customers?ending_before=6222029999999999999", `ending_before "622202*********9999" is not the card number of a customer`},
	} {
		r := do(h, "GET", c.path, local, "", nil)
		if c.want == "" {
			if r.status != 200 {
				t.Errorf("%s: %d %s", c.path, r.status, r.body)
			}
			continue
		}
		be := r.err(t)
		if r.status != 400 || be.Code != bankapi.CodeInvalidRequest || be.RespCode != "30" || !strings.Contains(be.Message, c.want) || !strings.Contains(be.Message, "; ") {
			t.Errorf("%s: %d %+v, want 400 INVALID_REQUEST %q with a hint", c.path, r.status, be, c.want)
		}
	}
}

// BenchmarkJournalPage reads the first page of a file bank's journal of 100 and of 100,000
// entries over HTTP (through the handler) and reports, for the big one, its bytes allocated per
// page as a ratio of the small one's (bytes/op-ratio): a page costs the page, not the journal.
func BenchmarkJournalPage(b *testing.B) {
	perOp := map[int]float64{}
	for _, n := range []int{100, 100000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			e, err := bankmock.Open(bankmock.Config{Seed: 5, Customers: 1, Path: filepath.Join(b.TempDir(), "bank.db"), Create: true, NoSync: true,
				JournalLimit: 200000})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			fillJournal(b, e, n)
			h := New(e, Options{})
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				if r := do(h, "GET", "/admin/journal", local, "", nil); r.status != 200 {
					b.Fatalf("%d %s", r.status, r.body)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			perOp[n] = float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N)
			if small := perOp[100]; n != 100 && small > 0 {
				b.ReportMetric(perOp[n]/small, "bytes/op-ratio")
			}
		})
	}
}

// fillJournal gives a bank a journal of n entries through a restored snapshot: one commit.
func fillJournal(tb testing.TB, e *bankmock.Engine, n int) {
	tb.Helper()
	snap, err := e.Snapshot(bg)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(snap, &m); err != nil {
		tb.Fatal(err)
	}
	now, _ := e.Now(bg)
	j := make([]bankapi.JournalEntry, n)
	for i := range j {
		j[i] = bankapi.JournalEntry{Seq: int64(i + 1), Time: now, Partner: bankapi.DefaultPartner, Op: bankapi.OpBanks, Outcome: "ok",
			Processed: true, Detail: strings.Repeat("x", 100)}
	}
	m["journal"] = j
	m["counters"].(map[string]any)["journal"] = n
	body, _ := json.Marshal(m)
	if err := e.Restore(bg, body); err != nil {
		tb.Fatal(err)
	}
}
