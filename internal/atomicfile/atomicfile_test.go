package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	for _, durable := range []bool{true, false} {
		for i, perm := range []os.FileMode{0o600, 0o644} {
			data := []byte{byte('a' + i)}
			if err := Write(path, data, perm, durable); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != string(data) {
				t.Fatalf("read back %q %v, want %q", got, err, data)
			}
			if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != perm {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), perm)
			}
		}
	}
	// No temporary file is left behind, after a write or a failed one.
	if err := Write(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600, true); err == nil {
		t.Fatal("a write into a missing folder succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries, want only f.json", len(entries))
	}
}
