// Package scenario runs golden scenarios: scripts of walletctl commands whose transcripts must
// equal golden files byte for byte (DESIGN.md section 4). The format is documented in
// scenarios/README.md.
package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Scenario is one parsed scenario file.
type Scenario struct {
	Name      string            // file name without extension; the golden is golden/<Name>.golden
	Path      string            // where it was read from
	Title     string            // "# title:" header
	Seed      int64             // "# seed:" header (default 1)
	Customers int               // "# customers:" header (default 20)
	Tags      []string          // "# tags:" header, comma separated
	Headers   map[string]string // every header, including unknown ones
	Steps     []Step
}

// StepKind says what a script line does.
type StepKind int

const (
	StepCommand     StepKind = iota // walletctl …
	StepCapture                     // capture NAME = <.json.path | /regex/>
	StepCustomer                    // capture-customer NAME = key=value …
	StepSet                         // set NAME = value
	StepSecret                      // secret NAME = value
	StepReceiver                    // receiver NAME [keys=DIR] [STATUS…]
	StepReceiverLog                 // receiver-log NAME
	StepWait                        // wait: the background command's end
)

// Step is one line of the script.
type Step struct {
	Line       int // 1-based line number in the file, for error messages
	Kind       StepKind
	Raw        string // the line as written (after the "! " prefix and before "<<<")
	ExpectFail bool   // "! " prefix: the command must exit non-zero
	Stdin      string // the raw (unsubstituted) "<<< …" word, if any
	HasStdin   bool
	Background bool   // "… &": the command runs in the background until "wait"
	Name       string // capture, set, secret: the variable name
	Expr       string // capture: the expression; capture-customer: the filter; set/secret: the value; receiver: its words
}

// DefaultCustomers is the bank's customer count when a scenario does not say.
const DefaultCustomers = 20

// ParseFile reads and parses one scenario file.
func ParseFile(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	sc, err := Parse(name, string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sc.Path = path
	return sc, nil
}

// Parse parses a scenario's text. Header lines ("# key: value") are recognised until the first
// line that is not a comment or blank; later comments are just comments.
func Parse(name, src string) (*Scenario, error) {
	sc := &Scenario{Name: name, Seed: 1, Customers: DefaultCustomers, Headers: map[string]string{}}
	inHeader := true
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		line = strings.TrimRight(line, " \t\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			if inHeader {
				if k, v, ok := headerLine(trimmed); ok {
					if err := sc.setHeader(k, v); err != nil {
						return nil, fmt.Errorf("line %d: %w", n, err)
					}
				}
			}
			continue
		}
		inHeader = false
		st, err := parseStep(trimmed)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		st.Line = n
		sc.Steps = append(sc.Steps, st)
	}
	if sc.Title == "" {
		return nil, fmt.Errorf("missing header \"# title: …\"")
	}
	return sc, nil
}

func headerLine(s string) (key, value string, ok bool) {
	s = strings.TrimSpace(strings.TrimPrefix(s, "#"))
	k, v, found := strings.Cut(s, ":")
	if !found {
		return "", "", false
	}
	k = strings.ToLower(strings.TrimSpace(k))
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r == '-' || r == '_') {
			return "", "", false
		}
	}
	return k, strings.TrimSpace(v), k != ""
}

func (sc *Scenario) setHeader(k, v string) error {
	sc.Headers[k] = v
	switch k {
	case "title":
		sc.Title = v
	case "seed":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("seed: %q is not an integer", v)
		}
		sc.Seed = n
	case "customers":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("customers: %q is not a count", v)
		}
		sc.Customers = n
	case "tags":
		sc.Tags = nil
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				sc.Tags = append(sc.Tags, t)
			}
		}
		sort.Strings(sc.Tags)
	}
	return nil
}

func parseStep(line string) (Step, error) {
	st := Step{Kind: StepCommand}
	if rest, ok := strings.CutPrefix(line, "! "); ok {
		st.ExpectFail = true
		line = strings.TrimSpace(rest)
	}
	word, rest, _ := strings.Cut(line, " ")
	switch word {
	case "walletctl":
		if rest, ok := strings.CutSuffix(line, " &"); ok {
			st.Background = true
			line = strings.TrimSpace(rest)
		}
		if i := strings.Index(line, "<<<"); i >= 0 {
			st.Stdin = strings.TrimSpace(line[i+3:])
			st.HasStdin = true
			line = strings.TrimSpace(line[:i])
			if st.Stdin == "" {
				return st, fmt.Errorf("<<< needs a value")
			}
		}
		st.Raw = line
		return st, nil
	case "capture", "capture-customer", "set", "secret":
		if st.ExpectFail {
			return st, fmt.Errorf("\"! \" only goes before a walletctl command")
		}
		name, expr, ok := strings.Cut(rest, "=")
		name, expr = strings.TrimSpace(name), strings.TrimSpace(expr)
		if !ok || !validName(name) {
			return st, fmt.Errorf("want \"%s NAME = …\" with NAME of letters, digits and _", word)
		}
		st.Name, st.Expr, st.Raw = name, expr, line
		st.Kind = map[string]StepKind{"capture": StepCapture, "capture-customer": StepCustomer, "set": StepSet, "secret": StepSecret}[word]
		if st.Kind == StepCapture && expr == "" {
			return st, fmt.Errorf("capture needs a .json.path or a /regex/")
		}
		return st, nil
	case "receiver", "receiver-log":
		if st.ExpectFail {
			return st, fmt.Errorf("\"! \" only goes before a walletctl command")
		}
		name, args, _ := strings.Cut(strings.TrimSpace(rest), " ")
		if !validName(name) {
			return st, fmt.Errorf("want \"%s NAME …\" with NAME of letters, digits and _", word)
		}
		st.Name, st.Expr, st.Raw = name, strings.TrimSpace(args), line
		st.Kind = StepReceiver
		if word == "receiver-log" {
			st.Kind = StepReceiverLog
			if st.Expr != "" {
				return st, fmt.Errorf("receiver-log takes only the receiver's name")
			}
		}
		return st, nil
	case "wait":
		if st.ExpectFail || strings.TrimSpace(rest) != "" {
			return st, fmt.Errorf("wait takes nothing: \"! \" goes before the background command")
		}
		st.Kind, st.Raw = StepWait, line
		return st, nil
	}
	return st, fmt.Errorf("unknown line %q: want walletctl, capture, capture-customer, set, secret, receiver, receiver-log, wait or a # comment", line)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
