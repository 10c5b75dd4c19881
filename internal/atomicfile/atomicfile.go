// Package atomicfile writes a file whole or not at all: through a temporary file in the same
// folder and a rename, so that a crash leaves the old file or the new one, never half of one.
// With durable, the data is fsynced before the rename and the folder after it, so the new file
// also survives a power cut.
//
// It is not google/renameio: renameio always fsyncs (a throwaway sandbox must not), never fsyncs
// the folder after the rename (a durable sandbox needs it), and has no Windows implementation (its
// package is empty there). os.CreateTemp and os.Rename (MoveFileEx with MOVEFILE_REPLACE_EXISTING
// on Windows) are portable, so this one function serves every platform; SyncDir skips the folder
// fsync where there is none.
package atomicfile

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with data, mode perm (the temporary file is 0600 until then, so a secret
// is never readable by others on the way).
func Write(path string, data []byte, perm fs.FileMode, durable bool) error {
	return WriteFunc(path, perm, durable, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc is Write of what write writes to the file, for content too big to hold; when write
// fails, path is left as it was.
func WriteFunc(path string, perm fs.FileMode, durable bool, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	err = write(f)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && perm != 0o600 {
		err = os.Chmod(tmp, perm)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = SyncDir(filepath.Dir(path), durable)
	}
	return err
}

// SyncDir makes a rename in dir durable (the directory entry is data too). Windows has no
// directory fsync; its renames are made durable by the file system's own journal.
func SyncDir(dir string, durable bool) error {
	if !durable || runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
