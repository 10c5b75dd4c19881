package bankmock

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/bankapi"
)

// pagingBanks are the two kinds of bank a page is read from: memory (a slice) and a state file
// (SQL by seq).
func pagingBanks(t *testing.T, cfg Config) map[string]*Engine {
	t.Helper()
	fcfg := cfg
	fcfg.Path, fcfg.Create, fcfg.NoSync = filepath.Join(t.TempDir(), "bank.db"), true, true
	file, err := Open(fcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { file.Close() })
	return map[string]*Engine{"memory": New(cfg), "file": file}
}

// journalCalls makes n journal entries as ctx's partner (GET /v1/banks is journaled).
func journalCalls(t *testing.T, ctx context.Context, e *Engine, n int) {
	t.Helper()
	for range n {
		if _, err := e.Banks(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func seqsOf(j []bankapi.JournalEntry) []int64 {
	out := make([]int64, len(j))
	for i, x := range j {
		out[i] = x.Seq
	}
	return out
}

// TestJournalPagesWalkOnceWhileAppending walks the journal a page at a time, newest first, while
// new entries are made between pages, as two partners and the bank-wide admin: every entry that
// was there when the walk began comes exactly once, in order, and nothing made since (newer than
// the first page) comes at all; a partner's pages hold only its own entries.
func TestJournalPagesWalkOnceWhileAppending(t *testing.T) {
	for name, e := range pagingBanks(t, Config{Seed: 5, Customers: 1, Sleep: InstantSleep, Entropy: seeded(2)}) {
		t.Run(name, func(t *testing.T) {
			pa, pb := mustPartner(t, e, "a"), mustPartner(t, e, "b")
			A, B := WithPartner(bg, pa.ID), WithPartner(bg, pb.ID)
			owner := map[int64]string{}
			call := func(ctx context.Context, who string, n int) {
				for range n {
					journalCalls(t, ctx, e, 1)
					owner[e.st.Seq.Journal] = who
				}
			}
			for range 9 {
				call(A, pa.ID, 3)
				call(B, pb.ID, 2)
				call(bg, bankapi.DefaultPartner, 1)
			}
			for _, c := range []struct {
				ctx context.Context
				who string
			}{{bg, ""}, {A, pa.ID}, {B, pb.ID}} {
				last := e.st.Seq.Journal // what the walk must show: what was there when it began
				var want []int64
				for s := last; s >= 1; s-- {
					if c.who == "" || owner[s] == c.who {
						want = append(want, s)
					}
				}
				var got []int64
				p := bankapi.Page{Limit: 4}
				for pages := 0; ; pages++ {
					l, err := e.Journal(c.ctx, p)
					if err != nil {
						t.Fatal(err)
					}
					for _, j := range l.Data {
						if c.who != "" && j.Partner != c.who {
							t.Fatalf("%s's page holds %+v", c.who, j)
						}
					}
					got = append(got, seqsOf(l.Data)...)
					// Traffic between pages, from everyone.
					call(A, pa.ID, 2)
					call(B, pb.ID, 1)
					call(bg, bankapi.DefaultPartner, 1)
					next := bankapi.NextPage(p, l, bankapi.JournalEntry.Cursor)
					if next == nil {
						break
					}
					if pages > 100 {
						t.Fatal("the walk does not end")
					}
					p = *next
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%q walked %v\nwant %v", c.who, got, want)
				}
				// And back up with ending_before from the oldest: every newer entry once, each
				// page newest first.
				var up, gotUp []int64
				for s := want[len(want)-1] + 1; s <= e.st.Seq.Journal; s++ {
					if c.who == "" || owner[s] == c.who {
						up = append(up, s)
					}
				}
				p = bankapi.Page{Limit: 4, EndingBefore: strconv.FormatInt(want[len(want)-1], 10)}
				for {
					l, err := e.Journal(c.ctx, p)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.IsSortedFunc(l.Data, func(a, b bankapi.JournalEntry) int { return int(b.Seq - a.Seq) }) {
						t.Fatalf("an ending_before page is not newest first: %v", seqsOf(l.Data))
					}
					page := seqsOf(l.Data)
					slices.Reverse(page)
					gotUp = append(gotUp, page...)
					next := bankapi.NextPage(p, l, bankapi.JournalEntry.Cursor)
					if next == nil {
						break
					}
					p = *next
				}
				if !slices.Equal(gotUp, up) {
					t.Fatalf("%q walked up %v\nwant %v", c.who, gotUp, up)
				}
			}
		})
	}
}

// TestJournalPageCursors: ending_before pages toward the newer entries, newest first, the ones
// nearest the cursor; has_more says whether more are past the page.
func TestJournalPageCursors(t *testing.T) {
	for name, e := range pagingBanks(t, Config{Seed: 5, Customers: 1}) {
		t.Run(name, func(t *testing.T) {
			journalCalls(t, bg, e, 30)
			page := func(p bankapi.Page) *bankapi.List[bankapi.JournalEntry] {
				t.Helper()
				l, err := e.Journal(bg, p)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			for _, c := range []struct {
				p    bankapi.Page
				want []int64
				more bool
			}{
				{bankapi.Page{Limit: 3}, []int64{30, 29, 28}, true},
				{bankapi.Page{}, []int64{30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11}, true},
				{bankapi.Page{Limit: 30}, seqsOf(page(bankapi.Page{Limit: 30}).Data), false},
				{bankapi.Page{Limit: 3, StartingAfter: "28"}, []int64{27, 26, 25}, true},
				{bankapi.Page{Limit: 3, StartingAfter: "3"}, []int64{2, 1}, false},
				{bankapi.Page{Limit: 3, StartingAfter: "1"}, []int64{}, false},
				{bankapi.Page{Limit: 3, EndingBefore: "10"}, []int64{13, 12, 11}, true},
				{bankapi.Page{Limit: 3, EndingBefore: "27"}, []int64{30, 29, 28}, false},
				{bankapi.Page{Limit: 3, EndingBefore: "30"}, []int64{}, false},
			} {
				l := page(c.p)
				if !slices.Equal(seqsOf(l.Data), c.want) || l.HasMore != c.more || l.Data == nil {
					t.Errorf("%+v: %v more=%v, want %v more=%v", c.p, seqsOf(l.Data), l.HasMore, c.want, c.more)
				}
			}
		})
	}
}

// TestJournalPageRefusals: a limit out of 1–100, both cursors, and a cursor that is no entry of
// the caller's (never issued, not a seq, another partner's) are INVALID_REQUEST with a hint. An
// entry already trimmed is still a cursor: a walk overtaken by the trimming ends, empty.
func TestJournalPageRefusals(t *testing.T) {
	for name, e := range pagingBanks(t, Config{Seed: 5, Customers: 1, JournalLimit: 10, Entropy: seeded(3)}) {
		t.Run(name, func(t *testing.T) {
			pa := mustPartner(t, e, "a")
			A := WithPartner(bg, pa.ID)
			journalCalls(t, bg, e, 30)
			journalCalls(t, A, e, 1) // seq 31, A's
			journalCalls(t, bg, e, 1)
			for _, c := range []struct {
				ctx  context.Context
				p    bankapi.Page
				want string
			}{
				{bg, bankapi.Page{Limit: -1}, "limit must be a whole number from 1 to 100"},
				{bg, bankapi.Page{Limit: 101}, "for example limit=20"},
				{bg, bankapi.Page{StartingAfter: "3", EndingBefore: "5"}, "cannot be used together"},
				{bg, bankapi.Page{StartingAfter: "33"}, `starting_after "33" is not the seq of a journal entry`},
				{bg, bankapi.Page{EndingBefore: "abc"}, `ending_before "abc"`},
				{bg, bankapi.Page{StartingAfter: "0"}, "is not the seq"},
				{bg, bankapi.Page{StartingAfter: "-4"}, "is not the seq"},
				{bg, bankapi.Page{StartingAfter: "031"}, "is not the seq"},
				{A, bankapi.Page{StartingAfter: "30"}, `starting_after "30" is not the seq`}, // the default partner's
			} {
				_, err := e.Journal(c.ctx, c.p)
				be, ok := bankapi.AsError(err)
				if !ok || be.Code != bankapi.CodeInvalidRequest || be.RespCode != "30" || !strings.Contains(be.Message, c.want) ||
					!strings.Contains(be.Message, "; ") {
					t.Errorf("%+v: %v, want INVALID_REQUEST %q with a hint", c.p, err, c.want)
				}
			}
			l, err := e.Journal(bg, bankapi.Page{Limit: 100})
			if err != nil || !slices.Equal(seqsOf(l.Data), []int64{32, 31, 30, 29, 28, 27, 26, 25, 24, 23}) || l.HasMore {
				t.Errorf("the kept journal: %v %v", l, err)
			}
			for _, p := range []bankapi.Page{{StartingAfter: "23"}, {StartingAfter: "5"}} {
				if l, err := e.Journal(bg, p); err != nil || len(l.Data) != 0 || l.HasMore {
					t.Errorf("%+v, past the kept journal: %+v %v", p, l, err)
				}
			}
			if l, err := e.Journal(bg, bankapi.Page{Limit: 2, EndingBefore: "5"}); err != nil || !slices.Equal(seqsOf(l.Data), []int64{24, 23}) || !l.HasMore {
				t.Errorf("ending_before a trimmed entry: %+v %v", l, err)
			}
			if l, err := e.Journal(A, bankapi.Page{StartingAfter: "31"}); err != nil || len(l.Data) != 0 {
				t.Errorf("A after its own entry: %+v %v", l, err)
			}
		})
	}
}

// TestCustomerPages: the customers in catalogue order, cursor the card number.
func TestCustomerPages(t *testing.T) {
	e := New(Config{Seed: 5, Customers: 30})
	all := slices.Clone(e.st.Customers)
	cards := func(cs []bankapi.Customer) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.CardNo)
		}
		return out
	}
	n := len(all)
	for _, c := range []struct {
		p    bankapi.Page
		want []bankapi.Customer
		more bool
	}{
		{bankapi.Page{}, all[:20], true},
		{bankapi.Page{Limit: 100}, all, false},
		{bankapi.Page{Limit: 5, StartingAfter: all[4].CardNo}, all[5:10], true},
		{bankapi.Page{Limit: 5, StartingAfter: all[n-3].CardNo}, all[n-2:], false},
		{bankapi.Page{Limit: 5, StartingAfter: all[n-1].CardNo}, nil, false},
		{bankapi.Page{Limit: 5, EndingBefore: all[10].CardNo}, all[5:10], true},
		{bankapi.Page{Limit: 5, EndingBefore: all[3].CardNo}, all[:3], false},
	} {
		l, err := e.Customers(bg, c.p)
		if err != nil || !slices.Equal(cards(l.Data), cards(c.want)) || l.HasMore != c.more || l.Data == nil {
			t.Errorf("%+v: %v %v", c.p, l, err)
		}
	}
	if got, err := customersOf(bg, e); err != nil || !slices.Equal(cards(got), cards(all)) {
		t.Errorf("every page: %d of %d %v", len(got), n, err)
	}
	_, err := e.Customers(bg, bankapi.Page{StartingAfter: "6222029999999999999"})
	if be, ok := bankapi.AsError(err); !ok || be.Code != bankapi.CodeInvalidRequest || strings.Contains(be.Message, "6222029999999999999") ||
		!strings.Contains(be.Message, "622202*********9999") {
		t.Errorf("unknown card cursor: %v (want INVALID_REQUEST, the card masked)", err)
	}
	for _, p := range []bankapi.Page{{Limit: 101}, {Limit: -1}, {StartingAfter: all[0].CardNo, EndingBefore: all[1].CardNo}} {
		if _, err := e.Customers(bg, p); !isCode(err, bankapi.CodeInvalidRequest) {
			t.Errorf("%+v: %v", p, err)
		}
	}
	pc := mustPartner(t, e, "p")
	if l, err := e.Customers(WithPartner(bg, pc.ID), bankapi.Page{}); err != nil || len(l.Data) == 0 || l.Data[0].CardNo != all[0].CardNo {
		t.Errorf("a partner reads the same customers: %v", err)
	}
}

func isCode(err error, code string) bool {
	be, ok := bankapi.AsError(err)
	return ok && be.Code == code
}

// fillJournal gives a file bank a journal of n entries, half the default partner's and half
// pa's, through a restored snapshot (one commit, where n operations would take n).
func fillJournal(t testing.TB, e *Engine, n int, pa string) {
	t.Helper()
	snap, err := e.Snapshot(bg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(snap, &m); err != nil {
		t.Fatal(err)
	}
	j := make([]bankapi.JournalEntry, n)
	for i := range j {
		j[i] = bankapi.JournalEntry{Seq: int64(i + 1), Time: e.now(), Partner: bankapi.DefaultPartner, Op: bankapi.OpBanks, Outcome: "ok", Processed: true,
			Detail: strings.Repeat("x", 100)}
		if i%2 == 1 {
			j[i].Partner = pa
		}
	}
	m["journal"] = mustJSON(j)
	var c counters
	if err := json.Unmarshal(m["counters"], &c); err != nil {
		t.Fatal(err)
	}
	c.Journal = int64(n)
	m["counters"] = mustJSON(c)
	if err := e.Restore(bg, mustJSON(m)); err != nil {
		t.Fatal(err)
	}
}

// TestJournalPageReadsThePage: a page of a file bank's journal reads that page's rows from the
// file, not the journal: 21 rows for a first page of 20 of 20,000 entries, bank-wide or a
// partner's, through the seq (the primary key) or journal_by_partner, never a scan; and its
// allocations do not grow with the journal (20,000 entries against 100).
func TestJournalPageReadsThePage(t *testing.T) {
	pageBytes := func(n int) (rows int, bytes uint64) {
		path := filepath.Join(t.TempDir(), "bank.db")
		e, err := Open(Config{Seed: 5, Customers: 1, Path: path, Create: true, NoSync: true, JournalLimit: 50000, Entropy: seeded(4)})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		pa := mustPartner(t, e, "a")
		fillJournal(t, e, n, pa.ID)
		read := 0
		journalRowsRead = func() { read++ }
		defer func() { journalRowsRead = nil }()
		for _, ctx := range []context.Context{bg, WithPartner(bg, pa.ID)} {
			read = 0
			l, err := e.Journal(ctx, bankapi.Page{})
			if err != nil || len(l.Data) != 20 || !l.HasMore || read != 21 {
				t.Fatalf("%d entries: a first page read %d rows (%d entries, %v)", n, read, len(l.Data), err)
			}
			read = 0
			if l, err = e.Journal(ctx, bankapi.Page{StartingAfter: strconv.Itoa(n / 2)}); err != nil || len(l.Data) != 20 || read != 22 { // the cursor's row, then the page's
				t.Fatalf("%d entries: a middle page read %d rows (%v)", n, read, err)
			}
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		const pages = 20
		for range pages {
			if _, err := e.Journal(bg, bankapi.Page{}); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return read, (after.TotalAlloc - before.TotalAlloc) / pages
	}
	_, small := pageBytes(100)
	_, big := pageBytes(20000)
	t.Logf("a first page allocates %d B with 100 entries, %d B with 20,000 (%.2fx)", small, big, float64(big)/float64(small))
	if float64(big) > 1.5*float64(small) {
		t.Errorf("a page of a 20,000-entry journal allocates %d B, of a 100-entry one %d B: it grows with the journal", big, small)
	}
}

// TestJournalQueriesUseIndexes: SQLite answers every journal page by an index (the seq, or
// journal_by_partner), never by a scan of the table; an older file gets the index when opened.
func TestJournalQueriesUseIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bank.db")
	e, err := Open(Config{Seed: 5, Customers: 1, Path: path, Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	plan := func(db *sql.DB, q string, args ...any) string {
		rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "; ")
	}
	check := func(db *sql.DB) {
		t.Helper()
		for _, q := range []string{journalPageAsc, journalPageDesc} {
			if p := plan(db, q, 0, 10, 21); !strings.Contains(p, "USING INTEGER PRIMARY KEY") {
				t.Errorf("%s: %s", q, p)
			}
		}
		for _, q := range []string{journalPartnerPageAsc, journalPartnerPageDesc} {
			if p := plan(db, q, "p1", 0, 10, 21); !strings.Contains(p, "USING INDEX journal_by_partner") || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("%s: %s", q, p)
			}
		}
	}
	check(e.dur.db)
	// A file of format 1 (no journal_by_partner) is upgraded when opened for writing.
	if _, err := e.dur.db.Exec(`DROP INDEX journal_by_partner; PRAGMA user_version = 1`); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err = Open(Config{Seed: 5, Path: path, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var ver int
	if err := e.dur.db.QueryRow(`PRAGMA user_version`).Scan(&ver); err != nil || ver != len(durableSteps) {
		t.Fatalf("user_version %d %v", ver, err)
	}
	check(e.dur.db)
}

// TestRestoreRefusesAJournalOutOfOrder: pages seek by seq, so a snapshot whose journal is not in
// increasing seq order, or runs past its counter, is refused.
func TestRestoreRefusesAJournalOutOfOrder(t *testing.T) {
	e := New(Config{Seed: 5, Customers: 1})
	journalCalls(t, bg, e, 3)
	snap, err := e.Snapshot(bg)
	if err != nil {
		t.Fatal(err)
	}
	for name, poison := range map[string]func(j []any, c map[string]any) []any{
		"reversed":      func(j []any, _ map[string]any) []any { slices.Reverse(j); return j },
		"repeated":      func(j []any, _ map[string]any) []any { return append(j, j[2]) },
		"past counter":  func(j []any, c map[string]any) []any { c["journal"] = 2; return j },
		"in order (ok)": func(j []any, _ map[string]any) []any { return j },
	} {
		var m map[string]any
		if err := json.Unmarshal(snap, &m); err != nil {
			t.Fatal(err)
		}
		m["journal"] = poison(m["journal"].([]any), m["counters"].(map[string]any))
		err := e.Restore(bg, mustJSON(m))
		if ok := name == "in order (ok)"; (err == nil) != ok || (!ok && !isCode(err, bankapi.CodeInvalidRequest)) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
