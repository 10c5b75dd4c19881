package cli

import (
	"context"
	"net/url"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/httpapi"
)

// The remote backend: with --backend URL (WALLETCTL_BACKEND) every wallet command talks to
// `walletctl serve` through httpapi.Client, as the tenant of --api-key (WALLETCTL_API_KEY), and
// `bank ...` commands talk to that tenant's bank, which the server proxies under /v1/bank.

// bankBackend is the bank's protocol and admin API, wherever the bank is.
type bankBackend interface {
	bankapi.API
	bankapi.Admin
}

// remoteClient returns the wallet server client of this invocation.
func (a *app) remoteClient() (*httpapi.Client, error) {
	if a.remote != nil {
		return a.remote, nil
	}
	u, err := url.Parse(a.backend)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalidArg("give the URL walletctl serve printed, e.g. --backend http://127.0.0.1:8087",
			"--backend %q is not an http(s) URL", a.backend)
	}
	if a.bankURL != "" {
		return nil, invalidArg("drop --bank (and WALLETCTL_BANK): with --backend the tenant's bank is the wallet server's, and bank commands reach it through the server",
			"--backend and --bank both given")
	}
	if a.apiKey == "" {
		return nil, invalidArg("pass the tenant's API key with --api-key KEY or WALLETCTL_API_KEY (the server's admin creates tenants and keys)",
			"--backend needs an API key")
	}
	a.remote = httpapi.NewClient(a.backend, a.apiKey, httpapi.ClientOptions{})
	return a.remote, nil
}

// service is the wallet: the remote server with --backend, else the embedded sandbox.
func (a *app) service(ctx context.Context) (walletctl.Service, error) {
	if a.backend != "" {
		return a.remoteClient()
	}
	sb, err := a.openSandbox(ctx)
	if err != nil {
		return nil, err
	}
	return sb.Service(), nil
}

// bank is the sandbox's bank: the tenant's bank through the wallet server with --backend, else
// the in-process bank or the --bank server.
func (a *app) bank(ctx context.Context) (bankBackend, error) {
	if a.backend != "" {
		c, err := a.remoteClient()
		if err != nil {
			return nil, err
		}
		return c.Bank(30 * time.Second), nil
	}
	sb, err := a.openSandbox(ctx)
	if err != nil {
		return nil, err
	}
	return sb.Bank(), nil
}

// advance moves the virtual clock: the server moves the tenant's wallet and bank together.
func (a *app) advance(ctx context.Context, d time.Duration) (time.Time, error) {
	if a.backend != "" {
		c, err := a.remoteClient()
		if err != nil {
			return time.Time{}, err
		}
		return c.Advance(ctx, d)
	}
	sb, err := a.openSandbox(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return sb.Advance(ctx, d)
}
