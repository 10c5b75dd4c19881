package bankapi

import (
	"context"
	"net/url"
	"strconv"
)

// Paging, Stripe-style (DESIGN.md section 12), as the wallet pages its lists: a list answers one
// page of at most Limit items and whether more follow. StartingAfter names the last item of the
// previous page (the next page holds the items after it in the list's order); EndingBefore the
// first (the page holds the items before it). A page costs the page, never the history.
//
// Page and List repeat walletctl.Page and walletctl.List field for field, with the same JSON and
// rules, instead of sharing them: the protocol does not import the wallet (a partner implements
// it without the wallet), and the wallet converts at the call.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// Page asks for one page of a list. The zero value is the first page of DefaultPageLimit items.
type Page struct {
	Limit         int    `json:"limit,omitempty"`
	StartingAfter string `json:"starting_after,omitempty"`
	EndingBefore  string `json:"ending_before,omitempty"`
}

// List is one page of a list: its items in the list's order and whether more follow past the
// cursor's side (after a first page or a starting_after page, before an ending_before page).
type List[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}

// N is the number of items asked for: Limit, or the default when Limit is 0. Call Check first.
func (p Page) N() int {
	if p.Limit == 0 {
		return DefaultPageLimit
	}
	return p.Limit
}

// pageHint is what every paging error suggests. The bank's errors have no hint field (a partner's
// client reads code, resp_code and message), so it ends the message.
const pageHint = "; for example limit=20, and walk a long list with starting_after=<the last id of a page>"

// Check refuses a page no list can answer: a limit out of 1–100, both cursors at once.
func (p Page) Check() error {
	if p.Limit < 0 || p.Limit > MaxPageLimit {
		return pageError(strconv.Itoa(p.Limit))
	}
	if p.StartingAfter != "" && p.EndingBefore != "" {
		return Errorf(CodeInvalidRequest, "30", "starting_after and ending_before cannot be used together; "+
			"page forward with starting_after, or back with ending_before")
	}
	return nil
}

// ParseLimit reads a limit from text (a query parameter): 1 to 100; "" is the default.
func ParseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageLimit {
		return 0, pageError(s)
	}
	return n, nil
}

func pageError(value string) *Error {
	return Errorf(CodeInvalidRequest, "30", "limit must be a whole number from 1 to 100 (default 20), not %s%s", strconv.Quote(value), pageHint)
}

// ParsePage reads a list route's query (limit, starting_after, ending_before) and checks it.
func ParsePage(q url.Values) (Page, error) {
	n, err := ParseLimit(q.Get("limit"))
	if err != nil {
		return Page{}, err
	}
	p := Page{Limit: n, StartingAfter: q.Get("starting_after"), EndingBefore: q.Get("ending_before")}
	return p, p.Check()
}

// Query is p as a list route's query: only what differs from the defaults.
func (p Page) Query() url.Values {
	q := url.Values{}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.StartingAfter != "" {
		q.Set("starting_after", p.StartingAfter)
	}
	if p.EndingBefore != "" {
		q.Set("ending_before", p.EndingBefore)
	}
	return q
}

// UnknownCursor is the error for a cursor that names no item of the list being paged.
func UnknownCursor(param, id, what string) *Error {
	return Errorf(CodeInvalidRequest, "30", "%s %s is not %s of this list; pass the id of an item of a page of the same list (the first page needs no cursor)",
		param, strconv.Quote(id), what)
}

// Cursor is the id that a page's cursor names and which parameter it came in.
func (p Page) Cursor() (param, id string) {
	if p.EndingBefore != "" {
		return "ending_before", p.EndingBefore
	}
	if p.StartingAfter != "" {
		return "starting_after", p.StartingAfter
	}
	return "", ""
}

// NextPage is the page that follows l in the direction p walked (after a first or starting_after
// page, before an ending_before page), or nil when l is the last.
func NextPage[T any](p Page, l *List[T], id func(T) string) *Page {
	if !l.HasMore || len(l.Data) == 0 {
		return nil
	}
	if p.EndingBefore != "" {
		return &Page{Limit: p.Limit, EndingBefore: id(l.Data[0])}
	}
	return &Page{Limit: p.Limit, StartingAfter: id(l.Data[len(l.Data)-1])}
}

// Each walks every page of a list from p on, in the direction p walks, calling fn for each item;
// it stops at the first error. A walk holds nothing between pages, so items added meanwhile
// appear only if they sort after the cursor (never twice, none skipped of those that were there).
func Each[T any](ctx context.Context, p Page, fetch func(context.Context, Page) (*List[T], error), id func(T) string, fn func(T) error) error {
	for {
		l, err := fetch(ctx, p)
		if err != nil {
			return err
		}
		for _, it := range l.Data {
			if err := fn(it); err != nil {
				return err
			}
		}
		next := NextPage(p, l, id)
		if next == nil {
			return nil
		}
		p = *next
	}
}

// All collects every item of a list, walking its pages: for the lists that are bounded by nature
// (the customers, a journal of at most its limit) and for tests.
func All[T any](ctx context.Context, fetch func(context.Context, Page) (*List[T], error), id func(T) string) ([]T, error) {
	out := []T{}
	err := Each(ctx, Page{Limit: MaxPageLimit}, fetch, id, func(t T) error { out = append(out, t); return nil })
	return out, err
}

// Cursor is the id a journal page's cursor names: the entry's seq, in decimal.
func (j JournalEntry) Cursor() string { return strconv.FormatInt(j.Seq, 10) }

// Cursor is the id a customers page's cursor names: the card number.
func (c Customer) Cursor() string { return c.CardNo }

// AllCustomers is every customer of a bank, in catalogue order (a bounded fixture set).
func AllCustomers(ctx context.Context, a Admin) ([]Customer, error) {
	return All(ctx, a.Customers, Customer.Cursor)
}

// AllJournal is every journal entry the caller may read, newest first.
func AllJournal(ctx context.Context, a Admin) ([]JournalEntry, error) {
	return All(ctx, a.Journal, JournalEntry.Cursor)
}
