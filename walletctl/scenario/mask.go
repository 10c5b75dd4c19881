package scenario

import (
	"regexp"
	"sort"
	"strings"

	"github.com/jedib0t/go-pretty/v6/text"

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
		} else if i >= 3 && s[i-3:i] == "EV-" {
			b.WriteString(run) // a notification's event id (EV-YYYYMMDD and a sequence), no one's ID
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

// A notification attempt's latency is real time, and listen names the wallet it listens to (the
// home, or the server's URL): transcripts show neither, so that they are the same in every run
// and transport. The MS column of `notify show`'s attempts is masked by maskTableColumn.
var (
	listenLatency = regexp.MustCompile(`(→ (?:[0-9]{3}|-)) [0-9]+ms\b`)
	jsonLatency   = regexp.MustCompile(`"latency_ms": [0-9]+`)
	listenReady   = regexp.MustCompile(`Ready: forwarding notifications of (?:\$HOME|\$BACKEND) to`)
	// walletctl trigger numbers its orders and refunds trigger-<8 random hex> (trigger-r-… for
	// the refund), so that triggers never collide in a long-lived sandbox: new in every run.
	triggerNo = regexp.MustCompile(`\btrigger-(r-)?[0-9a-f]{8}\b`)
)

// repair: some value of s was replaced by a shorter one (a receiver's address), so every table
// is redrawn to fit.
func maskNotifyValues(s string, repair bool) string {
	if strings.Contains(s, "trigger-") {
		s = triggerNo.ReplaceAllString(s, "trigger-${1}xxxxxxxx")
	}
	if !repair && !strings.Contains(s, "ms") && !strings.Contains(s, "Ready:") && !strings.Contains(s, "MS") {
		return s
	}
	s = listenLatency.ReplaceAllString(s, "$1 Nms")
	s = jsonLatency.ReplaceAllString(s, `"latency_ms": N`)
	s = listenReady.ReplaceAllString(s, "Ready: forwarding notifications of (the wallet) to")
	return maskTableColumn(s, "MS", "N", repair)
}

// maskTableColumn redraws the box-drawn tables of s after masking: every cell of the column
// headed name becomes repl (the column fitted to it, borders too), so that a column of
// run-dependent numbers (latencies) is always drawn the same; and a cell that masking made
// shorter than its column (a loopback URL shown as http://receiver-R) is padded back to it.
func maskTableColumn(s, name, repl string, repair bool) string {
	if !strings.Contains(s, "┌") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "┌") {
			continue
		}
		end := i
		for end+1 < len(lines) && strings.ContainsAny(lines[end+1][:min(len(lines[end+1]), 3)], "│├└") && lines[end+1] != "" {
			end++
			if strings.HasPrefix(lines[end], "└") {
				break
			}
		}
		redrawTable(lines[i:end+1], name, repl, repair)
		i = end
	}
	return strings.Join(lines, "\n")
}

// redrawTable rewrites one table's lines in place (see maskTableColumn); a table it does not
// understand is left as it is.
func redrawTable(lines []string, name, repl string, repair bool) {
	const junctions = "┌┬┐├┼┤└┴┘"
	widths := []int{}
	for _, seg := range strings.FieldsFunc(lines[0], func(r rune) bool { return strings.ContainsRune(junctions, r) }) {
		widths = append(widths, text.StringWidth(seg))
	}
	type row struct {
		border bool
		cells  []string
	}
	rows := make([]row, len(lines))
	for k, l := range lines {
		if strings.HasPrefix(l, "│") {
			parts := strings.Split(l, "│")
			if len(parts) != len(widths)+2 || parts[0] != "" || parts[len(parts)-1] != "" {
				return
			}
			rows[k] = row{cells: parts[1 : len(parts)-1]}
		} else {
			segs := strings.FieldsFunc(l, func(r rune) bool { return strings.ContainsRune(junctions, r) })
			if len(segs) != len(widths) {
				return
			}
			rows[k] = row{border: true}
		}
	}
	col := -1
	for k := range rows {
		if !rows[k].border {
			for c, cell := range rows[k].cells {
				if strings.TrimSpace(cell) == name {
					col = c
				}
			}
			break // the header row only
		}
	}
	if col < 0 && !repair {
		return
	}
	if col >= 0 {
		widths[col] = max(text.StringWidth(name), text.StringWidth(repl)) + 2
	}
	for k := range rows {
		if rows[k].border {
			continue
		}
		for c, cell := range rows[k].cells {
			w := widths[c] - 2
			v := strings.TrimSpace(cell)
			switch {
			case c == col && v == name:
				rows[k].cells[c] = " " + v + strings.Repeat(" ", w-text.StringWidth(v)) + " "
			case c == col && v != "":
				rows[k].cells[c] = " " + strings.Repeat(" ", w-text.StringWidth(repl)) + repl + " "
			case c == col:
				rows[k].cells[c] = strings.Repeat(" ", w+2)
			default:
				if pad := widths[c] - text.StringWidth(cell); pad > 0 {
					if strings.HasPrefix(cell, "  ") && strings.HasSuffix(cell, " ") && !strings.HasSuffix(cell, "  ") {
						rows[k].cells[c] = strings.Repeat(" ", pad) + cell // right-aligned (numbers)
					} else {
						rows[k].cells[c] = strings.TrimSuffix(cell, " ") + strings.Repeat(" ", pad) + " "
					}
				}
			}
		}
	}
	for k, l := range lines {
		if !rows[k].border {
			lines[k] = "│" + strings.Join(rows[k].cells, "│") + "│"
			continue
		}
		// A border: its junctions kept, its runs of ─ fitted to the widths.
		var b strings.Builder
		c := 0
		for _, r := range l {
			if strings.ContainsRune(junctions, r) {
				if c > 0 || b.Len() > 0 {
					if c < len(widths) {
						b.WriteString(strings.Repeat("─", widths[c]))
					}
					c++
				}
				b.WriteRune(r)
			}
		}
		lines[k] = b.String()
	}
}
