package secretscan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/httpapi"
	"github.com/walletctl/walletctl/walletctl/scenario"
	"github.com/walletctl/walletctl/walletctl/secretscan"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

var repoRoot = filepath.Join("..", "..")

// artifact is one text people may read, with a name the report points at.
type artifact struct{ name, text string }

// collector gathers, while the suite runs, every artifact to scan and every secret to scan for.
type collector struct {
	mu             sync.Mutex
	artifacts      []artifact
	fixtures       []artifact // live `bank customers` / `bank cards` / `bank otp` output: allowed in full
	cards          map[string]bool
	ids            map[string]bool
	otps           map[string]bool
	paycodes       map[string]bool
	keys           map[string]bool // merchants' APIv3 keys and private key lines (merchant keys --out)
	seenFile       map[string]bool // sandbox files already collected, by content
	homes          map[string]string
	cliRuns        int
	logLines       int
	walletLogLines int // lines the wallet servers (serve transport) logged
}

func newCollector() *collector {
	return &collector{cards: map[string]bool{}, ids: map[string]bool{}, otps: map[string]bool{},
		paycodes: map[string]bool{}, keys: map[string]bool{}, seenFile: map[string]bool{}, homes: map[string]string{}}
}

func (c *collector) add(name, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.artifacts = append(c.artifacts, artifact{name, text})
}

// bankState is the part of a bankmock snapshot (bank.json or GET /admin/snapshot) that names
// secrets: the customers and every OTP the bank issued.
type bankState struct {
	Customers []bankapi.Customer `json:"customers"`
	Bindings  map[string]struct {
		OTP string `json:"otp"`
	} `json:"bindings"`
	LastOTP map[string]string `json:"last_otp"`
	Journal []json.RawMessage `json:"journal"`
}

// absorbBank records a bank's secrets and returns its journal as one JSON entry per line.
func (c *collector) absorbBank(snap []byte) (string, error) {
	var st bankState
	if err := json.Unmarshal(snap, &st); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cu := range st.Customers {
		c.cards[cu.CardNo] = true
		c.ids[cu.IDNo] = true
	}
	for _, b := range st.Bindings {
		c.otps[b.OTP] = true
	}
	for _, o := range st.LastOTP {
		c.otps[o] = true
	}
	var j strings.Builder
	for _, e := range st.Journal {
		j.Write(e)
		j.WriteByte('\n')
	}
	return j.String(), nil
}

// privateFiles of a home are the machine's, not people's: the wallet's database and the bank's
// own state (which must hold the fixtures in full to work). Everything else is scanned.
var privateFiles = map[string]bool{"wallet.db": true, "wallet.db-wal": true, "wallet.db-shm": true,
	"wallet.db-journal": true, "bank.json": true, "bank.db": true, "bank.db-wal": true, "bank.db-shm": true, "lock": true}

// execFor returns the Exec of one scenario run: the runner calls it for its sandbox init, its
// fixture listing and then each command line, so the last call is known and the home (deleted
// when the scenario ends) is inspected after it, and after anything that resets the bank.
func (c *collector) execFor(sc *scenario.Scenario) scenario.Exec {
	total := 2
	for _, st := range sc.Steps {
		if st.Kind == scenario.StepCommand {
			total++
		}
	}
	var calls atomic.Int64 // a background command (listen &) calls from its own goroutine
	return func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
		n := calls.Add(1)
		words := strings.Join(commandWords(args), " ")
		inspect := n >= int64(total) || strings.Contains(words, "reset") || strings.Contains(words, "init")
		return c.exec(ctx, args, stdin, stdout, stderr, getenv, inspect)
	}
}

// exec runs one command through the real CLI, then records its raw (unmasked) output and, when
// inspect is set, the state of its home: people's files, and the bank's secrets from bank.db (or a format-2 bank.json).
func (c *collector) exec(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, inspect bool) int {
	var out, errOut bytes.Buffer
	// Written through as the command runs: the runner waits for a background command's first line.
	code := cli.Run(ctx, args, &cli.IOStreams{In: stdin, Out: io.MultiWriter(&out, stdout), ErrOut: io.MultiWriter(&errOut, stderr)}, getenv)

	home := ""
	if len(args) >= 2 && args[0] == "--home" {
		home = args[1]
	}
	c.merchantSecrets(args, out.String())
	c.mu.Lock()
	c.cliRuns++
	n := c.cliRuns
	c.mu.Unlock()
	label := fmt.Sprintf("cli#%d %s", n, strings.Join(commandWords(args), " "))
	if isFixtureListing(args) || isPayCodeShow(args) {
		c.mu.Lock()
		c.fixtures = append(c.fixtures, artifact{label + " (stdout)", out.String()})
		c.mu.Unlock()
	} else {
		c.add(label+" (stdout)", out.String())
	}
	c.add(label+" (stderr)", errOut.String())

	if home == "" || !inspect {
		return code
	}
	entries, _ := os.ReadDir(home)
	for _, e := range entries {
		p := filepath.Join(home, e.Name())
		b, err := os.ReadFile(p)
		if err != nil || e.IsDir() {
			continue
		}
		if e.Name() == "bank.json" {
			if j, err := c.absorbBank(b); err == nil {
				c.add("bank journal (bank.json) after "+label, j)
			}
			continue
		}
		if e.Name() == "bank.db" {
			// The bank's own file holds its customers in full (it must); read its secrets and
			// journal through the bank itself. The command is over: nobody else has the file open.
			if eng, err := bankmock.Open(bankmock.Config{Path: p, NoSync: true}); err == nil {
				snap, err := eng.Snapshot(ctx)
				eng.Close()
				if err == nil {
					if j, err := c.absorbBank(snap); err == nil {
						c.add("bank journal (bank.db) after "+label, j)
					}
				}
			}
			continue
		}
		if privateFiles[e.Name()] {
			continue
		}
		key := e.Name() + "\x00" + string(b)
		c.mu.Lock()
		dup := c.seenFile[key]
		c.seenFile[key] = true
		c.mu.Unlock()
		if !dup {
			c.add("sandbox file "+e.Name()+" after "+label, string(b))
		}
	}
	return code
}

// commandWords drops --home and --bank with their values (temp paths and ports).
func commandWords(args []string) []string {
	var w []string
	for i := 0; i < len(args); i++ {
		if (args[i] == "--home" || args[i] == "--bank") && i+1 < len(args) {
			i++
			continue
		}
		w = append(w, args[i])
	}
	return w
}

// isFixtureListing: the bank's fixture listings and its SMS inbox, which a live sandbox shows in
// full on purpose (DESIGN.md section 3, masking).
func isFixtureListing(args []string) bool {
	w := commandWords(args)
	var pos []string
	for i := 0; i < len(w); i++ {
		if strings.HasPrefix(w[i], "-") {
			if !strings.Contains(w[i], "=") && w[i] != "--no-color" {
				i++
			}
			continue
		}
		pos = append(pos, w[i])
	}
	return len(pos) >= 2 && pos[0] == "bank" && (pos[1] == "customers" || pos[1] == "cards" || pos[1] == "otp")
}

// lockedBuffer is the server log: the server writes from its connection goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startBank is scenario.StartHTTPBank with a logger writing to a buffer; on stop it collects the
// server's log, the bank's journal and the bank's secrets.
func (c *collector) startBank(ctx context.Context, seed int64, customers int) (string, string, func(), error) {
	eng := bankmock.New(bankmock.Config{Seed: seed, Customers: customers, Clock: vclock.NewManual(vclock.DefaultEpoch)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	logBuf := &lockedBuffer{}
	h := server.New(eng, server.Options{Logger: slog.New(slog.NewTextHandler(logBuf, nil))})
	c.mu.Lock()
	c.keys[h.AdminToken()] = true // every command gets it (WALLETCTL_BANK_TOKEN): none may show it
	c.mu.Unlock()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String()
	stop := func() {
		h.ReleaseHangs()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		logs := logBuf.String()
		c.mu.Lock()
		c.logLines += strings.Count(logs, "\n")
		c.mu.Unlock()
		c.add("bankmock server log "+url, logs)
		if snap, err := eng.Snapshot(context.Background()); err == nil {
			if j, err := c.absorbBank(snap); err == nil {
				c.add("bank journal (server) "+url, j)
			}
		}
	}
	return url, h.AdminToken(), stop, nil
}

// startWallet is scenario.StartHTTPWallet with an access log writing to a buffer; on stop it
// collects the wallet server's log.
func (c *collector) startWallet(ctx context.Context, spec scenario.WalletSpec) (string, string, func(), error) {
	data, err := os.MkdirTemp("", "walletctl-serve-scan-")
	if err != nil {
		return "", "", nil, err
	}
	logBuf := &lockedBuffer{}
	tenants, err := tenant.Open(ctx, tenant.Options{Data: data, Throwaway: true})
	if err != nil {
		return "", "", nil, err
	}
	s, err := httpapi.NewServer(ctx, httpapi.Options{Tenants: tenants, Logger: slog.New(slog.NewJSONHandler(logBuf, nil))})
	if err != nil {
		tenants.Close(ctx)
		return "", "", nil, err
	}
	// A private bank: scenarios stage customers and faults through /v1/bank/ (on a shared bank a tenant is one partner).
	ct, err := tenants.Create(ctx, walletctl.TenantSpec{Seed: spec.Seed, Customers: spec.Customers, Settings: spec.Settings})
	if err != nil {
		return "", "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		s.Close(context.Background())
		os.RemoveAll(data)
		logs := logBuf.String()
		c.mu.Lock()
		c.walletLogLines += strings.Count(logs, "\n")
		c.mu.Unlock()
		c.add("walletctl serve log "+url, logs)
	}
	return url, ct.APIKey, stop, nil
}

// TestNoSecretsLeak runs every golden scenario in every transport, then scans every golden, every
// transcript, every bank journal, every people-readable sandbox file, the CLI's raw output and the
// bankmock server's log for the bank's full card and ID numbers, the passwords the scenarios typed
// and every OTP the bank issued.
func TestNoSecretsLeak(t *testing.T) {
	scs, _, err := scenario.Discover([]string{filepath.Join(repoRoot, "scenarios")})
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	w := scenario.World{StartBank: c.startBank, StartWallet: c.startWallet, TempDir: t.TempDir(), Timeout: time.Minute}

	type job struct {
		sc *scenario.Scenario
		tr string
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				ww := w
				ww.Transport = j.tr
				ww.Exec = c.execFor(j.sc)
				o := scenario.RunScenario(context.Background(), j.sc, ww)
				if o.Err != nil {
					errMu.Lock()
					t.Errorf("%s (%s): the scenario broke, so the scan is incomplete: %v", j.sc.Name, j.tr, o.Err)
					errMu.Unlock()
				}
				c.add("transcript "+j.sc.Name+" ("+j.tr+")", o.Transcript)
			}
		}()
	}
	for _, sc := range scs {
		for _, tr := range []string{scenario.TransportInproc, scenario.TransportHTTP, scenario.TransportServe} {
			jobs <- job{sc, tr}
		}
	}
	close(jobs)
	wg.Wait()

	// The goldens themselves, as committed.
	goldens, _ := filepath.Glob(filepath.Join(repoRoot, "golden", "*.golden"))
	fixtureCommands := 0
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		c.add(filepath.ToSlash(filepath.Join("golden", filepath.Base(g))), string(b))
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "$ walletctl bank customers") || strings.HasPrefix(line, "$ walletctl bank cards") {
				fixtureCommands++
			}
		}
	}

	sc := secretscan.New()
	for _, tc := range bankmock.TestCards {
		c.cards[tc.Customer.CardNo], c.ids[tc.Customer.IDNo] = true, true
	}
	for v := range c.cards {
		sc.Add(secretscan.Card, v)
	}
	for v := range c.ids {
		sc.Add(secretscan.ID, v)
	}
	passwords := scenarioPasswords(t, scs)
	for _, p := range passwords {
		sc.Add(secretscan.Password, p)
	}
	for v := range c.otps {
		sc.Add(secretscan.OTP, v)
	}
	for v := range c.paycodes {
		sc.Add(secretscan.PayCode, v)
	}
	for v := range c.keys {
		sc.Add(secretscan.Key, v)
	}
	for _, c := range walletctl.Codes() {
		sc.Allow(walletctl.Hint(c))
	}

	var findings []secretscan.Finding
	lines, bytesScanned := 0, 0
	for _, a := range c.artifacts {
		lines += strings.Count(a.text, "\n") + 1
		bytesScanned += len(a.text)
		findings = append(findings, sc.Scan(a.name, a.text)...)
	}
	secretscan.Sort(findings)
	for i, f := range findings {
		if i == 50 {
			t.Errorf("... and %d more", len(findings)-50)
			break
		}
		t.Error(f)
	}
	counts := sc.Counts()
	t.Logf("scanned %d artifacts (%d goldens, %d transcripts, %d CLI runs' stdout and stderr, sandbox files, bank journals, %d server log lines): %d lines, %d bytes; secrets: %d cards, %d IDs, %d passwords, %d OTPs, %d payment codes, %d merchant key lines; %d findings",
		len(c.artifacts), len(goldens), 3*len(scs), c.cliRuns, c.logLines, lines, bytesScanned,
		counts[secretscan.Card], counts[secretscan.ID], counts[secretscan.Password], counts[secretscan.OTP],
		counts[secretscan.PayCode], counts[secretscan.Key], len(findings))

	// The scan must have had something to find and somewhere to look, or passing proves nothing.
	for _, k := range []secretscan.Kind{secretscan.Card, secretscan.ID, secretscan.Password, secretscan.OTP, secretscan.PayCode, secretscan.Key} {
		if counts[k] == 0 {
			t.Errorf("no %s to scan for: the collector is broken", k)
		}
	}
	if c.logLines == 0 {
		t.Error("the bankmock server logged nothing: the http transport did not run through the logger")
	}
	if c.walletLogLines == 0 {
		t.Error("the wallet server logged nothing: the serve transport did not run through the logger")
	}
	if fixtureCommands == 0 {
		t.Error("no golden lists the bank's fixtures, so 'goldens mask even the fixture listings' went unchecked")
	}
	// The live fixture listings do show full numbers (the one exception): the scanner must see them,
	// which proves it reads the same raw output it passed everywhere else.
	live := 0
	for _, a := range c.fixtures {
		live += len(sc.Scan(a.name, a.text))
	}
	if live == 0 {
		t.Errorf("the %d live fixture listings showed no full card or ID: the scanner or the collector is blind", len(c.fixtures))
	}
}

// scenarioPasswords are the literal secrets the scenarios type: every "<<<" word and every
// "secret NAME = value" (values built from variables, such as a captured OTP, are covered by the
// bank's OTP list instead).
func scenarioPasswords(t *testing.T, scs []*scenario.Scenario) []string {
	set := map[string]bool{}
	noVars := func(ref string) (string, error) { return "", fmt.Errorf("variable") }
	for _, sc := range scs {
		for _, st := range sc.Steps {
			var src string
			switch {
			case st.HasStdin:
				src = st.Stdin
			case st.Kind == scenario.StepSecret:
				src = st.Expr
			default:
				continue
			}
			// Only what has a payment password's shape: anything else is refused by the format
			// check before it is stored or compared (and "12345" is also a phone some scenario
			// registers on purpose).
			if words, err := scenario.SplitWords(src, noVars); err == nil && len(words) == 1 && sixDigits(words[0]) {
				set[words[0]] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Error("no passwords found in the scenarios")
	}
	return out
}

func sixDigits(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isPayCodeShow: `walletctl paycode` shows its code to its user, as the wallet app's screen does:
// the one place it may appear (its transcripts mask it, and nothing else may show it).
func isPayCodeShow(args []string) bool {
	w := commandWords(args)
	return slices.Contains(w, "paycode") && !slices.Contains(w, "confirm")
}

var payCodeRun = regexp.MustCompile(`\b13[0-9]{16}\b`)

// merchantSecrets records what a command made that is secret beyond cards and IDs: the payment
// codes `paycode` showed, and the APIv3 key and private key lines `merchant keys --out DIR` wrote.
func (c *collector) merchantSecrets(args []string, stdout string) {
	w := commandWords(args)
	has := func(word string) bool { return slices.Contains(w, word) }
	out, keys := "", false
	for i := range w {
		if w[i] == "--out" && i+1 < len(w) {
			out = w[i+1]
		}
		keys = keys || w[i] == "merchant" && i+1 < len(w) && w[i+1] == "keys"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if has("paycode") && !has("confirm") {
		for _, code := range payCodeRun.FindAllString(stdout, -1) {
			c.paycodes[code] = true
		}
	}
	if keys && out != "" {
		if b, err := os.ReadFile(filepath.Join(out, "merchant.json")); err == nil {
			var m struct {
				APIv3Key string `json:"apiv3_key"`
			}
			if json.Unmarshal(b, &m) == nil && m.APIv3Key != "" {
				c.keys[m.APIv3Key] = true
			}
		}
		if b, err := os.ReadFile(filepath.Join(out, "apiclient_key.pem")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
					c.keys[line] = true
				}
			}
		}
	}
}
