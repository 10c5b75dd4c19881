package httpapi

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// POST /admin/tenants takes the tenant's settings (sandbox init --set's keys and values): the
// tenant's sandbox is initialised with them; a bad one is INVALID_ARGUMENT naming it, and makes
// nothing. The served document says so.
func TestCreateTenantWithSettings(t *testing.T) {
	data := t.TempDir()
	_, hs := startServer(t, Options{AdminToken: "admin-secret"}, tenant.Options{Data: data})
	st, body := testworld.Call(t, "POST", hs.URL+"/admin/tenants", "admin-secret",
		`{"name":"fast","seed":3,"customers":2,"settings":{"notify_timeout":"200ms","confirm_threshold":"100000"}}`)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, body)
	}
	var ct walletctl.CreatedTenant
	if err := json.Unmarshal([]byte(body), &ct); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(data, "tenants", ct.ID, sandbox.MetaFile))
	if err != nil {
		t.Fatal(err)
	}
	var m sandbox.Meta
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.Settings.NotifyTimeout.D() != 200*time.Millisecond || m.Settings.ConfirmThreshold != 100000 {
		t.Fatalf("the tenant's settings: %+v", m.Settings)
	}

	for body, names := range map[string]string{
		`{"settings":{"notify_timeot":"1s"}}`:    "notify_timeot",
		`{"settings":{"notify_timeout":"2m"}}`:   "notify_timeout",
		`{"settings":{"confirm_threshold":"x"}}`: "confirm_threshold",
	} {
		st, answer := testworld.Call(t, "POST", hs.URL+"/admin/tenants", "admin-secret", body)
		var e struct{ Error walletctl.Error }
		json.Unmarshal([]byte(answer), &e)
		if st != http.StatusBadRequest || e.Error.Code != walletctl.CodeInvalidArgument || !strings.Contains(e.Error.Message, names) {
			t.Errorf("%s: %d %s, want INVALID_ARGUMENT naming %s", body, st, answer, names)
		}
	}
	if _, list := testworld.Call(t, "GET", hs.URL+"/admin/tenants", "admin-secret", ""); strings.Count(list, `"id"`) != 1 {
		t.Errorf("refused specs made tenants: %s", list)
	}

	var doc struct {
		Paths      map[string]map[string]struct{ Description string }
		Components struct{ Schemas map[string]json.RawMessage }
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Properties map[string]struct {
			Type                 string
			Description          string
			AdditionalProperties struct{ Type string }
		}
	}
	if err := json.Unmarshal(doc.Components.Schemas["TenantSpec"], &spec); err != nil {
		t.Fatal(err)
	}
	p := spec.Properties["settings"]
	if p.Type != "object" || p.AdditionalProperties.Type != "string" || !strings.Contains(p.Description, "sandbox init --set") {
		t.Errorf("TenantSpec.settings in the document: %+v", p)
	}
	if d := doc.Paths["/admin/tenants"]["post"].Description; !strings.Contains(d, "settings") {
		t.Errorf("POST /admin/tenants does not document settings: %s", d)
	}
}
