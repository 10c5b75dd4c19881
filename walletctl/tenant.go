package walletctl

import "time"

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
}

// TenantInfo is a tenant as the admin API lists it (never with its key).
type TenantInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Seed      int64     `json:"seed"`
	Customers int       `json:"customers"`
	BankURL   string    `json:"bank_url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// CreatedTenant is the answer of POST /admin/tenants: the only time the API key is shown.
type CreatedTenant struct {
	TenantInfo
	APIKey string `json:"api_key"`
}
