// Package sqlitecheck tells damage in the SQLite files that keep state (the wallet's wallet.db,
// the mock bank's bank.db): the errors by which SQLite says a file is damaged, and its own check
// of a whole file.
//
// SQLite notices damage only on the pages a statement reads, so a damaged file can serve many
// commands before one trips on it; every store maps the error wherever it comes (Corrupt), and
// `walletctl sandbox check` reads every page (Integrity), which costs the file's size.
package sqlitecheck

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Corrupt reports whether err is SQLite finding its file damaged: SQLITE_CORRUPT ("database disk
// image is malformed", with any extended code) or SQLITE_NOTADB ("file is not a database"). An
// error that lost its type on the way (formatted with %v) is recognised by SQLite's words.
func Corrupt(err error) bool {
	if err == nil {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return true
		}
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "database disk image is malformed") || strings.Contains(msg, "file is not a database") ||
		strings.Contains(msg, "malformed database schema")
}

// Reason is what SQLite said of err's damage, without what wrapped it on the way: "database
// disk image is malformed (11)".
func Reason(err error) string {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Error()
	}
	return err.Error()
}

// maxProblems bounds what Integrity reports of a badly damaged file.
const maxProblems = 10

// Integrity runs PRAGMA integrity_check on the database at path, read-only (nothing is written,
// not even a -wal or -shm when none is there), and returns the problems it finds (none: the file
// is whole). An error is a file SQLite cannot read at all; it is Corrupt when that is damage.
func Integrity(ctx context.Context, path string) ([]string, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		// No commits beyond the file: read it as it is, without making a -shm beside it.
		q.Set("immutable", "1")
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check(`+strconv.Itoa(maxProblems)+`)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	return problems, rows.Err()
}
