package walletctl

import (
	"context"
	"strconv"

	"github.com/walletctl/walletctl/bankapi"
)

// Paging, Stripe-style (DESIGN.md section 12): a list answers one page of at most Limit items,
// newest first, and whether more follow. StartingAfter names the last item of the previous page
// (the next page holds older items); EndingBefore the first (the page before it holds newer
// items). A list read costs the page, never the history: stores seek to the cursor by an index.
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
// cursor's side (older ones after a first page or a starting_after page, newer ones before an
// ending_before page).
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

// Check refuses a page no list can answer: a limit out of 1–100, both cursors at once.
func (p Page) Check() error {
	if p.Limit < 0 || p.Limit > MaxPageLimit {
		return pageError("limit", strconv.Itoa(p.Limit), "limit must be 1 to 100 (default 20)")
	}
	if p.StartingAfter != "" && p.EndingBefore != "" {
		return &Error{Code: CodeInvalidArgument, Message: "starting_after and ending_before cannot be used together",
			Hint: "page toward older items with starting_after, or toward newer ones with ending_before"}
	}
	return nil
}

// ParseLimit reads a limit from text (a query parameter, a flag): 1 to 100; "" is the default.
func ParseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageLimit {
		return 0, pageError("limit", s, "limit must be a whole number from 1 to 100 (default 20)")
	}
	return n, nil
}

func pageError(param, value, msg string) *Error {
	return &Error{Code: CodeInvalidArgument, Message: msg + ": " + strconv.Quote(value),
		Hint: "for example limit=20; walk a long list with starting_after=<the last id of a page> (the CLI's --all does it)", Details: map[string]any{"param": param}}
}

// UnknownCursor is the error for a cursor that names no item of the list being paged.
func UnknownCursor(param, id, what string) *Error {
	return &Error{Code: CodeInvalidArgument, Message: param + " " + strconv.Quote(id) + " is not " + what + " of this list",
		Hint: "pass the id of an item of a page of the same list (the first page needs no cursor)", Details: map[string]any{"param": param, "id": id}}
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

// NextPage is the page that follows l in the direction p walked (older items after a first or
// starting_after page, newer ones before an ending_before page), or nil when l is the last.
// The walk is bankapi's: the two Page and List types are the same fields, converted here, so that
// the walking is written once (the protocol cannot import the wallet; the wallet imports it).
func NextPage[T any](p Page, l *List[T], id func(T) string) *Page {
	return (*Page)(bankapi.NextPage(bankapi.Page(p), (*bankapi.List[T])(l), id))
}

// Each walks every page of a list from p on, in the direction p walks, calling fn for each item;
// it stops at the first error. A walk holds nothing between pages, so items added meanwhile
// appear only if they sort after the cursor (never twice, none skipped of those that were there).
func Each[T any](ctx context.Context, p Page, fetch func(context.Context, Page) (*List[T], error), id func(T) string, fn func(T) error) error {
	return bankapi.Each(ctx, bankapi.Page(p), func(ctx context.Context, p bankapi.Page) (*bankapi.List[T], error) {
		l, err := fetch(ctx, Page(p))
		return (*bankapi.List[T])(l), err
	}, id, fn)
}

// All collects every item of a list, walking its pages (for lists that are small by nature, and
// for tests).
func All[T any](ctx context.Context, fetch func(context.Context, Page) (*List[T], error), id func(T) string) ([]T, error) {
	out := []T{}
	err := Each(ctx, Page{Limit: MaxPageLimit}, fetch, id, func(t T) error { out = append(out, t); return nil })
	return out, err
}

// PageSlice pages a list that is whole in memory and small by nature (the merchant catalogue):
// in its own order, starting_after moving toward its end.
func PageSlice[T any](items []T, p Page, id func(T) string, what string) (*List[T], error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	n := p.N()
	lo := 0
	if param, cur := p.Cursor(); param != "" {
		at := -1
		for i := range items {
			if id(items[i]) == cur {
				at = i
				break
			}
		}
		if at < 0 {
			return nil, UnknownCursor(param, cur, what)
		}
		if param == "ending_before" {
			lo = max(0, at-n)
			return &List[T]{Data: append([]T{}, items[lo:at]...), HasMore: lo > 0}, nil
		}
		lo = at + 1
	}
	hi := min(len(items), lo+n)
	return &List[T]{Data: append([]T{}, items[lo:hi]...), HasMore: hi < len(items)}, nil
}

// MaxPage is the first page at the largest size: what tests and completions read of a list.
var MaxPage = Page{Limit: MaxPageLimit}

// Items is a page's items as a slice, for callers that read one page (tests, completions).
func Items[T any](l *List[T], err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	return l.Data, nil
}
