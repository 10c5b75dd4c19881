package walletctl

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Input checks shared by every way in (CLI, /v1, the v3 API): text that ends up in a bill, a
// table or a log, and the URLs the notification sender is given (DESIGN.md section 10).

// MaxNotifyURL is v3's bound on notify_url (string[1,256]).
const MaxNotifyURL = 256

// unsafeRune reports a character that must not reach a bill, a table or a log: a control
// character (C0 with tab and newline, DEL, C1), the Unicode line and paragraph separators (which
// some viewers and JSON-in-JS readers break lines at), and the bidirectional overrides and
// isolates (which make a table show other text than it holds).
func unsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// Printable reports whether s is valid UTF-8 without a character unsafe in a bill, table or log.
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, unsafeRune) < 0
}

// CheckText refuses free text that cannot be written safely into a bill, a table or a log:
// INVALID_ARGUMENT with details field=field (v3's PARAM_ERROR on the v3 API).
func CheckText(field, s string) error {
	if Printable(s) {
		return nil
	}
	what := "invalid UTF-8"
	if utf8.ValidString(s) {
		i := strings.IndexFunc(s, unsafeRune)
		r, _ := utf8.DecodeRuneInString(s[i:])
		what = fmt.Sprintf("the control character %U at byte %d", r, i)
	}
	return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("%s holds %s; control characters (newlines and tabs too) are refused", field, what),
		Hint: "give printable text on one line", Details: map[string]any{"field": field}}
}

// SanitizeText replaces what Printable refuses by a space (invalid UTF-8 by U+FFFD), for text
// that was not checked on its way in: stored legacy data, or a merchant receiver's answer.
func SanitizeText(s string) string {
	if Printable(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return ' '
		}
		return r
	}, s)
}

// CheckNotifyURL refuses a notification URL the sender must not be given: it must be an
// absolute http or https URL with a host, at most MaxNotifyURL bytes, without spaces or
// control characters, and parse as a URL. "" is refused too (callers that allow no URL check
// for it first). INVALID_ARGUMENT with details field=field.
func CheckNotifyURL(field, raw string) error {
	bad := func(why string) error {
		return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("%s %s", field, why),
			Hint:    "an absolute http(s) URL of at most 256 bytes, e.g. http://127.0.0.1:8090/notify",
			Details: map[string]any{"field": field}}
	}
	switch {
	case raw == "":
		return bad("is required")
	case len(raw) > MaxNotifyURL:
		return bad(fmt.Sprintf("is %d bytes; at most %d", len(raw), MaxNotifyURL))
	case !utf8.ValidString(raw) || strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unsafeRune(r) }) >= 0:
		return bad("holds a space or a control character")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return bad("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return bad(fmt.Sprintf("must be an http or https URL, not %q", u.Scheme))
	case u.Opaque != "" || u.Hostname() == "":
		return bad("has no host")
	case u.User != nil:
		// Credentials in a notify URL would be sent to whoever answers and kept in every attempt.
		return bad("must not carry a user or password")
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return bad("has a bad port")
		}
	}
	return nil
}
