package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/walletctl/walletctl/internal/sqlitecheck"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
)

// The checks of Check, in the order it runs them.
const (
	CheckSettings  = "settings"  // sandbox.json: readable, a format this walletctl knows, valid rules
	CheckWallet    = "wallet.db" // every page of the wallet's file (PRAGMA integrity_check)
	CheckBank      = "bank.db"   // every page of the in-process bank's file
	CheckAgreement = "agreement" // what reconcile would report of wallet and bank, as a dry run
)

// What a check found.
const (
	ResultOK       = "ok"
	ResultDamaged  = "damaged"  // the file is damaged (SANDBOX_DAMAGED)
	ResultDisagree = "disagree" // wallet and bank disagree, or the ledger does not sum to zero
	ResultFailed   = "failed"   // the check could not run (a bank server that does not answer, ...)
	ResultSkipped  = "skipped"  // nothing to check here, or a check above failed
)

// CheckLine is one check of a home.
type CheckLine struct {
	Check  string `json:"check"`
	Result string `json:"result"`
	Detail string `json:"detail"`
	File   string `json:"file,omitempty"` // the file a damaged line is about
	err    error
}

// CheckReport is what Check found.
type CheckReport struct {
	Home   string      `json:"home"`
	OK     bool        `json:"ok"`
	Checks []CheckLine `json:"checks"`
	// Agreement is the report a reconcile would give now (without settling what is pending);
	// nil when it could not be made.
	Agreement *walletctl.ReconcileReport `json:"agreement,omitempty"`
}

// Err is the report as an error: nil when every check is ok (or skipped); SANDBOX_DAMAGED naming
// the damaged files; CONFLICT when wallet and bank disagree, as reconcile says it; else the error
// of the first check that could not run.
func (r *CheckReport) Err() error {
	var files []string
	var disagree, failed *CheckLine
	for i := range r.Checks {
		c := &r.Checks[i]
		switch c.Result {
		case ResultDamaged:
			files = append(files, c.File)
		case ResultDisagree:
			disagree = c
		case ResultFailed:
			if failed == nil {
				failed = c
			}
		}
	}
	switch {
	case len(files) > 0:
		return &walletctl.Error{Code: walletctl.CodeSandboxDamaged,
			Message: fmt.Sprintf("the sandbox in %s is damaged: %s", r.Home, strings.Join(files, ", ")),
			Hint:    "nothing was changed: restore the home from a copy, or start over with walletctl sandbox init --force (the wallet and the bank lose everything)",
			Details: map[string]any{"file": files[0], "files": files}}
	case disagree != nil:
		return &walletctl.Error{Code: walletctl.CodeConflict,
			Message: "wallet and bank disagree: " + disagree.Detail,
			Hint:    "walletctl reconcile settles what is pending and reports the same; look at the mismatches and at: walletctl bank journal"}
	case failed != nil:
		if failed.err != nil {
			return failed.err
		}
		return walletctl.Errorf(walletctl.CodeInternal, "sandbox check: %s: %s", failed.Check, failed.Detail)
	}
	return nil
}

// Check looks at the home without changing anything, as git fsck looks at a repository: its
// settings, every page of wallet.db and bank.db, and what a reconcile would report of wallet and
// bank (a dry run: nothing is settled, no due work runs, the in-process bank's statement is read
// from its records, unjournaled). It holds the home's lock while it looks. Reading every page
// costs the files' size, which is why commands do not do it: they refuse the damage they run
// into. The error is for a home it cannot look at (none there); what it finds is in the report
// (CheckReport.Err).
func Check(ctx context.Context, opts Options) (*CheckReport, error) {
	home := opts.Home
	if _, err := os.Stat(home); errors.Is(err, os.ErrNotExist) {
		return nil, noSandbox(home)
	}
	_, errMeta := os.Stat(filepath.Join(home, MetaFile))
	_, errWallet := os.Stat(filepath.Join(home, WalletFile))
	if errors.Is(errMeta, os.ErrNotExist) && errors.Is(errWallet, os.ErrNotExist) && opts.Store == nil {
		return nil, noSandbox(home)
	}
	lock, _, err := lockHome(ctx, home, opts.LockWait)
	if err != nil {
		return nil, err
	}
	// Read-only whatever the home allows; closed without Close, which would save a clock.
	s := &Sandbox{opts: opts, lock: lock, readOnly: true, looking: true}
	defer func() {
		s.closeBackends()
		s.unlock()
	}()

	rep := &CheckReport{Home: home}
	add := func(c CheckLine) { rep.Checks = append(rep.Checks, c) }

	meta, metaErr := s.checkSettings()
	add(lineOf(CheckSettings, filepath.Join(home, MetaFile), metaErr, settingsDetail(meta)))
	remote := opts.BankURL != "" || meta.Bank.URL != ""

	add(s.checkFile(ctx, CheckWallet, filepath.Join(home, WalletFile), 0))
	switch {
	case remote:
		url := normURL(meta.Bank.URL)
		if url == "" {
			url = normURL(opts.BankURL)
		}
		add(CheckLine{Check: CheckBank, Result: ResultSkipped, Detail: "the bank is the server at " + url + ": its state is its own"})
	case !exists(filepath.Join(home, BankFile)) && exists(filepath.Join(home, LegacyBankFile)):
		add(CheckLine{Check: CheckBank, Result: ResultSkipped,
			Detail: LegacyBankFile + " (a home of format 2) becomes " + BankFile + " at the first command that calls the bank"})
	default:
		add(s.checkFile(ctx, CheckBank, filepath.Join(home, BankFile), bankAppID))
	}

	for _, c := range rep.Checks {
		if c.Result == ResultDamaged || c.Result == ResultFailed {
			add(CheckLine{Check: CheckAgreement, Result: ResultSkipped, Detail: "a check above failed: reconcile could not run either"})
			return rep.done(), nil
		}
	}
	add(s.checkAgreement(ctx, meta, rep))
	return rep.done(), nil
}

func (r *CheckReport) done() *CheckReport {
	r.OK = r.Err() == nil
	return r
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// lineOf is the line of a check that err ended (SANDBOX_DAMAGED: damaged, naming file), or ok.
func lineOf(check, file string, err error, ok string) CheckLine {
	if err == nil {
		return CheckLine{Check: check, Result: ResultOK, Detail: ok}
	}
	var we *walletctl.Error
	if errors.As(err, &we) && we.Code == walletctl.CodeSandboxDamaged {
		if f, _ := we.Details["file"].(string); f != "" {
			file = f
		}
		return CheckLine{Check: check, Result: ResultDamaged, Detail: we.Message, File: file, err: err}
	}
	msg := err.Error()
	if errors.As(err, &we) {
		msg = we.Message
	}
	return CheckLine{Check: check, Result: ResultFailed, Detail: msg, err: err}
}

// checkSettings reads sandbox.json: damaged when it cannot be read as one, or when its rules are
// not valid ones; failed for a format newer than this walletctl or another bank than the one
// given.
func (s *Sandbox) checkSettings() (Meta, error) {
	path := filepath.Join(s.opts.Home, MetaFile)
	meta, err := readMeta(s.opts.Home)
	if errors.Is(err, os.ErrNotExist) {
		return meta, damaged(path, "the file is missing, though the home holds a wallet", err)
	}
	if err != nil {
		var we *walletctl.Error
		if !errors.As(err, &we) {
			err = damaged(path, "cannot read it: "+err.Error(), err)
		}
		return meta, err
	}
	if meta.FormatVersion > FormatVersion {
		return meta, &walletctl.Error{Code: walletctl.CodeConflict,
			Message: fmt.Sprintf("sandbox format %d is newer than this walletctl understands (%d)", meta.FormatVersion, FormatVersion),
			Hint:    "upgrade walletctl to look at this sandbox"}
	}
	if err := meta.Settings.Validate(); err != nil {
		return meta, damaged(path, "its rules are not valid: "+err.Error(), err)
	}
	return s.checkBank(meta)
}

func settingsDetail(m Meta) string {
	bank := "in-process bank"
	if m.Bank.URL != "" {
		bank = "bank " + m.Bank.URL
	}
	clock := m.ClockMode
	if clock == "" {
		clock = ClockVirtual
	}
	return fmt.Sprintf("format %d, seed %d, %s, %s clock at %s, settings valid", m.FormatVersion, m.Seed, bank, clock,
		m.Clock.In(vclock.Shanghai).Format("2006-01-02 15:04:05"))
}

// checkFile checks one database file: its header as every command does (checkSQLite), then every
// page (PRAGMA integrity_check), read-only.
func (s *Sandbox) checkFile(ctx context.Context, check, path string, appID uint32) CheckLine {
	if check == CheckWallet && s.opts.Store != nil {
		return CheckLine{Check: check, Result: ResultSkipped, Detail: "the wallet's records are in the database given by --store"}
	}
	if err := checkSQLite(path, true, appID); err != nil {
		return lineOf(check, path, err, "")
	}
	problems, err := sqlitecheck.Integrity(ctx, path)
	if err != nil {
		if sqlitecheck.Corrupt(err) {
			err = damaged(path, "SQLite cannot read it: "+sqlitecheck.Reason(err), err)
		}
		return lineOf(check, path, err, "")
	}
	if len(problems) > 0 {
		reason := "SQLite's integrity check: " + problems[0]
		if len(problems) > 1 {
			reason += fmt.Sprintf(" (and %d more)", len(problems)-1)
		}
		return lineOf(check, path, damaged(path, reason, nil), "")
	}
	fi, _ := os.Stat(path)
	return CheckLine{Check: check, Result: ResultOK, Detail: fmt.Sprintf("every page reads back whole (integrity_check, %d KiB)", fi.Size()/1024)}
}

// checkAgreement is reconcile's report as a dry run (engine.ReconcileDryRun) on the sandbox
// opened read-only.
func (s *Sandbox) checkAgreement(ctx context.Context, meta Meta, rep *CheckReport) CheckLine {
	if err := s.load(meta); err != nil {
		return lineOf(CheckAgreement, "", err, "")
	}
	if err := s.followBank(ctx); err != nil {
		return lineOf(CheckAgreement, "", err, "")
	}
	r, err := s.svc.ReconcileDryRun(ctx, "")
	if err != nil {
		return lineOf(CheckAgreement, "", err, "")
	}
	rep.Agreement = r
	if len(r.Mismatches) > 0 || r.LedgerSum != 0 {
		d := fmt.Sprintf("%d mismatches, ledger sum %s CNY: %s", len(r.Mismatches), walletctl.FormatAmount(r.LedgerSum), strings.Join(r.Mismatches, "; "))
		return CheckLine{Check: CheckAgreement, Result: ResultDisagree, Detail: d}
	}
	d := fmt.Sprintf("the bank's statement of %s matches the wallet (%d lines); the ledger sums to zero", r.Date, r.Matched)
	if r.StillPending > 0 {
		d += fmt.Sprintf("; %d pending at the bank: walletctl reconcile settles them", r.StillPending)
	}
	return CheckLine{Check: CheckAgreement, Result: ResultOK, Detail: d}
}
