// Package sandbox is the embedded backend of walletctl: the wallet's SQLite file and the mock
// bank's state side by side in one folder (the "home"), a virtual clock shared by both, and an
// exclusive file lock held for the duration of every command.
//
// Layout of a home:
//
//	sandbox.json  seed, customers, settings, virtual clock time, format version
//	wallet.db     the wallet (walletctl/sqlite)
//	bank.db       the in-process bank's state (bankmock.Open; absent when a remote bank is used)
//	lock          lock file (flock(2), LockFileEx on Windows); every command holds it exclusively
//
// The bank is opened lazily, on the first call that touches it, so that commands such as
// `balance` never pay for it; it commits every operation to bank.db before it answers, like a
// real bank, so a command killed at any point leaves wallet and bank to be reconciled, never a
// bank that forgot what it did. Visibly damaged files (empty, truncated, foreign, missing) are
// refused with SANDBOX_DAMAGED when the home is opened, before any command runs.
//
// Durability: a sandbox fsyncs every commit and every file it rewrites, like a real wallet. A
// throwaway sandbox (Options.Throwaway at creation: scenario worlds, tests) fsyncs nothing, which
// makes commands several times faster but lets an OS crash or power cut damage it. The choice is
// recorded in sandbox.json ("durability") when the sandbox is created and is never the default.
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/internal/atomicfile"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/bankadapter"
	"github.com/walletctl/walletctl/walletctl/engine"
	"github.com/walletctl/walletctl/walletctl/notify"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// FormatVersion is the version of the home's layout; a newer one is refused rather than misread.
// 2: sandbox.json records the bank (Meta.Bank).
// 3: the in-process bank is bank.db, committed per operation (format-2 bank.json is converted).
const FormatVersion = 3

// Defaults of `sandbox init`.
const (
	DefaultSeed      int64 = 1
	DefaultCustomers int   = 50
)

// File names inside a home.
const (
	MetaFile   = "sandbox.json"
	WalletFile = "wallet.db"
	BankFile   = "bank.db"
	// LegacyBankFile is the bank of format-2 homes, a whole snapshot rewritten after each
	// command; it is converted to BankFile on first use.
	LegacyBankFile = "bank.json"
	LockFile       = "lock"
)

// Meta is sandbox.json.
type Meta struct {
	FormatVersion int                `json:"format_version"`
	Seed          int64              `json:"seed"`
	Customers     int                `json:"customers"`
	Clock         time.Time          `json:"clock"`
	Settings      walletctl.Settings `json:"settings"`
	// Durability is DurabilityFull ("" in sandboxes made before it existed) or DurabilityNone.
	Durability string `json:"durability"`
	// Bank is the bank this home uses; a home refuses to run against any other.
	Bank BankRef `json:"bank"`
	// ClockMode is ClockVirtual ("" in homes made before it existed) or ClockReal; with
	// ClockReal the time is the wall's plus ClockOffset (what `clock advance` added), and Clock
	// is only where it stood when last saved.
	ClockMode   string        `json:"clock_mode,omitempty"`
	ClockOffset time.Duration `json:"clock_offset,omitempty"`
	// SecretKey is the wallet's key for the hashes it keeps of card and ID numbers
	// (walletctl.SecretKey), made at creation (or at the first open of an older home). It lives
	// here, 0600 and outside wallet.db, so that a copy of the database alone gives no number away.
	SecretKey []byte `json:"secret_key,omitempty"`
}

// BankRef says which bank a home uses: the in-process one kept in the home (URL ""), or a bank
// server at URL where this home is the partner PartnerID. The partner key is this home's
// credential at that bank: sandbox.json is 0600, and the key is shown nowhere else.
type BankRef struct {
	URL        string `json:"url,omitempty"`
	PartnerID  string `json:"partner_id,omitempty"`
	PartnerKey string `json:"partner_key,omitempty"`
}

// Clock modes of a sandbox (DESIGN.md section 11).
const (
	// ClockVirtual: time moves only by `clock advance` (sandboxes, scenario runs, chaos).
	ClockVirtual = "virtual"
	// ClockReal: wall time plus an offset that `clock advance` adds to (a test clock): what
	// falls due happens by itself (walletctl serve --clock real).
	ClockReal = "real"
)

// Durability of a sandbox.
const (
	DurabilityFull = "full" // every commit and file write is fsynced
	DurabilityNone = "none" // nothing is fsynced: a throwaway sandbox (tests, scenario worlds)
)

func (m Meta) throwaway() bool { return m.Durability == DurabilityNone }

// Options says where the sandbox lives and which bank it talks to.
type Options struct {
	Home      string // the folder; required
	BankURL   string // "" = the in-process bank kept in bank.db; else a bankmock server
	BankToken string // admin token for a remote bank (registering a partner; bank customers)
	// PartnerOnly keeps BankToken to registering this home as a partner: every other call to the
	// bank, faults, OTPs, the journal, the clock and real-name checks included, carries only the
	// partner key, so the home never acts as bank admin (DESIGN section 10: walletctl serve's
	// tenants).
	PartnerOnly bool
	// BankKey, when set, is a partner key issued by the bank's operator (bankmock partner create):
	// a sandbox created with it uses it instead of registering itself as a new partner.
	BankKey string
	// BankTimeout bounds each call to a remote bank (default 5s).
	BankTimeout time.Duration
	// Throwaway makes a sandbox created by this call (Init, or Open's auto-init) skip every fsync;
	// an existing sandbox keeps the durability recorded in its sandbox.json.
	Throwaway bool
	// Store, when set, is this home's wallet database already open (a server keeps it open across
	// requests instead of opening wallet.db for each); the sandbox uses it and never closes it.
	// Init and Reset empty it if it can be emptied (a PostgreSQL schema), else refuse it.
	Store walletctl.Store
	// ClockFromBank makes the virtual clock the remote bank's, read when the sandbox is opened
	// (one admin call), instead of the one kept in sandbox.json: several servers that serve one
	// tenant over a shared bank and a shared database then keep one time, as the bank is the only
	// state they share besides the database (walletctl serve --store postgres://...). Advance
	// moves both, as it always does with a remote bank. Ignored without BankURL.
	ClockFromBank bool
	// LockWait, when set, is called once when a command has waited a second for the home's lock,
	// with the pid the holder wrote in the lock file (0 if unknown), so that a person can be told
	// why nothing happens.
	LockWait func(holderPID int)
	// Deliverer sends merchant notifications (default: walletctl/notify's HTTP sender, fenced by
	// NotifyFence).
	Deliverer walletctl.Deliverer
	// Wall is the wall clock of a real-clock sandbox (nil: time.Now); tests pass their own.
	Wall func() time.Time
	// NotifyFence is what the default sender may connect to (the zero value: the built-in
	// refusals only; a server adds its policy and its own address). The remote bank at BankURL is
	// always refused on top of it.
	NotifyFence notify.Fence
}

// InitOptions are the knobs of `sandbox init`.
type InitOptions struct {
	Seed      int64
	Customers int
	Force     bool                // replace an existing sandbox
	Settings  *walletctl.Settings // nil = walletctl.SandboxSettings()
	// KeepStore keeps what Options.Store already holds instead of emptying it: a server joining a
	// tenant that another server created on the same database.
	KeepStore bool
	// Clock is ClockVirtual ("" too) or ClockReal, which needs the in-process bank (a bank
	// server keeps a virtual clock of its own).
	Clock string
}

// Sandbox is an open, locked home. Close it exactly once.
type Sandbox struct {
	opts  Options
	lock  *homeLock
	meta  Meta
	clock vclock.Settable

	store *lazyStore
	svc   *engine.Engine

	local  *lazyBank      // in-process bank (nil when remote)
	remote *client.Client // remote bank (nil when in-process)

	readOnly bool // the home cannot be written: reads work, writes are SANDBOX_READ_ONLY
	// looking: the sandbox is only looked at (Check): opened read-only, the bank's statement read
	// from its records, and nothing saved, not even a missing secret key.
	looking bool
}

func noSandbox(home string) error {
	return &walletctl.Error{
		Code:    walletctl.CodeNoSandbox,
		Message: fmt.Sprintf("no sandbox in %s", home),
		Hint:    walletctl.Hint(walletctl.CodeNoSandbox),
		Details: map[string]any{"home": home},
	}
}

// Exists reports whether home holds a sandbox (without locking it).
func Exists(home string) bool {
	_, err := os.Stat(filepath.Join(home, MetaFile))
	return err == nil
}

// homeLock is the home's lock: a gofrs/flock lock (flock(2) on Unix, LockFileEx on Windows) on
// the lock file, or on the folder itself in a read-only home that has no lock file.
type homeLock struct {
	fl *flock.Flock
}

// Close releases the lock and closes its file.
func (l *homeLock) Close() error { return l.fl.Close() }

// lockHome creates home if needed and takes the exclusive lock, waiting for other invocations
// (onWait, if set, hears once after a second of waiting). The holder writes its pid in the lock
// file so that a waiter can name it.
func lockHome(ctx context.Context, home string, onWait func(holderPID int)) (*homeLock, bool, error) {
	if err := checkHomeDir(home); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, false, readOnlyOr(home, fmt.Errorf("create sandbox home: %w", err))
	}
	lockPath := filepath.Join(home, LockFile)
	// The lock file is opened for writing (created if needed) by this probe, which also writes
	// the holder's pid once the lock is held.
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	readOnly := false
	target := lockPath
	if err != nil && (walletctl.IsReadOnlyFS(err) || errors.Is(err, fs.ErrPermission)) {
		// A read-only home (a read-only mount, another user's folder): read-only commands still
		// work, sharing the lock with other readers; anything that writes is SANDBOX_READ_ONLY.
		readOnly = true
		var probe *os.File
		if probe, err = os.Open(lockPath); errors.Is(err, os.ErrNotExist) {
			target = home // no lock file to share: the folder itself is the lock
			probe, err = os.Open(home)
		}
		if err == nil {
			probe.Close()
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("open lock file: %w", err)
	}
	if f != nil {
		defer f.Close()
	}
	// The library opens its own handle: read-only for a shared lock (a read-only home), read-write
	// for the exclusive one (Unix flock(2) needs no write access, but Windows and NFS-emulated
	// locks are happier with it).
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	fl := flock.New(target, flock.SetFlag(flag), flock.SetPermissions(0o600))
	try := fl.TryLock
	if readOnly {
		try = fl.TryRLock
	}
	// Poll without blocking so that a cancelled context is honoured instead of blocking forever.
	tellAt := time.Now().Add(time.Second)
	for delay := time.Millisecond; ; {
		locked, err := try()
		if err != nil {
			return nil, false, fmt.Errorf("lock sandbox: %w", err)
		}
		if locked {
			// Best effort: the pid only names the holder in a waiter's message. (On Windows the
			// locked byte cannot be written through another handle; the waiter then names no one.)
			if !readOnly && f.Truncate(0) == nil {
				f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
			}
			return &homeLock{fl: fl}, readOnly, nil
		}
		if onWait != nil && !tellAt.IsZero() && time.Now().After(tellAt) {
			tellAt = time.Time{}
			onWait(lockHolder(lockPath))
		}
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-time.After(delay):
		}
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

// lockHolder is the pid written in the lock file by its holder, 0 if none can be read.
func lockHolder(lockPath string) int {
	f, err := os.Open(lockPath)
	if err != nil {
		return 0
	}
	defer f.Close()
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// checkHomeDir refuses a home that exists but is not a folder (or lies under a file), with a hint,
// rather than a raw mkdir error. It finds the file by walking up the path rather than by the
// error number (ENOTDIR on Unix, ERROR_PATH_NOT_FOUND on Windows), so it works everywhere.
func checkHomeDir(home string) error {
	fi, err := os.Stat(home)
	if err == nil && fi.IsDir() {
		return nil
	}
	what := "is a file, not a folder"
	if err != nil {
		if !underFile(home) {
			return nil // missing: lockHome creates it (or reports why it cannot)
		}
		what = "lies under a file, not a folder"
	}
	return &walletctl.Error{Code: walletctl.CodeInvalidArgument,
		Message: fmt.Sprintf("the sandbox home %s %s", home, what),
		Hint:    "point --home (or WALLETCTL_HOME) at a folder: an existing one, or a new path that walletctl creates",
		Details: map[string]any{"home": home}}
}

// underFile reports whether the nearest existing ancestor of path is a file.
func underFile(path string) bool {
	for dir := filepath.Dir(filepath.Clean(path)); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err == nil {
			return !fi.IsDir()
		}
		if parent := filepath.Dir(dir); parent == dir {
			return false
		}
	}
}

// Open locks home and opens its sandbox. Without one it returns NO_SANDBOX, unless autoInit is
// set, in which case a sandbox is created with the defaults (created reports it).
func Open(ctx context.Context, opts Options, autoInit bool) (sb *Sandbox, created bool, err error) {
	lock, ro, err := lockHome(ctx, opts.Home, opts.LockWait)
	if err != nil {
		return nil, false, err
	}
	s := &Sandbox{opts: opts, lock: lock, readOnly: ro}
	defer func() {
		if err != nil {
			s.unlock()
		}
	}()
	meta, err := readMeta(opts.Home)
	if errors.Is(err, os.ErrNotExist) {
		if !autoInit {
			return nil, false, noSandbox(opts.Home)
		}
		if s.readOnly {
			return nil, false, readOnlyOr(opts.Home, errors.New("no sandbox to create in a read-only folder"))
		}
		if err := s.create(ctx, InitOptions{Seed: DefaultSeed, Customers: DefaultCustomers}); err != nil {
			return nil, false, err
		}
		return s, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	if meta, err = s.checkBank(meta); err != nil {
		return nil, false, err
	}
	if err := s.checkFiles(meta); err != nil {
		return nil, false, err
	}
	if err := s.load(meta); err != nil {
		return nil, false, err
	}
	if err := s.followBank(ctx); err != nil {
		return nil, false, err
	}
	return s, false, nil
}

// normURL is how bank URLs are compared: without trailing slashes.
func normURL(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

// checkBank refuses to open a home against another bank than the one it was made with (or with
// none when it was made with one): its agreements, idempotency keys and partner key mean
// nothing there, and money could move on the wrong books (DESIGN.md section 6).
func (s *Sandbox) checkBank(meta Meta) (Meta, error) {
	want, got := normURL(meta.Bank.URL), normURL(s.opts.BankURL)
	if want == "" && got != "" && meta.FormatVersion < 2 {
		// Made before homes recorded their bank: one without bank.json always used a bank server.
		_, errDB := os.Stat(filepath.Join(s.opts.Home, BankFile))
		if _, err := os.Stat(filepath.Join(s.opts.Home, LegacyBankFile)); errors.Is(err, os.ErrNotExist) && errors.Is(errDB, os.ErrNotExist) {
			meta.Bank.URL = got
			return meta, nil
		}
	}
	if want == got {
		return meta, nil
	}
	e := &walletctl.Error{Code: walletctl.CodeSandboxBank, Details: map[string]any{"home": s.opts.Home}}
	switch {
	case want == "":
		e.Message = fmt.Sprintf("the sandbox in %s uses its own in-process bank, not the bank at %s", s.opts.Home, got)
		e.Hint = "drop --bank (and WALLETCTL_BANK) for this home, or make a sandbox for that bank in another home: walletctl --home DIR --bank " + got + " sandbox init"
	case got == "":
		e.Message = fmt.Sprintf("the sandbox in %s uses the bank at %s, and no --bank was given", s.opts.Home, want)
		e.Hint = "pass --bank " + want + " (or set WALLETCTL_BANK), or make a new sandbox elsewhere with --home"
	default:
		e.Message = fmt.Sprintf("the sandbox in %s uses the bank at %s, not %s", s.opts.Home, want, got)
		e.Hint = "pass --bank " + want + ", or make a sandbox for the other bank in another home: walletctl --home DIR --bank " + got + " sandbox init"
	}
	return meta, e
}

// partnerName is the name a home registers under: its path, or the end of it, as a partner's
// name is at most 100 characters.
func partnerName(home string) string {
	const prefix, most = "walletctl sandbox ", 100
	name := []rune(prefix + home)
	if len(name) <= most {
		return string(name)
	}
	return prefix + "…" + string(name[len(name)-(most-len(prefix)-1):])
}

// register makes this home a partner of the bank at opts.BankURL (or adopts the key the operator
// gave, Options.BankKey), for a new or reset sandbox: each incarnation of a home is a new partner,
// so its idempotency keys (wlt-t1, ...) can never collide with an earlier one's or another's.
func (s *Sandbox) register(ctx context.Context) (BankRef, error) {
	ref := BankRef{URL: normURL(s.opts.BankURL)}
	if s.opts.BankKey != "" {
		ref.PartnerKey = s.opts.BankKey
		return ref, nil
	}
	c := client.New(ref.URL, client.Options{Timeout: s.bankTimeout(), AdminToken: s.opts.BankToken})
	home, err := filepath.Abs(s.opts.Home)
	if err != nil {
		home = s.opts.Home
	}
	pc, err := c.CreatePartner(ctx, partnerName(home))
	if err != nil {
		be, _ := bankapi.AsError(err)
		switch {
		case be != nil && (be.Code == bankapi.CodeUnauthorized || be.Code == bankapi.CodeUnauthenticated):
			return ref, &walletctl.Error{Code: walletctl.CodeBankAuth, Err: err,
				Message: fmt.Sprintf("the bank at %s refused to register this sandbox as a partner: %s", ref.URL, be.Message),
				Hint:    "set WALLETCTL_BANK_TOKEN to the bank's admin token (bankmock serve shows it at start, or keeps it in DIR/admin-token with --data), or ask its operator for a partner key (bankmock partner create) and set WALLETCTL_BANK_KEY"}
		case be != nil && (be.Code == bankapi.CodeOutcomeUnknown || errors.Is(err, bankapi.ErrNotSent)):
			return ref, &walletctl.Error{Code: walletctl.CodeNetwork, Err: err,
				Message: fmt.Sprintf("cannot reach the bank at %s to register this sandbox: %s", ref.URL, be.Message),
				Hint:    "start the bank (bankmock serve --addr 127.0.0.1:0 prints its URL) and check --bank"}
		default:
			return ref, &walletctl.Error{Code: walletctl.CodeBankUnavailable, Err: err,
				Message: fmt.Sprintf("the bank at %s could not register this sandbox as a partner: %v", ref.URL, err),
				Hint:    "is --bank a bankmock server (protocol v2, with /admin/partners)? An operator can issue a key instead: bankmock partner create, then WALLETCTL_BANK_KEY"}
		}
	}
	ref.PartnerID, ref.PartnerKey = pc.ID, pc.Key
	return ref, nil
}

func (s *Sandbox) bankTimeout() time.Duration {
	if s.opts.BankTimeout == 0 {
		return 5 * time.Second
	}
	return s.opts.BankTimeout
}

// followBank sets the virtual clock to the remote bank's (Options.ClockFromBank).
func (s *Sandbox) followBank(ctx context.Context) error {
	if !s.opts.ClockFromBank || s.remote == nil {
		return nil
	}
	now, err := s.remote.Now(ctx)
	if err != nil {
		return fmt.Errorf("read the bank's clock: %w", err)
	}
	s.clock.Set(now)
	s.meta.Clock = now // the bank keeps it: sandbox.json is rewritten only when this process moves it
	return nil
}

// Init locks home and creates a fresh sandbox. An existing one is refused unless Force is set.
func Init(ctx context.Context, opts Options, in InitOptions) (*Sandbox, error) {
	lock, ro, err := lockHome(ctx, opts.Home, opts.LockWait)
	if err != nil {
		return nil, err
	}
	if ro {
		lock.Close()
		return nil, readOnlyOr(opts.Home, errors.New("the home is read-only"))
	}
	s := &Sandbox{opts: opts, lock: lock}
	if Exists(opts.Home) && !in.Force {
		s.unlock()
		return nil, &walletctl.Error{
			Code:    walletctl.CodeAlreadyExists,
			Message: fmt.Sprintf("a sandbox already exists in %s", opts.Home),
			Hint:    "pass --force to replace it, or start over with the same seed: walletctl sandbox reset --force",
			Details: map[string]any{"home": opts.Home},
		}
	}
	if err := s.create(ctx, in); err != nil {
		s.unlock()
		return nil, err
	}
	if err := s.followBank(ctx); err != nil {
		s.Close(ctx)
		return nil, err
	}
	return s, nil
}

// Reset puts the open sandbox back to the fresh state of its seed, keeping seed, customers and
// settings. With a remote bank only the wallet is reset: the server belongs to someone else.
func (s *Sandbox) Reset(ctx context.Context) error {
	settings := s.meta.Settings
	s.opts.Throwaway = s.meta.throwaway() // a reset keeps the durability it was created with
	return s.create(ctx, InitOptions{Seed: s.meta.Seed, Customers: s.meta.Customers, Force: true, Settings: &settings})
}

// create (re)builds every file of the home under the lock already held.
func (s *Sandbox) create(ctx context.Context, io InitOptions) error {
	var bank BankRef
	if s.opts.BankURL != "" {
		// Before anything is emptied, removed or written: a bank that refuses us leaves the home
		// as it was.
		var err error
		if bank, err = s.register(ctx); err != nil {
			return err
		}
	}
	if s.opts.Store != nil {
		// A caller's store is emptied if it can be (a PostgreSQL schema: walletctl --store), else refused.
		r, ok := s.opts.Store.(interface{ Reset(context.Context) error })
		if !ok {
			return errors.New("sandbox: cannot create or reset a sandbox whose store is held open by its caller")
		}
		if io.KeepStore {
			r = nil
		} else if !io.Force { // a shared database may hold another home's wallet: never empty it unasked
			var users []walletctl.UserRecord
			if err := s.opts.Store.View(ctx, func(tx walletctl.StoreTx) error {
				var err error
				users, err = tx.ListUsers()
				return err
			}); err != nil {
				return fmt.Errorf("read the wallet database: %w", err)
			}
			if len(users) > 0 {
				return &walletctl.Error{Code: walletctl.CodeAlreadyExists,
					Message: fmt.Sprintf("the wallet database already holds a wallet (%d users)", len(users)),
					Hint:    "open it from the home that created it, or empty it with: walletctl sandbox init --force"}
			}
		}
		if r != nil {
			if err := r.Reset(ctx); err != nil {
				return fmt.Errorf("empty the wallet database: %w", err)
			}
		}
	}
	s.closeBackends()
	home := s.opts.Home
	// The old files are moved aside, not removed, until the new sandbox is written: a failure on
	// the way (a full disk, say) puts them back, so a failed init or reset changes nothing.
	old, err := setAside(home, []string{WalletFile, WalletFile + "-wal", WalletFile + "-shm", BankFile, BankFile + "-wal", BankFile + "-shm", LegacyBankFile, MetaFile})
	if err != nil {
		return err
	}
	if err := s.write(ctx, io, bank); err != nil {
		return errors.Join(err, old.restore())
	}
	old.drop()
	return nil
}

// write creates the files of a new sandbox in the home, whose old files are set aside.
func (s *Sandbox) write(ctx context.Context, io InitOptions, bank BankRef) error {
	home := s.opts.Home
	if io.Seed == 0 {
		io.Seed = DefaultSeed
	}
	if io.Customers <= 0 {
		io.Customers = DefaultCustomers
	}
	settings := walletctl.SandboxSettings() // fake passwords: the cheap hash keeps commands fast
	if io.Settings != nil {
		settings = *io.Settings
	}
	meta := Meta{FormatVersion: FormatVersion, Seed: io.Seed, Customers: io.Customers, Clock: vclock.DefaultEpoch, Settings: settings,
		Durability: DurabilityFull}
	switch io.Clock {
	case "", ClockVirtual:
	case ClockReal:
		if s.opts.BankURL != "" || s.opts.ClockFromBank {
			return &walletctl.Error{Code: walletctl.CodeInvalidArgument, Message: "a real clock needs the sandbox's own in-process bank",
				Hint: "a bank server keeps a virtual clock of its own: drop --bank (or the tenant's bank_url), or keep the virtual clock"}
		}
		meta.ClockMode, meta.Clock = ClockReal, s.wall().In(vclock.Shanghai).Round(0)
	default:
		return walletctl.Errorf(walletctl.CodeInvalidArgument, "unknown clock %q: virtual or real", io.Clock)
	}
	if s.opts.Throwaway {
		meta.Durability = DurabilityNone
	}
	meta.Bank = bank
	key, err := walletctl.NewSecretKey()
	if err != nil {
		return err
	}
	meta.SecretKey = key
	if s.opts.BankURL == "" {
		cfg := bankConfig(meta, vclock.NewManual(meta.Clock))
		cfg.Path, cfg.Create, cfg.NoSync = filepath.Join(home, BankFile), true, meta.throwaway()
		eng, err := bankmock.Open(cfg)
		if err != nil {
			return fmt.Errorf("create the bank: %w", err)
		}
		if err := eng.Close(); err != nil {
			return fmt.Errorf("create the bank: %w", err)
		}
	}
	if err := s.load(meta); err != nil {
		return err
	}
	if s.store != nil {
		// wallet.db exists from the start, so that a missing one is known to be damage.
		if _, err := s.store.get(); err != nil {
			return err
		}
	}
	// sandbox.json last: until it is written, the home holds no sandbox.
	return writeMeta(home, meta)
}

// asideFiles are a home's files moved into a folder of their own while they are replaced.
type asideFiles struct {
	home, dir string
	all       []string // the names set aside, whether they existed or not
	moved     []string // those that existed
}

// setAside moves the files that exist among names into a new folder inside home (a rename each:
// nothing is copied). If one cannot be moved, those already moved are put back.
func setAside(home string, names []string) (*asideFiles, error) {
	dir, err := os.MkdirTemp(home, ".replaced-")
	if err != nil {
		return nil, fmt.Errorf("set the old sandbox aside: %w", err)
	}
	a := &asideFiles{home: home, dir: dir, all: names}
	for _, name := range names {
		err := os.Rename(filepath.Join(home, name), filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("set the old %s aside: %w", name, err), a.putBack())
		}
		a.moved = append(a.moved, name)
	}
	return a, nil
}

// restore removes what was written since setAside and puts the old files back.
func (a *asideFiles) restore() error {
	var errs []error
	for _, name := range a.all {
		if err := os.Remove(filepath.Join(a.home, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, a.putBack())...)
}

func (a *asideFiles) putBack() error {
	var errs []error
	for _, name := range a.moved {
		if err := os.Rename(filepath.Join(a.dir, name), filepath.Join(a.home, name)); err != nil {
			errs = append(errs, fmt.Errorf("put the old %s back (it is in %s): %w", name, a.dir, err))
		}
	}
	if len(errs) == 0 {
		os.Remove(a.dir)
	}
	return errors.Join(errs...)
}

// drop removes the old files for good.
func (a *asideFiles) drop() { os.RemoveAll(a.dir) }

func bankConfig(meta Meta, clock vclock.Clock) bankmock.Config {
	return bankmock.Config{
		Seed:      meta.Seed,
		Customers: meta.Customers,
		Clock:     clock,
		// In-process the bank's delays are virtual: a command never sleeps for real.
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
}

// load opens the wallet store and builds the engine; the in-process bank stays on disk until used.
func (s *Sandbox) load(meta Meta) error {
	if meta.FormatVersion > FormatVersion {
		return &walletctl.Error{Code: walletctl.CodeConflict,
			Message: fmt.Sprintf("sandbox format %d is newer than this walletctl understands (%d)", meta.FormatVersion, FormatVersion),
			Hint:    "upgrade walletctl, or start a new sandbox in another --home"}
	}
	s.meta = meta
	if meta.ClockMode == ClockReal {
		s.clock = vclock.NewOffset(s.wall, meta.ClockOffset)
	} else {
		s.clock = vclock.NewManual(meta.Clock)
	}
	var api bankapi.API
	var admin bankapi.Admin
	if s.opts.BankURL == "" {
		s.local = &lazyBank{path: filepath.Join(s.opts.Home, BankFile), legacy: filepath.Join(s.opts.Home, LegacyBankFile), meta: meta, clock: s.clock,
			readOnly: s.readOnly, quiet: s.looking}
		api, admin = s.local, s.local
	} else {
		token := s.opts.BankToken
		if s.opts.PartnerOnly {
			token = ""
		}
		s.remote = client.New(s.opts.BankURL, client.Options{Timeout: s.bankTimeout(), AdminToken: token,
			PartnerKey: meta.Bank.PartnerKey})
		api, admin = s.remote, s.remote
	}
	mode := sqlite.SyncFull
	if meta.throwaway() {
		mode = sqlite.SyncOff
	}
	key, err := s.secretKey()
	if err != nil {
		return err
	}
	store := &lazyStore{path: filepath.Join(s.opts.Home, WalletFile), sync: mode, key: key, readOnly: s.readOnly}
	var st walletctl.Store = store
	if s.opts.Store != nil {
		st, store = s.opts.Store, nil // the caller's, so never closed here
	}
	svc, err := engine.New(engine.Config{
		Store:     st,
		Bank:      bankadapter.New(api),
		Identity:  bankadapter.NewRegistry(admin),
		Clock:     s.clock,
		Settings:  meta.Settings,
		SecretKey: key,
		Deliverer: s.deliverer(),
		RealClock: s.opts.Wall, // leases of notification tries, a listener's forward
	})
	if err != nil {
		return fmt.Errorf("start wallet engine: %w", err)
	}
	s.store, s.svc = store, svc
	return nil
}

// secretKey is the wallet's key: the store's own when it keeps one (PostgreSQL: every server of a
// tenant must hash alike, see postgres.Store.SecretKey), else sandbox.json's, made and saved now
// for a home created before homes had one.
func (s *Sandbox) secretKey() ([]byte, error) {
	if ks, ok := s.opts.Store.(interface{ SecretKey() []byte }); ok {
		return ks.SecretKey(), nil
	}
	if walletctl.SecretKey(s.meta.SecretKey).Valid() {
		return s.meta.SecretKey, nil
	}
	key, err := walletctl.NewSecretKey()
	if err != nil || s.looking {
		return key, err // a look hashes nothing: a key of its own, never saved
	}
	m := s.meta
	m.SecretKey = key
	if err := writeMeta(s.opts.Home, m); err != nil {
		return nil, fmt.Errorf("save the new secret key: %w", err)
	}
	s.meta.SecretKey = key
	return key, nil
}

// HomeSecretKey is the secret key of the sandbox in home, for a caller that opens the home's
// wallet.db itself (Options.Store) and must give sqlite the key that converts an older database.
// Like Open, it makes and saves one for an older home; the caller must have the home to itself.
func HomeSecretKey(home string) ([]byte, error) {
	m, err := readMeta(home)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{opts: Options{Home: home}, meta: m}
	return s.secretKey()
}

// Home is the sandbox folder.
func (s *Sandbox) Home() string { return s.opts.Home }

// Meta returns sandbox.json as loaded (with the clock as it is now).
func (s *Sandbox) Meta() Meta {
	m := s.meta
	m.Clock = s.clock.Now()
	return m
}

// Options are the options the sandbox was opened with.
func (s *Sandbox) Options() Options { return s.opts }

// BankRef is the bank this home uses and, for a bank server, who the home is there.
func (s *Sandbox) BankRef() BankRef { return s.meta.Bank }

// Remote reports whether the bank is a remote server.
func (s *Sandbox) Remote() bool { return s.remote != nil }

// Service is the wallet.
func (s *Sandbox) Service() walletctl.Service { return s.svc }

// Bank is the bank's admin API: the in-process engine (restored on first use) or the server.
func (s *Sandbox) Bank() interface {
	bankapi.API
	bankapi.Admin
} {
	if s.remote != nil {
		return s.remote
	}
	return s.local
}

// Advance moves the virtual clock (running the wallet's due work) and, with a remote bank, the
// bank's clock too; the in-process bank shares the wallet's clock.
//
// A failed advance leaves the wallet's clock where it was (Close would save a moved one): the
// remote bank moves first, so that a bank that refuses changes nothing, and the wallet's clock is
// put back if its due work fails (that work is one transaction, so nothing of it was recorded).
func (s *Sandbox) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	before := s.clock.Now()
	if s.remote != nil && d > 0 {
		if _, err := s.remote.Advance(ctx, d); err != nil {
			if we, ok := bankadapter.AdminError(err); ok {
				we.Message = "advancing this home's clock at its bank: " + we.Message
				return before, we
			}
			return before, fmt.Errorf("advance the remote bank's clock: %w", err)
		}
	}
	now, err := s.svc.Advance(ctx, d)
	if err != nil {
		s.clock.Set(before)
		return before, err
	}
	return now, nil
}

// Save writes what is not yet on disk: the virtual clock, if it moved (sandbox.json). The wallet
// and the bank commit their own changes as they go, so a sandbox kept open across requests
// (walletctl serve) is as durable as one opened per command once Save has run after each request.
func (s *Sandbox) Save() error {
	m, moved := s.clockMeta()
	if !moved {
		return nil
	}
	if err := writeMeta(s.opts.Home, m); err != nil {
		return err
	}
	s.meta = m
	return nil
}

// clockMeta is sandbox.json with the clock as it stands, and whether it moved since it was read
// or saved: a virtual clock that was advanced, a real clock whose offset was (the wall's own
// running is not a change).
func (s *Sandbox) clockMeta() (Meta, bool) {
	m := s.meta
	if s.clock == nil {
		return m, false
	}
	if off, ok := s.clock.(*vclock.Offset); ok {
		if off.Offset() == m.ClockOffset {
			return m, false
		}
		m.ClockOffset, m.Clock = off.Offset(), off.Now()
		return m, true
	}
	if now := s.clock.Now(); !now.Equal(m.Clock) {
		m.Clock = now
		return m, true
	}
	return m, false
}

// wall is the real time of a real-clock sandbox.
func (s *Sandbox) wall() time.Time {
	if s.opts.Wall != nil {
		return s.opts.Wall()
	}
	return time.Now()
}

// RealClock reports whether the sandbox's clock is real time (plus an offset).
func (s *Sandbox) RealClock() bool { return s.meta.ClockMode == ClockReal }

// Close saves what changed (the bank if touched, the clock if moved), closes the database and
// releases the lock. It is safe on a nil or already closed sandbox.
func (s *Sandbox) Close(ctx context.Context) error {
	if s == nil || s.lock == nil && s.svc == nil {
		return nil
	}
	var errs []error
	if m, moved := s.clockMeta(); s.lock != nil && moved {
		errs = append(errs, writeMeta(s.opts.Home, m))
	}
	s.closeBackends()
	s.unlock()
	return errors.Join(errs...)
}

// Settle closes the sandbox after delivering the notification tries that are due, with the home
// already released (DESIGN.md section 11): the clock is saved, the bank closed and the lock let
// go first, so that a receiver that takes its 5 s holds up no other command on the home; only
// the wallet database stays open for the deliveries (other processes share it safely: each try
// is leased in its row). What a delivery fails on stays due for the next command.
func (s *Sandbox) Settle(ctx context.Context) error {
	if s == nil || s.lock == nil {
		return nil
	}
	var err error
	if m, moved := s.clockMeta(); moved {
		if err = writeMeta(s.opts.Home, m); err == nil {
			s.meta = m
		}
	}
	if s.local != nil {
		s.local.close()
		s.local = nil
	}
	s.unlock()
	if err == nil && s.svc != nil && !s.readOnly {
		// A failed try is the notification's own (its attempt says why) and the rest stays due:
		// neither changes the answer of the command that ran.
		s.svc.DeliverNotifications(context.WithoutCancel(ctx))
	}
	s.closeBackends()
	return err
}

func (s *Sandbox) closeBackends() {
	if s.store != nil {
		s.store.close()
	}
	if s.local != nil {
		s.local.close()
	}
	s.store, s.svc, s.local, s.remote = nil, nil, nil, nil
}

func (s *Sandbox) unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

func readMeta(home string) (Meta, error) {
	b, err := os.ReadFile(filepath.Join(home, MetaFile))
	if err != nil {
		return Meta{}, err
	}
	// Start from the defaults so that settings added after the sandbox was made get their default.
	m := Meta{Settings: walletctl.SandboxSettings()}
	if err := json.Unmarshal(b, &m); err != nil {
		// Damaged like any other file of the home (not a conflict with another operation).
		return Meta{}, damaged(filepath.Join(home, MetaFile), "it is not the sandbox's settings (not valid JSON: "+err.Error()+")", err)
	}
	return m, nil
}

func writeMeta(home string, m Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(home, MetaFile), append(b, '\n'), !m.throwaway())
}

// writeAtomic writes path whole or not at all (atomicfile), 0600, naming the file in its error.
func writeAtomic(path string, data []byte, durable bool) error {
	if err := atomicfile.Write(path, data, 0o600, durable); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// lazyStore opens the wallet database on first use, so that commands that only talk to the bank
// (bank otp, bank fault, ...) never pay for opening SQLite. The engine only reaches the store
// through Update and View, from the command's goroutines.
type lazyStore struct {
	path string
	sync sqlite.Sync
	key  []byte // converts a database of an older walletctl (sqlite.Options.SecretKey)
	// readOnly opens wallet.db for reading only (a read-only home).
	readOnly bool

	mu  sync.Mutex
	st  *sqlite.Store
	err error
}

var _ walletctl.Store = (*lazyStore)(nil)

func (l *lazyStore) get() (*sqlite.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st == nil && l.err == nil {
		l.st, l.err = sqlite.OpenWith(l.path, sqlite.Options{Sync: l.sync, SecretKey: l.key, ReadOnly: l.readOnly})
		if l.err != nil {
			l.err = fmt.Errorf("open wallet database: %w", l.err)
		}
	}
	return l.st, l.err
}

func (l *lazyStore) Update(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	st, err := l.get()
	if err != nil {
		return err
	}
	return st.Update(ctx, fn)
}

func (l *lazyStore) View(ctx context.Context, fn func(walletctl.StoreTx) error) error {
	st, err := l.get()
	if err != nil {
		return err
	}
	return st.View(ctx, fn)
}

func (l *lazyStore) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st == nil {
		return nil
	}
	err := l.st.Close()
	l.st, l.err = nil, errors.New("sandbox closed")
	return err
}

// deliverer is the sender of merchant notifications: the caller's, or HTTP with v3's 5 s
// timeout through the fence, which also refuses the remote bank: a notify_url naming the bank's
// admin routes would otherwise be sent from inside the bank's trust.
func (s *Sandbox) deliverer() walletctl.Deliverer {
	if s.opts.Deliverer != nil {
		return s.opts.Deliverer
	}
	return &notify.Sender{Fence: s.opts.NotifyFence.WithURL("the tenant's bank", s.opts.BankURL)}
}
