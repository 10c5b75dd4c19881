package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletctl/walletctl/bankmock"
)

// Exec runs one walletctl command line in-process and returns its exit code, as cli.Run does.
// It must be safe to call concurrently for different --home directories.
type Exec func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int

// Transports.
const (
	TransportInproc = "inproc" // the bank in-process, inside the CLI's sandbox
	TransportHTTP   = "http"   // a real bankmock server on loopback, passed as --bank URL
	// TransportServe runs every command against a real wallet server (walletctl serve, as
	// --backend URL) whose tenant uses a real bankmock server: CLI → HTTP → wallet → HTTP → bank.
	TransportServe = "serve"
)

// WalletStarter starts a wallet server with one tenant as spec says (the serve transport) and
// returns its URL, the tenant's API key and a function that stops it.
type WalletStarter func(ctx context.Context, spec WalletSpec) (url, apiKey string, stop func(), err error)

// WalletSpec is the tenant a WalletStarter creates for one scenario: its world, its bank, and the
// settings the scenario's init header sets (--set KEY=VALUE), which a starter must give the tenant
// (walletctl.TenantSpec.Settings) for the scenario's transcript to be the other transports'.
type WalletSpec struct {
	Seed      int64
	Customers int
	BankURL   string
	Settings  map[string]string
}

// BankStarter starts a bank for one scenario's world (the http transport) and returns its URL, its
// admin token (commands get it as WALLETCTL_BANK_TOKEN, to register their home as a partner and
// list the customers; it is masked in transcripts) and a function that stops it.
type BankStarter func(ctx context.Context, seed int64, customers int) (url, adminToken string, stop func(), err error)

// World is what one scenario runs against: the CLI, a transport and a place for homes.
type World struct {
	Exec      Exec
	Transport string      // TransportInproc (default) or TransportHTTP
	StartBank BankStarter // required for TransportHTTP and TransportServe
	// StartWallet is required for TransportServe.
	StartWallet WalletStarter
	TempDir     string // parent of the per-scenario homes ("" = /dev/shm if writable, else os.TempDir)
	Timeout     time.Duration

	templates *worldTemplates // set by RunSuite: in-process worlds copy one home per init (template.go)
}

// Outcome of running one scenario once, before comparing with its golden.
type Outcome struct {
	Transcript string
	Steps      int   // commands run (including the implicit sandbox init)
	Err        error // the scenario itself failed: unexpected exit code, bad capture, bad line
	Duration   time.Duration
	Started    time.Time // wall clock at the start (reports only)
}

// Customer fixture fields usable as ${C.field} after capture-customer.
var customerFields = []string{"card", "card_no", "last4", "bank", "type", "status", "name", "id", "id_no", "phone", "balance", "note", "test", "key"}

type runState struct {
	sc      *Scenario
	w       World
	home    string
	bankURL string
	// bankToken is the http transport's bank's admin token, every command's WALLETCTL_BANK_TOKEN.
	bankToken string
	backend   string // wallet server URL (serve transport)
	apiKey    string
	masker    *Masker
	vars      map[string]string
	custs     []map[string]string // the bank's fixtures, in listing order
	used      map[string]bool     // card numbers already taken by capture-customer
	out       bytes.Buffer        // transcript
	last      string              // stdout of the previous command, for capture
	lastRaw   string              // the previous command's first words, for error messages
	steps     int
	workdir   string                       // ${WORKDIR}: the scenario's scratch folder
	recv      map[string]*scenarioReceiver // receiver NAME …
	bg        *bgCommand                   // the command running in the background, until wait
}

// StepError is a scenario failure tied to a line of the script.
type StepError struct {
	Line int
	Msg  string
}

func (e *StepError) Error() string {
	if e.Line == 0 {
		return "sandbox init: " + e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// RunScenario runs sc in a fresh world and returns its masked transcript.
func RunScenario(ctx context.Context, sc *Scenario, w World) (out Outcome) {
	start := time.Now() // wall time for the summary only; never enters the transcript
	defer func() { out.Started, out.Duration = start, time.Since(start) }()
	if w.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.Timeout)
		defer cancel()
	}
	home, err := os.MkdirTemp(tempParent(w.TempDir), "walletctl-scenario-")
	if err != nil {
		return Outcome{Err: err}
	}
	defer os.RemoveAll(home)
	workdir, err := os.MkdirTemp(tempParent(w.TempDir), "walletctl-workdir-")
	if err != nil {
		return Outcome{Err: err}
	}
	defer os.RemoveAll(workdir)
	st := &runState{sc: sc, w: w, home: home, workdir: workdir, masker: NewMasker(), vars: map[string]string{}, used: map[string]bool{},
		recv: map[string]*scenarioReceiver{}}
	defer st.stopBackground()
	defer func() {
		for _, rc := range st.recv {
			rc.close()
		}
	}()
	st.vars["SEED"] = strconv.FormatInt(sc.Seed, 10)
	st.vars["WORKDIR"] = workdir
	initExtra, err := st.initExtra()
	if err != nil {
		return Outcome{Err: err}
	}
	if w.Transport == TransportHTTP || w.Transport == TransportServe {
		if w.StartBank == nil {
			return Outcome{Err: fmt.Errorf("transport %s: no bank server available", w.Transport)}
		}
		url, token, stop, err := w.StartBank(ctx, sc.Seed, sc.Customers)
		if err != nil {
			return Outcome{Err: fmt.Errorf("starting the bank server: %w", err)}
		}
		defer stop()
		st.bankURL, st.bankToken = url, token
		st.masker.AddSecret(token)
	}
	if w.Transport == TransportServe {
		if w.StartWallet == nil {
			return Outcome{Err: fmt.Errorf("transport serve: no wallet server available")}
		}
		settings, err := tenantSettings(initExtra)
		if err != nil {
			return Outcome{Err: err}
		}
		url, key, stop, err := w.StartWallet(ctx, WalletSpec{Seed: sc.Seed, Customers: sc.Customers, BankURL: st.bankURL, Settings: settings})
		if err != nil {
			return Outcome{Err: fmt.Errorf("starting the wallet server: %w", err)}
		}
		defer stop()
		st.backend, st.apiKey = url, key
		st.masker.AddSecret(key)
	}
	fmt.Fprintf(&st.out, "# scenario: %s\n# title: %s\n# seed: %d, customers: %d\n", sc.Name, sc.Title, sc.Seed, sc.Customers)
	err = st.run(ctx, initExtra)
	st.stopBackground() // before the servers it may be talking to stop (a scenario that broke off)
	return Outcome{Transcript: st.out.String(), Steps: st.steps, Err: err}
}

// tempParent is where a world's home goes: the given folder, else memory (/dev/shm) when the
// machine has it, since a world is deleted after its run, else the system's temp folder.
func tempParent(dir string) string {
	if dir != "" {
		return dir
	}
	return shmDir()
}

var shmDir = sync.OnceValue(func() string {
	if f, err := os.CreateTemp("/dev/shm", ".walletctl-probe-"); err == nil {
		f.Close()
		os.Remove(f.Name())
		return "/dev/shm"
	}
	return "" // os.TempDir
})

// initExtra is the init header's words, for sandbox init after --seed and --customers.
func (st *runState) initExtra() ([]string, error) {
	v := st.sc.Headers["init"]
	if v == "" {
		return nil, nil
	}
	extra, err := SplitWords(v, st.lookup)
	if err != nil {
		return nil, fmt.Errorf("header init: %w", err)
	}
	return extra, nil
}

// tenantSettings reads the init header's words for the serve transport, whose world is a tenant
// of walletctl serve rather than a sandbox init: its --set KEY=VALUE become the tenant's
// settings (the same keys and values); no other word has a tenant equivalent.
func tenantSettings(extra []string) (map[string]string, error) {
	var m map[string]string
	for i := 0; i < len(extra); i++ {
		kv, ok := strings.CutPrefix(extra[i], "--set=")
		if extra[i] == "--set" {
			if i+1 == len(extra) {
				return nil, fmt.Errorf("transport serve: the init header's --set needs KEY=VALUE")
			}
			i++
			kv, ok = extra[i], true
		}
		if !ok {
			return nil, fmt.Errorf("transport serve: the init header's %q is not supported (a tenant is created with the seed, the customers and the header's --set KEY=VALUE settings only)", extra[i])
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("transport serve: the init header's --set %q is not KEY=VALUE", kv)
		}
		if m == nil {
			m = map[string]string{}
		}
		m[k] = v // a key set twice: the last one, as sandbox init applies them in order
	}
	return m, nil
}

func (st *runState) run(ctx context.Context, extra []string) error {
	init := []string{"sandbox", "init", "--seed", strconv.FormatInt(st.sc.Seed, 10), "--customers", strconv.Itoa(st.sc.Customers)}
	init = append(init, extra...)
	inproc := st.w.Transport == "" || st.w.Transport == TransportInproc
	if !inproc || st.w.templates == nil || !st.fromTemplate(ctx, init) {
		if err := st.command(ctx, Step{Line: 0}, init, "", false); err != nil {
			return err
		}
		if err := st.loadFixtures(ctx); err != nil {
			return err
		}
	}
	for _, step := range st.sc.Steps {
		if err := ctx.Err(); err != nil {
			return &StepError{step.Line, "scenario timed out: " + err.Error()}
		}
		if err := st.step(ctx, step); err != nil {
			return err
		}
	}
	if st.bg != nil {
		return &StepError{st.bg.step.Line, "a background command (… &) needs a wait before the end of the scenario"}
	}
	return nil
}

func (st *runState) step(ctx context.Context, step Step) error {
	switch step.Kind {
	case StepCommand:
		words, err := SplitWords(strings.TrimSpace(strings.TrimPrefix(step.Raw, "walletctl")), st.lookup)
		if err != nil {
			return &StepError{step.Line, err.Error()}
		}
		stdin := ""
		if step.HasStdin {
			vals, err := SplitWords(step.Stdin, st.lookup)
			if err != nil || len(vals) != 1 {
				return &StepError{step.Line, "<<< takes exactly one word (quote it)"}
			}
			stdin = vals[0]
			st.masker.AddSecret(stdin) // stdin carries passwords and codes: never shown
		}
		return st.command(ctx, step, words, stdin, step.HasStdin)
	case StepWait:
		return st.wait(ctx, step)
	case StepReceiver:
		if _, dup := st.recv[step.Name]; dup {
			return &StepError{step.Line, fmt.Sprintf("receiver %s already exists", step.Name)}
		}
		args, err := SplitWords(step.Expr, st.lookup)
		if err != nil {
			return &StepError{step.Line, err.Error()}
		}
		rc, err := startReceiver(step.Name, args)
		if err != nil {
			return &StepError{step.Line, err.Error()}
		}
		st.recv[step.Name] = rc
		st.vars[step.Name+".url"] = rc.url
		fmt.Fprintf(&st.out, "%s\n", st.clean(fmt.Sprintf("receiver %s  → %s", strings.TrimSpace(step.Name+" "+QuoteWords(args)), rc.url)))
	case StepReceiverLog:
		rc, ok := st.recv[step.Name]
		if !ok {
			return &StepError{step.Line, fmt.Sprintf("no receiver %s (declare it: receiver %s [STATUS…])", step.Name, step.Name)}
		}
		st.out.WriteString(st.clean(rc.report()))
	case StepCapture:
		v, err := Capture(step.Expr, st.last)
		if err != nil {
			return &StepError{step.Line, err.Error() + " (after: walletctl " + st.lastRaw + ")"}
		}
		st.vars[step.Name] = v
		fmt.Fprintf(&st.out, "%s\n", st.masker.Mask(fmt.Sprintf("capture %s = %s  → %s", step.Name, step.Expr, v)))
	case StepSet, StepSecret:
		words, err := SplitWords(step.Expr, st.lookup)
		if err != nil || len(words) != 1 {
			return &StepError{step.Line, "set/secret takes exactly one word (quote it)"}
		}
		st.vars[step.Name] = words[0]
		if step.Kind == StepSecret {
			st.masker.AddSecret(words[0])
		}
	case StepCustomer:
		c, err := st.pickCustomer(step.Expr)
		if err != nil {
			return &StepError{step.Line, err.Error()}
		}
		for _, f := range customerFields {
			st.vars[step.Name+"."+f] = c[f]
		}
		st.vars[step.Name] = c["card_no"]
		fmt.Fprintf(&st.out, "%s\n", st.masker.Mask(fmt.Sprintf("capture-customer %s = %s  → %s %s %s %s", step.Name, step.Expr, c["bank"], c["name"], c["card_no"], c["phone"])))
	}
	return nil
}

// command runs one walletctl command and appends it to the transcript (a background one: when
// it is waited for).
func (st *runState) command(ctx context.Context, step Step, words []string, stdin string, hasStdin bool) error {
	st.steps++
	display := "walletctl " + QuoteWords(words)
	if hasStdin {
		display += " <<< " + SecretMask
	}
	// Secrets typed as flags are masked like stdin.
	for i, w := range words {
		if (w == "--otp" || w == "--password") && i+1 < len(words) {
			st.masker.AddSecret(words[i+1])
		} else if v, ok := strings.CutPrefix(w, "--otp="); ok {
			st.masker.AddSecret(v)
		}
	}
	args := make([]string, 0, len(words)+4)
	switch {
	case st.backend != "":
		args = append(args, "--backend", st.backend, "--api-key", st.apiKey)
	case st.bankURL != "":
		args = append(args, "--home", st.home, "--bank", st.bankURL)
	default:
		args = append(args, "--home", st.home)
	}
	args = append(args, words...)
	var in io.Reader = strings.NewReader("")
	if hasStdin {
		in = strings.NewReader(stdin + "\n")
	}
	if step.Background {
		return st.background(ctx, step, words, display, args, in)
	}
	var stdout, stderr bytes.Buffer
	code := 0
	if step.Line != 0 || st.backend == "" {
		code = st.w.Exec(ctx, args, in, &stdout, &stderr, st.getenv)
		if st.backend != "" {
			// The server sends notifications off the request path: before the next step, as
			// the embedded CLI does before it returns, what this one made due is done.
			if err := st.drainBackend(ctx); err != nil {
				return err
			}
		}
	} // else: the implicit init is the tenant the wallet server was started with
	prefix := "$ "
	if step.ExpectFail {
		prefix = "$ ! "
	}
	return st.finish(step, words, prefix+display, display, stdout.String(), stderr.String(), code)
}

// drainBackend has the wallet server send what is due (POST /v1/notifications/deliver) and
// waits for it.
func (st *runState) drainBackend(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(st.backend, "/")+"/v1/notifications/deliver", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+st.apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("waiting for the wallet server's notifications: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("waiting for the wallet server's notifications: %s", resp.Status)
	}
	return nil
}

// lockWaitLine is what a command prints when it has waited a second for the home's lock.
var lockWaitLine = regexp.MustCompile(`(?m)^walletctl: waiting for another walletctl using .*\n`)

// finish records a command's outcome in the transcript under the line head and checks its exit
// code.
func (st *runState) finish(step Step, words []string, head, display, outS, errS string, code int) error {
	if isOTPCommand(words) {
		// The sandbox's SMS inbox: whatever code it printed is a secret from now on.
		for _, m := range otpPattern.FindAllStringSubmatch(outS, -1) {
			st.masker.AddSecret(m[1])
		}
	}
	if isPayCodeCommand(words) {
		// A payment code is money to whoever holds it: never shown, as a password.
		for _, c := range payCodePattern.FindAllString(outS, -1) {
			st.masker.AddPayCode(c)
		}
	}
	st.last, st.lastRaw = outS, QuoteWords(words)
	// Waiting a moment for the home's lock (a background listen polling it) is timing, not
	// behaviour: the transcript does not record it.
	errS = lockWaitLine.ReplaceAllString(errS, "")

	t := &st.out
	t.WriteString("\n")
	t.WriteString(st.clean(head))
	t.WriteString("\n")
	if step.Line != 0 {
		// The implicit init's output names the bank (in-process or the server's URL, which also
		// sets the table's widths), so only its exit code is recorded.
		writeBlock(t, st.clean(outS))
	}
	if errS != "" {
		t.WriteString("--- stderr\n")
		writeBlock(t, st.clean(errS))
	}
	fmt.Fprintf(t, "[exit %d]\n", code)

	switch {
	case code != 0 && !step.ExpectFail:
		return &StepError{step.Line, fmt.Sprintf("unexpected failure (exit %d) of: %s\n%s", code, st.clean(display), indent(st.clean(errS)))}
	case code == 0 && step.ExpectFail:
		return &StepError{step.Line, fmt.Sprintf("expected a failure (\"! \") but exit 0: %s", st.clean(display))}
	}
	return nil
}

var otpPattern = regexp.MustCompile(`(?:^|[^0-9])([0-9]{4,8})(?:[^0-9]|$)`)

var payCodePattern = regexp.MustCompile(`\b[0-9]{18}\b`)

// isPayCodeCommand is "walletctl paycode" (showing a new code), not "paycode confirm".
func isPayCodeCommand(words []string) bool {
	pos := positional(words)
	return len(pos) == 1 && pos[0] == "paycode"
}

func isOTPCommand(words []string) bool {
	pos := positional(words)
	return len(pos) >= 2 && pos[0] == "bank" && pos[1] == "otp"
}

// positional returns the words that are not flags or flag values, good enough to name the
// command ("card bind") for coverage and OTP detection. Flags are assumed to take a value unless
// written --flag=value or known to be boolean.
func positional(words []string) []string {
	var pos []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "-") {
			if !strings.Contains(w, "=") && !boolFlags[w] {
				i++
			}
			continue
		}
		pos = append(pos, w)
	}
	return pos
}

// boolFlags are the CLI's flags that take no value.
var boolFlags = map[string]bool{"--password-stdin": true, "--no-color": true, "--update": true, "--yes": true, "-y": true, "--json": true, "--all": true, "--force": true, "-h": true, "--help": true}

// clean makes output transport-independent and masks it. The folders and loopback addresses of
// a run are replaced in one pass, longest first, since one port can be the prefix of another
// (http://127.0.0.1:4000 of http://127.0.0.1:40001).
func (st *runState) clean(s string) string {
	type pair struct{ old, new string }
	pairs := []pair{{st.workdir, "$WORKDIR"}, {st.home, "$HOME"}}
	if st.bankURL != "" {
		pairs = append(pairs, pair{st.bankURL, "$BANK"})
	}
	if st.backend != "" {
		pairs = append(pairs, pair{st.backend, "$BACKEND"})
	}
	repair := false
	for _, rc := range st.recv {
		repair = repair || strings.Contains(s, rc.host)
		pairs = append(pairs, pair{"http://" + rc.host, "http://receiver-" + rc.name}, pair{rc.host, "receiver-" + rc.name})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if len(pairs[i].old) != len(pairs[j].old) {
			return len(pairs[i].old) > len(pairs[j].old)
		}
		return pairs[i].old < pairs[j].old
	})
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		if p.old != "" {
			args = append(args, p.old, p.new)
		}
	}
	s = strings.NewReplacer(args...).Replace(s)
	return maskNotifyValues(st.masker.Mask(s), repair)
}

func writeBlock(b *bytes.Buffer, s string) {
	if s == "" {
		return
	}
	b.WriteString(s)
	if !strings.HasSuffix(s, "\n") {
		b.WriteString("\n(no newline at end)\n")
	}
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// getenv is the environment every command sees: nothing from the real one, so that a developer's
// WALLETCTL_* variables or terminal never change a transcript. A scenario's world is deleted after
// the run, so its sandbox is a throwaway one (no fsync; see package sandbox). The http transport's
// bank needs its admin token (loopback is not a credential).
func (st *runState) getenv(k string) string {
	switch k {
	case "WALLETCTL_BANK_TOKEN":
		return st.bankToken
	case "WALLETCTL_SANDBOX_THROWAWAY":
		return "1"
	case "NO_COLOR":
		return "1"
	case "TZ":
		return "Asia/Shanghai"
	}
	return ""
}

func (st *runState) lookup(ref string) (string, error) {
	if v, ok := st.vars[ref]; ok {
		return v, nil
	}
	if name, field, ok := strings.Cut(ref, "."); ok {
		if _, isCust := st.vars[name]; isCust {
			return "", fmt.Errorf("${%s}: a customer has no field %q (have %s)", ref, field, strings.Join(customerFields, ", "))
		}
	}
	return "", fmt.Errorf("undefined variable $%s", ref)
}

// loadFixtures reads the bank's customers (not part of the transcript): their card and ID numbers
// are masked everywhere, and capture-customer picks among them.
func (st *runState) loadFixtures(ctx context.Context) error {
	var stdout, stderr bytes.Buffer
	args := []string{"--home", st.home}
	if st.bankURL != "" {
		args = append(args, "--bank", st.bankURL)
	}
	args = append(args, "bank", "customers", "--all", "-o", "json") // every page: capture-customer picks among them all
	if code := st.w.Exec(ctx, args, strings.NewReader(""), &stdout, &stderr, st.getenv); code != 0 {
		return fmt.Errorf("listing the bank's customers for fixtures: exit %d: %s", code, st.clean(stderr.String()))
	}
	custs, err := parseCustomers(stdout.Bytes())
	if err != nil {
		return fmt.Errorf("listing the bank's customers for fixtures: %w", err)
	}
	st.custs = custs
	for _, c := range custs {
		st.masker.AddCard(c["card_no"])
		st.masker.AddID(c["id_no"])
	}
	return nil
}

// parseCustomers accepts a JSON array of customers, or an object holding one under "customers".
func parseCustomers(b []byte) ([]map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	if m, ok := raw.(map[string]any); ok {
		raw = m["customers"]
	}
	arr, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("want a JSON array of customers")
	}
	out := make([]map[string]string, 0, len(arr))
	for _, el := range arr {
		m, ok := el.(map[string]any)
		if !ok {
			continue
		}
		c := map[string]string{}
		for k, v := range m {
			c[k] = scalarString(v)
		}
		c["card"] = c["card_no"]
		c["test"], c["key"] = "no", ""
		for _, tc := range bankmock.TestCards {
			if tc.Customer.CardNo == c["card_no"] {
				c["test"], c["key"] = "yes", tc.Key
			}
		}
		c["id"] = c["id_no"]
		if n := len(c["card_no"]); n >= 4 {
			c["last4"] = c["card_no"][n-4:]
		}
		out = append(out, c)
	}
	return out, nil
}

// pickCustomer selects the first fixture customer, in listing order and not yet picked by this
// scenario, matching every filter: key=value, key!=value, key~substring, balance>=fen,
// balance<=fen; "index=N" takes the Nth match (1-based) instead of the first.
func (st *runState) pickCustomer(expr string) (map[string]string, error) {
	filters, err := SplitWords(expr, st.lookup)
	if err != nil {
		return nil, err
	}
	index := 1
	type cond struct{ key, op, val string }
	var conds []cond
	for _, f := range filters {
		var c cond
		for _, op := range []string{">=", "<=", "!=", "~", "="} {
			if k, v, ok := strings.Cut(f, op); ok {
				c = cond{k, op, v}
				break
			}
		}
		if c.op == "" {
			return nil, fmt.Errorf("capture-customer: %q is not key=value", f)
		}
		if c.key == "index" {
			if index, err = strconv.Atoi(c.val); err != nil || index < 1 {
				return nil, fmt.Errorf("capture-customer: index must be 1 or more")
			}
			continue
		}
		conds = append(conds, c)
	}
	seen := 0
	for _, cu := range st.custs {
		if st.used[cu["card_no"]] {
			continue
		}
		ok := true
		for _, c := range conds {
			v := cu[c.key]
			switch c.op {
			case "=":
				ok = v == c.val
			case "!=":
				ok = v != c.val
			case "~":
				ok = strings.Contains(v, c.val)
			case ">=", "<=":
				a, err1 := strconv.ParseInt(v, 10, 64)
				b, err2 := strconv.ParseInt(c.val, 10, 64)
				ok = err1 == nil && err2 == nil && (c.op == ">=" && a >= b || c.op == "<=" && a <= b)
			}
			if !ok {
				break
			}
		}
		if !ok {
			continue
		}
		if seen++; seen == index {
			st.used[cu["card_no"]] = true
			return cu, nil
		}
	}
	return nil, fmt.Errorf("capture-customer: no fixture customer matches %q (the bank has %d; see walletctl bank customers)", expr, len(st.custs))
}
