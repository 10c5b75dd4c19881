// Package postgres is the wallet's store on PostgreSQL (pgx), for shared sandboxes that several
// walletctl processes serve at once. It has the semantics of walletctl/sqlite: Update is one
// SERIALIZABLE write transaction (retried whole on serialization failures and deadlocks, so that
// it also suits Postgres-compatible distributed SQL engines), View a read-only snapshot, lookups
// return (nil, nil) when nothing matches. Times are stored as Unix nanoseconds, as in SQLite.
//
// Tenants: every store lives in one schema (Options.Schema, or search_path in the DSN), so that
// several sandboxes share one database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/walletctl/walletctl/internal/migrate"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sqlstore"
)

// Options tune OpenWith.
type Options struct {
	// Schema is the tenant's schema (created if missing). "" = the DSN's search_path parameter,
	// else "public".
	Schema string
	// MaxConns bounds the connection pool (0 = pgxpool's default, max(4, CPUs)).
	MaxConns int32
	// MaxAttempts bounds how often Update runs fn when the transaction keeps failing to
	// serialize (0 = 30).
	MaxAttempts int
	// MaxWriters bounds how many Update transactions this store runs at once (0 = 4). SERIALIZABLE
	// transactions that run together on the same index pages fail each other and are retried:
	// beyond a few, more concurrency only adds retries (the wallet's writes are short).
	MaxWriters int
	// Seed seeds the backoff jitter (the only randomness here; it never affects results).
	Seed uint64
	// Backoff returns the pause before attempt n (n >= 1 retries); nil = jittered exponential
	// from 1 ms, capped at 100 ms. Tests inject it.
	Backoff func(attempt int) time.Duration
}

// Store implements walletctl.Store on a PostgreSQL schema.
type Store struct {
	pool   *pgxpool.Pool
	locks  *pgxpool.Pool // connections that hold call locks (guard.go)
	schema string
	max    int
	back   func(int) time.Duration

	writers chan struct{} // a slot per running Update (Options.MaxWriters)

	retries atomic.Int64 // Update attempts that were retried (tests and benchmarks read it)

	key atomic.Pointer[walletctl.SecretKey] // kept in the schema (SecretKey says why); Reset reloads it
}

var _ walletctl.Store = (*Store)(nil)

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to dsn (postgres://user@host:port/db?search_path=tenant) and migrates the schema.
func Open(ctx context.Context, dsn string) (*Store, error) { return OpenWith(ctx, dsn, Options{}) }

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dsn string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	schema := o.Schema
	if schema == "" {
		schema = strings.Trim(cfg.ConnConfig.RuntimeParams["search_path"], `" `)
	}
	if schema == "" {
		schema = "public"
	}
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("postgres: schema %q: want lower-case letters, digits and _", schema)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	s := &Store{schema: schema, max: o.MaxAttempts, back: o.Backoff}
	if s.max <= 0 {
		s.max = 30
	}
	if o.MaxWriters <= 0 {
		o.MaxWriters = 4
	}
	s.writers = make(chan struct{}, o.MaxWriters)
	if s.back == nil {
		var mu sync.Mutex
		rng := rand.New(rand.NewPCG(o.Seed, 0x5157))
		s.back = func(n int) time.Duration {
			ceil := time.Millisecond << min(n-1, 7) // 1, 2, 4 ... 128 ms
			ceil = min(ceil, 100*time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			// Full jitter: colliding transactions retry at different moments.
			return time.Duration(rng.Int64N(int64(ceil))) + 1
		}
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	lcfg := cfg.Copy()
	lcfg.MaxConns = max(cfg.MaxConns, 64) // one per bank call in flight
	lcfg.MinConns = 0
	if s.locks, err = pgxpool.NewWithConfig(ctx, lcfg); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := s.migrate(ctx, nil); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: migrate %s: %w", schema, err)
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.locks.Close()
	s.pool.Close()
	return nil
}

// SecretKey is the wallet's secret key (walletctl.SecretKey), kept in the schema's wallet_secret
// table and made by the migration that introduced it. A tenant on PostgreSQL is served by several
// servers, each with its own home: the schema is the one thing they all share, so the key lives
// there and every server hashes a card the same way, with nothing more to copy between them. The
// price: a dump of the schema holds the key beside the hashes (a sandbox keeps its key in
// sandbox.json, outside wallet.db), so access to the database must be guarded as the secret it is.
// Reset keeps the key; DropSchema drops it with everything else.
func (s *Store) SecretKey() []byte {
	if k := s.key.Load(); k != nil {
		return *k
	}
	return nil
}

// Schema is the tenant schema the store lives in.
func (s *Store) Schema() string { return s.schema }

// Retries reports how many Update attempts failed to serialize and were run again.
func (s *Store) Retries() int64 { return s.retries.Load() }

// DropSchema deletes the store's schema and everything in it (a tenant's sandbox being deleted;
// tests); in the public schema, the tables and sequences the migrations made. The store is
// unusable afterwards (Reset drops and migrates again).
func (s *Store) DropSchema(ctx context.Context) error {
	if s.schema == "public" {
		// The public schema belongs to the database: empty it of what migrations made instead.
		_, err := s.pool.Exec(ctx, `DROP TABLE IF EXISTS schema_migrations, wallet_secret, usage_counters, ledger_audit, account_audit, `+sqlstore.MerchantTables+`, security_log, transfers, accounts, postings, txns, cards, bindings, users, seqs CASCADE;
DROP SEQUENCE IF EXISTS seq_user, seq_card, seq_txn, seq_binding, seq_reset, seq_entry`)
		return err
	}
	_, err := s.pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+s.schema+` CASCADE`)
	return err
}

// Reset empties the store: its schema is dropped and migrated afresh (a sandbox's init --force
// and reset). Other processes using the schema must not be in the middle of a transaction.
func (s *Store) Reset(ctx context.Context) error {
	if err := s.DropSchema(ctx); err != nil {
		return err
	}
	s.pool.Reset() // sessions may hold plans of the dropped tables
	// The same key again: other servers sharing the schema keep theirs from when they opened it.
	return s.migrate(ctx, s.SecretKey())
}

// hotSeqs are the sequences every movement draws from: they are PostgreSQL sequences, outside
// the transaction, so that concurrent payments do not all conflict on one counter row (a
// sequence never hands a number out twice, even to a rolled-back transaction: numbers may skip,
// never repeat). Other names use the transactional seqs table.
var hotSeqs = map[string]bool{"user": true, "card": true, "txn": true, "binding": true, "reset": true}

// migrateEnv is what a migration step's conversion works with.
type migrateEnv struct {
	tx  *Tx
	key walletctl.SecretKey
}

// migrations are applied in order and recorded in schema_migrations.
var migrations = []migrate.Step[migrateEnv]{
	{SQL: `CREATE TABLE seqs (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE SEQUENCE seq_user; CREATE SEQUENCE seq_card; CREATE SEQUENCE seq_txn;
CREATE SEQUENCE seq_binding; CREATE SEQUENCE seq_reset;
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  num BIGINT NOT NULL,
  phone TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  class INTEGER NOT NULL DEFAULT 0,
  kyc_name TEXT NOT NULL DEFAULT '',
  kyc_id TEXT,
  kyc_checks TEXT NOT NULL DEFAULT '',
  kyc_at BIGINT,
  pw_hash TEXT NOT NULL DEFAULT '',
  pw_failed INTEGER NOT NULL DEFAULT 0,
  pw_locked_until BIGINT
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
  expires_at BIGINT NOT NULL
);
CREATE TABLE cards (
  id TEXT PRIMARY KEY,
  num BIGINT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  card_no TEXT NOT NULL,
  bank TEXT NOT NULL,
  bank_name TEXT NOT NULL,
  card_type TEXT NOT NULL,
  agreement TEXT NOT NULL,
  phone TEXT NOT NULL,
  bound_at BIGINT NOT NULL,
  UNIQUE (user_id, card_no)
);
CREATE INDEX cards_user ON cards(user_id);
CREATE TABLE txns (
  id TEXT PRIMARY KEY,
  num BIGINT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  amount BIGINT NOT NULL,
  fee BIGINT NOT NULL DEFAULT 0,
  counterparty TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL DEFAULT '',
  card_id TEXT NOT NULL DEFAULT '',
  card_masked TEXT NOT NULL DEFAULT '',
  idem_key TEXT NOT NULL UNIQUE,
  bank_key TEXT UNIQUE,
  bank_txn_id TEXT NOT NULL DEFAULT '',
  failure_code TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  settled_at BIGINT,
  bank_time BIGINT
);
CREATE INDEX txns_user ON txns(user_id, created_at);
CREATE INDEX txns_counterparty ON txns(counterparty) WHERE kind = 'transfer';
CREATE INDEX txns_pending ON txns(num) WHERE status = 'pending' AND bank_key IS NOT NULL;
CREATE INDEX txns_bank_time ON txns(bank_time) WHERE bank_time IS NOT NULL;
CREATE TABLE postings (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  txn_id TEXT NOT NULL REFERENCES txns(id),
  entry INTEGER NOT NULL,
  account TEXT NOT NULL,
  amount BIGINT NOT NULL
);
CREATE INDEX postings_txn ON postings(txn_id);
CREATE TABLE accounts (name TEXT PRIMARY KEY, balance BIGINT NOT NULL);
CREATE TABLE transfers (
  id TEXT PRIMARY KEY REFERENCES txns(id),
  from_user TEXT NOT NULL REFERENCES users(id),
  to_user TEXT NOT NULL REFERENCES users(id),
  payee_name_masked TEXT NOT NULL,
  amount BIGINT NOT NULL,
  status TEXT NOT NULL,
  delay TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  arrives_at BIGINT NOT NULL,
  refund_at BIGINT NOT NULL,
  done_at BIGINT
);
CREATE INDEX transfers_from ON transfers(from_user);
CREATE INDEX transfers_to ON transfers(to_user);
CREATE INDEX transfers_arrive ON transfers(arrives_at) WHERE status = 'scheduled';
CREATE INDEX transfers_refund ON transfers(refund_at) WHERE status = 'arrived';
CREATE TABLE security_log (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  time BIGINT NOT NULL,
  event TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX security_user ON security_log(user_id, seq);`},
	// Shared accounts (bank clearing, merchants, transit, fees) keep no cached balance: every
	// settlement would update the same few rows, and concurrent SERIALIZABLE transactions that
	// update one row fail all but one. Their balance is the sum of their postings (cachedAccount).
	{SQL: `CREATE INDEX postings_account ON postings(account);
DELETE FROM accounts WHERE name NOT LIKE 'user:%';
-- Entries are numbered from a sequence, not MAX(entry)+1 per txn: that read of the postings
-- index made concurrent settlements conflict under SERIALIZABLE. Numbers grow within a txn.
CREATE SEQUENCE seq_entry;
SELECT setval('seq_entry', GREATEST((SELECT MAX(entry) FROM postings), 1));
ALTER TABLE postings ALTER COLUMN entry TYPE BIGINT;`},
	// Secrets at rest (DESIGN.md section 7): the schema gets the wallet's secret key (SecretKey),
	// and full card and ID numbers give way to a keyed hash (to compare; unique like the numbers
	// were), the mask (to show) and, for ID numbers, a sealed copy for the bank's four-element
	// check. Old row versions stay in the table files until PostgreSQL vacuums them.
	{SQL: `CREATE TABLE wallet_secret (id INTEGER PRIMARY KEY CHECK (id = 1), key BYTEA NOT NULL);
ALTER TABLE users ADD COLUMN kyc_id_hash TEXT, ADD COLUMN kyc_id_masked TEXT NOT NULL DEFAULT '',
  ADD COLUMN kyc_id_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE bindings ADD COLUMN card_hash TEXT NOT NULL DEFAULT '', ADD COLUMN card_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN card_hash TEXT NOT NULL DEFAULT '', ADD COLUMN card_masked TEXT NOT NULL DEFAULT '';`,
		Fn: func(e migrateEnv) error {
			if err := e.tx.exec(`INSERT INTO wallet_secret(id, key) VALUES (1, ?)`, []byte(e.key)); err != nil {
				return err
			}
			_, err := e.tx.SealLegacy(e.key)
			return err
		},
		Post: `ALTER TABLE users DROP COLUMN kyc_id;
CREATE UNIQUE INDEX users_kyc_id_hash ON users(kyc_id_hash) WHERE kyc_id_hash IS NOT NULL;
ALTER TABLE bindings DROP COLUMN card_no;
ALTER TABLE cards DROP COLUMN card_no;
ALTER TABLE cards ADD UNIQUE (user_id, card_hash);`},
	{SQL: sqlstore.MerchantSchema},
	{SQL: sqlstore.ClaimSchema},
	{SQL: sqlstore.OpenSchema},
	{SQL: sqlstore.AuditSchema},
	{SQL: sqlstore.PageSchema + ";\n" + sqlstore.NotifyEventSchema + ";\n" + `UPDATE notifications SET event = data::json->>'event_type';`},
	// Usage counters instead of sums over the history (DESIGN.md section 12), filled from the
	// txns of an existing wallet.
	{SQL: sqlstore.UsageSchema + `;`, Fn: func(e migrateEnv) error { return e.tx.BackfillUsage() }},
	// A merchant's bill reads one day and its totals are kept, not summed over the history
	// (DESIGN.md section 12): the day of success and the totals, filled from the records' JSON.
	// The fraction of a second goes before the cast: PostgreSQL rounds nanoseconds to
	// microseconds, and would put the last of a day in the next.
	{SQL: sqlstore.BillSchema + ";\n" + sqlstore.BillBackfill(
		`to_char(CAST(regexp_replace(data::json->>'success_time', '\.[0-9]+', '') AS timestamptz) AT TIME ZONE INTERVAL '+08:00', 'YYYY-MM-DD')`,
		`CAST(data::json->>'amount' AS BIGINT)`) + ";\n" + sqlstore.BillIndexes + ";"},
	// A shared account's balance (a merchant's, the bank's clearing) is its audited balance plus
	// the postings since the audit (AccountBalance): read by account and id.
	{SQL: `CREATE INDEX postings_account_id ON postings(account, id); DROP INDEX postings_account;`},
}

// cachedAccount reports whether an account's balance is kept in the accounts table: a user's own
// account is (one user's payments are few, and the engine reads it on every movement); the
// shared ones (a merchant paid by every user at once would serialize them on its row) are read
// as their last audited balance plus the postings since (AccountBalance).
func cachedAccount(name string) bool { return strings.HasPrefix(name, "user:") }

// migrateLock is the advisory lock key that serialises migrations of every process and schema.
const migrateLock = 0x77616c6c6574 // "wallet"

// migrate brings the schema up to date and loads the secret key; keep, when set, is the key a new
// schema gets instead of a fresh one (Reset).
func (s *Store) migrate(ctx context.Context, keep walletctl.SecretKey) error {
	// The common case, a current schema, costs one read and no lock.
	var v int
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err == nil && v >= len(migrations) {
		return s.loadKey(ctx)
	}
	key := keep
	if !key.Valid() {
		if key, err = walletctl.NewSecretKey(); err != nil {
			return err
		}
	}
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Two processes opening a fresh schema at once: the second waits, then finds it migrated.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+s.schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
			return err
		}
		exec := func(q string) error { _, err := tx.Exec(ctx, q); return err }
		return migrate.Apply(migrations, v, migrateEnv{tx: newTx(ctx, tx, false), key: key}, exec, func(n int) error {
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version) VALUES ($1)`, n)
			return err
		})
	}); err != nil {
		return err
	}
	return s.loadKey(ctx)
}

func (s *Store) loadKey(ctx context.Context) error {
	var k []byte
	if err := s.pool.QueryRow(ctx, `SELECT key FROM wallet_secret WHERE id = 1`).Scan(&k); err != nil {
		return fmt.Errorf("read the wallet's secret key: %w", err)
	}
	key := walletctl.SecretKey(k)
	if !key.Valid() {
		return errors.New("the wallet's secret key in wallet_secret is too short")
	}
	s.key.Store(&key)
	return nil
}

// retryable reports whether err means "run the transaction again": a serialization failure
// (40001) or a deadlock (40P01).
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// Update runs fn in one SERIALIZABLE transaction: all of fn or none of it. When PostgreSQL
// cannot serialize it with concurrent ones (or picks it as a deadlock victim), the whole
// transaction, fn included, runs again after a jittered pause, up to MaxAttempts times; fn
// must therefore only depend on what it reads through the StoreTx (the engine's do).
func (s *Store) Update(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.attempt(ctx, fn)
		if err == nil || !retryable(err) || attempt >= s.max {
			return err
		}
		s.retries.Add(1)
		t := time.NewTimer(s.back(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (s *Store) attempt(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	select {
	case s.writers <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writers }()
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	t := newTx(ctx, ptx, false)
	ferr := fn(t)
	if ferr == nil && t.failed == nil {
		if err := ptx.Commit(ctx); err != nil {
			return fmt.Errorf("postgres: commit: %w", err)
		}
		return nil
	}
	ptx.Rollback(context.WithoutCancel(ctx))
	// A statement that failed to serialize aborts the transaction even if fn ignored its error.
	if t.failed != nil && retryable(t.failed) {
		return t.failed
	}
	if ferr == nil {
		return fmt.Errorf("postgres: transaction aborted: %w", t.failed)
	}
	return ferr
}

// View runs fn in a read-only REPEATABLE READ transaction: one consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: begin read: %w", err)
	}
	defer ptx.Rollback(context.WithoutCancel(ctx))
	return fn(newTx(ctx, ptx, true))
}

// Tx implements walletctl.StoreTx: the queries both stores share are sqlstore's; the ones
// PostgreSQL needs its own way (sequences, uncached shared balances) are below.
type Tx struct {
	sqlstore.Tx
	ctx      context.Context
	tx       pgx.Tx
	readOnly bool
	failed   error // the first statement error (PostgreSQL aborts the transaction on it)
}

func newTx(ctx context.Context, tx pgx.Tx, readOnly bool) *Tx {
	t := &Tx{ctx: ctx, tx: tx, readOnly: readOnly}
	t.Tx = sqlstore.Tx{C: conn{t}, NoRows: pgx.ErrNoRows}
	return t
}

// conn is sqlstore.Conn on the transaction; every statement error goes through note.
type conn struct{ t *Tx }

func (c conn) Exec(q string, args ...any) error            { return c.t.exec(q, args...) }
func (c conn) QueryRow(q string, args ...any) sqlstore.Row { return c.t.queryRow(q, args...) }
func (c conn) Each(q string, args []any, scan func(sqlstore.Row) error) error {
	return c.t.each(q, args, func(r pgx.Rows) error { return scan(r) })
}

// pgSQL turns the ? placeholders of the queries (written as for SQLite) into $n.
var rebound sync.Map

func pgSQL(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	rebound.Store(q, b.String())
	return b.String()
}

func (t *Tx) note(err error) error {
	if err != nil && t.failed == nil && !errors.Is(err, pgx.ErrNoRows) {
		t.failed = err
	}
	return err
}

func (t *Tx) exec(q string, args ...any) error {
	_, err := t.tx.Exec(t.ctx, pgSQL(q), args...)
	return t.note(err)
}

type row struct {
	t *Tx
	r pgx.Row
}

func (r row) Scan(dst ...any) error { return r.t.note(r.r.Scan(dst...)) }

func (t *Tx) queryRow(q string, args ...any) row {
	return row{t, t.tx.QueryRow(t.ctx, pgSQL(q), args...)}
}

// each runs q and calls scan for every row.
func (t *Tx) each(q string, args []any, scan func(pgx.Rows) error) error {
	rows, err := t.tx.Query(t.ctx, pgSQL(q), args...)
	if err != nil {
		return t.note(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return t.note(err)
		}
	}
	return t.note(rows.Err())
}

func (t *Tx) NextID(seq string) (int64, error) {
	var v int64
	if hotSeqs[seq] {
		err := t.queryRow(`SELECT nextval('seq_` + seq + `')`).Scan(&v)
		return v, err
	}
	err := t.queryRow(`INSERT INTO seqs(name, value) VALUES (?, 1)
ON CONFLICT(name) DO UPDATE SET value = seqs.value + 1 RETURNING value`, seq).Scan(&v)
	return v, err
}

func (t *Tx) CountTxns(f walletctl.TxnFilter) (int, error) {
	q := `SELECT COUNT(*) FROM txns WHERE created_at >= ? AND status != 'failed' AND user_id = ?`
	args := []any{sqlstore.TS(f.Since), f.UserID}
	if len(f.Kinds) > 0 {
		q += ` AND kind = ANY(?)`
		args = append(args, f.Kinds)
	}
	var n int
	err := t.queryRow(q, args...).Scan(&n)
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
		return fmt.Errorf("postgres: unbalanced entry for %s (sum %d, %d lines)", txnID, sum, len(ps))
	}
	var entry int64
	if err := t.queryRow(`SELECT nextval('seq_entry')`).Scan(&entry); err != nil {
		return err
	}
	accts := make([]string, len(ps))
	amts := make([]int64, len(ps))
	var cached []string
	var moves []int64
	for i, p := range ps {
		accts[i], amts[i] = p.Account, p.Amount
		if cachedAccount(p.Account) {
			cached, moves = append(cached, p.Account), append(moves, p.Amount)
		}
	}
	// The lines in order (WITH ORDINALITY keeps the identity ids in the entry's order).
	if err := t.exec(`INSERT INTO postings(txn_id, entry, account, amount)
SELECT ?, ?, a, m FROM unnest(?::TEXT[], ?::BIGINT[]) WITH ORDINALITY AS l(a, m, i) ORDER BY i`, txnID, entry, accts, amts); err != nil {
		return err
	}
	if len(cached) == 0 {
		return nil
	}
	// One upsert may not touch a row twice, so an account named twice is summed first; accounts
	// are locked in name order, so that two entries moving the same accounts cannot deadlock.
	return t.exec(`INSERT INTO accounts(name, balance)
SELECT a, SUM(m) FROM unnest(?::TEXT[], ?::BIGINT[]) AS l(a, m) GROUP BY a ORDER BY a
ON CONFLICT(name) DO UPDATE SET balance = accounts.balance + excluded.balance`, cached, moves)
}

// AccountBalance of a shared account is the sum of its postings (migration 2: no cached row).
// MarkLedgerAudited takes a SHARE lock on postings first: it waits for every transaction that is
// inserting postings to end, and its snapshot begins after them, so that no posting with an id
// below upto can still commit after the mark and be missed by every later audit (identities are
// handed out before commit, so ids are not in commit order on PostgreSQL).
func (t *Tx) MarkLedgerAudited(upto int64) error {
	if err := t.C.Exec(`LOCK TABLE postings IN SHARE MODE`); err != nil {
		return err
	}
	return t.Tx.MarkLedgerAudited(upto)
}

func (t *Tx) AccountBalance(account string) (int64, error) {
	if cachedAccount(account) {
		return t.Tx.AccountBalance(account)
	}
	// The balance at the last clean audit (account_audit, as of posting ledger_audit.upto: the
	// audit's SHARE lock made every posting up to there committed) plus what was posted since,
	// through postings_account_id: the postings since the last reconcile, not the history.
	var b int64
	err := t.queryRow(`SELECT (COALESCE((SELECT balance FROM account_audit WHERE name = ?), 0) +
COALESCE((SELECT SUM(amount) FROM postings WHERE account = ? AND id > COALESCE((SELECT upto FROM ledger_audit WHERE id = 1), 0)), 0))::BIGINT`,
		account, account).Scan(&b)
	return b, err
}
