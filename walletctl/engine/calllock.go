package engine

import "sync"

// callLocks serialises, inside one process, the bank call of a pending txn and any status query
// of it. A query must never run between "pending recorded" and "bank answered": the bank's "not
// found yet" would read as "never happened" and fail a txn the bank is about to take. (Across
// processes sharing a store, walletctl.CallGuard does the same job.)
type callLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

// lock waits until no one holds txnID's lock, takes it, and returns its release.
func (c *callLocks) lock(txnID string) func() {
	for {
		unlock, ok, wait := c.try(txnID)
		if ok {
			return unlock
		}
		<-wait
	}
}

// tryLock takes txnID's lock only if it is free.
func (c *callLocks) tryLock(txnID string) (func(), bool) {
	unlock, ok, _ := c.try(txnID)
	return unlock, ok
}

func (c *callLocks) try(txnID string) (unlock func(), ok bool, wait <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, busy := c.held[txnID]; busy {
		return nil, false, ch
	}
	if c.held == nil {
		c.held = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	c.held[txnID] = ch
	return func() {
		c.mu.Lock()
		delete(c.held, txnID)
		c.mu.Unlock()
		close(ch)
	}, true, nil
}
