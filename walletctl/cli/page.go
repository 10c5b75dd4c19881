package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
)

// Every list command pages as the API does (DESIGN.md section 12): the newest 20 by default,
// --limit, --starting-after and --ending-before as the API's limit, starting_after and
// ending_before, and --all to walk every page. A cut list says on standard error that more follow
// and how to see them, so that standard output stays the list alone for scripts.

// PageFlags are a list command's paging flags.
type PageFlags struct {
	Limit         int
	StartingAfter string
	EndingBefore  string
	All           bool
	// quiet leaves out the note that more follow: for a page asked for by a count of the newest
	// (bank journal --last N), where the rest is not what was asked.
	quiet bool
	// cursorColumn, when set, is the column whose value the next page starts after, named in the
	// note instead of the value itself: a cursor that is a secret (bank customers pages by card
	// number) is never printed where standard error may be logged.
	cursorColumn string
}

// pageFlags registers the paging flags on a list command.
func pageFlags(cmd *cobra.Command, pf *PageFlags) {
	fl := cmd.Flags()
	fl.IntVar(&pf.Limit, "limit", walletctl.DefaultPageLimit, "how many to show, newest first: 1 to 100")
	fl.StringVar(&pf.StartingAfter, "starting-after", "", "show the ones after this id (older: the next page)")
	fl.StringVar(&pf.EndingBefore, "ending-before", "", "show the ones before this id (newer: the previous page)")
	fl.BoolVar(&pf.All, "all", false, "walk every page (--limit sets the page size); with -o json the list streams as it is read")
}

// Page is the page the flags ask for, or an INVALID_ARGUMENT error.
func (pf PageFlags) Page() (walletctl.Page, error) {
	if pf.Limit < 1 || pf.Limit > walletctl.MaxPageLimit {
		return walletctl.Page{}, invalidArg("for example --limit 50, or --all for every page", "--limit must be 1 to 100, not %d", pf.Limit)
	}
	if pf.All && pf.EndingBefore != "" {
		return walletctl.Page{}, invalidArg("walk from the newest (--all) or from an id (--all --starting-after ID)", "--all walks toward older items: it does not take --ending-before")
	}
	p := walletctl.Page{Limit: pf.Limit, StartingAfter: pf.StartingAfter, EndingBefore: pf.EndingBefore}
	if p.Limit == walletctl.DefaultPageLimit {
		p.Limit = 0 // the API's default: the request says no more than it must
	}
	return p, p.Check()
}

// listPages runs a list command: one page (and a note on standard error when more follow), or
// with --all every page. fetch asks the backend for a page; show prints items as a table or JSON.
func listPages[T any](ctx context.Context, o *Output, pf PageFlags, fetch func(context.Context, walletctl.Page) (*walletctl.List[T], error),
	id func(T) string, show func([]T)) error {
	p, err := pf.Page()
	if err != nil {
		return err
	}
	if !pf.All {
		l, err := fetch(ctx, p)
		if err != nil {
			return err
		}
		show(l.Data)
		if next := walletctl.NextPage(p, l, id); next != nil && !pf.quiet {
			o.moreFollow(len(l.Data), next, pf.cursorColumn)
		}
		return nil
	}
	if !o.JSON() {
		// A table's columns fit its widest cell, so it is printed once every page is read.
		all := []T{}
		if err := walletctl.Each(ctx, p, fetch, id, func(t T) error { all = append(all, t); return nil }); err != nil {
			return err
		}
		show(all)
		return nil
	}
	// JSON streams: the same bytes as the whole list printed at once, written item by item.
	w := o.IO.Out
	n := 0
	err = walletctl.Each(ctx, p, fetch, id, func(t T) error {
		b, err := json.MarshalIndent(t, "  ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n  "
		if n == 0 {
			sep = "[\n  "
		}
		n++
		_, err = fmt.Fprintf(w, "%s%s", sep, b)
		return err
	})
	switch {
	case n == 0 && err == nil:
		fmt.Fprintln(w, "[]")
	case n > 0:
		// Close the array even after an error, so that what was printed parses; the error follows
		// on standard error.
		fmt.Fprintln(w, "\n]")
	}
	return err
}

// moreFollow tells people (on standard error) that a list was cut and how to see the rest.
func (o *Output) moreFollow(shown int, next *walletctl.Page, column string) {
	flag, id := "--starting-after", next.StartingAfter
	if next.EndingBefore != "" {
		flag, id = "--ending-before", next.EndingBefore
	}
	if column != "" {
		row := "last"
		if next.EndingBefore != "" {
			row = "first"
		}
		id = "<the " + row + " row's " + column + ">"
	}
	fmt.Fprintf(o.IO.ErrOut, "(%d shown; more follow: %s %s for the next page, or --all for every one)\n", shown, flag, id)
}

// ListOptions are a list command's inputs: which page, and --wide for the tables that leave
// columns out.
type ListOptions struct {
	*Factory
	PageFlags
	Wide bool
}

// The list commands share ListOptions under their own names.
type (
	UserListOptions     = ListOptions
	CardListOptions     = ListOptions
	TxListOptions       = ListOptions
	TransferListOptions = ListOptions
	SecurityLogOptions  = ListOptions
	MerchantListOptions = ListOptions
)

// pageQuery asks a backend for one page of a list, of the --as user's when the list is a user's
// (userID), else of the whole sandbox (userID "").
type pageQuery[T any] func(svc walletctl.Service, ctx context.Context, userID string, p walletctl.Page) (*walletctl.List[T], error)

// newListCmd is a list command: of the --as user's items when ofUser, else of the sandbox's. wide
// registers --wide for tables that leave columns out.
func newListCmd[T any](f *Factory, c *cobra.Command, runF func(context.Context, *ListOptions) error, ofUser, wide bool,
	q pageQuery[T], id func(T) string, show func(*Output, []T, bool)) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := newCmd(c, opts, func([]string) error { _, err := opts.Page(); return err }, runF, func(ctx context.Context, o *ListOptions) error {
		var svc walletctl.Service
		var userID string
		if ofUser {
			s, u, err := o.Actor(ctx)
			if err != nil {
				return err
			}
			svc, userID = s, u.ID
		} else {
			s, err := o.Service(ctx)
			if err != nil {
				return err
			}
			svc = s
		}
		return listPages(ctx, o.Out, o.PageFlags, func(ctx context.Context, p walletctl.Page) (*walletctl.List[T], error) {
			return q(svc, ctx, userID, p)
		}, id, func(items []T) { show(o.Out, items, o.Wide) })
	})
	pageFlags(cmd, &opts.PageFlags)
	if wide {
		wideFlag(cmd, &opts.Wide)
	}
	return cmd
}

// Ids of the items of the lists, for cursors.
func userID(u walletctl.User) string                 { return u.ID }
func cardID(c walletctl.Card) string                 { return c.ID }
func txnID(t walletctl.Txn) string                   { return t.ID }
func transferID(t walletctl.Transfer) string         { return t.ID }
func securitySeq(e walletctl.SecurityEvent) string   { return strconv.FormatInt(e.Seq, 10) }
func merchantID(m walletctl.Merchant) string         { return m.ID }
func orderID(o walletctl.Order) string               { return o.ID }
func refundID(r walletctl.Refund) string             { return r.RefundID }
func notificationID(n walletctl.Notification) string { return n.ID }
