package bankmock

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strconv"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/cnid"
)

// Paging the customers and the journal (DESIGN.md section 12). A page costs the page: the
// customers are found by their index (cardIdx); the journal of a bank with a state file is read
// from the file by seq (and by partner, through journal_by_partner), never loaded whole.

// Customers is a page of the card holders with full card and ID numbers (a fixture listing), in
// the catalogue's order: the test cards first, then the customers generated and added, as they
// came. Customers are fixtures, not events, so the list is not newest first; the cursor is the
// card number. Every partner may read them: they are the bank's documented test identities
// (adding and changing them is bank-wide administration).
func (e *Engine) Customers(ctx context.Context, p bankapi.Page) (*bankapi.List[bankapi.Customer], error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	var out *bankapi.List[bankapi.Customer]
	err := e.view(func() error {
		cs, n := e.st.Customers, p.N()
		lo := 0
		if param, card := p.Cursor(); param != "" {
			at, ok := e.cardIdx[card]
			if !ok {
				// Masked like every card number the bank says outside the fixture listing.
				return bankapi.UnknownCursor(param, cnid.MaskDigits(card), "the card number of a customer")
			}
			if param == "ending_before" {
				lo = max(0, at-n)
				out = &bankapi.List[bankapi.Customer]{Data: slices.Clone(cs[lo:at]), HasMore: lo > 0}
				return nil
			}
			lo = at + 1
		}
		hi := min(len(cs), lo+n)
		out = &bankapi.List[bankapi.Customer]{Data: slices.Clone(cs[lo:hi]), HasMore: hi < len(cs)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out.Data == nil {
		out.Data = []bankapi.Customer{} // [] rather than null: scripts iterate it
	}
	return out, nil
}

// Journal is a page of the journal, newest first, of every request for a bank-wide caller or of
// a partner's own requests for a partner (WithPartner); cards are masked and no OTP, key or ID
// number appears. The cursor is an entry's seq in decimal. The journal keeps the last
// JournalLimit entries; a cursor older than that (an entry trimmed while someone walked the
// pages) is still a cursor, so that the walk ends instead of failing.
func (e *Engine) Journal(ctx context.Context, p bankapi.Page) (*bankapi.List[bankapi.JournalEntry], error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	param, id := p.Cursor()
	var cur int64
	if param != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 1 || strconv.FormatInt(n, 10) != id {
			return nil, bankapi.UnknownCursor(param, id, "the seq of a journal entry")
		}
		cur = n
	}
	var out *bankapi.List[bankapi.JournalEntry]
	err := e.view(func() error {
		who, serr := e.helperScope(ctx)
		if serr != nil {
			return serr
		}
		var err error
		out, err = e.journalPage(who, param, cur, p.N())
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// journalFloor is the seq at and below which entries are no longer shown: the journal keeps its
// last JournalLimit entries (the file trims to it; memory in chunks past it). Lock held.
func (e *Engine) journalFloor() int64 { return max(0, e.st.Seq.Journal-int64(e.journalLimit())) }

// journalPage is one page of who's journal ("": everyone's) around the cursor cur of param
// (none: the newest). Lock held.
func (e *Engine) journalPage(who, param string, cur int64, n int) (*bankapi.List[bankapi.JournalEntry], error) {
	last, floor := e.st.Seq.Journal, e.journalFloor()
	if param != "" {
		if cur > floor { // still kept (or never issued): it must be an entry the caller sees
			j, err := e.journalRange(who, cur-1, cur+1, 1, true)
			if err != nil {
				return nil, err
			}
			if len(j) == 0 {
				return nil, bankapi.UnknownCursor(param, strconv.FormatInt(cur, 10), "the seq of a journal entry")
			}
		}
	}
	if param == "ending_before" {
		// The n entries just newer than the cursor, read upward from it, shown newest first.
		j, err := e.journalRange(who, max(cur, floor), last+1, n+1, false)
		if err != nil {
			return nil, err
		}
		more := len(j) > n
		j = j[:min(n, len(j))]
		slices.Reverse(j)
		return &bankapi.List[bankapi.JournalEntry]{Data: j, HasMore: more}, nil
	}
	before := last + 1
	if param == "starting_after" {
		before = cur
	}
	j, err := e.journalRange(who, floor, before, n+1, true)
	if err != nil {
		return nil, err
	}
	more := len(j) > n
	return &bankapi.List[bankapi.JournalEntry]{Data: j[:min(n, len(j))], HasMore: more}, nil
}

// journalRange is up to limit of who's entries ("": everyone's) with after < seq < before, newest
// first when desc, else oldest first: from memory (the entries past journalBase: all of them in
// memory, the critical section's with a file) and from the file (the rest), each read from
// the cursor on and no further than needed. Lock held.
func (e *Engine) journalRange(who string, after, before int64, limit int, desc bool) ([]bankapi.JournalEntry, error) {
	out := []bankapi.JournalEntry{}
	fromMemory := func() {
		mem := e.st.Journal // ascending by seq
		lo := sort.Search(len(mem), func(i int) bool { return mem[i].Seq > max(after, e.journalBase) })
		hi := sort.Search(len(mem), func(i int) bool { return mem[i].Seq >= before })
		for k := range hi - lo {
			i := lo + k
			if desc {
				i = hi - 1 - k
			}
			if len(out) >= limit {
				return
			}
			if who == "" || mem[i].Partner == who {
				out = append(out, mem[i])
			}
		}
	}
	fromFile := func() error {
		if e.dur == nil || e.journalBase <= after || len(out) >= limit {
			return nil
		}
		j, err := e.fileJournal(who, after, min(before, e.journalBase+1), limit-len(out), desc)
		out = append(out, j...)
		return err
	}
	if desc {
		fromMemory()
		return out, fromFile()
	}
	if err := fromFile(); err != nil {
		return nil, err
	}
	fromMemory()
	return out, nil
}

// Journal pages read from the file: by the seq (the table's INTEGER PRIMARY KEY), and for a
// partner by journal_by_partner, an index on the body's partner and the seq; either way SQLite
// reads the page's rows and no others. The partner expression must be journal_by_partner's,
// word for word, for SQLite to use it.
const (
	journalPageAsc         = `SELECT body FROM journal WHERE seq > ? AND seq < ? ORDER BY seq LIMIT ?`
	journalPageDesc        = `SELECT body FROM journal WHERE seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?`
	journalPartnerPageAsc  = `SELECT body FROM journal WHERE json_extract(body, '$.partner') = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?`
	journalPartnerPageDesc = `SELECT body FROM journal WHERE json_extract(body, '$.partner') = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?`
)

// journalRowsRead counts the journal rows read from files, for the test that a page reads a
// page (nil outside that test).
var journalRowsRead func()

// fileJournal reads up to limit of who's journal entries with after < seq < before from the
// file, newest first when desc. Lock held.
func (e *Engine) fileJournal(who string, after, before int64, limit int, desc bool) ([]bankapi.JournalEntry, error) {
	q, args := journalPageAsc, []any{after, before, limit}
	switch {
	case who != "" && desc:
		q, args = journalPartnerPageDesc, []any{who, after, before, limit}
	case who != "":
		q, args = journalPartnerPageAsc, []any{who, after, before, limit}
	case desc:
		q = journalPageDesc
	}
	cannotRead := func(err error) *bankapi.Error {
		e.noteDamage(err)
		return errf(bankapi.CodeIssuerUnavailable, "96", "the bank cannot read its journal: %v", err)
	}
	rows, err := e.dur.db.Query(q, args...)
	if err != nil {
		return nil, cannotRead(err)
	}
	defer rows.Close()
	var out []bankapi.JournalEntry
	for rows.Next() {
		if journalRowsRead != nil {
			journalRowsRead()
		}
		var body []byte
		var j bankapi.JournalEntry
		if err := rows.Scan(&body); err != nil {
			return nil, cannotRead(err)
		}
		if err := json.Unmarshal(body, &j); err != nil {
			e.noteDamage(&DamagedError{Path: e.dur.path, Reason: "a journal entry is not valid JSON", Err: err})
			return nil, errf(bankapi.CodeIssuerUnavailable, "96", "the bank's journal is damaged (entry not JSON)")
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, cannotRead(err)
	}
	return out, nil
}

// wholeJournal is every entry kept, oldest first, for Snapshot (which exports the whole state
// anyway); memory's journal is left as it is. Lock held.
func (e *Engine) wholeJournal() ([]bankapi.JournalEntry, error) {
	return e.journalRange("", e.journalFloor(), e.st.Seq.Journal+1, int(min(e.st.Seq.Journal, int64(e.journalLimit()))), false)
}
