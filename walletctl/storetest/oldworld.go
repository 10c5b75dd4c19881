package storetest

import (
	"testing"

	"github.com/walletctl/walletctl/walletctl"
)

// OldWorld is what a wallet written before a migration held (OldHistory, OldBills): the rows to
// insert into a schema migrated up to just before that step, and the check of what the step made
// of them once the store is opened. Each store's migration tests run every OldWorld the same way.
type OldWorld interface {
	SQL() []string
	Check(t *testing.T, s walletctl.Store)
}
