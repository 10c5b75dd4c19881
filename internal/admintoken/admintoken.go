// Package admintoken makes the admin tokens of bankmock serve and walletctl serve (DESIGN.md
// section 10: loopback is not a credential). A server started without one makes one, as
// `vault server -dev` makes its root token; with a data folder it keeps it there, 0600, so that
// the token survives restarts and scripts that exported it keep working.
package admintoken

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the token's file in a server's data folder.
const FileName = "admin-token"

// New returns a fresh token: prefix then 26 base32 characters (130 bits) from crypto/rand. The
// prefix says whose token it is when one turns up in a shell history or a leak scan.
func New(prefix string) string { return prefix + rand.Text() }

// LoadOrCreate returns the token kept in dir/FileName, making and writing one (0600, written
// whole before it is used) when there is none. created reports a new one.
func LoadOrCreate(dir, prefix string) (token string, created bool, err error) {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		token = strings.TrimSpace(string(b))
		if token == "" || strings.ContainsAny(token, " \t\r\n") {
			return "", false, fmt.Errorf("%s is damaged (empty or not one token): delete it to make a new token", path)
		}
		return token, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, err
	}
	token = New(prefix)
	tmp, err := os.CreateTemp(dir, FileName+".tmp*")
	if err != nil {
		return "", false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", false, err
	}
	if _, err := tmp.WriteString(token + "\n"); err != nil {
		tmp.Close()
		return "", false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", false, err
	}
	if err := tmp.Close(); err != nil {
		return "", false, err
	}
	// Link, not rename: two servers starting on one folder at once agree on the first token.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadOrCreate(dir, prefix)
		}
		return "", false, err
	}
	return token, true, nil
}
