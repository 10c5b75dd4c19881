package sandbox_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/walletctl/walletctl/walletctl/sandbox"
)

func metaKey(t *testing.T, home string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, sandbox.MetaFile))
	if err != nil {
		t.Fatal(err)
	}
	var m sandbox.Meta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.SecretKey
}

// A sandbox gets its secret key at creation, keeps it across opens, and a home made before homes
// had one gets one at its first open, saved in sandbox.json (0600), as HomeSecretKey does.
func TestSecretKeyInMeta(t *testing.T) {
	ctx := context.Background()
	home := initHome(t)
	key := metaKey(t, home)
	if len(key) != 32 {
		t.Fatalf("key of %d bytes", len(key))
	}
	if k, err := sandbox.HomeSecretKey(home); err != nil || string(k) != string(key) {
		t.Fatalf("HomeSecretKey %x, %v", k, err)
	}

	// An older home: sandbox.json without the key.
	path := filepath.Join(home, sandbox.MetaFile)
	var m map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "secret_key")
	b, _ = json.Marshal(m)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sb, _, err := sandbox.Open(ctx, sandbox.Options{Home: home}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Service().Register(ctx, "13700000001"); err != nil {
		t.Fatal(err)
	}
	if err := sb.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := metaKey(t, home)
	if len(got) != 32 || string(got) == string(key) {
		t.Fatalf("the older home's new key: %x", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("sandbox.json is %v", fi.Mode().Perm())
	}
	sb, _, err = sandbox.Open(ctx, sandbox.Options{Home: home}, false)
	if err != nil {
		t.Fatal(err)
	}
	sb.Close(ctx)
	if string(metaKey(t, home)) != string(got) {
		t.Fatal("the key changed at the next open")
	}
}
