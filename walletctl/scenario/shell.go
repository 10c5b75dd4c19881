package scenario

import (
	"fmt"
	"strings"
)

// Lookup resolves a variable reference ("B", "C1.card") to its value.
type Lookup func(ref string) (string, error)

// SplitWords splits a command line like a POSIX shell does, without globbing: whitespace separates
// words; '…' is literal; "…" allows $VAR and the escapes \" \\ \$; outside quotes a backslash
// escapes the next character. $NAME, ${NAME} and ${NAME.field} are replaced by lookup's answer,
// and a substituted value is never split again (as if it were quoted).
func SplitWords(s string, lookup Lookup) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 2
		case c == '"':
			inWord = true
			i++
			closed := false
			for i < len(s) {
				d := s[i]
				if d == '"' {
					closed = true
					i++
					break
				}
				if d == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$", s[i+1]) >= 0 {
					cur.WriteByte(s[i+1])
					i += 2
					continue
				}
				if d == '$' {
					v, n, err := expandVar(s[i:], lookup)
					if err != nil {
						return nil, err
					}
					cur.WriteString(v)
					i += n
					continue
				}
				cur.WriteByte(d)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated double quote")
			}
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("trailing backslash")
			}
			cur.WriteByte(s[i+1])
			inWord = true
			i += 2
		case c == '$':
			v, n, err := expandVar(s[i:], lookup)
			if err != nil {
				return nil, err
			}
			cur.WriteString(v)
			inWord = true
			i += n
		default:
			cur.WriteByte(c)
			inWord = true
			i++
		}
	}
	flush()
	return words, nil
}

// expandVar expands the reference at the start of s ("$X…" or "${X.f}…") and says how many bytes
// it used. A "$" not followed by a name is kept literally.
func expandVar(s string, lookup Lookup) (string, int, error) {
	if len(s) > 1 && s[1] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", 0, fmt.Errorf("unterminated ${")
		}
		ref := s[2:end]
		if ref == "" {
			return "", 0, fmt.Errorf("empty ${}")
		}
		v, err := lookup(ref)
		return v, end + 1, err
	}
	n := 1
	for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || n > 1 && s[n] >= '0' && s[n] <= '9') {
		n++
	}
	if n == 1 {
		return "$", 1, nil
	}
	v, err := lookup(s[1:n])
	return v, n, err
}

// QuoteWords joins words back into a line a shell would split the same way, quoting only where
// needed so that transcripts stay readable.
func QuoteWords(words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = quoteWord(w)
	}
	return strings.Join(parts, " ")
}

func quoteWord(w string) string {
	if w == "" {
		return "''"
	}
	if !strings.ContainsAny(w, " \t\n'\"\\$#;|&<>()*?`{}[]~!") {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
