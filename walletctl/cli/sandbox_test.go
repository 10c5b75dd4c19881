package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/fixtures"
	"github.com/walletctl/walletctl/walletctl/sandbox"
	_ "modernc.org/sqlite"
)

// The sandbox's own commands on a fake: sandbox, clock, reconcile and serve. The runs of sandbox
// and serve manage a real home or server (TestSandboxLifecycle, TestSandboxSettings,
// TestSandboxResetNeedsForce, serve_e2e_test.go); here, what their flags and arguments become.

func TestSandboxInitFlags(t *testing.T) {
	inits := func(want cli.SandboxInitOptions) func(o *cli.SandboxInitOptions) bool {
		return func(o *cli.SandboxInitOptions) bool {
			return o.Seed == want.Seed && o.Customers == want.Customers && o.Force == want.Force && slices.Equal(o.Sets, want.Sets)
		}
	}
	checkFlags(t, cli.NewCmdSandboxInit, []flagCase[*cli.SandboxInitOptions]{
		{args: []string{}, ok: inits(cli.SandboxInitOptions{Seed: sandbox.DefaultSeed, Customers: sandbox.DefaultCustomers})},
		{args: []string{"--seed", "9", "--customers", "0", "--force", "--set", "a=1", "--set", "b=2h"},
			ok: inits(cli.SandboxInitOptions{Seed: 9, Force: true, Sets: []string{"a=1", "b=2h"}})},
		{args: []string{"--customers", "100000"}, ok: inits(cli.SandboxInitOptions{Seed: sandbox.DefaultSeed, Customers: 100000})},
		{args: []string{"--customers", "100001"}, code: invalid},
		{args: []string{"--customers", "-1"}, code: invalid},
		{args: []string{"--seed", "x"}, code: invalid},
		{args: []string{"now"}, code: invalid},
	})
}

func TestSandboxCommandsArgs(t *testing.T) {
	checkFlags(t, cli.NewCmdSandboxReset, []flagCase[*cli.SandboxResetOptions]{
		{args: []string{"--force"}, ok: func(o *cli.SandboxResetOptions) bool { return o.Force }},
		{args: []string{"--force", "now"}, code: invalid},
	})
	refusesArgs(t, cli.NewCmdSandboxStatus, []string{"x"})
	refusesArgs(t, cli.NewCmdSandboxSettings, []string{"x"})
	refusesArgs(t, cli.NewCmdSandboxCheck, []string{"x"})
}

func TestClockShow(t *testing.T) {
	epoch := func(k *fake) {
		k.svc.NowFn = func(context.Context) (time.Time, error) { return vclock.DefaultEpoch, nil }
	}
	k := newFake("table", epoch)
	// The sandbox's calendar is China Standard Time.
	if got := k.must(t, cli.NewCmdClockShow(k.f, nil)); got != vclock.DefaultEpoch.In(vclock.Shanghai).Format("2006-01-02 15:04:05")+"\n" {
		t.Fatalf("clock show: %q", got)
	}
	k = newFake("json", epoch)
	k.must(t, cli.NewCmdClockShow(k.f, nil))
	var v struct{ Now time.Time }
	if k.decode(t, &v); !v.Now.Equal(vclock.DefaultEpoch) {
		t.Fatalf("%s", k.out.String())
	}
	refusesArgs(t, cli.NewCmdClockShow, []string{"now"})
}

func TestClockAdvanceArgs(t *testing.T) {
	by := func(d time.Duration) func(o *cli.ClockAdvanceOptions) bool {
		return func(o *cli.ClockAdvanceOptions) bool { return o.By == d }
	}
	checkFlags(t, cli.NewCmdClockAdvance, []flagCase[*cli.ClockAdvanceOptions]{
		{args: []string{"2h"}, ok: by(2 * time.Hour)},
		{args: []string{"90m"}, ok: by(90 * time.Minute)},
		{args: []string{"1d"}, ok: by(24 * time.Hour)},
		{args: []string{"1d12h"}, ok: by(36 * time.Hour)},
	})
	refusesArgs(t, cli.NewCmdClockAdvance, []string{"0"}, []string{"--", "-1h"}, []string{"1d-1h"}, []string{"soon"}, []string{"99999d"},
		[]string{}, []string{"1h", "2h"})
}

func TestClockAdvanceRun(t *testing.T) {
	k := newFake("table")
	var asked time.Duration
	k.f.Advance = func(_ context.Context, d time.Duration) (time.Time, error) {
		asked = d
		return vclock.DefaultEpoch.Add(d), nil
	}
	if out := k.must(t, cli.NewCmdClockAdvance(k.f, nil), "1d2h"); asked != 26*time.Hour || out != "2026-01-06 11:00:00\n" {
		t.Fatalf("advanced %s, printed %q", asked, out)
	}
	k = newFake("table")
	k.f.Advance = func(context.Context, time.Duration) (time.Time, error) {
		return time.Time{}, walletctl.Errorf(walletctl.CodeNetwork, "the bank's clock did not move")
	}
	k.refuses(t, walletctl.CodeNetwork, cli.NewCmdClockAdvance(k.f, nil), "1h")
}

func TestReconcileFlags(t *testing.T) {
	on := func(date string) func(o *cli.ReconcileOptions) bool {
		return func(o *cli.ReconcileOptions) bool { return o.Date == date }
	}
	checkFlags(t, cli.NewCmdReconcile, []flagCase[*cli.ReconcileOptions]{
		{args: []string{}, ok: on("")},
		{args: []string{"--date", "2026-01-05"}, ok: on("2026-01-05")},
		{args: []string{"--date", "2026-13-01"}, code: invalid},
		{args: []string{"--date", "yesterday"}, code: invalid},
		{args: []string{"2026-01-05"}, code: invalid},
	})
}

func TestReconcileRun(t *testing.T) {
	report := func(mism []string, sum int64) func(*fake) {
		return func(k *fake) {
			k.svc.ReconcileFn = func(_ context.Context, date string) (*walletctl.ReconcileReport, error) {
				return &walletctl.ReconcileReport{Date: date, Checked: 3, Settled: 2, Failed: 1, Matched: 4, Mismatches: mism, LedgerSum: sum}, nil
			}
		}
	}
	// Agreement: exit 0, "none", and [] (not null) for scripts.
	k := newFake("json", report(nil, 0))
	k.must(t, cli.NewCmdReconcile(k.f, nil), "--date", "2026-01-05")
	var got struct {
		Date       string   `json:"date"`
		Mismatches []string `json:"mismatches"`
	}
	if k.decode(t, &got); got.Date != "2026-01-05" || got.Mismatches == nil {
		t.Fatalf("%s", k.out.String())
	}
	k = newFake("table", report(nil, 0))
	contains(t, "reconcile", k.must(t, cli.NewCmdReconcile(k.f, nil)), "PENDING CHECKED", "MISMATCHES", "none", "0.00")
	// Disagreement: the report still shows, then CONFLICT.
	for _, tc := range []struct {
		mism []string
		sum  int64
	}{{[]string{"t7: wallet succeeded, bank has no record"}, 0}, {nil, 150}} {
		k = newFake("table", report(tc.mism, tc.sum))
		if code := runCmd(t, cli.NewCmdReconcile(k.f, nil)); code != walletctl.CodeConflict {
			t.Errorf("%+v: code %q", tc, code)
		}
		shown := []string{"LEDGER SUM"}
		if tc.mism != nil {
			shown = append(shown, "t7: wallet succeeded")
		}
		contains(t, "the report of a disagreement", k.out.String(), shown...)
	}
	k = newFake("table", failing("Reconcile", walletctl.CodeNetwork))
	k.refuses(t, walletctl.CodeNetwork, cli.NewCmdReconcile(k.f, nil))
}

// serve's run is a real server (serve_e2e_test.go); here, what its flags become and which it
// refuses before anything starts.
func TestServeFlags(t *testing.T) {
	checkFlags(t, cli.NewCmdServe, []flagCase[*cli.ServeOptions]{
		{args: []string{"--data", "d"}, check: func(t *testing.T, o *cli.ServeOptions) {
			if o.Addr != "127.0.0.1:8087" || o.Data != "d" || !o.KeepOpen || o.KeepOpenGiven || o.MaxQueue < 1 ||
				o.Seed != sandbox.DefaultSeed || o.Customers != sandbox.DefaultCustomers || o.ShutdownWait != 30*time.Second ||
				o.Settings == nil || o.Settings.PasswordHash != walletctl.SandboxSettings().PasswordHash || o.Clock != sandbox.ClockVirtual {
				t.Fatalf("defaults: %+v", o)
			}
		}},
		{args: []string{"--data", "d", "--keep-open=false", "--password-cost", "production", "--tenant-key", "k", "--max-queue", "3",
			"--addr", "127.0.0.1:0", "--shutdown-timeout", "1s", "--clock", "real"}, ok: func(o *cli.ServeOptions) bool {
			return !o.KeepOpen && o.KeepOpenGiven && o.Settings.PasswordHash == walletctl.ProductionHash && o.TenantKey == "k" && o.Clock == sandbox.ClockReal &&
				o.MaxQueue == 3 && o.Addr == "127.0.0.1:0" && o.ShutdownWait == time.Second
		}},
	})
	refusesArgs(t, cli.NewCmdServe,
		[]string{},
		[]string{"--data", "d", "--customers", "-1"},
		[]string{"--data", "d", "--customers", "100001"},
		[]string{"--data", "d", "--max-queue", "0"},
		[]string{"--data", "d", "--password-cost", "cheap"},
		[]string{"--data", "d", "--clock", "wall"},
		[]string{"--data", "d", "now"},
	)
}

// ---- issue 22: damage inside a file of the home tells the truth

// damageHome is a home with one opened wallet (u1, c1) and a few top-ups, so that wallet.db and
// bank.db have pages past their first ones that commands read.
func damageHome(t *testing.T) *world {
	t.Helper()
	w := newWorld(t, false)
	user, card := w.openWallet(0)
	if user != "u1" || card != "c1" {
		t.Fatalf("open-wallet gave %s %s", user, card)
	}
	for range 5 {
		w.okIn(fixtures.SandboxPassword+"\n", "--as", "u1", "topup", "--card", "c1", "--amount", "1", "--password-stdin")
	}
	return w
}

// overwrite damages a database file inside, as the issue did: the WAL checkpointed into it, then
// 3,000 bytes overwritten at offset (4096 unless given), SQLite's header intact.
func overwrite(t *testing.T, path string, offset ...int64) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	at := int64(4096)
	if len(offset) > 0 {
		at = offset[0]
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Size() < at+3000 {
		t.Fatalf("%s is %d bytes: too small to damage at %d", path, fi.Size(), at)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xAB}, 3000), at); err != nil {
		t.Fatal(err)
	}
}

// rootPage is the offset of the first page of a table of the database at path.
func rootPage(t *testing.T, path, table string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var page, size int64
	if err := db.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = ?`, table).Scan(&page); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	return (page - 1) * size
}

// walletTxns counts the txns in wallet.db and how many are pending, reading it read-only.
func walletTxns(t *testing.T, home string) (all, pending int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(home, sandbox.WalletFile)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE status = 'pending') FROM txns INDEXED BY txns_user`).Scan(&all, &pending); err != nil {
		t.Fatal(err)
	}
	return all, pending
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// damagedFile checks that r is SANDBOX_DAMAGED (exit 5) naming file, as -o json says it.
func damagedFile(t *testing.T, r result, file string) {
	t.Helper()
	var e errorJSON
	if r.code != 5 || json.Unmarshal([]byte(r.errOut), &e) != nil || e.Error.Code != walletctl.CodeSandboxDamaged || e.Error.Hint == "" {
		t.Fatalf("want SANDBOX_DAMAGED (exit 5) with a hint, got %s", r)
	}
	if got, _ := e.Error.Details["file"].(string); got != file {
		t.Fatalf("the error names %q, not %s: %s", got, file, r)
	}
}

// A top-up on a bank.db damaged inside is SANDBOX_DAMAGED naming bank.db, every time, and records
// nothing (it used to be PENDING, a lost answer, with a txn left behind at each retry);
// reconcile says the same (it said NETWORK_ERROR); nothing is written to the damaged file.
func TestDamageInsideBankDB(t *testing.T) {
	w := damageHome(t)
	bank := filepath.Join(w.home, sandbox.BankFile)
	overwrite(t, bank)
	before := fileBytes(t, bank)
	all, _ := walletTxns(t, w.home)
	for range 2 {
		damagedFile(t, w.run(fixtures.SandboxPassword+"\n", "-o", "json", "--as", "u1", "topup", "--card", "c1", "--amount", "1", "--password-stdin"), bank)
		if n, pending := walletTxns(t, w.home); n != all || pending != 0 {
			t.Fatalf("the refused top-up left txns behind: %d txns (%d pending), had %d", n, pending, all)
		}
	}
	damagedFile(t, w.run("", "-o", "json", "reconcile"), bank)
	if !bytes.Equal(fileBytes(t, bank), before) {
		t.Fatal("the damaged bank.db was written to")
	}
}

// Damage deeper in bank.db, past what opening the bank reads (its transactions' table): the bank
// finds it during the debit and does nothing; the top-up is SANDBOX_DAMAGED naming bank.db, never
// left pending, and nothing is written to the file.
func TestDamageDeepInBankDB(t *testing.T) {
	w := damageHome(t)
	bank := filepath.Join(w.home, sandbox.BankFile)
	overwrite(t, bank, rootPage(t, bank, "txns"))
	before := fileBytes(t, bank)
	damagedFile(t, w.run(fixtures.SandboxPassword+"\n", "-o", "json", "--as", "u1", "topup", "--card", "c1", "--amount", "1", "--password-stdin"), bank)
	if _, pending := walletTxns(t, w.home); pending != 0 {
		t.Fatalf("the top-up the bank did not do is left pending (%d)", pending)
	}
	if !bytes.Equal(fileBytes(t, bank), before) {
		t.Fatal("the damaged bank.db was written to")
	}
}

// Damage inside wallet.db that a command runs into is SANDBOX_DAMAGED naming wallet.db: a top-up
// (the txn numbers' page, as the issue damaged it), balance (the accounts' page), tx list (the
// txns' page). Nothing is recorded.
func TestDamageInsideWalletDB(t *testing.T) {
	topup := func(t *testing.T, w *world) result {
		return w.run(fixtures.SandboxPassword+"\n", "-o", "json", "--as", "u1", "topup", "--card", "c1", "--amount", "1", "--password-stdin")
	}
	for _, c := range []struct {
		name, table string
		run         func(t *testing.T, w *world) result
	}{
		{"topup", "", topup},
		{"balance", "accounts", func(t *testing.T, w *world) result { return w.run("", "-o", "json", "--as", "u1", "balance") }},
		{"tx list", "txns", func(t *testing.T, w *world) result { return w.run("", "-o", "json", "--as", "u1", "tx", "list") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := damageHome(t)
			wallet := filepath.Join(w.home, sandbox.WalletFile)
			all, _ := walletTxns(t, w.home)
			if c.table == "" {
				overwrite(t, wallet)
			} else {
				overwrite(t, wallet, rootPage(t, wallet, c.table))
			}
			damagedFile(t, c.run(t, w), wallet)
			if c.table == "" {
				if n, _ := walletTxns(t, w.home); n != all {
					t.Fatalf("the refused top-up recorded a txn: %d, had %d", n, all)
				}
			}
		})
	}
}

// A sandbox.json that is not JSON is SANDBOX_DAMAGED naming it, like every damaged file (it was
// CONFLICT).
func TestDamagedSandboxJSON(t *testing.T) {
	w := newWorld(t, false)
	meta := filepath.Join(w.home, sandbox.MetaFile)
	b := fileBytes(t, meta)
	if err := os.WriteFile(meta, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	damagedFile(t, w.run("", "-o", "json", "user", "list"), meta)
}

// checkReport is sandbox check -o json.
type checkReport struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Check, Result, Detail, File string
	} `json:"checks"`
}

func (w *world) check(t *testing.T) (result, map[string]string) {
	t.Helper()
	r := w.run("", "-o", "json", "sandbox", "check")
	var rep checkReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("sandbox check -o json: %v\n%s", err, r)
	}
	got := map[string]string{}
	for _, c := range rep.Checks {
		got[c.Check] = c.Result
	}
	if rep.OK != (r.code == 0) {
		t.Fatalf("ok is %v with %s", rep.OK, r)
	}
	return r, got
}

// sandbox check looks at a home without changing it: exit 0 on a healthy one, SANDBOX_DAMAGED
// (exit 5) naming the file damaged inside (found though no command ran into it), CONFLICT (exit
// 4, as reconcile) when wallet and bank disagree.
func TestSandboxCheck(t *testing.T) {
	want := func(t *testing.T, got map[string]string, results ...string) {
		t.Helper()
		for i, name := range []string{sandbox.CheckSettings, sandbox.CheckWallet, sandbox.CheckBank, sandbox.CheckAgreement} {
			if got[name] != results[i] {
				t.Fatalf("check %s: %s, want %s (all: %v)", name, got[name], results[i], got)
			}
		}
	}
	t.Run("healthy", func(t *testing.T) {
		w := damageHome(t)
		before := map[string][]byte{}
		for _, f := range []string{sandbox.MetaFile, sandbox.WalletFile, sandbox.BankFile} {
			before[f] = fileBytes(t, filepath.Join(w.home, f))
		}
		r, got := w.check(t)
		if r.code != 0 {
			t.Fatalf("a healthy home: %s", r)
		}
		want(t, got, "ok", "ok", "ok", "ok")
		for f, b := range before {
			if !bytes.Equal(fileBytes(t, filepath.Join(w.home, f)), b) {
				t.Fatalf("sandbox check changed %s", f)
			}
		}
		table := w.ok("sandbox", "check").out
		for _, s := range []string{"CHECK", "RESULT", "DETAIL", "agreement"} {
			if !strings.Contains(table, s) {
				t.Fatalf("the table lacks %s:\n%s", s, table)
			}
		}
	})
	for _, c := range []struct{ name, file string }{{"bank damaged", sandbox.BankFile}, {"wallet damaged", sandbox.WalletFile}} {
		t.Run(c.name, func(t *testing.T) {
			w := damageHome(t)
			path := filepath.Join(w.home, c.file)
			// The txns' table: no command of this test reads it before the check does.
			overwrite(t, path, rootPage(t, path, "txns"))
			r, got := w.check(t)
			damagedFile(t, r, path)
			if c.file == sandbox.BankFile {
				want(t, got, "ok", "ok", "damaged", "skipped")
			} else {
				want(t, got, "ok", "damaged", "ok", "skipped")
			}
		})
	}
	t.Run("disagree", func(t *testing.T) {
		w := damageHome(t)
		bank := filepath.Join(w.home, sandbox.BankFile)
		old := fileBytes(t, bank)
		w.okIn(fixtures.SandboxPassword+"\n", "--as", "u1", "topup", "--card", "c1", "--amount", "2", "--password-stdin")
		// The bank from before that top-up: the wallet's succeeded top-up is missing from it.
		if err := os.WriteFile(bank, old, 0o600); err != nil {
			t.Fatal(err)
		}
		r, got := w.check(t)
		if r.code != 4 || !strings.Contains(r.errOut, walletctl.CodeConflict) {
			t.Fatalf("want CONFLICT (exit 4), got %s", r)
		}
		want(t, got, "ok", "ok", "ok", "disagree")
	})
}
