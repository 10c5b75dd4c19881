package tenant

import (
	"context"
	"sync"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	"github.com/walletctl/walletctl/walletctl/v3api"
)

// MerchantRefresh is how often at most a tenant rereads its list of v3 merchants under its lock
// when a request names a merchant it does not know (see v3Keys).
const MerchantRefresh = time.Second

// v3Keys is a tenant's v3 credentials (v3api.Keys) as walletctl serve checks request signatures
// with them: outside the tenant's lock, so that a request that is not a merchant's never waits for
// the tenant and never makes the tenant's own requests wait (DESIGN.md section 10).
//
// What it holds cannot go stale while the tenant lives: a merchant's key, certificate serial,
// appid and APIv3 key are derived from the wallet's secret key and the mchid
// (engine.MerchantCredentials), merchants are never deleted, and the platform identity is derived
// from the secret alone. So an entry read once under the tenant's lock is kept for good.
//
// A mchid it does not know is an attacker's cheapest move (a random mchid per request), so a miss
// does not take the tenant's lock: the tenant keeps the ids of its v3 merchants, reread under the
// lock at most once per MerchantRefresh however many requests miss, and a mchid missing from a
// list read after the request arrived is no merchant. A merchant created through this server is
// added at once (tenantService.CreateMerchant); one created elsewhere (another server sharing the
// tenant's PostgreSQL schema) is found by the first reread after its first request arrives. Only
// a merchant on the list costs one more turn of the lock, once, to derive its credentials.
type v3Keys struct {
	ts *Set
	t  *tenant

	mu       sync.Mutex
	platform *walletctl.Platform
	creds    map[string]*walletctl.MerchantCredentials
	known    map[string]bool // the v3 merchants' ids as of the last good reread (nil: none yet)
	readAt   time.Time       // when the last good reread started
	tried    time.Time       // when the last reread started, good or not (spacing)
	running  chan struct{}   // closed when the running reread ends; nil when none runs
	lastErr  error           // the last reread's failure, for those who waited for it
	rereads  int             // how many rereads ran (tests)
}

var _ v3api.Keys = (*v3Keys)(nil)

// V3Keys is tenant id's v3 credentials, usable without the tenant's lock; nil when there is no
// such tenant.
func (ts *Set) V3Keys(id string) v3api.Keys {
	ts.mu.RLock()
	t := ts.byID[id]
	ts.mu.RUnlock()
	if t == nil {
		return nil
	}
	return t.keys
}

func newV3Keys(ts *Set, t *tenant) *v3Keys {
	return &v3Keys{ts: ts, t: t, creds: map[string]*walletctl.MerchantCredentials{}}
}

// Platform is the tenant's v3 platform identity.
func (k *v3Keys) Platform(ctx context.Context) (*walletctl.Platform, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for k.platform == nil {
		if err := k.rereadLocked(ctx); err != nil {
			return nil, err
		}
	}
	return k.platform, nil
}

// MerchantCredentials is merchant mchid's credentials, or NOT_FOUND.
func (k *v3Keys) MerchantCredentials(ctx context.Context, mchid string) (*walletctl.MerchantCredentials, error) {
	k.mu.Lock()
	if c := k.creds[mchid]; c != nil {
		k.mu.Unlock()
		return c, nil
	}
	arrived := time.Now()
	for !k.known[mchid] {
		if k.known != nil && !k.readAt.Before(arrived) {
			k.mu.Unlock()
			return nil, walletctl.Errorf(walletctl.CodeNotFound, "no merchant %q", mchid)
		}
		if err := k.rereadLocked(ctx); err != nil {
			k.mu.Unlock()
			return nil, err
		}
	}
	k.mu.Unlock()
	var creds *walletctl.MerchantCredentials
	err := k.read(ctx, func(svc walletctl.Service) (err error) {
		creds, err = svc.MerchantCredentials(ctx, mchid)
		return err
	})
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		if walletctl.ErrorCode(err) == walletctl.CodeNotFound {
			delete(k.known, mchid) // not a v3 merchant after all: no more turns of the lock for it
		}
		return nil, err
	}
	k.creds[mchid] = creds
	return creds, nil
}

// added records a merchant just created through this server, so that its first request does not
// wait for a reread.
func (k *v3Keys) added(mchid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.known != nil {
		k.known[mchid] = true
	}
}

// rereadLocked rereads the merchant list and the platform identity under the tenant's lock, or
// waits for the reread that is running, or for the time the next one may start. k.mu is held on
// entry and on return, released while waiting. The caller loops on what it needs.
func (k *v3Keys) rereadLocked(ctx context.Context) error {
	if ch := k.running; ch != nil {
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		k.mu.Lock()
		if err := ctx.Err(); err != nil {
			return err
		}
		return k.lastErr
	}
	if wait := time.Until(k.tried.Add(MerchantRefresh)); !k.tried.IsZero() && wait > 0 {
		k.mu.Unlock()
		tm := time.NewTimer(wait)
		select {
		case <-tm.C:
		case <-ctx.Done():
			tm.Stop()
		}
		k.mu.Lock()
		return ctx.Err()
	}
	ch := make(chan struct{})
	start := time.Now()
	k.running, k.tried = ch, start
	k.rereads++
	k.mu.Unlock()
	known := map[string]bool{}
	var platform *walletctl.Platform
	// Not the caller's context: others wait for this reread, and the client that started it may
	// hang up.
	rctx := context.WithoutCancel(ctx)
	err := k.read(rctx, func(svc walletctl.Service) error {
		ms, err := walletctl.All(rctx, svc.Merchants, func(m walletctl.Merchant) string { return m.ID })
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.CreatedAt != nil { // the catalogue's merchants have no v3 credentials
				known[m.ID] = true
			}
		}
		platform, err = svc.(walletctl.PlatformService).Platform(rctx)
		return err
	})
	k.mu.Lock()
	k.running, k.lastErr = nil, err
	close(ch)
	if err != nil {
		return err
	}
	for id := range k.known {
		known[id] = true // merchants are never deleted; one added during the reread stays
	}
	k.known, k.platform, k.readAt = known, platform, start
	return nil
}

// read runs fn on the tenant's wallet under its lock.
func (k *v3Keys) read(ctx context.Context, fn func(svc walletctl.Service) error) error {
	var err error
	ok, uerr := k.ts.use(ctx, k.t, func(sb *sandbox.Sandbox) { err = fn(tenantService{sb.Service(), sb, k}) })
	if uerr != nil {
		return uerr
	}
	if !ok {
		return walletctl.Errorf(walletctl.CodeNotFound, "no tenant %q", k.t.rec.ID)
	}
	return err
}
