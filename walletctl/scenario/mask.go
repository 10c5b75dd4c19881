package scenario

import (
	"regexp"
	"sort"
	"strings"

	"github.com/walletctl/walletctl/cnid"
)

// SecretMask replaces passwords, OTPs and other secrets in transcripts.
const SecretMask = "******"

// Masker hides full card numbers, ID numbers and secrets in transcripts. Golden files are shared
// with partners and kept in git, so they must never hold a real-looking card or ID number, even
// the sandbox's fixtures.
type Masker struct {
	known   map[string]string // full value → masked (fixture cards and IDs, and their spaced forms)
	secrets map[string]bool
}

// NewMasker returns an empty masker; the regexp-like scan works without any known value.
func NewMasker() *Masker {
	return &Masker{known: map[string]string{}, secrets: map[string]bool{}}
}

// AddCard registers a card number (also as it looks grouped by fours).
func (m *Masker) AddCard(card string) {
	if len(card) < 8 {
		return
	}
	masked := cnid.MaskCard(card)
	m.known[card] = masked
	m.known[group4(card)] = group4(masked)
}

// AddID registers a resident ID number (both cases of a final X).
func (m *Masker) AddID(id string) {
	if len(id) < 8 {
		return
	}
	m.known[id] = cnid.MaskID(id)
	m.known[strings.ToLower(id)] = cnid.MaskID(id)
}

// AddSecret registers a secret (password, OTP); it is replaced by SecretMask wherever it stands
// alone (not inside a longer run of digits or letters).
func (m *Masker) AddSecret(s string) {
	if s = strings.TrimSpace(s); len(s) >= 3 {
		m.secrets[s] = true
	}
}

// AddPayCode registers a payment code (付款码, 18 digits): a secret like a password, masked
// whole wherever it stands alone, and also in the form the wallet's own messages print it
// ("13************2449"), since its digits differ from run to run.
func (m *Masker) AddPayCode(code string) {
	if len(code) != 18 {
		return
	}
	m.AddSecret(code)
	m.secrets[code[:2]+strings.Repeat("*", len(code)-6)+code[len(code)-4:]] = true
}

// IsSecret reports whether s was registered as a secret.
func (m *Masker) IsSecret(s string) bool { return m.secrets[s] }

// Mask applies, in order: known fixture values, then secrets (passwords, OTPs, payment codes),
// then the scan for unknown numbers that look like a card (16-19 digits passing Luhn) or a
// resident ID (17 digits and a digit or X).
func (m *Masker) Mask(s string) string {
	if len(m.known) > 0 {
		keys := make([]string, 0, len(m.known))
		for k := range m.known {
			keys = append(keys, k)
		}
		// Longest first so that a spaced card is replaced whole, and deterministic.
		sort.Slice(keys, func(i, j int) bool {
			if len(keys[i]) != len(keys[j]) {
				return len(keys[i]) > len(keys[j])
			}
			return keys[i] < keys[j]
		})
		pairs := make([]string, 0, 2*len(keys))
		for _, k := range keys {
			pairs = append(pairs, k, m.known[k])
		}
		s = strings.NewReplacer(pairs...).Replace(s)
	}
	// Secrets before the number scan: an 18-digit payment code would otherwise be shown as an
	// ID number, its first and last digits in clear (and different in every run).
	if len(m.secrets) > 0 {
		secs := make([]string, 0, len(m.secrets))
		for k := range m.secrets {
			secs = append(secs, k)
		}
		sort.Slice(secs, func(i, j int) bool {
			if len(secs[i]) != len(secs[j]) {
				return len(secs[i]) > len(secs[j])
			}
			return secs[i] < secs[j]
		})
		for _, sec := range secs {
			s = replaceStandalone(s, sec, SecretMask)
		}
	}
	s = maskNumbers(s)
	s = maskPartnerValues(s)
	return s
}

// maskNumbers masks digit runs that look like a card or an ID number.
func maskNumbers(s string) string {
	var b strings.Builder
	i := 0
	for i < len(s) {
		if !isDigit(s[i]) || (i > 0 && isAlnum(s[i-1])) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		end := j
		if j-i == 17 && j < len(s) && (s[j] == 'X' || s[j] == 'x') {
			end = j + 1
		}
		run := s[i:end]
		if end < len(s) && isAlnum(s[end]) {
			b.WriteString(run) // part of a longer token (an ID, a hash): not a number on its own
		} else if len(run) == 18 {
			b.WriteString(cnid.MaskID(run))
		} else if len(run) >= 16 && len(run) <= 19 && cnid.LuhnValid(run) {
			b.WriteString(cnid.MaskCard(run))
		} else {
			b.WriteString(run)
		}
		i = end
	}
	return b.String()
}

// replaceStandalone replaces old by repl where old is not glued to other letters or digits.
func replaceStandalone(s, old, repl string) string {
	if old == "" || !strings.Contains(s, old) {
		return s
	}
	var b strings.Builder
	for {
		k := strings.Index(s, old)
		if k < 0 {
			b.WriteString(s)
			return b.String()
		}
		before := k == 0 || !isAlnum(s[k-1])
		after := k+len(old) == len(s) || !isAlnum(s[k+len(old)])
		b.WriteString(s[:k])
		if before && after {
			b.WriteString(repl)
		} else {
			b.WriteString(old)
		}
		s = s[k+len(old):]
	}
}

func group4(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// A bank's binding ids and agreement tokens are derived from the calling partner's secret, and a
// sandbox on a bank server is a partner registered with a random one: they differ between
// transports and runs by design. Transcripts show their shape, same width, and which partner
// called as (partner).
var (
	bankBindingID = regexp.MustCompile(`\bb_[0-9a-f]{16}\b`)
	agreementTok  = regexp.MustCompile(`\bagr_[0-9a-f]{24}\b`)
	partnerField  = regexp.MustCompile(`"partner": "[^"]*"`)
)

func maskPartnerValues(s string) string {
	if !strings.Contains(s, "b_") && !strings.Contains(s, "partner") {
		return s
	}
	s = bankBindingID.ReplaceAllString(s, "b_"+strings.Repeat("x", 16))
	s = agreementTok.ReplaceAllString(s, "agr_"+strings.Repeat("x", 24))
	return partnerField.ReplaceAllString(s, `"partner": "(partner)"`)
}
