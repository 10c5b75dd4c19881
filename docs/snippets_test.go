// Package docs holds no code: its test runs the documentation. Every shell snippet of README.md
// and docs/*.md runs, pasted as written, in a fresh shell, and leaves nothing running.
//
// The rule (docs/architecture.md, "Snippets that paste", says it for writers):
//
//   - A fenced block whose language is sh, bash or shell is a snippet: it runs as written. In a
//     console block the lines that start with "$ " run (without the prompt); the rest is output.
//   - Output, pseudo-code and other languages are fenced as text, go, yaml, ... or with no
//     language, and never run.
//   - A snippet that cannot run here (the whole test suite, a real bank, the internet) has
//     <!-- snippet: skip (why) --> on the line before its fence; the test lists every skipped
//     block with its reason.
//   - A command that is documented to fail says so in its comment, "# ... (exit N)", and must
//     exit exactly N; every other command must exit 0. (Bash's ERR trap tells: commands tested by
//     if, while, until, && or || are exempt, as they are from set -e; a failure inside a function
//     or a ( subshell ) counts once, for the function's or subshell's line.) The shell has
//     pipefail on, so that a jq that fails in the middle of a pipeline counts too; a command
//     ended by SIGPIPE (exit 141: head stopped reading) does not.
//   - A document's snippets run in order in one fresh bash, as a reader pastes them one after the
//     other: in a copy of the checkout (without .git, bin/ and .walletctl/), with HOME and TMPDIR
//     in a scratch folder, no WALLETCTL_* or BANKMOCK_* variable, and bin/walletctl and
//     bin/bankmock built by `make build` first in PATH.
//   - A snippet leaves the shell's options and traps as it found them (a CI block with set -e and
//     a trap goes in a subshell), and once the document's last snippet is done nothing the shell
//     started may still be running: the shell runs in a process group of its own, which must be
//     empty (a server stopped with kill gets a few seconds to exit).
//
// The binaries are built once per run, with the Makefile's own `make build` in a first copy of
// the checkout (-trimpath through GOFLAGS, so that the build cache serves every copy); each
// document's copy starts with that bin/, so the `make build` and `make run` of the docs find their
// binaries up to date instead of linking them again. internal/testbin builds in the checkout
// itself, with flags of its own: the docs' `make build` would then link both binaries again in
// every copy.
package docs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docTimeout bounds one document's run: a snippet that hangs (a server that never prints its
// URL) fails the test instead of holding it.
const docTimeout = 4 * time.Minute

// stopGrace is how long the processes of a finished document have to exit (a server that was
// sent SIGTERM by the snippet's kill finishes its requests first).
const stopGrace = 10 * time.Second

// snippet is one fenced block of a document.
type snippet struct {
	doc      string // README.md, docs/partners.md
	line     int    // the fence's line, 1-based
	lang     string
	lines    []string // the block's lines as pasted
	skip     string   // the reason of <!-- snippet: skip (reason) -->, or ""
	expected map[int]int
}

var (
	fenceRe   = regexp.MustCompile("^( {0,3})(`{3,}|~{3,})\\s*([^`\\s]*)")
	skipRe    = regexp.MustCompile(`^<!--\s*snippet:\s*skip\s*\((.+)\)\s*-->\s*$`)
	markRe    = regexp.MustCompile(`^<!--\s*snippet\b`)
	expExitRe = regexp.MustCompile(`\s#.*\(exit (\d+)\)`)
	// A server's --addr (and the reference receiver's) with a port other than 0.
	fixedPortRe = regexp.MustCompile(`--addr[= ]\S*:([1-9][0-9]*)\b`)
)

// runnable says whether a block of this language runs.
func runnable(lang string) bool {
	switch strings.ToLower(lang) {
	case "sh", "bash", "shell", "console":
		return true
	}
	return false
}

// parseSnippets returns the runnable blocks of a markdown document, in order, and the mistakes in
// its snippet marks.
func parseSnippets(doc string, src []byte) (snips []snippet, problems []string) {
	lines := strings.Split(string(src), "\n")
	prev := "" // the last non-blank line outside a block
	for i := 0; i < len(lines); i++ {
		m := fenceRe.FindStringSubmatch(lines[i])
		if m == nil {
			if t := strings.TrimSpace(lines[i]); t != "" {
				if markRe.MatchString(t) && !skipRe.MatchString(t) {
					problems = append(problems, fmt.Sprintf("%s:%d: a snippet mark must read <!-- snippet: skip (why) -->: %s", doc, i+1, t))
				}
				prev = t
			}
			continue
		}
		indent, fence, lang := m[1], m[2], m[3]
		s := snippet{doc: doc, line: i + 1, lang: lang, expected: map[int]int{}}
		if sm := skipRe.FindStringSubmatch(prev); sm != nil {
			s.skip = strings.TrimSpace(sm[1])
		}
		i++
		for ; i < len(lines); i++ {
			l := strings.TrimPrefix(lines[i], indent)
			if t := strings.TrimRight(l, " \t"); strings.HasPrefix(t, fence[:1]) && strings.Trim(t, fence[:1]) == "" && len(t) >= len(fence) {
				break
			}
			if strings.EqualFold(lang, "console") {
				cmd, ok := strings.CutPrefix(l, "$ ")
				if !ok {
					continue // output
				}
				l = cmd
			}
			if em := expExitRe.FindStringSubmatch(l); em != nil {
				n, _ := strconv.Atoi(em[1])
				s.expected[len(s.lines)] = n
			}
			s.lines = append(s.lines, l)
		}
		prev = ""
		if !runnable(lang) {
			if s.skip != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: a skip mark on a %q block, which never runs", doc, s.line, lang))
			}
			continue
		}
		if s.skip == "" {
			for j, l := range s.lines {
				if m := fixedPortRe.FindStringSubmatch(l); m != nil {
					problems = append(problems, fmt.Sprintf("%s:%d: %s listens on a fixed port: use 127.0.0.1:0 and read the URL from its first line (two runs, or anyone's server, may hold that port)", doc, s.line+1+j, m[0]))
				}
			}
		}
		snips = append(snips, s)
	}
	return snips, problems
}

// documents are the markdown files whose snippets run: README.md and docs/*.md.
func documents(t *testing.T, root string) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"README.md"}
	for _, d := range docs {
		rel, _ := filepath.Rel(root, d)
		out = append(out, filepath.ToSlash(rel))
	}
	return out
}

func TestDocSnippets(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the snippets are bash")
	}
	for _, tool := range []string{"bash", "make", "curl", "jq"} {
		// The docs use them (the guides say so); CI installs them (.ci/run). Never skipped.
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the docs' snippets need %s in PATH: %v", tool, err)
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	type doc struct {
		name  string
		snips []snippet
	}
	var docs []doc
	var skipped []string
	for _, name := range documents(t, root) {
		src, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		snips, problems := parseSnippets(name, src)
		for _, p := range problems {
			t.Error(p)
		}
		for _, s := range snips {
			if s.skip != "" {
				skipped = append(skipped, fmt.Sprintf("%s:%d (%s)", s.doc, s.line, s.skip))
			}
		}
		docs = append(docs, doc{name, snips})
	}
	t.Logf("%d snippets skipped, as marked:\n  %s", len(skipped), strings.Join(skipped, "\n  "))

	start := time.Now()
	scratch := t.TempDir()
	template := filepath.Join(scratch, "checkout")
	if err := copyCheckout(root, template); err != nil {
		t.Fatal(err)
	}
	env := shellEnv(t, scratch)
	build := exec.Command("make", "-s", "build")
	build.Dir, build.Env = template, env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	t.Logf("make build: %s", time.Since(start).Round(100*time.Millisecond))

	t.Run("docs", func(t *testing.T) {
		for _, d := range docs {
			if len(d.snips) == 0 {
				continue
			}
			t.Run(d.name, func(t *testing.T) {
				t.Parallel()
				runDocument(t, d.name, d.snips, template, env)
			})
		}
	})
	t.Logf("every document: %s", time.Since(start).Round(100*time.Millisecond))
}

// shellEnv is the environment of a fresh shell: the test's own, without WALLETCTL_*, BANKMOCK_*
// and Go settings, with a scratch HOME and TMPDIR (each document gets its own) and Go's caches shared.
func shellEnv(t *testing.T, scratch string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go" // where the Makefile and .ci/run put it
	}
	goEnv := func(key string) string {
		out, err := exec.Command(goBin, "env", key).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", key, err)
		}
		return strings.TrimSpace(string(out))
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "WALLETCTL_"), strings.HasPrefix(k, "BANKMOCK_"), strings.HasPrefix(k, "GO"),
			k == "HOME", k == "TMPDIR", k == "PATH", k == "PWD", k == "OLDPWD", k == "CDPATH",
			k == "BASH_ENV", k == "ENV", k == "NO_COLOR", k == "MAKEFLAGS", k == "MFLAGS", k == "MAKELEVEL":
			continue
		}
		env = append(env, kv)
	}
	home := filepath.Join(scratch, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	return append(env,
		"HOME="+home, "TMPDIR="+scratch,
		"PATH="+filepath.Dir(goBin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		// The build cache and the modules of this machine; no network; paths trimmed, so that a
		// package compiled for one copy of the checkout is the same in every other.
		"GOCACHE="+goEnv("GOCACHE"), "GOMODCACHE="+goEnv("GOMODCACHE"), "GOPATH="+goEnv("GOPATH"),
		"GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS=-trimpath")
}

// copyCheckout copies the checkout at root to dst, as a fresh clone has it: without .git and
// what .gitignore names (bin/, .walletctl/, dist/, *.test, *.out).
func copyCheckout(root, dst string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		name := d.Name()
		if d.IsDir() {
			switch rel {
			case ".git", "bin", ".walletctl", "dist":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if strings.HasSuffix(name, ".test") || strings.HasSuffix(name, ".out") || !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// origin is where a line of the shell's script came from.
type origin struct {
	snip int // index in the document's snippets; -1: the runner's own lines
	line int // the line's index in the snippet
}

// runDocument runs a document's snippets in one fresh bash and checks what the rule says.
func runDocument(t *testing.T, name string, snips []snippet, template string, baseEnv []string) {
	dir := t.TempDir()
	checkout := filepath.Join(dir, "checkout")
	if err := copyCheckout(template, checkout); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(checkout, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{"walletctl", "bankmock"} {
		if err := copyFile(filepath.Join(template, "bin", bin), filepath.Join(checkout, "bin", bin)); err != nil {
			t.Fatal(err)
		}
	}
	home, tmp := filepath.Join(dir, "home"), filepath.Join(dir, "tmp")
	for _, d := range []string{home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	events := filepath.Join(dir, "events")
	env := append(append([]string(nil), baseEnv...), "HOME="+home, "TMPDIR="+tmp,
		// bin/ of the template first: the freshly built binaries, for a snippet that runs them
		// before its own make build.
		"PATH="+filepath.Join(template, "bin")+string(os.PathListSeparator)+envValue(baseEnv, "PATH"))

	// The script: the runner's lines (one each, so that every line number maps to one origin) and
	// the snippets' lines as written.
	var script []string
	var from []origin
	add := func(o origin, l string) { script, from = append(script, l), append(from, o) }
	ev := shQuote(events)
	add(origin{-1, 0}, `set -o pipefail`)
	add(origin{-1, 0}, `trap '__snippet_rc=$?; printf "err %s %s\n" "$LINENO" "$__snippet_rc" >>`+ev+`' ERR`)
	add(origin{-1, 0}, `{ printf 'state -1 %s %s\n' "$-" "$SHELLOPTS"; trap -p; printf 'done -1\n'; } >>`+ev)
	for i, s := range snips {
		if s.skip != "" {
			continue
		}
		add(origin{-1, 0}, fmt.Sprintf(`printf '\n=== %s:%d\n' >&2; printf 'begin %d\n' >>%s`, s.doc, s.line, i, ev))
		for j, l := range s.lines {
			add(origin{i, j}, l)
		}
		add(origin{-1, 0}, fmt.Sprintf(`{ printf 'state %d %%s %%s\n' "$-" "$SHELLOPTS"; trap -p; printf 'done %d\n'; } >>%s`, i, i, ev))
	}
	scriptPath := filepath.Join(dir, "snippets.sh")
	if err := os.WriteFile(scriptPath, []byte(strings.Join(script, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(dir, "output")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	ctx, cancel := context.WithTimeout(context.Background(), docTimeout)
	defer cancel()
	start := time.Now()
	cmd := exec.Command("bash", scriptPath)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = checkout, env, out, out
	group := newGroup(cmd) // a process group (session) of its own
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(group.kill)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var runErr error
	timedOut := false
	select {
	case runErr = <-done:
	case <-ctx.Done():
		timedOut = true
		group.kill()
		runErr = <-done
	}
	elapsed := time.Since(start)
	left := group.waitEmpty(stopGrace)
	group.kill()
	ran := 0
	for _, s := range snips {
		if s.skip == "" {
			ran++
		}
	}
	t.Logf("%s: %d snippets in %s (%d skipped)", name, ran, elapsed.Round(100*time.Millisecond), len(snips)-ran)

	output, _ := os.ReadFile(outPath)
	evs, _ := os.ReadFile(events)
	problems := judge(snips, from, string(evs))
	if timedOut {
		problems = append(problems, problem{-1, fmt.Sprintf("the document did not finish within %s", docTimeout)})
	}
	if runErr != nil && !timedOut {
		if _, ok := runErr.(*exec.ExitError); !ok {
			problems = append(problems, problem{-1, fmt.Sprintf("bash: %v", runErr)})
		}
	}
	if len(left) > 0 {
		problems = append(problems, problem{-1, fmt.Sprintf("still running %s after the document's last snippet (kill it in the snippet that starts it):\n    %s",
			stopGrace, strings.Join(left, "\n    "))})
	}
	bad := map[string]bool{}
	for _, p := range problems {
		t.Error(p.msg)
		if p.snip >= 0 {
			bad[fmt.Sprintf("%s:%d", snips[p.snip].doc, snips[p.snip].line)] = true
		}
	}
	if len(problems) == 0 {
		return
	}
	// What the snippets with a problem printed (the runner marks where each one starts).
	sections := strings.Split("\n"+string(output), "\n=== ")
	for _, sec := range sections[1:] {
		if head, _, _ := strings.Cut(sec, "\n"); bad[head] {
			t.Logf("what %s printed:\n%s", head, tail(sec, 6000))
		}
	}
	if len(bad) == 0 {
		t.Logf("the shell's output:\n%s", tail(string(output), 12000))
	}
}

// problem is a break of the rule, in a snippet (its index) or in the document (-1).
type problem struct {
	snip int
	msg  string
}

// judge reads the events the script wrote and returns what broke the rule.
func judge(snips []snippet, from []origin, events string) []problem {
	var problems []problem
	type state struct{ flags, traps string }
	states := map[int]*state{}
	begun := map[int]bool{}
	var cur *state
	failed := map[[2]int]int{} // (snippet, line) → exit code
	var unexpected []problem
	sc := bufio.NewScanner(strings.NewReader(events))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		f := strings.Fields(l)
		switch {
		case cur != nil && strings.HasPrefix(l, "trap -- "):
			cur.traps += l + "\n"
		case len(f) >= 2 && f[0] == "state":
			n, _ := strconv.Atoi(f[1])
			cur = &state{flags: strings.Join(f[2:], " ")}
			states[n] = cur
		case len(f) == 2 && f[0] == "done":
			cur = nil
		case len(f) == 2 && f[0] == "begin":
			n, _ := strconv.Atoi(f[1])
			begun[n] = true
		case len(f) == 3 && f[0] == "err":
			ln, _ := strconv.Atoi(f[1])
			rc, _ := strconv.Atoi(f[2])
			if ln < 1 || ln > len(from) || from[ln-1].snip < 0 {
				unexpected = append(unexpected, problem{-1, fmt.Sprintf("the runner's line %d exited %d", ln, rc)})
				continue
			}
			if rc == 141 {
				continue // SIGPIPE: a reader downstream (head) stopped reading, as it was told
			}
			o := from[ln-1]
			failed[[2]int{o.snip, o.line}] = rc
		}
	}
	problems = append(problems, unexpected...)
	base := states[-1]
	if base == nil {
		return append(problems, problem{-1, "the shell never started its first snippet"})
	}
	for i, s := range snips {
		if s.skip != "" {
			continue
		}
		where := func(j int) string { return fmt.Sprintf("%s:%d", s.doc, s.line+1+j) }
		for j, l := range s.lines {
			rc, failedHere := failed[[2]int{i, j}]
			want, documented := s.expected[j]
			switch {
			case failedHere && !documented:
				problems = append(problems, problem{i, fmt.Sprintf("%s: exit %d: %s", where(j), rc, strings.TrimSpace(l))})
			case failedHere && rc != want:
				problems = append(problems, problem{i, fmt.Sprintf("%s: exit %d, documented (exit %d): %s", where(j), rc, want, strings.TrimSpace(l))})
			case !failedHere && documented && states[i] != nil:
				problems = append(problems, problem{i, fmt.Sprintf("%s: exit 0, documented (exit %d): %s", where(j), want, strings.TrimSpace(l))})
			}
		}
		st := states[i]
		if st == nil {
			if begun[i] {
				problems = append(problems, problem{i, fmt.Sprintf("%s:%d: the snippet did not finish (the shell exited, or it hung)", s.doc, s.line)})
			} else {
				problems = append(problems, problem{i, fmt.Sprintf("%s:%d: the snippet never ran (the shell ended before it)", s.doc, s.line)})
			}
			continue
		}
		if st.flags != base.flags {
			problems = append(problems, problem{i, fmt.Sprintf("%s:%d: the snippet changes the options of the shell it is pasted into (%q, was %q): put set -e and the like in a subshell", s.doc, s.line, st.flags, base.flags)})
		}
		if st.traps != base.traps {
			problems = append(problems, problem{i, fmt.Sprintf("%s:%d: the snippet leaves traps in the shell it is pasted into: put them in a subshell\n%s", s.doc, s.line, st.traps)})
		}
	}
	return problems
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
