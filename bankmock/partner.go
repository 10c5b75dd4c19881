package bankmock

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/walletctl/walletctl/bankapi"
)

// partnerRec is one partner as the bank keeps it. The key itself is never stored: only its
// SHA-256. Secret derives the partner's binding ids and agreement tokens; Issued counts them and,
// like the whole record, survives Reset, so that a token issued after a reset can never equal
// one issued before it.
type partnerRec struct {
	ID        string    `json:"partner_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	KeyHash   string    `json:"key_sha256,omitempty"` // hex; empty for the default partner, which has no key
	Secret    string    `json:"secret"`               // hex, 32 bytes
	Issued    int64     `json:"issued"`               // binding ids and agreement tokens issued so far
	// ClockOffset is how far this partner's own clock is ahead of the bank's (DESIGN section 10:
	// nothing a partner does, its clock included, changes another partner's world). A partner's
	// POST /admin/clock moves only this; its requests' time-dependent rules (OTP expiry, daily
	// limits, transaction and journal times, statements) use the bank's time plus it.
	ClockOffset time.Duration `json:"clock_offset,omitempty"`
}

func (p *partnerRec) public() bankapi.Partner {
	return bankapi.Partner{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt}
}

type partnerCtxKey struct{}

// WithPartner makes the calls made with the returned context act as partner id: the in-process
// equivalent of "Authorization: Bearer <that partner's key>". Protocol calls then use and see
// only that partner's idempotency keys, bindings, agreements and transactions; the helpers
// (Journal, LastOTP, Faults, AddFault, DeleteFault, ClearFaults) answer for its own things only;
// bank-wide admin (customers, the clock's advance, reset, snapshot, partners) is refused with
// UNAUTHORIZED. An id the bank does not know is UNAUTHENTICATED.
//
// Without WithPartner, protocol calls act as bankapi.DefaultPartner and the helpers are
// bank-wide: the rights of the admin token.
func WithPartner(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, partnerCtxKey{}, id)
}

// partnerOf is who ctx acts as, and whether it named a partner (scoped helpers) or not.
func partnerOf(ctx context.Context) (id string, scoped bool) {
	if id, ok := ctx.Value(partnerCtxKey{}).(string); ok {
		return id, true
	}
	return bankapi.DefaultPartner, false
}

// me is the partner a protocol call acts as (checked to exist by run).
func me(ctx context.Context) string {
	id, _ := partnerOf(ctx)
	return id
}

// checkCaller refuses a context naming a partner the bank does not know. Lock held.
func (e *Engine) checkCaller(ctx context.Context) *bankapi.Error {
	id, scoped := partnerOf(ctx)
	if !scoped {
		return nil
	}
	if _, ok := e.st.Partners[id]; !ok {
		return &bankapi.Error{Code: bankapi.CodeUnauthenticated,
			Message: fmt.Sprintf("the bank knows no partner %q; create one with POST /admin/partners (bankmock partner create)", id)}
	}
	return nil
}

// helperScope checks the caller of a partner-level helper and returns whose things it answers
// for: "" (bank-wide) without WithPartner, else the partner's id. Lock held.
func (e *Engine) helperScope(ctx context.Context) (string, *bankapi.Error) {
	if err := e.checkCaller(ctx); err != nil {
		return "", err
	}
	id, scoped := partnerOf(ctx)
	if !scoped {
		return "", nil
	}
	return id, nil
}

// nowFor is the time of ctx's partner: the bank's clock plus that partner's own offset. Lock held.
func (e *Engine) nowFor(ctx context.Context) time.Time {
	if p := e.st.Partners[me(ctx)]; p != nil {
		return e.now().Add(p.ClockOffset)
	}
	return e.now()
}

// bankWide refuses bank-wide administration to a context acting as a partner.
func bankWide(ctx context.Context, what string) error {
	if id, scoped := partnerOf(ctx); scoped {
		return &bankapi.Error{Code: bankapi.CodeUnauthorized,
			Message: fmt.Sprintf("%s is bank-wide administration; partner %q may not do it (it needs the admin token)", what, id)}
	}
	return nil
}

// defaultPartner is the partner of requests without credentials. Its secret comes from the
// world seed, so that a sandbox's binding ids and agreement tokens are deterministic.
func defaultPartner(seed int64, epoch time.Time) *partnerRec {
	h := sha256.New()
	fmt.Fprintf(h, "bankmock default partner secret|%d", seed)
	return &partnerRec{ID: bankapi.DefaultPartner, Name: "default (requests without credentials)", CreatedAt: epoch,
		Secret: hex.EncodeToString(h.Sum(nil))}
}

// issue derives the next binding id or agreement token of partner p for a card: an HMAC of the
// partner's counter and the card under the partner's secret. Unique across the bank (a taken
// value is skipped), unguessable without the secret, and never equal to a token issued before a
// reset (the counter survives it); a token re-issued after a restore of an older state names the
// same card or is different. Lock held.
func (e *Engine) issue(p *partnerRec, kind, card string, taken func(string) bool) string {
	key, _ := hex.DecodeString(p.Secret)
	for {
		p.Issued++
		m := hmac.New(sha256.New, key)
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(p.Issued))
		m.Write([]byte(kind + "|" + p.ID + "|"))
		m.Write(n[:])
		m.Write([]byte("|" + card))
		sum := hex.EncodeToString(m.Sum(nil))
		var id string
		if kind == "binding" {
			id = "b_" + sum[:16]
		} else {
			id = "agr_" + sum[:24]
		}
		if !taken(id) {
			return id
		}
	}
}

// KeyPrefix starts every partner key, so that a leaked one is recognisable (secret scanners).
const KeyPrefix = "bmk_"

func hashKey(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// CreatePartner registers a new partner ("p1", "p2", ...) and returns its credentials: the key is
// shown this once, drawn from Config.Entropy; the bank keeps only its SHA-256. Partners survive
// Reset. Bank-wide admin only.
func (e *Engine) CreatePartner(ctx context.Context, name string) (*bankapi.PartnerCredentials, error) {
	if err := bankWide(ctx, "creating a partner"); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if len([]rune(name)) > 100 {
		return nil, invalid("a partner name is at most 100 characters")
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return nil, invalid("a partner name has no control characters")
	}
	return updated(e, func() (*bankapi.PartnerCredentials, error) { return e.createPartner(name) })
}

func (e *Engine) createPartner(name string) (*bankapi.PartnerCredentials, error) {
	var raw [64]byte // 32 bytes of key, then 32 of secret
	if _, err := io.ReadFull(e.entropy, raw[:]); err != nil {
		return nil, errf(bankapi.CodeIssuerUnavailable, "96", "no entropy for a partner key: %v", err)
	}
	key := KeyPrefix + hex.EncodeToString(raw[:32])
	e.st.PartnerSeq++
	id := "p" + strconv.FormatInt(e.st.PartnerSeq, 10)
	for e.st.Partners[id] != nil { // a restored state may hold ids past its counter
		e.st.PartnerSeq++
		id = "p" + strconv.FormatInt(e.st.PartnerSeq, 10)
	}
	if name == "" {
		name = id
	}
	p := &partnerRec{ID: id, Name: name, CreatedAt: e.now(), KeyHash: hashKey(key), Secret: hex.EncodeToString(raw[32:])}
	e.st.Partners[id] = p
	e.touch(recPartner, id)
	e.indexKeys()
	return &bankapi.PartnerCredentials{Partner: p.public(), Key: key}, nil
}

// Partners lists the partners, the default one first, then in order of creation. Keys are never
// shown again. Bank-wide admin only.
func (e *Engine) Partners(ctx context.Context) ([]bankapi.Partner, error) {
	if err := bankWide(ctx, "listing partners"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]bankapi.Partner, 0, len(e.st.Partners))
	for _, p := range e.st.Partners {
		out = append(out, p.public())
	}
	sort.Slice(out, func(a, b int) bool { return partnerLess(out[a].ID, out[b].ID) })
	return out, nil
}

// partnerLess orders "default" first, then p1, p2, ..., p10 numerically.
func partnerLess(a, b string) bool {
	if a == bankapi.DefaultPartner || b == bankapi.DefaultPartner {
		return a == bankapi.DefaultPartner && b != bankapi.DefaultPartner
	}
	na, ea := strconv.Atoi(strings.TrimPrefix(a, "p"))
	nb, eb := strconv.Atoi(strings.TrimPrefix(b, "p"))
	if ea == nil && eb == nil && na != nb {
		return na < nb
	}
	return a < b
}

// PartnerByKey says which partner a key belongs to: the server's authentication. It reads the
// key index (indexKeys) without the engine's lock, so an unknown key costs one hash and one map
// lookup and never waits behind the bank's work. The lookup is by the key's SHA-256, which tells
// a timing observer nothing about any key.
func (e *Engine) PartnerByKey(key string) (id string, ok bool) {
	if key == "" {
		return "", false
	}
	idx := e.keys.Load()
	if idx == nil {
		return "", false
	}
	id, ok = (*idx)[hashKey(key)]
	return id, ok
}

// indexKeys rebuilds the key index from the partners. Lock held; called wherever the partners
// change (genesis, install, createPartner).
func (e *Engine) indexKeys() {
	idx := make(map[string]string, len(e.st.Partners))
	for _, p := range e.st.Partners {
		if p.KeyHash != "" {
			idx[p.KeyHash] = p.ID
		}
	}
	e.keys.Store(&idx)
}

// cryptoEntropy is crypto/rand's reader, the default Config.Entropy.
var cryptoEntropy io.Reader = rand.Reader
