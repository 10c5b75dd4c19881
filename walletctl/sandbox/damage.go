package sandbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// damaged is SANDBOX_DAMAGED for one file of the home. Nothing is rewritten: the user decides
// (a backup, or init --force).
func damaged(path, reason string, err error) error {
	return &walletctl.Error{Code: walletctl.CodeSandboxDamaged, Err: err,
		Message: fmt.Sprintf("%s is damaged: %s", path, reason),
		Hint:    sqlite.DamagedHint,
		Details: map[string]any{"file": path}}
}

// readOnlyOr is SANDBOX_READ_ONLY for a home that cannot be written, else err.
func readOnlyOr(home string, err error) error {
	if walletctl.IsReadOnlyFS(err) || errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "read-only") {
		return &walletctl.Error{Code: walletctl.CodeSandboxReadOnly, Err: err,
			Message: fmt.Sprintf("the sandbox home %s is read-only: %v", home, err),
			Hint:    walletctl.Hint(walletctl.CodeSandboxReadOnly),
			Details: map[string]any{"home": home}}
	}
	return err
}

// asDamaged turns the bank's *bankmock.DamagedError into SANDBOX_DAMAGED; other errors pass.
// The bank's own answer (ISSUER_UNAVAILABLE, for a caller over the network) is left out of it:
// in-process the damage is the home's, not a bank that is down.
func asDamaged(err error) error {
	var de *bankmock.DamagedError
	if errors.As(err, &de) {
		return damaged(de.Path, de.Reason, de)
	}
	return err
}

// sqliteMagic starts every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// bankAppID is bankmock's PRAGMA application_id ("BKM1"), which its state files carry.
const bankAppID = 0x424b4d31

// checkFiles refuses a home whose files are visibly damaged before any command uses them: an
// empty, truncated, foreign or garbage wallet.db or bank.db, or one that sandbox.json says exists
// and is missing. It reads only the files' first 100 bytes (the SQLite header) and their sizes,
// so every command can afford it; damage deeper in a file is found by SQLite when it is read.
func (s *Sandbox) checkFiles(meta Meta) error {
	home := s.opts.Home
	if fi, err := os.Stat(home); err == nil && !fi.IsDir() {
		return damaged(home, "it is a file, not a sandbox folder", nil)
	}
	// Homes of format 3 and later always have wallet.db (init creates it).
	if err := checkSQLite(filepath.Join(home, WalletFile), meta.FormatVersion >= 3 && s.opts.Store == nil, 0); err != nil {
		return err
	}
	if s.opts.BankURL == "" {
		bank := filepath.Join(home, BankFile)
		_, legacyErr := os.Stat(filepath.Join(home, LegacyBankFile))
		// A home of format 2 keeps bank.json until its first use converts it.
		mustExist := legacyErr != nil
		if err := checkSQLite(bank, mustExist, bankAppID); err != nil {
			return err
		}
	}
	return nil
}

// checkSQLite checks one database file's header: present (if mustExist), not empty, a SQLite
// file, as long as its header says, and, with appID, carrying that application id.
func checkSQLite(path string, mustExist bool, appID uint32) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		if mustExist {
			return damaged(path, "the file is missing, though "+MetaFile+" says the sandbox has it", err)
		}
		return nil
	}
	if err != nil {
		return damaged(path, "cannot read it: "+err.Error(), err)
	}
	if fi.IsDir() {
		return damaged(path, "it is a directory", nil)
	}
	// Recent commits may live in the write-ahead log until a checkpoint: then the main file's
	// header may be older than the database, and only its magic is checked.
	wal := false
	if wi, err := os.Stat(path + "-wal"); err == nil && wi.Size() > 0 {
		wal = true
	}
	if fi.Size() == 0 {
		if wal {
			return nil
		}
		return damaged(path, "the file is empty", nil)
	}
	f, err := os.Open(path)
	if err != nil {
		return damaged(path, "cannot read it: "+err.Error(), err)
	}
	defer f.Close()
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return damaged(path, "the file is truncated (shorter than a SQLite header)", err)
	}
	if !bytes.Equal(h[:16], sqliteMagic) {
		return damaged(path, "it is not a SQLite database", nil)
	}
	if wal {
		return nil
	}
	pageSize := int64(binary.BigEndian.Uint16(h[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pages := int64(binary.BigEndian.Uint32(h[28:32])); pages > 0 && pages*pageSize > fi.Size() {
		return damaged(path, fmt.Sprintf("the file is truncated (%d bytes, its header says %d)", fi.Size(), pages*pageSize), nil)
	}
	if appID != 0 && binary.BigEndian.Uint32(h[68:72]) != appID {
		return damaged(path, "it is not this sandbox's bank state (another program's database?)", nil)
	}
	if appID == 0 && binary.BigEndian.Uint32(h[60:64]) == 0 {
		return damaged(path, "it is not a walletctl wallet (no schema version: another program's database?)", nil)
	}
	return nil
}
