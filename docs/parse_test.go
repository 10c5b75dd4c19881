package docs

import (
	"reflect"
	"strings"
	"testing"
)

// The rule's reading of a document: which blocks run, which are skipped and why, which lines
// are documented to fail, and the marks and ports it refuses.
func TestParseSnippets(t *testing.T) {
	src := strings.Join([]string{
		"# Title",
		"```sh",
		"walletctl flow open-wallet",
		"walletctl --as u9 balance   # NOT_FOUND (exit 3)",
		"```",
		"```text",
		"output, never run",
		"```",
		"<!-- snippet: skip (needs a real bank) -->",
		"",
		"```bash",
		"curl https://bank.example",
		"```",
		"```console",
		"$ walletctl version",
		"walletctl dev (commit unknown, go1.26.8)",
		"```",
		"<!-- snippet: skipp (typo) -->",
		"````sh",
		"bankmock serve --addr 127.0.0.1:8086 &",
		"```",
		"````",
		"```go",
		"x := 1",
		"```",
	}, "\n")
	snips, problems := parseSnippets("X.md", []byte(src))
	type got struct {
		line     int
		lines    []string
		skip     string
		expected map[int]int
	}
	var gots []got
	for _, s := range snips {
		gots = append(gots, got{s.line, s.lines, s.skip, s.expected})
	}
	want := []got{
		{2, []string{"walletctl flow open-wallet", "walletctl --as u9 balance   # NOT_FOUND (exit 3)"}, "", map[int]int{1: 3}},
		{11, []string{"curl https://bank.example"}, "needs a real bank", map[int]int{}},
		{14, []string{"walletctl version"}, "", map[int]int{}},
		{19, []string{"bankmock serve --addr 127.0.0.1:8086 &", "```"}, "", map[int]int{}},
	}
	if !reflect.DeepEqual(gots, want) {
		t.Errorf("snippets:\n%+v\nwant\n%+v", gots, want)
	}
	if len(problems) != 2 || !strings.HasPrefix(problems[0], "X.md:18: a snippet mark must read") || !strings.HasPrefix(problems[1], "X.md:20: --addr 127.0.0.1:8086 listens on a fixed port") {
		t.Errorf("problems: %q", problems)
	}
}

// judge reads the events of a run: an undocumented failure, a documented one with another code
// or none, SIGPIPE, a snippet that changed the shell or never finished.
func TestJudge(t *testing.T) {
	snips := []snippet{
		{doc: "X.md", line: 1, lines: []string{"a", "b # (exit 5)", "c # (exit 2)", "d | head"}, expected: map[int]int{1: 5, 2: 2}},
		{doc: "X.md", line: 10, lines: []string{"set -e"}},
		{doc: "X.md", line: 20, lines: []string{"exit"}},
	}
	// The script: 3 runner lines, then snippet 0 (begin, 4 lines, state), 1, 2.
	from := []origin{{-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {0, 0}, {0, 1}, {0, 2}, {0, 3}, {-1, 0}, {-1, 0}, {1, 0}, {-1, 0}, {-1, 0}, {2, 0}, {-1, 0}}
	events := strings.Join([]string{
		"state -1 hB braceexpand:pipefail", "trap -- 'x' ERR", "done -1",
		"begin 0", "err 5 1", "err 6 5", "err 8 141", "state 0 hB braceexpand:pipefail", "trap -- 'x' ERR", "done 0",
		"begin 1", "state 1 ehB braceexpand:errexit:pipefail", "trap -- 'x' ERR", "done 1",
		"begin 2",
	}, "\n")
	var msgs []string
	for _, p := range judge(snips, from, events) {
		msgs = append(msgs, p.msg)
	}
	want := []string{
		"X.md:2: exit 1: a",
		"X.md:4: exit 0, documented (exit 2): c # (exit 2)",
		`X.md:10: the snippet changes the options of the shell it is pasted into ("ehB braceexpand:errexit:pipefail", was "hB braceexpand:pipefail"): put set -e and the like in a subshell`,
		"X.md:20: the snippet did not finish (the shell exited, or it hung)",
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("judge:\n%q\nwant\n%q", msgs, want)
	}
}
