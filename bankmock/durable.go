package bankmock

import (
	"container/list"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/internal/migrate"
	"github.com/walletctl/walletctl/internal/sqlitecheck"
	"github.com/walletctl/walletctl/vclock"
	_ "modernc.org/sqlite" // the wallet's driver too: pure Go, so the bank builds everywhere the CLI does
)

// Durable state (DESIGN section 7): a bank answers only after its state change is durable.
//
// The engine keeps its state in memory and, with Config.Path, in a SQLite file: one row per
// record (customer, binding, agreement, partner, daily total, last OTP, fault list, profiles),
// one per transaction, one per journal entry and one for the counters. Every critical section
// marks what it changed; when it ends, the changed rows are captured (marshalled under the lock)
// and queued, and the caller waits until they are committed before it answers. Waiters share
// commits (group commit): whoever finds no commit in progress writes everything queued in one
// transaction. The cost of an operation is the rows it changed, never the history: transactions
// are read from the file on demand (idempotency lookups, statements) instead of being loaded, and
// the journal keeps its last Config.JournalLimit entries.
//
// Memory does not grow with the history either (DESIGN.md section 12). The journal is the file's
// once captured: memory holds only the entries of the critical section under way, and Journal
// reads the rest from the file a page at a time, by seq (Snapshot reads every entry kept), so a
// journal read while another operation is still committing may not show that operation yet
// (nothing the bank answered is missing). state.Txns
// is a cache of at most Config.TxnCacheLimit transactions (txnCache), the ones made or read most
// recently. A transaction leaves it only once the commit that wrote it is done, so that a lookup
// never goes to the file for a row that is not there yet; whatever left it is read back from the
// file, exactly as it was (replays, status queries, statements).
//
// A bank in memory (New: `bankmock serve` without --data) has nothing to read back from: its
// state.Txns is the record itself and is kept whole, since forgetting a transaction would turn a
// replay into a second debit (and its journal keeps its last JournalLimit entries in memory).
// Such a bank is for tests and short sessions; one that must run for millions of operations
// keeps a file. Besides, with or without a file, memory holds a record per customer, binding,
// agreement and (card, day) debit total: they grow with card bindings and days, not with
// payments.
//
// Why SQLite and not an operation log replayed from the seed: replay would have to reproduce the
// interleaving of concurrent requests, delays and header faults exactly, and its cost grows with
// the log until compacted; rows need neither, and SQLite gives atomic, fsynced commits and a file
// that damage is detected in. Why beside the wallet's file and not in it: the bank is the outside
// world; its state must never share a transaction with the wallet's, and `bankmock serve --data`
// uses the same file format.
//
// If a commit fails (a full disk), the operations it held were not made durable: the engine goes
// back to what the file holds and every one of them answers ISSUER_UNAVAILABLE, "not processed",
// which is then the truth.

// appID marks a file as a bankmock state file (PRAGMA application_id): a foreign SQLite file is
// refused instead of being taken for an empty bank.
const appID = 0x424b4d31 // "BKM1"

// durableSteps are the file's formats, through the stores' one migration runner. Version 2 adds
// journal_by_partner, so that a partner's journal page is read by an index instead of a scan of
// every partner's entries (the expression is the one journalPartnerPage* query, word for word).
var durableSteps = []migrate.Step[struct{}]{
	{SQL: durableSchema + fmt.Sprintf("PRAGMA application_id = %d;", appID)},
	{SQL: `CREATE INDEX IF NOT EXISTS journal_by_partner ON journal (json_extract(body, '$.partner'), seq);`},
}

// durableSchema is version 1 of the file (PRAGMA user_version).
const durableSchema = `
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS txns (partner TEXT NOT NULL, key TEXT NOT NULL, day TEXT NOT NULL, txn_id TEXT NOT NULL,
  succeeded INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (partner, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS txns_by_day ON txns (partner, day, succeeded);
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
`

// Record kinds of the records table.
const (
	recCustomer  = "customer"  // key: index, zero-padded (the order of the customer list)
	recBinding   = "binding"   // key: binding id
	recAgreement = "agreement" // key: agreement token
	recPartner   = "partner"   // key: partner id
	recDaily     = "daily"     // key: "<card>|<day>"
	recOTP       = "otp"       // key: phone
	recFaults    = "faults"    // key: "" (the whole rule list: it is short and ordered)
	recProfiles  = "profiles"  // key: "" (a dozen banks)
)

// DefaultJournalLimit is how many journal entries a bank keeps (Config.JournalLimit).
const DefaultJournalLimit = 10000

// DefaultTxnCacheLimit is how many transactions a bank with a state file keeps in memory
// (Config.TxnCacheLimit): about 0.4 KB each, so well under a MiB. The ones a wallet asks about
// again (a status query after a lost answer, a retry under the same key) are its most recent.
const DefaultTxnCacheLimit = 1024

// DamagedError says a bank state file cannot be used: empty, truncated, foreign or inconsistent.
// Nothing was written to it.
type DamagedError struct {
	Path   string
	Reason string
	Err    error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("bank state %s is damaged: %s", e.Path, e.Reason)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// damagedAnswer is what an operation answers when the state file turns out damaged inside (a
// page SQLite reads is malformed): ISSUER_UNAVAILABLE, not processed, on the protocol (a wallet
// over HTTP sees a bank that is down, which it is), with the *DamagedError inside for an
// in-process caller that owns the file (walletctl's sandbox: SANDBOX_DAMAGED naming bank.db).
// Nothing of the operation was written.
type damagedAnswer struct {
	answer *bankapi.Error
	damage *DamagedError
}

func (d *damagedAnswer) Error() string   { return d.answer.Error() }
func (d *damagedAnswer) Unwrap() []error { return []error{d.answer, d.damage} }

func (e *DamagedError) answer() error {
	return &damagedAnswer{answer: errf(bankapi.CodeIssuerUnavailable, "96", "the bank's state is damaged (%s); not processed", e.Reason), damage: e}
}

// asDamage is err as damage of the state file, or nil: SQLite finding a page malformed, or a
// file whose content is not a bank's state (a *DamagedError of loadState); not a file that could
// not be read for another reason (I/O, busy), which is not known to be damaged.
func (e *Engine) asDamage(err error) *DamagedError {
	if err == nil || e.dur == nil {
		return nil
	}
	var de *DamagedError
	if errors.As(err, &de) {
		if de.Err == nil || sqlitecheck.Corrupt(de.Err) || !isSQLiteErr(de.Err) {
			return de
		}
		return nil
	}
	if sqlitecheck.Corrupt(err) {
		return &DamagedError{Path: e.dur.path, Reason: "SQLite finds it malformed: " + err.Error(), Err: err}
	}
	return nil
}

// isSQLiteErr reports whether err came from SQLite (or database/sql) rather than from decoding
// what SQLite returned.
func isSQLiteErr(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) || errors.Is(err, sql.ErrNoRows) || errors.Is(err, sql.ErrConnDone)
}

// noteDamage records that the current critical section found the state file damaged (err, if
// it says so): the section then answers damagedAnswer and nothing of it is written (atomically,
// view). Lock held.
func (e *Engine) noteDamage(err error) {
	if d := e.asDamage(err); d != nil && e.damage == nil {
		e.damage = d
	}
}

// takeDamage is the damage the critical section noted, as its answer (nil: none), and forgets
// what the section changed: nothing of it may be written to a damaged file. With no commit under
// way the state is read back from the file now; else once the queue is written, as after a panic.
// Lock held.
func (e *Engine) takeDamage() error {
	d := e.damage
	if d == nil {
		return nil
	}
	e.damage = nil
	if e.dur != nil && e.dirty != nil {
		e.dirty.clear()
		e.dur.mu.Lock() // lock order: engine, then queue
		idle := !e.dur.busy && e.dur.done == e.dur.enq
		e.dur.mu.Unlock()
		if idle {
			e.reloadLocked()
		} else if !e.recovering {
			e.recovering = true
			go e.recoverState()
		}
	}
	return d.answer()
}

// metaRow is the counters and constants of a state (everything of state but its records).
type metaRow struct {
	Version          int      `json:"version"`
	Seed             int64    `json:"seed"`
	Epoch            string   `json:"epoch"`
	InitialCustomers int      `json:"initial_customers"`
	Clock            string   `json:"clock"`
	Generated        int      `json:"generated"`
	AdminFilled      int      `json:"admin_filled"`
	Seq              counters `json:"counters"`
	PartnerSeq       int64    `json:"partner_seq"`
}

// dirtySet is what the current critical section changed.
type dirtySet struct {
	recs map[[2]string]struct{} // {kind, key}
	txns map[[2]string]struct{} // {partner, key}
	all  bool                   // Reset, Restore, a new file: rewrite everything
}

func newDirty() *dirtySet {
	return &dirtySet{recs: map[[2]string]struct{}{}, txns: map[[2]string]struct{}{}}
}

func (d *dirtySet) clear() {
	clear(d.recs)
	clear(d.txns)
	d.all = false
}

// touch marks a record changed (a no-op in memory).
func (e *Engine) touch(kind, key string) {
	if e.dirty != nil {
		e.dirty.recs[[2]string{kind, key}] = struct{}{}
	}
}

func (e *Engine) touchCustomer(i int) { e.touch(recCustomer, customerKey(i)) }

func customerKey(i int) string { return fmt.Sprintf("%09d", i) }

// touchAll marks the whole state changed: the file is emptied and written again from memory, so
// state.Txns must hold every transaction (a new world's none, a restored snapshot's all), never
// the cache of a state read from the file.
func (e *Engine) touchAll() {
	if e.dirty != nil {
		e.dirty.all = true
	}
}

// row is one change: a record's new body, or its deletion (body nil).
type row struct {
	table string // records, txns
	k1    string // kind or partner
	k2    string // key
	body  []byte
	day   string // txns only
	txnID string
	ok    bool // txns only: succeeded
}

// changeSet is what one critical section changed, marshalled.
type changeSet struct {
	full    bool // delete everything first
	meta    []byte
	rows    []row
	journal [][2]any // {seq, body}
	trim    int64    // delete journal entries with seq <= trim
}

// durable is the file behind an engine and its commit queue.
type durable struct {
	db   *sql.DB
	path string

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []*changeSet
	enq    int64      // the last ticket handed out
	done   int64      // every ticket <= done is settled (committed, or failed)
	busy   bool       // a waiter is committing
	failed [][2]int64 // ticket ranges whose commit failed
	err    error      // the last commit's failure
}

func (d *durable) isFailed(t int64) bool {
	for _, r := range d.failed {
		if t >= r[0] && t <= r[1] {
			return true
		}
	}
	return false
}

// openDB opens (creating it if create) a state file and checks that it is one.
func openDB(path string, noSync, create, readOnly bool) (*sql.DB, bool, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if !create {
			return nil, false, &DamagedError{Path: path, Reason: "the file is missing", Err: err}
		}
	case err != nil:
		return nil, false, err
	case fi.IsDir():
		return nil, false, &DamagedError{Path: path, Reason: "it is a directory"}
	case fi.Size() == 0 && !create:
		return nil, false, &DamagedError{Path: path, Reason: "the file is empty"}
	}
	if create {
		// The file must be 0600 from its first byte: it holds card numbers and partner secrets.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, false, err
		}
		f.Close()
	}
	sync := "FULL"
	if noSync {
		sync = "OFF"
	}
	q := url.Values{}
	// journal_mode is set after the checks: turning a foreign file to WAL would write to it.
	for _, p := range []string{"busy_timeout(10000)", "synchronous(" + sync + ")"} {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Set("mode", "ro")
		// Immutable when no -wal holds commits beyond the file: a WAL database whose -shm cannot
		// be made is readable only so.
		if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
			q.Set("immutable", "1")
		}
	}
	// The path escaped: a '#' or '?' in a folder name would otherwise end the file name early.
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, false, err
	}
	// One writer (the committer) and readers for on-demand transaction lookups beside it (WAL).
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	var app, ver int64
	if err := db.QueryRow(`PRAGMA application_id`).Scan(&app); err != nil {
		db.Close()
		return nil, false, &DamagedError{Path: path, Reason: "not a readable SQLite database: " + err.Error(), Err: err}
	}
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&ver); err != nil {
		db.Close()
		return nil, false, &DamagedError{Path: path, Reason: "not a readable SQLite database: " + err.Error(), Err: err}
	}
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&tables); err != nil {
		db.Close()
		return nil, false, &DamagedError{Path: path, Reason: "not a readable SQLite database: " + err.Error(), Err: err}
	}
	fresh := app == 0 && tables == 0
	switch {
	case fresh && !create:
		db.Close()
		return nil, false, &DamagedError{Path: path, Reason: "the file holds no bank state"}
	case !fresh && app != appID:
		db.Close()
		return nil, false, &DamagedError{Path: path, Reason: "it is not a bankmock state file (another program's SQLite database?)"}
	case !fresh && ver > int64(len(durableSteps)):
		db.Close()
		return nil, false, &DamagedError{Path: path, Reason: fmt.Sprintf("format %d is newer than this program understands (%d)", ver, len(durableSteps))}
	}
	if readOnly {
		return db, false, nil
	}
	if _, err := db.Exec(`PRAGMA journal_mode = WAL`); err != nil {
		db.Close()
		return nil, false, &DamagedError{Path: path, Reason: "cannot use it: " + err.Error(), Err: err}
	}
	if fresh {
		exec := func(q string) error { _, err := db.Exec(q); return err }
		if err := migrate.Apply(durableSteps, int(ver), struct{}{}, exec, func(n int) error {
			return exec(fmt.Sprintf("PRAGMA user_version = %d", n))
		}); err != nil {
			db.Close()
			return nil, false, fmt.Errorf("create bank state %s: %w", path, err)
		}
	} else if ver < int64(len(durableSteps)) {
		if err := upgrade(db, int(ver)); err != nil {
			db.Close()
			return nil, false, fmt.Errorf("upgrade bank state %s from format %d: %w", path, ver, err)
		}
	}
	return db, fresh, nil
}

// upgrade brings a file of an older format to the current one, in one transaction: a crash
// half way leaves it as it was. (A file opened read-only is read as it is: its queries work
// without the newer indexes, only slower.)
func upgrade(db *sql.DB, ver int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	exec := func(q string) error { _, err := tx.Exec(q); return err }
	if err := migrate.Apply(durableSteps, ver, struct{}{}, exec, func(n int) error {
		return exec(fmt.Sprintf("PRAGMA user_version = %d", n))
	}); err != nil {
		return err
	}
	return tx.Commit()
}

// Open is New with the state kept in the SQLite file cfg.Path (see the top of this file). A new or
// empty file gets the seed's world when cfg.Create is set; an existing one is loaded, its seed and
// clock winning over cfg's (an adjustable clock is set to the file's time). A file that is not a
// bank's state, or is damaged, is a *DamagedError, and nothing is written to it. Close the engine.
func Open(cfg Config) (*Engine, error) {
	if cfg.Path == "" {
		return New(cfg), nil
	}
	db, fresh, err := openDB(cfg.Path, cfg.NoSync, cfg.Create && !cfg.ReadOnly, cfg.ReadOnly)
	if err != nil {
		return nil, err
	}
	e := newEngine(cfg)
	e.dur = &durable{db: db, path: cfg.Path}
	e.dur.cond = sync.NewCond(&e.dur.mu)
	e.dirty = newDirty()
	if fresh {
		e.mu.Lock()
		e.genesis(e.cfg.Seed, e.cfg.Clock.Now(), e.cfg.Customers)
		t := e.capture()
		e.mu.Unlock()
		if err := e.settle(t); err != nil {
			db.Close()
			return nil, fmt.Errorf("write the new bank's state to %s: %w", cfg.Path, err)
		}
		return e, nil
	}
	st, err := loadState(db, cfg.Path)
	if err != nil {
		db.Close()
		return nil, err
	}
	e.install(st)
	e.journalBase = st.Seq.Journal // the file's journal is read a page at a time (journalRange)
	if s, ok := e.cfg.Clock.(setter); ok && !st.Clock.IsZero() {
		s.Set(st.Clock)
	}
	return e, nil
}

// loadState reads a whole state but its transactions (read on demand).
func loadState(db *sql.DB, path string) (*state, error) {
	damaged := func(reason string, err error) error {
		return &DamagedError{Path: path, Reason: reason, Err: err}
	}
	var mb []byte
	if err := db.QueryRow(`SELECT body FROM meta WHERE id = 1`).Scan(&mb); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, damaged("it holds no bank state (no counters row)", err)
		}
		return nil, damaged("cannot read it: "+err.Error(), err)
	}
	var m metaRow
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, damaged("its counters row is not valid JSON", err)
	}
	epoch, err1 := parseTime(m.Epoch)
	clock, err2 := parseTime(m.Clock)
	if err := errors.Join(err1, err2); err != nil {
		return nil, damaged("its counters row has a bad time", err)
	}
	st := newState(m.Seed, epoch, m.InitialCustomers)
	st.Clock, st.Generated, st.AdminFilled, st.Seq, st.PartnerSeq = clock, m.Generated, m.AdminFilled, m.Seq, m.PartnerSeq
	st.Partners = map[string]*partnerRec{}
	st.Profiles = map[string]bankapi.Fault{}
	rows, err := db.Query(`SELECT kind, key, body FROM records ORDER BY kind, key`)
	if err != nil {
		return nil, damaged("cannot read it: "+err.Error(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, key string
		var body []byte
		if err := rows.Scan(&kind, &key, &body); err != nil {
			return nil, damaged("cannot read it: "+err.Error(), err)
		}
		switch kind {
		case recCustomer:
			err = decodeRecord(body, func(c bankapi.Customer) error {
				if i, err := strconv.Atoi(key); err != nil || i != len(st.Customers) {
					return fmt.Errorf("customer %s out of order (have %d)", key, len(st.Customers))
				}
				st.Customers = append(st.Customers, c)
				return nil
			})
		case recBinding:
			err = decodeRecord(body, func(b bindingRec) error { st.Bindings[key] = &b; return nil })
		case recAgreement:
			err = decodeRecord(body, func(a agreementRec) error { st.Agreements[key] = &a; return nil })
		case recPartner:
			err = decodeRecord(body, func(p partnerRec) error { st.Partners[key] = &p; return nil })
		case recDaily:
			err = decodeRecord(body, func(n int64) error { st.Daily[key] = n; return nil })
		case recOTP:
			err = decodeRecord(body, func(s string) error { st.LastOTP[key] = s; return nil })
		case recFaults:
			err = json.Unmarshal(body, &st.Faults)
		case recProfiles:
			err = json.Unmarshal(body, &st.Profiles)
		default:
			err = errors.New("unknown kind")
		}
		if err != nil {
			return nil, damaged(fmt.Sprintf("record %s %q is not valid: %v", kind, key, err), err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, damaged("cannot read it: "+err.Error(), err)
	}
	// The journal stays in the file until someone reads it (Journal, Snapshot): opening a bank
	// must not cost its last 10,000 requests.
	if err := validState(st, false); err != nil {
		return nil, damaged(err.Error(), err)
	}
	return st, nil
}

// decodeRecord reads one record's body as a V and hands it to keep.
func decodeRecord[V any](body []byte, keep func(V) error) error {
	var v V
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return keep(v)
}

func parseTime(s string) (t time.Time, err error) {
	if err := t.UnmarshalText([]byte(s)); err != nil {
		return t, err
	}
	return t, nil
}

// capture marshals what the critical section changed and queues it; it returns the ticket to
// wait for (0: nothing to wait for). Lock held.
func (e *Engine) capture() int64 {
	if e.dur == nil {
		return 0
	}
	d := e.dirty
	lastSeq := e.st.Seq.Journal
	if !d.all && len(d.recs) == 0 && len(d.txns) == 0 && lastSeq == e.jFlushed && !e.metaDirty {
		return 0
	}
	cs := &changeSet{full: d.all}
	m := metaRow{Version: snapshotVersion, Seed: e.st.Seed, InitialCustomers: e.st.InitialCustomers,
		Generated: e.st.Generated, AdminFilled: e.st.AdminFilled, Seq: e.st.Seq, PartnerSeq: e.st.PartnerSeq}
	eb, _ := e.st.Epoch.MarshalText()
	cb, _ := e.now().MarshalText()
	m.Epoch, m.Clock = string(eb), string(cb)
	cs.meta = mustJSON(m)
	if d.all {
		for i := range e.st.Customers {
			e.touchCustomer(i)
		}
		for k := range e.st.Bindings {
			e.touch(recBinding, k)
		}
		for k := range e.st.Agreements {
			e.touch(recAgreement, k)
		}
		for k := range e.st.Partners {
			e.touch(recPartner, k)
		}
		for k := range e.st.Daily {
			e.touch(recDaily, k)
		}
		for k := range e.st.LastOTP {
			e.touch(recOTP, k)
		}
		e.touch(recFaults, "")
		e.touch(recProfiles, "")
		for p, m := range e.st.Txns {
			for k := range m {
				d.txns[[2]string{p, k}] = struct{}{}
			}
		}
		e.jFlushed = 0
	}
	for k := range d.recs {
		cs.rows = append(cs.rows, e.recordRow(k[0], k[1]))
	}
	for k := range d.txns {
		t := e.st.Txns[k[0]][k[1]]
		r := row{table: "txns", k1: k[0], k2: k[1]}
		if t != nil {
			r.body, r.day, r.txnID, r.ok = mustJSON(t), dayOf(t), t.TxnID, t.Status == bankapi.TxnSucceeded
		}
		cs.rows = append(cs.rows, r)
	}
	// Rows in a fixed order: the same change writes the same file.
	sort.Slice(cs.rows, func(a, b int) bool {
		x, y := cs.rows[a], cs.rows[b]
		if x.table != y.table {
			return x.table < y.table
		}
		if x.k1 != y.k1 {
			return x.k1 < y.k1
		}
		return x.k2 < y.k2
	})
	for _, j := range e.st.Journal {
		if j.Seq > e.jFlushed {
			cs.journal = append(cs.journal, [2]any{j.Seq, mustJSON(j)})
		}
	}
	e.jFlushed = lastSeq
	cs.trim = lastSeq - int64(e.journalLimit())
	// The journal is the file's from now on (once this commit is done): memory keeps none of it,
	// instead of the last JournalLimit entries (megabytes per bank: a server keeps one bank per
	// tenant), and the next capture looks at its own entries only. Journal reads the file's a
	// page at a time (journalRange).
	if len(e.st.Journal) > 0 {
		e.st.Journal = []bankapi.JournalEntry{}
	}
	e.journalBase = lastSeq
	var written [][2]string
	if e.txnCache != nil {
		written = make([][2]string, 0, len(d.txns))
		for k := range d.txns {
			written = append(written, k)
		}
	}
	d.clear()
	e.metaDirty = false
	t := e.dur.enqueue(cs)
	// What this commit writes may leave memory once it is done.
	for _, k := range written {
		e.txnCache.use(k, t)
	}
	e.evictTxns()
	return t
}

func dayOf(t *bankapi.Transaction) string { return vclock.Day(t.Time) }

// recordRow is the current body of one record, or its deletion. Lock held.
func (e *Engine) recordRow(kind, key string) row {
	r := row{table: "records", k1: kind, k2: key}
	switch kind {
	case recCustomer:
		if i, err := strconv.Atoi(key); err == nil && i < len(e.st.Customers) {
			r.body = mustJSON(e.st.Customers[i])
		}
	case recBinding:
		if b := e.st.Bindings[key]; b != nil {
			r.body = mustJSON(b)
		}
	case recAgreement:
		if a := e.st.Agreements[key]; a != nil {
			r.body = mustJSON(a)
		}
	case recPartner:
		if p := e.st.Partners[key]; p != nil {
			r.body = mustJSON(p)
		}
	case recDaily:
		if n, ok := e.st.Daily[key]; ok {
			r.body = mustJSON(n)
		}
	case recOTP:
		if s, ok := e.st.LastOTP[key]; ok {
			r.body = mustJSON(s)
		}
	case recFaults:
		r.body = mustJSON(e.st.Faults)
	case recProfiles:
		r.body = mustJSON(e.st.Profiles)
	}
	return r
}

// mustJSON marshals the state's own types, which always marshal.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("bankmock: marshal %T: %v", v, err))
	}
	return b
}

func (d *durable) enqueue(cs *changeSet) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.enq++
	d.queue = append(d.queue, cs)
	return d.enq
}

// write commits change sets in one transaction.
func (d *durable) write(batch []*changeSet) error {
	ctx := context.Background()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, cs := range batch {
		if cs.full {
			if _, err := tx.Exec(`DELETE FROM records; DELETE FROM txns; DELETE FROM journal;`); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`INSERT INTO meta (id, body) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body`, cs.meta); err != nil {
			return err
		}
		for _, r := range cs.rows {
			var err error
			switch {
			case r.table == "records" && r.body == nil:
				_, err = tx.Exec(`DELETE FROM records WHERE kind = ? AND key = ?`, r.k1, r.k2)
			case r.table == "records":
				_, err = tx.Exec(`INSERT INTO records (kind, key, body) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body`, r.k1, r.k2, r.body)
			case r.body == nil:
				_, err = tx.Exec(`DELETE FROM txns WHERE partner = ? AND key = ?`, r.k1, r.k2)
			default:
				_, err = tx.Exec(`INSERT INTO txns (partner, key, day, txn_id, succeeded, body) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (partner, key) DO UPDATE SET day = excluded.day, txn_id = excluded.txn_id, succeeded = excluded.succeeded, body = excluded.body`,
					r.k1, r.k2, r.day, r.txnID, r.ok, r.body)
			}
			if err != nil {
				return err
			}
		}
		for _, j := range cs.journal {
			if _, err := tx.Exec(`INSERT OR REPLACE INTO journal (seq, body) VALUES (?, ?)`, j[0], j[1]); err != nil {
				return err
			}
		}
		if cs.trim > 0 {
			if _, err := tx.Exec(`DELETE FROM journal WHERE seq <= ?`, cs.trim); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// safeWrite is write with a panic turned into a failed commit: a committer that died half way
// would leave the queue busy forever and every later operation waiting.
func (d *durable) safeWrite(batch []*changeSet) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("commit panicked: %v", r)
		}
	}()
	return d.write(batch)
}

// errNotSaved is what an operation answers when its state change could not be made durable: a
// damagedAnswer when that is because the file is damaged.
func (e *Engine) errNotSaved(err error) error {
	if d := e.asDamage(err); d != nil {
		return d.answer()
	}
	return errf(bankapi.CodeIssuerUnavailable, "96", "the bank could not save its state (%v); not processed, safe to retry", err)
}

// settle waits until ticket t is committed, committing what is queued if nobody else is. A
// failed commit sends the engine back to what the file holds, and fails every ticket queued up to
// then: their changes are gone from memory too. Called without the engine lock.
func (e *Engine) settle(t int64) error {
	d := e.dur
	if d == nil || t == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		if d.isFailed(t) {
			return e.errNotSaved(d.err)
		}
		if d.done >= t {
			return nil
		}
		if d.busy {
			d.cond.Wait()
			continue
		}
		d.busy = true
		batch, hi := d.queue, d.enq
		d.queue = nil
		d.mu.Unlock()
		err := d.safeWrite(batch)
		if err != nil {
			// Lock order: engine, then queue. Nothing is queued while the engine lock is held.
			e.mu.Lock()
			d.mu.Lock()
			d.failed = append(d.failed, [2]int64{d.done + 1, d.enq})
			d.queue, d.done, d.err = nil, d.enq, err
			d.mu.Unlock()
			e.reloadLocked()
			e.mu.Unlock()
			d.mu.Lock()
		} else {
			d.mu.Lock()
			d.done = hi
		}
		d.busy = false
		d.cond.Broadcast()
	}
}

// reloadLocked replaces the memory state with the file's. On failure the engine refuses every
// call (ready) until a reload succeeds. Lock held; nothing is queued.
func (e *Engine) reloadLocked() {
	st, err := loadState(e.dur.db, e.dur.path)
	if err != nil {
		e.broken = err
		return
	}
	e.install(st)
	e.journalBase = st.Seq.Journal // the file's journal is read a page at a time (journalRange)
	e.broken = nil
}

// install makes st the state. Lock held.
func (e *Engine) install(st *state) {
	e.st = st
	e.indexKeys()
	e.journalBase = 0
	e.cardIdx = make(map[string]int, len(st.Customers))
	for i, c := range st.Customers {
		e.cardIdx[c.CardNo] = i
	}
	e.jFlushed = st.Seq.Journal
	if e.dirty != nil {
		e.dirty.clear()
	}
	e.metaDirty = false
	e.resetTxnCache()
}

// ready refuses calls while the engine has no trustworthy state (a failed reload, a panic being
// recovered from), retrying the reload first. Lock held.
func (e *Engine) ready() error {
	if e.recovering {
		return errf(bankapi.CodeIssuerUnavailable, "96", "the bank is recovering from an internal error; not processed, retry shortly")
	}
	if e.broken != nil && e.dur != nil {
		e.reloadLocked()
	}
	if e.broken != nil {
		return e.errNotSaved(e.broken)
	}
	return nil
}

// lookupTxn is the caller's transaction under an idempotency key: from memory, or from the file.
// Lock held.
func (e *Engine) lookupTxn(partner, key string) (*bankapi.Transaction, *bankapi.Error) {
	if t, ok := e.st.Txns[partner][key]; ok {
		e.txnCache.touch([2]string{partner, key})
		return t, nil
	}
	if e.dur == nil {
		return nil, nil
	}
	var body []byte
	err := e.dur.db.QueryRow(`SELECT body FROM txns WHERE partner = ? AND key = ?`, partner, key).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		e.noteDamage(err)
		return nil, errf(bankapi.CodeIssuerUnavailable, "96", "the bank cannot read its state (%v); not processed, safe to retry", err)
	}
	var t bankapi.Transaction
	if err := json.Unmarshal(body, &t); err != nil {
		e.noteDamage(&DamagedError{Path: e.dur.path, Reason: fmt.Sprintf("transaction %q is not valid JSON", key), Err: err})
		return nil, errf(bankapi.CodeIssuerUnavailable, "96", "the bank's state is damaged (transaction %q); not processed", key)
	}
	e.cacheTxn(partner, key, &t)
	// Read from the file, so durable already: it may leave again at once.
	e.txnCache.use([2]string{partner, key}, 0)
	e.evictTxns()
	return &t, nil
}

func (e *Engine) cacheTxn(partner, key string, t *bankapi.Transaction) {
	if e.st.Txns[partner] == nil {
		e.st.Txns[partner] = map[string]*bankapi.Transaction{}
	}
	e.st.Txns[partner][key] = t
}

// putTxn stores a new transaction (in the cache with a state file until its commit is done: see
// capture). Lock held.
func (e *Engine) putTxn(partner, key string, t *bankapi.Transaction) {
	e.cacheTxn(partner, key, t)
	if e.dirty != nil {
		e.dirty.txns[[2]string{partner, key}] = struct{}{}
	}
}

// txnCache orders the transactions held in state.Txns of a bank with a state file, least
// recently made or read first, with the ticket of the commit that writes each (0: already in
// the file). Lock held for every call.
type txnCache struct {
	limit int
	order *list.List                  // of *cachedTxn, least recently used at the front
	at    map[[2]string]*list.Element // {partner, key} -> its element
}

type cachedTxn struct {
	k      [2]string
	ticket int64
}

func newTxnCache(limit int) *txnCache {
	return &txnCache{limit: limit, order: list.New(), at: map[[2]string]*list.Element{}}
}

// use records that k was made (ticket: its commit) or read (0), as the most recent.
func (c *txnCache) use(k [2]string, ticket int64) {
	if c == nil {
		return
	}
	if el, ok := c.at[k]; ok {
		ct := el.Value.(*cachedTxn)
		ct.ticket = max(ct.ticket, ticket)
		c.order.MoveToBack(el)
		return
	}
	c.at[k] = c.order.PushBack(&cachedTxn{k: k, ticket: ticket})
}

// touch makes k the most recent if it is cached.
func (c *txnCache) touch(k [2]string) {
	if c == nil {
		return
	}
	if el, ok := c.at[k]; ok {
		c.order.MoveToBack(el)
	}
}

// Len is how many transactions the cache holds.
func (c *txnCache) Len() int { return len(c.at) }

// resetTxnCache starts the cache over for a new state (install, genesis): a state from a file
// holds no transaction in memory; a restored snapshot's are all marked for the file (touchAll)
// and enter the cache when captured. Lock held.
func (e *Engine) resetTxnCache() {
	if e.dur == nil {
		e.txnCache = nil
		return
	}
	limit := e.cfg.TxnCacheLimit
	if limit <= 0 {
		limit = DefaultTxnCacheLimit
	}
	e.txnCache = newTxnCache(limit)
}

// evictTxns drops the least recently used transactions from memory while the cache is over its
// limit, stopping at the first whose commit is not done yet (the file does not hold it: a lookup
// must still find it here). Lock held.
func (e *Engine) evictTxns() {
	c := e.txnCache
	if c == nil || c.Len() <= c.limit {
		return
	}
	e.dur.mu.Lock() // lock order: engine, then queue
	done := e.dur.done
	e.dur.mu.Unlock()
	for c.Len() > c.limit {
		el := c.order.Front()
		ct := el.Value.(*cachedTxn)
		if ct.ticket > done {
			return
		}
		c.order.Remove(el)
		delete(c.at, ct.k)
		if m := e.st.Txns[ct.k[0]]; m != nil {
			delete(m, ct.k[1])
			if len(m) == 0 {
				delete(e.st.Txns, ct.k[0])
			}
		}
	}
}

// statementQuery reads a partner's succeeded transactions of one day. INDEXED BY: left to
// itself, SQLite prefers the primary key (partner, key), which covers every column but scans
// every transaction the partner ever made, so a statement (each reconcile asks for one) would
// cost the whole history instead of the day's rows.
const statementQuery = `SELECT key, body FROM txns INDEXED BY txns_by_day WHERE partner = ? AND day = ? AND succeeded = 1`

// txnsOn is a partner's succeeded transactions of one bank day. Lock held.
func (e *Engine) txnsOn(partner, day string) ([]*bankapi.Transaction, *bankapi.Error) {
	seen := map[string]bool{}
	var out []*bankapi.Transaction
	for k, t := range e.st.Txns[partner] {
		if t.Status == bankapi.TxnSucceeded && dayOf(t) == day {
			out = append(out, t)
		}
		seen[k] = true
	}
	if e.dur == nil {
		return out, nil
	}
	cannotRead := func(err error) *bankapi.Error {
		e.noteDamage(err)
		return errf(bankapi.CodeIssuerUnavailable, "96", "the bank cannot read its state (%v); retry", err)
	}
	rows, err := e.dur.db.Query(statementQuery, partner, day)
	if err != nil {
		return nil, cannotRead(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var body []byte
		if err := rows.Scan(&k, &body); err != nil {
			return nil, cannotRead(err)
		}
		if seen[k] {
			continue
		}
		var t bankapi.Transaction
		if err := json.Unmarshal(body, &t); err != nil {
			e.noteDamage(&DamagedError{Path: e.dur.path, Reason: fmt.Sprintf("transaction %q is not valid JSON", k), Err: err})
			return nil, errf(bankapi.CodeIssuerUnavailable, "96", "the bank's state is damaged (transaction %q)", k)
		}
		out = append(out, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, cannotRead(err)
	}
	return out, nil
}

// allTxns is every transaction (Snapshot): memory over the file. Lock held.
func (e *Engine) allTxns() (map[string]map[string]*bankapi.Transaction, error) {
	out := map[string]map[string]*bankapi.Transaction{}
	if e.dur != nil {
		rows, err := e.dur.db.Query(`SELECT partner, key, body FROM txns`)
		if err != nil {
			e.noteDamage(err)
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var p, k string
			var body []byte
			if err := rows.Scan(&p, &k, &body); err != nil {
				e.noteDamage(err)
				return nil, err
			}
			var t bankapi.Transaction
			if err := json.Unmarshal(body, &t); err != nil {
				e.noteDamage(&DamagedError{Path: e.dur.path, Reason: fmt.Sprintf("transaction %q is not valid JSON", k), Err: err})
				return nil, err
			}
			if out[p] == nil {
				out[p] = map[string]*bankapi.Transaction{}
			}
			out[p][k] = &t
		}
		if err := rows.Err(); err != nil {
			e.noteDamage(err)
			return nil, err
		}
	}
	for p, m := range e.st.Txns {
		if out[p] == nil {
			out[p] = map[string]*bankapi.Transaction{}
		}
		for k, t := range m {
			out[p][k] = t
		}
	}
	return out, nil
}

// Close waits for queued commits and closes the state file (a no-op in memory).
func (e *Engine) Close() error {
	if e.dur == nil {
		return nil
	}
	e.mu.Lock()
	e.capture()
	e.mu.Unlock()
	e.dur.mu.Lock()
	t := e.dur.enq // everything queued, not only the last capture
	e.dur.mu.Unlock()
	var errs []error
	if err := e.settle(t); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, e.dur.db.Close())
	return errors.Join(errs...)
}

// Path is the engine's state file ("" in memory).
func (e *Engine) Path() string {
	if e.dur == nil {
		return ""
	}
	return e.dur.path
}

// journalLimit is Config.JournalLimit or its default.
func (e *Engine) journalLimit() int {
	if e.cfg.JournalLimit > 0 {
		return e.cfg.JournalLimit
	}
	return DefaultJournalLimit
}
