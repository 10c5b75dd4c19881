package postgres

import (
	"context"
	"hash/fnv"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/walletctl/walletctl/walletctl"
)

var _ walletctl.CallGuard = (*Store)(nil)

// Call locks are session-level advisory locks, each held on a connection of their own pool:
// PostgreSQL drops them when the holding process dies (its session ends), so a crash never leaves
// a txn locked; and a holder that waits for a transaction connection never starves the lock pool,
// nor the lock holders the transaction pool.

// callKey is the advisory lock key of a txn in this schema.
func (s *Store) callKey(txnID string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s.schema + "\x00call\x00" + txnID))
	return int64(h.Sum64())
}

// LockCall waits for and takes the txn's call lock.
func (s *Store) LockCall(ctx context.Context, txnID string) (func(), error) {
	c, err := s.locks.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	key := s.callKey(txnID)
	if _, err := c.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		drop(c)
		return nil, err
	}
	return func() { unlock(c, key) }, nil
}

// TryLockCall takes the txn's call lock if no one holds it.
func (s *Store) TryLockCall(ctx context.Context, txnID string) (func(), bool, error) {
	c, err := s.locks.Acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	key := s.callKey(txnID)
	var got bool
	if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		drop(c)
		return nil, false, err
	}
	if !got {
		c.Release()
		return nil, false, nil
	}
	return func() { unlock(c, key) }, true, nil
}

func unlock(c *pgxpool.Conn, key int64) {
	var ok bool
	if err := c.QueryRow(context.Background(), `SELECT pg_advisory_unlock($1)`, key).Scan(&ok); err != nil || !ok {
		drop(c) // ending the session is what certainly releases the lock
		return
	}
	c.Release()
}

// drop closes the connection (and so ends its session and its locks) instead of pooling it.
func drop(c *pgxpool.Conn) {
	c.Conn().Close(context.Background())
	c.Release()
}
