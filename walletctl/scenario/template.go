package scenario

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// In-process, the worlds of one suite run that start with the same sandbox init (nearly every
// scenario: seed 1, 10 customers) are copies of one home that ran that init, and listed its
// fixtures, once. A sandbox init is deterministic, save for the wallet's random secret key, which
// the copies then share: the merchant and platform keys derived from it (a prime search each)
// are derived once per run instead of once per world. The transcript records the init's own
// outcome, as when each world runs it. A bank server (the http and serve transports) registers
// each world as a partner of its own, so those worlds are never copies.
type worldTemplates struct {
	mu sync.Mutex
	m  map[string]*worldTemplate
}

// worldTemplate is a home right after its init and the fixture listing, never used itself.
type worldTemplate struct {
	once   sync.Once
	home   string
	code   int
	stdout string
	stderr string
	custs  []map[string]string
	err    error
}

func (ts *worldTemplates) get(init []string) *worldTemplate {
	key := strings.Join(init, "\x00")
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.m == nil {
		ts.m = map[string]*worldTemplate{}
	}
	t, ok := ts.m[key]
	if !ok {
		t = &worldTemplate{}
		ts.m[key] = t
	}
	return t
}

// remove deletes the templates' homes (at the end of the suite).
func (ts *worldTemplates) remove() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range ts.m {
		if t.home != "" {
			os.RemoveAll(t.home)
		}
	}
	ts.m = nil
}

// fromTemplate makes st's home a copy of the template for init (made now if it is the first)
// and records the init as run. It reports false when the world must run its init itself: the
// template's init did not simply succeed (the world then records what went wrong), or it could
// not be made.
func (st *runState) fromTemplate(ctx context.Context, init []string) bool {
	t := st.w.templates.get(init)
	t.once.Do(func() { t.make(ctx, st, init) })
	if t.err != nil || t.code != 0 || t.stderr != "" {
		return false
	}
	if err := copyHome(t.home, st.home); err != nil {
		clearHome(st.home) // the world makes its own
		return false
	}
	st.steps++
	display := "walletctl " + QuoteWords(init)
	stdout := strings.ReplaceAll(t.stdout, t.home, st.home)
	if err := st.finish(Step{Line: 0}, init, "$ "+display, display, stdout, "", 0); err != nil {
		return false // not reached: the template's init succeeded
	}
	st.custs = t.custs
	for _, c := range t.custs {
		st.masker.AddCard(c["card_no"])
		st.masker.AddID(c["id_no"])
	}
	return true
}

// make runs init and the fixture listing in a home of the template's own, with the world's
// environment.
func (t *worldTemplate) make(ctx context.Context, st *runState, init []string) {
	if t.home, t.err = os.MkdirTemp(tempParent(st.w.TempDir), "walletctl-template-"); t.err != nil {
		return
	}
	var stdout, stderr bytes.Buffer
	t.code = st.w.Exec(ctx, append([]string{"--home", t.home}, init...), strings.NewReader(""), &stdout, &stderr, st.getenv)
	t.stdout, t.stderr = stdout.String(), stderr.String()
	if t.code != 0 || t.stderr != "" {
		return
	}
	stdout.Reset()
	args := []string{"--home", t.home, "bank", "customers", "--all", "-o", "json"}
	if code := st.w.Exec(ctx, args, strings.NewReader(""), &stdout, io.Discard, st.getenv); code != 0 {
		t.code = code // the world lists them itself, and says why it cannot
		return
	}
	t.custs, t.err = parseCustomers(stdout.Bytes())
}

func clearHome(home string) {
	entries, _ := os.ReadDir(home)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(home, e.Name()))
	}
}

// copyHome copies the files of a closed home into an empty one, with their modes (0600).
func copyHome(from, to string) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}
