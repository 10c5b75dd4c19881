// Package tenant is the tenants of one `walletctl serve` data folder: tenants.json (the list, with
// only a hash of each API key), one sandbox home per tenant in tenants/<id>/, and a lock per tenant
// that serialises its requests as the sandbox's file lock serialises CLI commands. It implements
// httpapi.Tenants on top of walletctl/sandbox, so that the HTTP layer never sees a sandbox, a
// store or a mock bank.
package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/walletctl/walletctl/internal/atomicfile"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/notify"
	"github.com/walletctl/walletctl/walletctl/postgres"
	"github.com/walletctl/walletctl/walletctl/sandbox"
)

// File is the list of tenants inside the data folder; each tenant's sandbox is tenants/<id>/.
const File = "tenants.json"

// MaxCustomers bounds a tenant's generated bank customers, as sandbox init does.
const MaxCustomers = 100000

// Options configure a Set.
type Options struct {
	// Data is the folder holding tenants.json and one sandbox folder per tenant; required.
	Data string
	// KeepOpen keeps every tenant's sandbox open (and its home locked) for the set's life, and
	// saves its clock after each request: as durable as reopening it per request, since the
	// wallet's database and the in-process bank (bank.db) commit every operation before they
	// answer, and far cheaper (walletctl serve's default). Off, every request opens the tenant's
	// sandbox around its open database and closes it, exactly as one CLI command does.
	KeepOpen bool
	// Throwaway makes tenants created from now on skip fsync (tests, benchmarks).
	Throwaway bool
	// Settings are the wallet rules of tenants created from now on (nil = the sandbox defaults),
	// which a TenantSpec's settings change for its tenant; each tenant's sandbox.json records its
	// own.
	Settings *walletctl.Settings
	// Store, when set (postgres://user@host:port/db), keeps each tenant's wallet in the PostgreSQL
	// schema SchemaPrefix+id instead of wallet.db in its folder, so that several servers (each
	// with its own Data folder holding the same tenants: same API keys, created in the same order
	// or with --tenant-key) serve one tenant together. Its tenants need a shared bank (bank_url),
	// follow that bank's clock, and KeepOpen is refused. Creating a tenant empties its schema
	// unless TenantSpec.Join; deleting it drops the schema.
	Store string
	// SchemaPrefix prefixes the tenants' schemas (default "tenant_").
	SchemaPrefix string
	// BankToken is the admin token of the shared banks tenants name in bank_url (registering a
	// tenant as a partner, the identity registry, the clock); never handed to a tenant.
	BankToken string
	// BankMaxBodyBytes limits request bodies to a tenant's bank under /v1/bank/ (default 1 MiB).
	BankMaxBodyBytes int64
	// BankTimeout bounds each call of a tenant's wallet to a shared bank (default 5s, as the CLI).
	BankTimeout time.Duration
	// NotifyFence is what the tenants' notification senders may connect to: the operator's
	// ranges and the server's own listening addresses (each tenant adds its bank).
	NotifyFence notify.Fence
	// Now stamps tenant creation and is the wall of real-clock tenants (default time.Now); Rand
	// generates API keys (default crypto/rand).
	Now  func() time.Time
	Rand io.Reader
	// Clock is the clock of tenants created without one: sandbox.ClockVirtual ("") or
	// sandbox.ClockReal (walletctl serve --clock real).
	Clock string
	// After waits on the wall for a real-clock tenant's next due work (default time.After);
	// tests pass their own.
	After func(d time.Duration) <-chan time.Time
}

// tenantRecord is one entry of tenants.json: only the key's SHA-256 is kept, so that the file
// never holds a usable secret.
type tenantRecord struct {
	walletctl.TenantInfo
	KeySHA256 string `json:"key_sha256"`
}

type tenantsFile struct {
	Next    int            `json:"next"`
	Tenants []tenantRecord `json:"tenants"`
}

// tenant is one tenant and the mutex that serialises its requests, as the sandbox's file lock
// serialises CLI commands. With KeepOpen its sandbox stays open (and locked) for the server's
// life; else every request opens it and writes it back, exactly as one CLI command does.
type tenant struct {
	rec tenantRecord
	key [32]byte
	// keys are its v3 credentials, read without mu (v3Keys).
	keys *v3Keys

	mu      sync.Mutex
	deleted bool
	sb      *sandbox.Sandbox // KeepOpen only
	// store is the tenant's wallet database (SQLite in its folder, or its PostgreSQL schema),
	// opened on first use and kept open across requests (each commit is durable in it): a request
	// reopens the sandbox around it, not the database.
	store tenantStore

	// sender sends its notifications (one HTTP client for the tenant's life).
	sender walletctl.Deliverer
	// w drives the tenant's due work (worker.go), started on first use.
	workerOnce sync.Once
	w          *worker

	// events is the tenant's event hub (events.go), made on first use.
	hubOnce sync.Once
	events  *hub
}

type tenantStore = sandbox.Store

// tenantService is the sandbox's wallet with Advance moving a remote bank's clock too, as
// `walletctl clock advance` does.
type tenantService struct {
	walletctl.Service
	sb   *sandbox.Sandbox
	keys *v3Keys
}

// CreateMerchant tells the tenant's v3 credentials of the new merchant, so that its first signed
// request is checked at once rather than after a reread of the merchant list.
func (t tenantService) CreateMerchant(ctx context.Context, spec walletctl.MerchantSpec) (*walletctl.Merchant, error) {
	m, err := t.Service.CreateMerchant(ctx, spec)
	if err == nil && t.keys != nil {
		t.keys.added(m.ID)
	}
	return m, err
}

func (t tenantService) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	return t.sb.Advance(ctx, d)
}

// Platform is the wallet's v3 platform identity (walletctl.PlatformService), for the tenant's
// v3 API.
func (t tenantService) Platform(ctx context.Context) (*walletctl.Platform, error) {
	if p, ok := t.Service.(walletctl.PlatformService); ok {
		return p.Platform(ctx)
	}
	return nil, walletctl.Errorf(walletctl.CodeInternal, "this wallet has no v3 platform identity")
}

// Set is the tenants of one data folder. It implements httpapi.Tenants.
type Set struct {
	dir       string
	keepOpen  bool
	throwaway bool
	settings  *walletctl.Settings
	now       func() time.Time
	rand      io.Reader
	bankMax   int64
	bankTime  time.Duration
	bankToken string
	// notifyFence is Options.NotifyFence.
	notifyFence notify.Fence
	// storeDSN, when set, puts each tenant's wallet in the PostgreSQL schema schemaPrefix+id.
	storeDSN     string
	schemaPrefix string

	mu   sync.RWMutex
	next int
	byID map[string]*tenant

	// The tenants' workers (worker.go): ctx ends them (Close), wg waits for them and their tries;
	// owner names this server in the leases of the tries it claims; slots bounds its tries in
	// flight.
	clock string
	after func(time.Duration) <-chan time.Time

	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
	owner string
	slots chan struct{}
}

// Open reads the tenants of opts.Data (creating the folder if needed); with KeepOpen it opens
// every tenant's sandbox now. Close it when done.
func Open(ctx context.Context, opts Options) (*Set, error) {
	if opts.Data == "" {
		return nil, errors.New("tenant: Options.Data is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.SchemaPrefix == "" {
		opts.SchemaPrefix = "tenant_"
	}
	if opts.BankMaxBodyBytes <= 0 {
		opts.BankMaxBodyBytes = 1 << 20
	}
	if opts.Store != "" && opts.KeepOpen {
		// An open sandbox would keep its own clock while other servers move the bank's.
		return nil, walletctl.Errorf(walletctl.CodeInvalidArgument,
			"--keep-open cannot be used with a PostgreSQL store: a tenant shared by several servers is reopened per request")
	}
	dir := opts.Data
	if err := os.MkdirAll(filepath.Join(dir, "tenants"), 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	ts := &Set{dir: dir, bankTime: opts.BankTimeout, keepOpen: opts.KeepOpen, throwaway: opts.Throwaway, settings: opts.Settings, now: opts.Now,
		rand: opts.Rand, bankMax: opts.BankMaxBodyBytes, bankToken: opts.BankToken, storeDSN: opts.Store, schemaPrefix: opts.SchemaPrefix,
		next: 1, byID: map[string]*tenant{}, notifyFence: opts.NotifyFence, owner: newOwner(), slots: make(chan struct{}, maxInFlight),
		clock: opts.Clock, after: opts.After}
	if ts.after == nil {
		ts.after = time.After
	}
	ts.ctx, ts.stop = context.WithCancel(context.Background())
	b, err := os.ReadFile(filepath.Join(dir, File))
	if errors.Is(err, os.ErrNotExist) {
		return ts, nil
	}
	if err != nil {
		return nil, err
	}
	var f tenantsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", filepath.Join(dir, File), err)
	}
	ts.next = max(f.Next, 1)
	for _, rec := range f.Tenants {
		t := &tenant{rec: rec, sender: ts.sender(rec)}
		t.keys = newV3Keys(ts, t)
		k, err := hex.DecodeString(rec.KeySHA256)
		if err != nil || len(k) != 32 {
			ts.Close(ctx)
			return nil, fmt.Errorf("tenant %s: bad key hash in %s", rec.ID, File)
		}
		copy(t.key[:], k)
		if !sandbox.Exists(ts.sandboxOptions(rec).Home) {
			ts.Close(ctx)
			return nil, fmt.Errorf("tenant %s: no sandbox in %s", rec.ID, ts.sandboxOptions(rec).Home)
		}
		if ts.keepOpen {
			// A sandbox held by another process would block forever: say so instead.
			octx, cancel := context.WithTimeout(ctx, 5*time.Second)
			sb, _, err := sandbox.Open(octx, ts.tenantOptions(t), false)
			cancel()
			if err != nil {
				ts.Close(ctx)
				return nil, fmt.Errorf("open tenant %s (is another walletctl serve using %s with --keep-open?): %w", rec.ID, dir, err)
			}
			t.sb = sb
		}
		ts.byID[rec.ID] = t
	}
	// What was due when the server stopped (or another died holding it) is sent without waiting
	// for a request.
	for _, t := range ts.byID {
		ts.worker(t).poke()
	}
	return ts, nil
}

func (ts *Set) sandboxOptions(rec tenantRecord) sandbox.Options {
	// On PostgreSQL the tenant may be served by several servers: its clock is the shared bank's.
	return sandbox.Options{Home: filepath.Join(ts.dir, "tenants", rec.ID), BankURL: rec.BankURL, BankToken: ts.bankToken, Throwaway: ts.throwaway,
		ClockFromBank: ts.storeDSN != "", PartnerOnly: true, BankTimeout: ts.bankTime, NotifyFence: ts.notifyFence, Wall: ts.now}
}

// tenantOptions are a tenant's sandbox options, with its own notification sender.
func (ts *Set) tenantOptions(t *tenant) sandbox.Options {
	o := ts.sandboxOptions(t.rec)
	o.Deliverer = t.sender
	return o
}

// sender is a tenant's notification sender, made once: its HTTP client keeps its connections
// across requests (a sandbox opened per request would otherwise dial anew for every try). It
// refuses the tenant's bank as every sandbox's sender does.
func (ts *Set) sender(rec tenantRecord) walletctl.Deliverer {
	return &notify.Sender{Fence: ts.notifyFence.WithURL("the tenant's bank", rec.BankURL)}
}

// Schema is the PostgreSQL schema of tenant id's wallet.
func (ts *Set) Schema(id string) string { return ts.schemaPrefix + id }

// openStore opens a tenant's wallet database: its PostgreSQL schema, or wallet.db in its folder.
func (ts *Set) openStore(ctx context.Context, rec tenantRecord) (tenantStore, error) {
	st, err := sandbox.OpenStore(ctx, sandbox.StoreSpec{Home: ts.sandboxOptions(rec).Home, DSN: ts.storeDSN,
		Schema: ts.Schema(rec.ID), Throwaway: ts.throwaway})
	if err != nil {
		return nil, fmt.Errorf("open tenant %s's wallet database: %w", rec.ID, err)
	}
	return st, nil
}

func hashKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// lookup finds the tenant of an API key, comparing in constant time.
func (ts *Set) lookup(key string) *tenant {
	if key == "" {
		return nil
	}
	h := hashKey(key)
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	var found *tenant
	for _, t := range ts.byID {
		if subtle.ConstantTimeCompare(h[:], t.key[:]) == 1 {
			found = t
		}
	}
	return found
}

// Create makes a tenant with a fresh sandbox and persists the list.
func (ts *Set) Create(ctx context.Context, spec walletctl.TenantSpec) (*walletctl.CreatedTenant, error) {
	if spec.Customers < 0 || spec.Customers > MaxCustomers {
		return nil, walletctl.Errorf(walletctl.CodeInvalidArgument, "customers must be 0..%d", MaxCustomers)
	}
	// Shown in the tenant list and the server's log.
	if err := walletctl.CheckText("name", spec.Name); err != nil {
		return nil, err
	}
	// Checked before anything is made: a refused spec leaves no tenant, folder or id behind.
	settings := walletctl.SandboxSettings()
	if ts.settings != nil {
		settings = *ts.settings
	}
	settings, err := spec.ApplySettings(settings)
	if err != nil {
		return nil, err
	}
	if spec.Customers == 0 {
		spec.Customers = sandbox.DefaultCustomers
	}
	if spec.Clock == "" {
		spec.Clock = ts.clock
	}
	if spec.Clock == sandbox.ClockVirtual {
		spec.Clock = ""
	}
	if spec.Seed == 0 {
		spec.Seed = sandbox.DefaultSeed
	}
	if ts.storeDSN != "" && spec.BankURL == "" {
		// Each server process would hold its own in-process bank and they would diverge.
		return nil, walletctl.Errorf(walletctl.CodeInvalidArgument,
			"a tenant on a PostgreSQL store needs a shared bank: set bank_url (serve --tenant-bank URL) to a bankmock server")
	}
	if ts.storeDSN != "" && spec.BankKey == "" {
		// Every server registering its own partner would split the tenant's bank records.
		return nil, &walletctl.Error{Code: walletctl.CodeInvalidArgument,
			Message: "a tenant on a PostgreSQL store needs bank_key: the servers that serve it together must be one partner of the bank",
			Hint:    "issue a key once (bankmock partner create --url BANK) and give it to every server: serve --tenant-bank-key KEY, or bank_key in POST /admin/tenants"}
	}
	key := spec.APIKey
	if key == "" {
		var b [24]byte
		if _, err := io.ReadFull(ts.rand, b[:]); err != nil {
			return nil, fmt.Errorf("generate an API key: %w", err)
		}
		key = "wk_" + hex.EncodeToString(b[:])
	} else if len(key) < 16 {
		return nil, walletctl.Errorf(walletctl.CodeInvalidArgument, "an API key needs at least 16 characters")
	}
	if ts.lookup(key) != nil {
		return nil, walletctl.Errorf(walletctl.CodeAlreadyExists, "another tenant has this API key")
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	id := "t" + strconv.Itoa(ts.next)
	if spec.Name == "" {
		spec.Name = id
	}
	rec := tenantRecord{TenantInfo: walletctl.TenantInfo{ID: id, Name: spec.Name, Seed: spec.Seed, Customers: spec.Customers,
		BankURL: spec.BankURL, Clock: spec.Clock, CreatedAt: ts.now().Truncate(time.Second).In(vclock.Shanghai)}} // RFC 3339 +08:00 to the second, like every wallet time
	t := &tenant{rec: rec, key: hashKey(key), sender: ts.sender(rec)}
	t.keys = newV3Keys(ts, t)
	rec.KeySHA256 = hex.EncodeToString(t.key[:])
	t.rec = rec
	opts := ts.tenantOptions(t)
	opts.BankKey = spec.BankKey
	if ts.storeDSN != "" {
		st, err := ts.openStore(ctx, rec)
		if err != nil {
			return nil, err
		}
		t.store, opts.Store = st, st
	}
	sb, err := sandbox.Init(ctx, opts, sandbox.InitOptions{Seed: spec.Seed, Customers: spec.Customers, Force: true,
		Settings: &settings, KeepStore: spec.Join, Clock: spec.Clock})
	if err != nil {
		t.closeLocked(ctx)
		return nil, err
	}
	if ts.keepOpen {
		t.sb = sb
	} else if err := sb.Close(ctx); err != nil {
		return nil, err
	}
	ts.next++
	ts.byID[id] = t
	if err := ts.saveLocked(); err != nil {
		delete(ts.byID, id)
		t.closeLocked(ctx)
		return nil, err
	}
	return &walletctl.CreatedTenant{TenantInfo: rec.TenantInfo, APIKey: key}, nil
}

// List returns the tenants by id order.
func (ts *Set) List() []walletctl.TenantInfo {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	out := make([]walletctl.TenantInfo, 0, len(ts.byID))
	for _, t := range ts.byID {
		out = append(out, t.rec.TenantInfo)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i].ID[1:])
		b, _ := strconv.Atoi(out[j].ID[1:])
		return a < b
	})
	return out
}

// Delete removes a tenant and its sandbox folder, after its in-flight requests finish.
func (ts *Set) Delete(ctx context.Context, id string) error {
	ts.mu.Lock()
	t, ok := ts.byID[id]
	if !ok {
		ts.mu.Unlock()
		return walletctl.Errorf(walletctl.CodeNotFound, "no tenant %q", id)
	}
	delete(ts.byID, id)
	err := ts.saveLocked()
	ts.mu.Unlock()
	if err != nil {
		return err
	}
	t.hub().close() // its streams end; a reconnect finds no tenant
	t.mu.Lock()
	defer t.mu.Unlock()
	t.deleted = true
	var errs []error
	if ts.storeDSN != "" {
		// Its schema goes with it (for every server sharing the database).
		if t.store == nil {
			t.store, err = ts.openStore(ctx, t.rec)
			errs = append(errs, err)
		}
		if pg, ok := t.store.(*postgres.Store); ok {
			errs = append(errs, pg.DropSchema(ctx))
		}
	}
	errs = append(errs, t.closeLocked(ctx), os.RemoveAll(filepath.Join(ts.dir, "tenants", id)))
	return errors.Join(errs...)
}

func (ts *Set) saveLocked() error {
	f := tenantsFile{Next: ts.next, Tenants: []tenantRecord{}}
	for _, t := range ts.byID {
		f.Tenants = append(f.Tenants, t.rec)
	}
	// In the order they were made: by time (to the second), then by id (t2 before t10).
	sort.Slice(f.Tenants, func(i, j int) bool {
		a, b := f.Tenants[i], f.Tenants[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return len(a.ID) < len(b.ID) || (len(a.ID) == len(b.ID) && a.ID < b.ID)
	})
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(ts.dir, File), append(b, '\n'), 0o600, true)
}

// Close saves and closes every tenant's sandbox (the in-process bank and the clock are written
// back here), waiting for each one's in-flight request.
func (ts *Set) Close(ctx context.Context) error {
	// The workers first: a try in flight is abandoned (its lease runs out; it is due again).
	ts.stop()
	ts.wg.Wait()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var errs []error
	for _, t := range ts.byID {
		t.hub().close() // open event streams end instead of holding the server up
		t.mu.Lock()
		errs = append(errs, t.closeLocked(ctx))
		t.mu.Unlock()
	}
	return errors.Join(errs...)
}

// closeLocked saves and closes what the tenant holds open.
func (t *tenant) closeLocked(ctx context.Context) error {
	var errs []error
	if t.sb != nil {
		errs = append(errs, t.sb.Close(ctx))
		t.sb = nil
	}
	if t.store != nil {
		errs = append(errs, t.store.Close())
		t.store = nil
	}
	return errors.Join(errs...)
}

// Serve runs fn for the tenant whose API key is apiKey, under that tenant's lock, with the
// tenant's wallet and its bank (sandbox.BankHandler: full rights on a private in-process bank,
// the tenant's own partner and nothing more at a shared one). Without KeepOpen the tenant's
// sandbox is opened for this call and saved after it, exactly as one CLI command does.
//
// id is "" when no tenant has this key (fn is not called); ok is false when the key's tenant was
// deleted while the call waited for its lock (fn is not called). err is a failure to open or save
// the tenant: whatever fn answered must then be dropped.
func (ts *Set) Serve(ctx context.Context, apiKey string, fn func(svc walletctl.Service, bank http.Handler)) (id string, ok bool, err error) {
	t := ts.lookup(apiKey)
	if t == nil {
		return "", false, nil
	}
	ok, err = ts.use(ctx, t, func(sb *sandbox.Sandbox) {
		fn(tenantService{sb.Service(), sb, t.keys}, sb.BankHandler(sandbox.BankHandlerOptions{MaxBodyBytes: ts.bankMax,
			Timeout: 30 * time.Second}))
	})
	ts.worker(t).poke() // what the request made due is sent off its path
	return t.rec.ID, ok, err
}

// ServeID runs fn for the tenant id, under that tenant's lock, like Serve but found by its id:
// for the tenant's v3 API, whose callers authenticate as merchants (their request signatures),
// not with the tenant's API key. svc also implements walletctl.PlatformService. ok is false when
// no tenant has this id or it was deleted while the call waited (fn is not called); err is a
// failure to open or save the tenant (fn's answer must then be dropped).
func (ts *Set) ServeID(ctx context.Context, id string, fn func(svc walletctl.Service)) (ok bool, err error) {
	ts.mu.RLock()
	t := ts.byID[id]
	ts.mu.RUnlock()
	if t == nil {
		return false, nil
	}
	ok, err = ts.use(ctx, t, func(sb *sandbox.Sandbox) { fn(tenantService{sb.Service(), sb, t.keys}) })
	ts.worker(t).poke()
	return ok, err
}

// use runs fn on the tenant's sandbox under the tenant's lock: the open one with KeepOpen, else
// one opened for this call and closed (saved) after it, whose error is returned. ok is false when
// the tenant was deleted.
func (ts *Set) use(ctx context.Context, t *tenant, fn func(sb *sandbox.Sandbox)) (ok bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.deleted {
		return false, nil
	}
	if t.sb != nil {
		// The clock is saved after every request (deferred: a panicking handler too); the wallet
		// and the bank have committed theirs before answering.
		defer func() {
			if serr := t.sb.Save(); err == nil && serr != nil {
				err = serr
			}
		}()
		fn(t.sb)
		return true, nil
	}
	opts := ts.tenantOptions(t)
	if t.store == nil {
		st, err := ts.openStore(ctx, t.rec)
		if err != nil {
			return true, err
		}
		t.store = st
	}
	opts.Store = t.store
	sb, _, err := sandbox.Open(ctx, opts, false)
	if err != nil {
		return true, err
	}
	// Deferred, so that a handler that panics (an aborted connection) still saves and unlocks.
	defer func() {
		if cerr := sb.Close(context.WithoutCancel(ctx)); err == nil && cerr != nil {
			err = cerr
		}
	}()
	fn(sb)
	return true, nil
}

// HasKey reports whether a tenant has this API key.
func (ts *Set) HasKey(key string) bool { return ts.lookup(key) != nil }

// TenantOf is the id of the tenant whose API key is key, "" when none has it. It takes no
// tenant's lock: the server checks a key with it before the request counts against any queue.
func (ts *Set) TenantOf(key string) string {
	if t := ts.lookup(key); t != nil {
		return t.rec.ID
	}
	return ""
}
