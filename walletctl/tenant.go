package walletctl

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// A tenant is one isolated wallet served by `walletctl serve`: its own users, bank world and
// clock, behind its own API key. These are the admin API's wire types; the server (httpapi) and
// the tenant set (walletctl/tenant) both speak them.

// TenantSpec is the body of POST /admin/tenants.
type TenantSpec struct {
	Name      string `json:"name"`
	Seed      int64  `json:"seed"`
	Customers int    `json:"customers"`
	BankURL   string `json:"bank_url,omitempty"` // "" = an in-process bank in the tenant's sandbox
	// APIKey, when set, is the tenant's key (scripts that need a known one); else one is generated.
	APIKey string `json:"api_key,omitempty"`
	// BankKey is the tenant's partner key at bank_url, issued by the bank's operator (bankmock
	// partner create). Without it the tenant registers itself as a new partner of the bank. A
	// tenant on a PostgreSQL store needs one: the servers that serve it together must be one
	// partner, or one server's reconcile would not find another's transactions.
	BankKey string `json:"bank_key,omitempty"`
	// Join, on a server with a PostgreSQL store, keeps the wallet already in the tenant's schema
	// (another server on the same database created this tenant) instead of emptying it.
	Join bool `json:"join,omitempty"`
	// Settings change the tenant's wallet rules from the server's: the keys and values of
	// `sandbox init --set KEY=VALUE` ({"notify_timeout": "200ms", "password_hash.time": "3"}).
	Settings map[string]string `json:"settings,omitempty"`
	// Clock is "virtual" (time moves only by clock advance) or "real" (wall time plus what clock
	// advance added: retries, expiries and arrivals happen by themselves); "" is the server's
	// default (walletctl serve --clock).
	Clock string `json:"clock,omitempty"`
}

// ApplySettings returns base with the spec's settings applied, each as `sandbox init --set`
// applies it (Settings.Set), in key order so that the outcome never depends on map order. A bad
// key or value is INVALID_ARGUMENT naming it.
func (s TenantSpec) ApplySettings(base Settings) (Settings, error) {
	for _, k := range slices.Sorted(maps.Keys(s.Settings)) {
		v := s.Settings[k]
		if k == "" || strings.Contains(k, "=") {
			// Set would read KEY=VALUE out of it: another setting than the one named.
			return base, &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("unknown setting %q", k),
				Hint: "settings: " + strings.Join(SettingKeys(), ", "), Details: map[string]any{"setting": k}}
		}
		if err := base.Set(k + "=" + v); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				return base, err
			}
			named := *e
			if !strings.Contains(named.Message, k) {
				// Validate's messages name a group ("counts and durations"), not this key.
				named.Message = fmt.Sprintf("setting %s=%s: %s", k, v, named.Message)
			}
			named.Details = maps.Clone(named.Details)
			if named.Details == nil {
				named.Details = map[string]any{}
			}
			named.Details["setting"] = k
			return base, &named
		}
	}
	return base, nil
}

// TenantInfo is a tenant as the admin API lists it (never with its key).
type TenantInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Seed      int64     `json:"seed"`
	Customers int       `json:"customers"`
	BankURL   string    `json:"bank_url,omitempty"`
	Clock     string    `json:"clock,omitempty"` // "real", or "" for virtual
	CreatedAt time.Time `json:"created_at"`
}

// CreatedTenant is the answer of POST /admin/tenants: the only time the API key is shown.
type CreatedTenant struct {
	TenantInfo
	APIKey string `json:"api_key"`
}
