package tenant

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
)

// TestV3KeysUnknownMerchants: requests naming merchants the tenant does not have (an attacker's
// random mchids) are refused without a turn of the tenant's lock each: however many arrive, the
// merchant list is reread at most once per MerchantRefresh. A merchant created through the server
// is known at once, without a reread.
func TestV3KeysUnknownMerchants(t *testing.T) {
	ctx := context.Background()
	ts, err := Open(ctx, Options{Data: t.TempDir(), KeepOpen: true, Throwaway: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close(ctx)
	ct, err := ts.Create(ctx, walletctl.TenantSpec{Customers: 1})
	if err != nil {
		t.Fatal(err)
	}
	create := func() string {
		var m *walletctl.Merchant
		var cerr error
		if _, _, err := ts.Serve(ctx, ct.APIKey, func(svc walletctl.Service, _ http.Handler) {
			m, cerr = svc.CreateMerchant(ctx, walletctl.MerchantSpec{Name: "m"})
		}); err != nil || cerr != nil {
			t.Fatal(err, cerr)
		}
		return m.ID
	}
	m1 := create()
	if ts.V3Keys("t404") != nil {
		t.Fatal("keys of a tenant that does not exist")
	}
	k := ts.V3Keys(ct.ID).(*v3Keys)
	if c, err := k.MerchantCredentials(ctx, m1); err != nil || c.MchID != m1 {
		t.Fatalf("merchant %s: %+v %v", m1, c, err)
	}
	if p, err := k.Platform(ctx); err != nil || p.PrivateKey == "" {
		t.Fatalf("platform: %v", err)
	}

	start := time.Now()
	before := k.rereadCount()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := k.MerchantCredentials(ctx, fmt.Sprintf("19%08d", 50000000+i))
			if walletctl.ErrorCode(err) != walletctl.CodeNotFound {
				errs <- fmt.Errorf("random mchid: %v", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if n, most := k.rereadCount()-before, int(elapsed/MerchantRefresh)+2; n > most {
		t.Errorf("200 unknown mchids in %v took the tenant's lock %d times, want at most %d", elapsed, n, most)
	}
	// The catalogue's merchants have no v3 credentials.
	if _, err := k.MerchantCredentials(ctx, "m-cafe"); walletctl.ErrorCode(err) != walletctl.CodeNotFound {
		t.Errorf("a catalogue merchant: %v", err)
	}

	m2 := create()
	before = k.rereadCount()
	if c, err := k.MerchantCredentials(ctx, m2); err != nil || c.MchID != m2 {
		t.Fatalf("merchant %s created through the server: %+v %v", m2, c, err)
	}
	if n := k.rereadCount() - before; n != 0 {
		t.Errorf("a merchant created through the server took %d rereads", n)
	}
}

func (k *v3Keys) rereadCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rereads
}
