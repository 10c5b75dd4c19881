// Package sqlite is the wallet's store on a SQLite file (pure Go driver, modernc.org/sqlite):
// WAL, a busy timeout, foreign keys, schema migrations, and writes in BEGIN IMMEDIATE
// transactions so that concurrent writers (goroutines or processes) queue instead of failing.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/walletctl/walletctl/internal/migrate"
	"github.com/walletctl/walletctl/internal/sqlitecheck"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sqlstore"
	_ "modernc.org/sqlite"
)

// Store implements walletctl.Store on one SQLite file.
//
// Connections are pinned and few, because opening one costs a parse of the whole schema: one
// writer (BEGIN IMMEDIATE, serialised by mu) that also serves reads when it is idle, so that a
// single CLI command uses a single connection, and a small pool of readers for reads that run
// beside a write (WAL). Each connection keeps its statements prepared, lazily, on first use.
type Store struct {
	db   *sql.DB
	path string // the file, named by SANDBOX_DAMAGED

	mu      sync.Mutex // owns w and batch
	w       *conn
	batch   *batch       // the write transaction open for queued Updates (group commit); nil if none
	waiting atomic.Int32 // Updates waiting for mu: the open batch is left for them to join
	commits atomic.Int64 // write transactions committed (tests observe group commit with it)

	rmu    sync.Mutex
	idle   []*conn
	closed bool

	onPrepare func(q string) // tests: every statement text prepared
}

var _ walletctl.Store = (*Store)(nil)

// Sync is the durability of commits (SQLite's synchronous pragma in WAL mode).
type Sync string

const (
	// SyncFull fsyncs the WAL at every commit: a committed transaction survives a power cut.
	SyncFull Sync = "FULL"
	// SyncOff never fsyncs: a commit survives the process dying, but an OS crash or power cut
	// may lose recent commits or corrupt the file. Only for throwaway databases (tests, scenario
	// worlds) that are deleted after use.
	SyncOff Sync = "OFF"
)

// Options tune Open.
type Options struct {
	Sync Sync // "" = SyncFull
	// SecretKey is the wallet's key (walletctl.SecretKey). Open needs it only to convert a
	// database in which an older walletctl stored full card and ID numbers; a new or current
	// database opens without it.
	SecretKey []byte
	// ReadOnly opens the file for reading only (a home on a read-only file system): nothing is
	// created, migrated or written; a write fails with SQLite's "readonly database" error.
	ReadOnly bool
}

// maxBatch bounds how many queued Updates share one commit.
const maxBatch = 64

// maxIdleReaders bounds the readers kept open between Views; more are opened when needed and
// closed after use (each open re-reads the schema, so enough are kept for a busy server).
const maxIdleReaders = 8

// Open opens (creating if needed) the database at path and migrates its schema, with every
// commit durable (SyncFull).
//
// synchronous=FULL: in WAL mode NORMAL would skip the fsync at each commit and could lose the
// last commits on a power cut (it is durable only against the process dying). A wallet must not
// forget that it sent a debit to the bank: the pending record written before the bank call is
// what makes reconciliation possible, and a txn number lost and reused would even send a new
// payment under the bank idempotency key of the forgotten one. So every commit is fsynced, and
// concurrent writers share fsyncs instead (group commit, see Update).
func Open(path string) (*Store, error) { return OpenWith(path, Options{}) }

// OpenWith is Open with options.
func OpenWith(path string, o Options) (*Store, error) { return openTraced(path, o, nil) }

// openWith is OpenWith; onPrepare (tests) sees every statement text the store prepares.
func openTraced(path string, o Options, onPrepare func(q string)) (*Store, error) {
	sync := o.Sync
	switch sync {
	case "":
		sync = SyncFull
	case SyncFull, SyncOff:
	default:
		return nil, fmt.Errorf("sqlite: unknown sync mode %q", sync)
	}
	q := url.Values{}
	pragmas := []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(" + string(sync) + ")"}
	if o.ReadOnly {
		pragmas = []string{"busy_timeout(10000)", "foreign_keys(1)"}
		q.Set("mode", "ro")
		// A WAL database can be read where its -shm cannot be made only as immutable, which is
		// true when no -wal holds commits beyond the file (a clean close leaves none).
		if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
			q.Set("immutable", "1")
		}
	} else {
		private(path)
	}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	// The path escaped: a '#' or '?' in a folder name would otherwise end the file name early
	// (and every such home would share the one database named by the part before it).
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// Connections are pinned (sql.Conn) and pooled here; one handed back to database/sql closes.
	db.SetMaxIdleConns(0)
	s := &Store{db: db, path: path, onPrepare: onPrepare}
	if s.w, err = s.newConn(context.Background()); err != nil {
		db.Close()
		return nil, s.damaged(fmt.Errorf("sqlite: open %s: %w", path, err))
	}
	if o.ReadOnly {
		return s, nil
	}
	if err := s.migrate(context.Background(), o.SecretKey); err != nil {
		s.Close()
		return nil, s.damaged(fmt.Errorf("sqlite: migrate %s: %w", path, err))
	}
	return s, nil
}

// DamagedHint is what to do about a damaged file of a sandbox.
const DamagedHint = "see what is damaged: walletctl sandbox check; then restore the home from a copy, or start over with walletctl sandbox init --force (the wallet and the bank lose everything)"

// Damaged is SANDBOX_DAMAGED for the database file at path, in which SQLite found damage (err):
// the file is left as it is, and nothing of the failed operation was written.
func Damaged(path string, err error) *walletctl.Error {
	return &walletctl.Error{Code: walletctl.CodeSandboxDamaged, Err: err,
		Message: fmt.Sprintf("%s is damaged inside: %s", path, sqlitecheck.Reason(err)),
		Hint:    DamagedHint,
		Details: map[string]any{"file": path}}
}

// damaged is err as SANDBOX_DAMAGED when it is SQLite finding the file damaged, wherever that
// happens (a page is checked only when a statement reads it); other errors pass.
func (s *Store) damaged(err error) error {
	if !sqlitecheck.Corrupt(err) {
		return err
	}
	var we *walletctl.Error
	if errors.As(err, &we) && we.Code == walletctl.CodeSandboxDamaged {
		return we
	}
	return Damaged(s.path, err)
}

// private makes the database file 0600 before SQLite opens it: a new one is created so, and one
// left wider by an older walletctl is narrowed (best effort: a home that is not ours stays as it
// is). SQLite gives the -wal and -shm files it creates the mode of the database file.
func private(path string) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		f.Close()
		return
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			os.Chmod(p, fi.Mode().Perm()&0o700)
		}
	}
}

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rmu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.rmu.Unlock()
	if b := s.batch; b != nil {
		// Closed under Updates still sharing a commit: fail them rather than leave them waiting.
		s.w.run(`ROLLBACK`)
		b.err = errors.New("store closed before the commit")
		s.batch = nil
		close(b.done)
	}
	var errs []error
	for _, c := range idle {
		errs = append(errs, c.close())
	}
	if s.w != nil {
		errs = append(errs, s.w.close())
		s.w = nil
	}
	return errors.Join(append(errs, s.db.Close())...)
}

// conn is a pinned connection with its prepared statements. One goroutine uses it at a time.
type conn struct {
	c     *sql.Conn
	stmts map[string]*sql.Stmt
	// onPrepare, when set (tests), sees every statement text the store runs.
	onPrepare func(q string)
}

func (s *Store) newConn(ctx context.Context) (*conn, error) {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, stmts: map[string]*sql.Stmt{}, onPrepare: s.onPrepare}, nil
}

// stmt returns q prepared on this connection (parsing, not I/O, is most of the CPU cost of a
// small query in SQLite, so each text is prepared once per connection).
func (c *conn) stmt(q string) (*sql.Stmt, error) {
	if st, ok := c.stmts[q]; ok {
		return st, nil
	}
	st, err := c.c.PrepareContext(context.Background(), q)
	if err != nil {
		return nil, err
	}
	if c.onPrepare != nil {
		c.onPrepare(q)
	}
	c.stmts[q] = st
	return st, nil
}

// run executes a transaction-control statement; never cancelled halfway.
func (c *conn) run(q string) error {
	st, err := c.stmt(q)
	if err == nil {
		_, err = st.Exec()
	}
	return err
}

func (c *conn) close() error {
	for _, st := range c.stmts {
		st.Close()
	}
	return c.c.Close()
}

// migrateEnv is what a migration step's conversion works with; scrub is set when secrets in
// clear were replaced, so that the file is rebuilt without them.
type migrateEnv struct {
	tx    *Tx
	key   walletctl.SecretKey
	scrub bool
}

// migrations are applied in order; user_version records how many ran.
var migrations = []migrate.Step[*migrateEnv]{
	{SQL: `CREATE TABLE seqs (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  num INTEGER NOT NULL,
  phone TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  class INTEGER NOT NULL DEFAULT 0,
  kyc_name TEXT NOT NULL DEFAULT '',
  kyc_id TEXT,
  kyc_checks TEXT NOT NULL DEFAULT '',
  kyc_at INTEGER,
  pw_hash TEXT NOT NULL DEFAULT '',
  pw_failed INTEGER NOT NULL DEFAULT 0,
  pw_locked_until INTEGER
);
CREATE UNIQUE INDEX users_kyc_id ON users(kyc_id) WHERE kyc_id IS NOT NULL;
CREATE INDEX users_locked ON users(pw_locked_until) WHERE pw_locked_until IS NOT NULL;
CREATE TABLE bindings (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  purpose TEXT NOT NULL,
  bank_binding_id TEXT NOT NULL,
  card_no TEXT NOT NULL,
  phone TEXT NOT NULL,
  card_id TEXT NOT NULL DEFAULT '',
  expires_at INTEGER NOT NULL
);
CREATE TABLE cards (
  id TEXT PRIMARY KEY,
  num INTEGER NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  card_no TEXT NOT NULL,
  bank TEXT NOT NULL,
  bank_name TEXT NOT NULL,
  card_type TEXT NOT NULL,
  agreement TEXT NOT NULL,
  phone TEXT NOT NULL,
  bound_at INTEGER NOT NULL,
  UNIQUE (user_id, card_no)
);
CREATE TABLE txns (
  id TEXT PRIMARY KEY,
  num INTEGER NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  amount INTEGER NOT NULL,
  fee INTEGER NOT NULL DEFAULT 0,
  counterparty TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL DEFAULT '',
  card_id TEXT NOT NULL DEFAULT '',
  card_masked TEXT NOT NULL DEFAULT '',
  idem_key TEXT NOT NULL UNIQUE,
  bank_key TEXT UNIQUE,
  bank_txn_id TEXT NOT NULL DEFAULT '',
  failure_code TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  settled_at INTEGER,
  bank_time INTEGER
);
CREATE INDEX txns_user ON txns(user_id, created_at);
CREATE INDEX txns_counterparty ON txns(counterparty) WHERE kind = 'transfer';
CREATE INDEX txns_pending ON txns(num) WHERE status = 'pending' AND bank_key IS NOT NULL;
CREATE INDEX txns_bank_time ON txns(bank_time) WHERE bank_time IS NOT NULL;
CREATE TABLE postings (
  id INTEGER PRIMARY KEY,
  txn_id TEXT NOT NULL REFERENCES txns(id),
  entry INTEGER NOT NULL,
  account TEXT NOT NULL,
  amount INTEGER NOT NULL
);
CREATE INDEX postings_txn ON postings(txn_id);
CREATE TABLE accounts (name TEXT PRIMARY KEY, balance INTEGER NOT NULL);
CREATE TABLE transfers (
  id TEXT PRIMARY KEY REFERENCES txns(id),
  from_user TEXT NOT NULL REFERENCES users(id),
  to_user TEXT NOT NULL REFERENCES users(id),
  payee_name_masked TEXT NOT NULL,
  amount INTEGER NOT NULL,
  status TEXT NOT NULL,
  delay TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  arrives_at INTEGER NOT NULL,
  refund_at INTEGER NOT NULL,
  done_at INTEGER
);
CREATE INDEX transfers_from ON transfers(from_user);
CREATE INDEX transfers_to ON transfers(to_user);
CREATE INDEX transfers_arrive ON transfers(arrives_at) WHERE status = 'scheduled';
CREATE INDEX transfers_refund ON transfers(refund_at) WHERE status = 'arrived';
CREATE TABLE security_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL REFERENCES users(id),
  time INTEGER NOT NULL,
  event TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX security_user ON security_log(user_id, seq);`},
	// Secrets at rest (DESIGN.md section 7): full card and ID numbers give way to a keyed hash (to
	// compare; unique like the numbers were), the mask (to show) and, for ID numbers, a sealed copy
	// for the bank's four-element check. cards is rebuilt because SQLite cannot drop a column
	// that a UNIQUE constraint names.
	{SQL: `ALTER TABLE users ADD COLUMN kyc_id_hash TEXT;
ALTER TABLE users ADD COLUMN kyc_id_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN kyc_id_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE bindings ADD COLUMN card_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE bindings ADD COLUMN card_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN card_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN card_masked TEXT NOT NULL DEFAULT '';`,
		Fn: func(e *migrateEnv) error {
			n, err := e.tx.SealLegacy(e.key)
			e.scrub = e.scrub || n > 0
			return err
		},
		Post: `DROP INDEX users_kyc_id;
ALTER TABLE users DROP COLUMN kyc_id;
CREATE UNIQUE INDEX users_kyc_id_hash ON users(kyc_id_hash) WHERE kyc_id_hash IS NOT NULL;
ALTER TABLE bindings DROP COLUMN card_no;
CREATE TABLE cards_v2 (
  id TEXT PRIMARY KEY,
  num INTEGER NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  card_hash TEXT NOT NULL,
  card_masked TEXT NOT NULL,
  bank TEXT NOT NULL,
  bank_name TEXT NOT NULL,
  card_type TEXT NOT NULL,
  agreement TEXT NOT NULL,
  phone TEXT NOT NULL,
  bound_at INTEGER NOT NULL,
  UNIQUE (user_id, card_hash)
);
INSERT INTO cards_v2(id, num, user_id, card_hash, card_masked, bank, bank_name, card_type, agreement, phone, bound_at)
SELECT id, num, user_id, card_hash, card_masked, bank, bank_name, card_type, agreement, phone, bound_at FROM cards;
DROP TABLE cards;
ALTER TABLE cards_v2 RENAME TO cards;`},
	{SQL: sqlstore.MerchantSchema},
	{SQL: sqlstore.ClaimSchema},
	{SQL: sqlstore.OpenSchema},
	{SQL: sqlstore.AuditSchema},
	{SQL: sqlstore.PageSchema + ";\n" + sqlstore.NotifyEventSchema + ";\n" + `UPDATE notifications SET event = json_extract(data, '$.event_type');`},
	// Usage counters instead of sums over the history (DESIGN.md section 12), filled from the
	// txns of an existing wallet.
	{SQL: sqlstore.UsageSchema + ` WITHOUT ROWID;`, Fn: func(e *migrateEnv) error { return e.tx.BackfillUsage() }},
	// A merchant's bill reads one day and its totals are kept, not summed over the history
	// (DESIGN.md section 12): the day of success and the totals, filled from the records' JSON.
	{SQL: sqlstore.BillSchema + ";\n" + sqlstore.BillBackfill(`date(json_extract(data, '$.success_time'), '+8 hours')`,
		`CAST(json_extract(data, '$.amount') AS INTEGER)`) + ";\n" + sqlstore.BillIndexes + ";"},
}

func (s *Store) migrate(ctx context.Context, key walletctl.SecretKey) error {
	// The common case, a current schema, costs one pragma read and no write transaction.
	var v int
	if err := s.w.c.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v >= len(migrations) {
		return nil
	}
	env := &migrateEnv{key: key}
	if err := s.Update(ctx, func(t walletctl.StoreTx) error {
		env.tx = t.(*Tx)
		c := env.tx.c.c
		if err := c.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
			return err
		}
		exec := func(q string) error { _, err := c.ExecContext(ctx, q); return err }
		return migrate.Apply(migrations, v, env, exec, func(n int) error {
			return exec(fmt.Sprintf(`PRAGMA user_version = %d`, n))
		})
	}); err != nil {
		return err
	}
	if env.scrub {
		// The numbers replaced are still in freed pages of the file and in old WAL frames: rebuild
		// the file and empty the WAL, so that nothing of them is left to read.
		if _, err := s.w.c.ExecContext(ctx, `VACUUM`); err != nil {
			return fmt.Errorf("vacuum after converting secrets: %w", err)
		}
		if _, err := s.w.c.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return fmt.Errorf("checkpoint after converting secrets: %w", err)
		}
	}
	return nil
}

// batch is one write transaction shared by the Updates that queued while it was open.
type batch struct {
	n    int
	done chan struct{}
	err  error // the commit's
}

// Update runs fn in one write transaction (BEGIN IMMEDIATE): all of fn or none of it. The
// in-process mutex keeps goroutines from spinning on SQLITE_BUSY; busy_timeout covers other
// processes.
//
// Group commit: when other Updates are already waiting, the transaction is left open for them
// and the last one commits for all, so that concurrent writers share one fsync. Each fn after the
// first runs inside a savepoint, so a failing fn leaves no trace; every caller returns only after
// the commit that holds its work (a failed commit fails them all), so durability and the
// all-or-nothing rule are those of one transaction per call, and the result is the same as if the
// calls had run one after another.
func (s *Store) Update(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	return s.damaged(s.update(ctx, fn))
}

func (s *Store) update(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	s.waiting.Add(1)
	s.mu.Lock()
	s.waiting.Add(-1)
	if s.w == nil {
		s.mu.Unlock()
		return errors.New("sqlite: store closed")
	}
	b := s.batch
	if b == nil {
		if err := ctx.Err(); err != nil {
			s.mu.Unlock()
			return err
		}
		if err := s.w.run(`BEGIN IMMEDIATE`); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("sqlite: begin: %w", err)
		}
		if err := s.call(nil, fn); err != nil {
			s.rollback()
			s.mu.Unlock()
			return err
		}
		b = &batch{done: make(chan struct{})}
		s.batch = b
	} else {
		if err := s.w.run(`SAVEPOINT upd`); err != nil {
			return s.finish(b, fmt.Errorf("sqlite: savepoint: %w", err))
		}
		err := s.call(b, fn)
		if err != nil {
			if rerr := s.w.run(`ROLLBACK TO upd`); rerr != nil {
				// The savepoint cannot be undone: fail the whole batch rather than commit half of fn.
				b.err = fmt.Errorf("rollback to savepoint: %w", rerr)
			}
		}
		if rerr := s.w.run(`RELEASE upd`); rerr != nil && b.err == nil {
			b.err = fmt.Errorf("release savepoint: %w", rerr)
		}
		return s.finish(b, err)
	}
	return s.finish(b, nil)
}

// call runs fn on the writer. If fn panics, the whole write transaction is rolled back (the other
// callers in its batch get an error), mu is released and the panic goes on: a bug in one caller
// must not leave the store locked.
func (s *Store) call(b *batch, fn func(walletctl.StoreTx) error) error {
	returned := false
	defer func() {
		if returned {
			return
		}
		s.rollback()
		if b != nil {
			b.err = errors.New("rolled back: another update sharing the commit panicked")
			s.batch = nil
			close(b.done)
		}
		s.mu.Unlock()
	}()
	err := fn(newTx(s.w, false))
	returned = true
	return err
}

// finish is called with mu held and fn's outcome: leave the batch open for a waiting Update, or
// commit it; then wait for the commit.
func (s *Store) finish(b *batch, fnErr error) error {
	b.n++
	if b.err == nil && s.waiting.Load() > 0 && b.n < maxBatch {
		s.mu.Unlock()
		<-b.done
	} else {
		if b.err == nil {
			b.err = s.w.run(`COMMIT`)
			s.commits.Add(1)
		}
		if b.err != nil {
			s.rollback()
		}
		s.batch = nil
		close(b.done)
		s.mu.Unlock()
	}
	if b.err != nil {
		return fmt.Errorf("sqlite: commit: %w", b.err)
	}
	return fnErr
}

// View runs fn in a read-only transaction: on the writer connection when it is idle (so that a
// command that only reads opens one connection), else on a pooled reader beside the writer.
func (s *Store) View(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	return s.damaged(s.view(ctx, fn))
}

func (s *Store) view(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.mu.TryLock() {
		if s.batch == nil && s.w != nil {
			defer s.mu.Unlock()
			ended, err := read(s.w, fn)
			if !ended {
				s.replaceWriter()
			}
			return err
		}
		s.mu.Unlock()
	}
	c, err := s.reader(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	ended, err := read(c, fn)
	if !ended {
		c.close() // still inside a transaction: not fit to be reused
		return err
	}
	s.release(c)
	return err
}

// read runs fn in a read transaction on c; ended reports that c is out of it again.
func read(c *conn, fn func(walletctl.StoreTx) error) (ended bool, err error) {
	if err := c.run(`BEGIN`); err != nil {
		return true, fmt.Errorf("sqlite: begin read: %w", err)
	}
	defer func() { ended = c.run(`ROLLBACK`) == nil }()
	return false, fn(newTx(c, true))
}

// rollback ends the writer's transaction. If even that fails (or there was none: SQLite rolls
// back by itself after some errors), the connection is replaced, so that a transaction left open
// cannot make every later Update fail.
func (s *Store) rollback() {
	if s.w.run(`ROLLBACK`) != nil {
		s.replaceWriter()
	}
}

func (s *Store) replaceWriter() {
	c, err := s.newConn(context.Background())
	if err != nil {
		return // keep the old one: the next BEGIN reports what is wrong
	}
	s.w.close() // closing a connection rolls back whatever it still had open
	s.w = c
}

func (s *Store) reader(ctx context.Context) (*conn, error) {
	s.rmu.Lock()
	if s.closed {
		s.rmu.Unlock()
		return nil, errors.New("store closed")
	}
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.rmu.Unlock()
		return c, nil
	}
	s.rmu.Unlock()
	return s.newConn(ctx)
}

func (s *Store) release(c *conn) {
	s.rmu.Lock()
	if !s.closed && len(s.idle) < maxIdleReaders {
		s.idle = append(s.idle, c)
		c = nil
	}
	s.rmu.Unlock()
	if c != nil {
		c.close()
	}
}

// Tx implements walletctl.StoreTx: the queries both stores share are sqlstore's, on this
// connection's prepared statements; the ones SQLite writes its own way are below.
type Tx struct {
	sqlstore.Tx
	c        *conn
	readOnly bool
}

func newTx(c *conn, readOnly bool) *Tx {
	t := &Tx{c: c, readOnly: readOnly}
	t.Tx = sqlstore.Tx{C: stmts{c}, NoRows: sql.ErrNoRows, PendingTxns: "txns INDEXED BY txns_user_open"}
	return t
}

// stmts is sqlstore.Conn on a connection's prepared statements.
type stmts struct{ c *conn }

func (s stmts) Exec(q string, args ...any) error {
	st, err := s.c.stmt(q)
	if err == nil {
		_, err = st.Exec(args...)
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (s stmts) QueryRow(q string, args ...any) sqlstore.Row {
	st, err := s.c.stmt(q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRow(args...)
}

func (s stmts) Each(q string, args []any, scan func(sqlstore.Row) error) error {
	st, err := s.c.stmt(q)
	if err != nil {
		return err
	}
	rows, err := st.Query(args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t *Tx) NextID(seq string) (int64, error) {
	var v int64
	err := t.C.QueryRow(`INSERT INTO seqs(name, value) VALUES (?, 1)
ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value`, seq).Scan(&v)
	return v, err
}

func (t *Tx) CountTxns(f walletctl.TxnFilter) (int, error) {
	q := `SELECT COUNT(*) FROM txns WHERE created_at >= ? AND status != 'failed' AND user_id = ?`
	args := []any{sqlstore.TS(f.Since), f.UserID}
	if len(f.Kinds) > 0 {
		q += ` AND kind IN (?` + strings.Repeat(",?", len(f.Kinds)-1) + `)`
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	var n int
	err := t.C.QueryRow(q, args...).Scan(&n)
	return n, err
}

// ---- ledger

func (t *Tx) Post(txnID string, ps []walletctl.Posting) error {
	var sum int64
	for _, p := range ps {
		sum += p.Amount
	}
	if sum != 0 || len(ps) < 2 {
		// A guard, not a rule: the engine builds balanced entries; refuse to store a broken one.
		return fmt.Errorf("sqlite: unbalanced entry for %s (sum %d, %d lines)", txnID, sum, len(ps))
	}
	var entry int
	if err := t.C.QueryRow(`SELECT COALESCE(MAX(entry), 0) + 1 FROM postings WHERE txn_id = ?`, txnID).Scan(&entry); err != nil {
		return err
	}
	// One statement for the lines and one for the balances, whatever the number of lines: rows are
	// inserted in order (Postings sorts by id), and a multi-row upsert applies row by row, so an
	// account named twice is moved twice.
	lines := make([]any, 0, 4*len(ps))
	moves := make([]any, 0, 2*len(ps))
	for _, p := range ps {
		lines = append(lines, txnID, entry, p.Account, p.Amount)
		moves = append(moves, p.Account, p.Amount)
	}
	if err := t.C.Exec(postLinesSQL(len(ps)), lines...); err != nil {
		return err
	}
	return t.C.Exec(postMovesSQL(len(ps)), moves...)
}

func postLinesSQL(n int) string {
	return `INSERT INTO postings(txn_id, entry, account, amount) VALUES (?, ?, ?, ?)` + strings.Repeat(`, (?, ?, ?, ?)`, n-1)
}

func postMovesSQL(n int) string {
	return `INSERT INTO accounts(name, balance) VALUES (?, ?)` + strings.Repeat(`, (?, ?)`, n-1) + `
ON CONFLICT(name) DO UPDATE SET balance = balance + excluded.balance`
}
