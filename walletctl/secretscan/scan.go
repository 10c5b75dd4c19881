// Package secretscan finds secrets that must never be shown in full: bank card numbers, resident ID
// numbers, payment passwords and OTPs. It knows the values to look for (the bank's customers, the
// passwords a suite typed, the codes the bank issued) rather than guessing from shapes, so a hit is
// a real leak, not a lookalike. The test beside it runs the golden suite and scans everything the
// suite leaves for people to read.
package secretscan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/walletctl/walletctl/cnid"
)

// Kind is what sort of secret a value is.
type Kind string

const (
	Card     Kind = "full card number"
	ID       Kind = "full resident ID"
	Password Kind = "payment password"
	OTP      Kind = "OTP"
	PayCode  Kind = "payment code"
	// Key is a merchant's APIv3 key or a line of a private key's PEM: found anywhere in a line.
	Key Kind = "merchant key"
)

// Finding is one unmasked secret: where, and which (shown masked, so the report is not a leak).
type Finding struct {
	Source string
	Line   int
	Kind   Kind
	Masked string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s %s appears unmasked", f.Source, f.Line, f.Kind, f.Masked)
}

// Scanner holds the secrets to look for.
type Scanner struct {
	secrets map[string]Kind
	keys    []string
	allowed []string
}

// Allow registers fixed text of the product (a hint such as "avoid runs like 123456") that is
// removed from a line before it is scanned: it is the same for every user and names no one's
// secret, even when a scenario happens to type the same digits.
func (s *Scanner) Allow(phrase string) {
	if phrase != "" {
		s.allowed = append(s.allowed, phrase)
	}
}

// New returns an empty scanner.
func New() *Scanner { return &Scanner{secrets: map[string]Kind{}} }

// Add registers a secret. Values shorter than 4 characters are ignored (they would match
// everywhere and protect nothing). A card or ID outranks a password or OTP with the same digits.
// Keys are kept as given (case matters in base64) and must be at least 16 characters.
func (s *Scanner) Add(kind Kind, value string) {
	if kind == Key {
		if value = strings.TrimSpace(value); len(value) >= 16 {
			s.keys = append(s.keys, value)
		}
		return
	}
	value = strings.ToUpper(strings.TrimSpace(value))
	if len(value) < 4 {
		return
	}
	if old, ok := s.secrets[value]; ok && (old == Card || old == ID) {
		return
	}
	s.secrets[value] = kind
}

// Counts says how many secrets of each kind are registered.
func (s *Scanner) Counts() map[Kind]int {
	m := map[Kind]int{}
	for _, k := range s.secrets {
		m[k]++
	}
	m[Key] = len(s.keys)
	return m
}

// Scan reports every registered secret in text, by line. A digit run is a hit when it equals a
// secret (an ID may end in X or x); a card or ID is also a hit inside a longer run of digits, or
// written in groups separated by single spaces or dashes ("6222 0200 …"). Passwords and OTPs only
// count standing alone, so that "135790" inside an amount or a key is not a false alarm.
func (s *Scanner) Scan(source, text string) []Finding {
	var out []Finding
	for i, line := range strings.Split(text, "\n") {
		for _, a := range s.allowed {
			line = strings.ReplaceAll(line, a, "")
		}
		seen := map[string]bool{}
		report := func(v string, k Kind) {
			if !seen[v] {
				seen[v] = true
				out = append(out, Finding{source, i + 1, k, mask(k, v)})
			}
		}
		for _, run := range digitRuns(line) {
			s.checkRun(run, false, report)
		}
		for _, k := range s.keys {
			if strings.Contains(line, k) {
				report(k, Key)
			}
		}
		if joined := joinGroups(line); joined != line {
			for _, run := range digitRuns(joined) {
				s.checkRun(run, true, report)
			}
		}
	}
	return out
}

func (s *Scanner) checkRun(run string, groupedOnly bool, report func(string, Kind)) {
	if k, ok := s.secrets[run]; ok && (!groupedOnly || k == Card || k == ID) {
		report(run, k)
		return
	}
	if len(run) < 13 {
		return
	}
	// A long run may hold a card or an ID inside it.
	for v, k := range s.secrets {
		if (k == Card || k == ID) && len(v) < len(run) && strings.Contains(run, v) {
			report(v, k)
		}
	}
}

// digitRuns returns the maximal runs of ASCII digits in line, a final X or x kept (upper-cased)
// when it follows 17 digits, as in a resident ID.
func digitRuns(line string) []string {
	var runs []string
	for i := 0; i < len(line); {
		if !isDigit(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && isDigit(line[j]) {
			j++
		}
		run := line[i:j]
		if j < len(line) && (line[j] == 'X' || line[j] == 'x') && j-i == 17 {
			run += "X"
			j++
		}
		runs = append(runs, run)
		i = j
	}
	return runs
}

// joinGroups removes single spaces and dashes between digits: "6222 0200-0000" -> "622202000000".
func joinGroups(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		c := line[i]
		if (c == ' ' || c == '-') && i > 0 && i+1 < len(line) && isDigit(line[i-1]) && isDigit(line[i+1]) {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func mask(k Kind, v string) string {
	switch k {
	case Card:
		return cnid.MaskCard(v)
	case ID:
		return cnid.MaskID(v)
	}
	return strings.Repeat("*", len(v))
}

// Sort orders findings by source and line, for stable reports.
func Sort(fs []Finding) {
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].Source != fs[j].Source {
			return fs[i].Source < fs[j].Source
		}
		return fs[i].Line < fs[j].Line
	})
}
