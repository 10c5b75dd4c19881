package scenario

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var lineErr = regexp.MustCompile(`^line ([0-9]+): .`)

// FuzzScenarioParse: the parser never panics; every error names the line it is about (the one
// error about the whole file, a missing title, names the header instead); every parsed step keeps a
// line number inside the file, in order. SplitWords, which the runner applies to each command line,
// never panics either. The seed corpus is every committed scenario plus broken lines.
func FuzzScenarioParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "scenarios", "*.txt"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range []string{
		"", "# title: t\n", "# title: t\nwalletctl balance <<<", "# title: t\n! set X = 1",
		"# title: t\ncapture X =", "# title: t\ncapture 1X = .a", "# seed: x\n# title: t",
		"# customers: -1\n# title: t", "# title: t\nfrobnicate", "# title: t\nwalletctl 'unterminated",
		"# title: t\nwalletctl \"${A.b\" <<< '1 2'", "# title: t\r\nwalletctl x\r\n", "\x00\n\xff# title:",
		"# title: t\nwalletctl a \\", "# title: t\nsecret S = \"$\"", "# title: t\ncapture-customer C = key~",
		"# title: t\nreceiver R 500*2 hang\nreceiver-log R", "# title: t\nreceiver\nreceiver-log R x", "# title: t\nwait x",
		"# title: t\n! walletctl listen &\nwait", "# title: t\n! wait", "# title: t\nwalletctl &",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		nlines := strings.Count(src, "\n") + 1
		sc, err := Parse("fuzz", src)
		if err != nil {
			msg := err.Error()
			if m := lineErr.FindStringSubmatch(msg); m != nil {
				n, _ := strconv.Atoi(m[1])
				if n < 1 || n > nlines {
					t.Fatalf("error %q names line %d of %d", msg, n, nlines)
				}
			} else if !strings.Contains(msg, "missing header \"# title") {
				t.Fatalf("error without a line number: %q", msg)
			}
			return
		}
		if sc.Title == "" {
			t.Fatal("parsed without a title")
		}
		prev := 0
		for _, st := range sc.Steps {
			if st.Line <= prev || st.Line > nlines {
				t.Fatalf("step line %d after %d (file has %d lines)", st.Line, prev, nlines)
			}
			prev = st.Line
			if st.HasStdin && st.Stdin == "" {
				t.Fatalf("line %d: empty <<< accepted", st.Line)
			}
			if st.Kind != StepCommand && st.Kind != StepWait && !validName(st.Name) {
				t.Fatalf("line %d: bad variable name %q accepted", st.Line, st.Name)
			}
			if st.Kind == StepCapture && st.Expr == "" {
				t.Fatalf("line %d: empty capture accepted", st.Line)
			}
			// The runner splits command lines later; that must not panic either.
			_, _ = SplitWords(st.Raw, func(string) (string, error) { return "v", nil })
			_, _ = SplitWords(st.Stdin, func(string) (string, error) { return "", os.ErrNotExist })
		}
	})
}
