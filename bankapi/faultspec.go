package bankapi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// knownOps are the operations a fault may name.
var knownOps = map[string]bool{
	OpBanks: true, OpVerify: true, OpBind: true, OpConfirm: true, OpUnbind: true,
	OpDebit: true, OpCredit: true, OpTransaction: true, OpStatement: true,
}

func knownKind(k FaultKind) bool {
	for _, x := range FaultKinds {
		if x == k {
			return true
		}
	}
	return false
}

// SplitSpec reads the one fault-spec syntax that bank faults (ParseFault) and the wallet's
// notification faults share: a kind, then ";"-separated key=value parameters, spaces around
// each trimmed. A parameter without "=", with an empty key or value, or given twice is an error;
// what the keys mean is the caller's.
func SplitSpec(spec string) (kind string, params [][2]string, err error) {
	parts := strings.Split(spec, ";")
	kind = strings.TrimSpace(parts[0])
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return "", nil, fmt.Errorf("parameter %q is not key=value", p)
		}
		if seen[k] {
			return "", nil, fmt.Errorf("parameter %q given twice", k)
		}
		seen[k] = true
		params = append(params, [2]string{k, v})
	}
	return kind, params, nil
}

// ParseFault reads the X-Bankmock-Fault syntax: a kind, then ";"-separated key=value parameters.
//
//	drop_after;op=debit;first=2;bank=ICBC;card=6222...;min=100;max=5000;p=0.2;delay=500ms;status=502
//
// Amounts are fen; delay is a Go duration; p is a probability in [0,1] (p=0 never fires; without
// p the fault always fires); status (http_error) is an
// HTTP status 400-599. Unknown keys, repeated keys and empty values are errors.
func ParseFault(spec string) (Fault, error) {
	kind, params, err := SplitSpec(spec)
	if err != nil {
		return Fault{}, fmt.Errorf("fault: %w", err)
	}
	f := Fault{Kind: FaultKind(kind)}
	if !knownKind(f.Kind) {
		return Fault{}, fmt.Errorf("fault: unknown kind %q (want one of %s)", f.Kind, strings.Join(FaultKindNames(), ", "))
	}
	for _, kv := range params {
		k, v := kv[0], kv[1]
		var err error
		switch k {
		case "op":
			f.Op = v
		case "bank":
			f.Bank = v
		case "card":
			f.CardNo = v
		case "min":
			f.MinAmount, err = strconv.ParseInt(v, 10, 64)
		case "max":
			f.MaxAmount, err = strconv.ParseInt(v, 10, 64)
		case "first":
			f.First, err = strconv.Atoi(v)
		case "p":
			var p float64
			p, err = strconv.ParseFloat(v, 64)
			f.Probability = &p // p=0 is kept: it never fires, unlike an absent p
		case "delay":
			f.Delay, err = time.ParseDuration(v)
		case "status":
			f.Status, err = strconv.Atoi(v)
		default:
			return Fault{}, fmt.Errorf("fault: unknown parameter %q (want op, bank, card, min, max, first, p, delay, status)", k)
		}
		if err != nil {
			return Fault{}, fmt.Errorf("fault: bad %s %q", k, v)
		}
	}
	if err := f.Validate(); err != nil {
		return Fault{}, err
	}
	return f, nil
}

// Validate checks a fault's kind and parameters (not its ID or counters).
func (f Fault) Validate() error {
	switch {
	case !knownKind(f.Kind):
		return fmt.Errorf("fault: unknown kind %q", f.Kind)
	case f.Op != "" && !knownOps[f.Op]:
		return fmt.Errorf("fault: unknown op %q", f.Op)
	case strings.ContainsAny(f.Bank+f.CardNo, ";"):
		return fmt.Errorf("fault: bank and card may not contain ';'")
	case f.MinAmount < 0 || f.MaxAmount < 0:
		return fmt.Errorf("fault: amounts must not be negative")
	case f.MaxAmount > 0 && f.MaxAmount < f.MinAmount:
		return fmt.Errorf("fault: max %d is below min %d", f.MaxAmount, f.MinAmount)
	case f.First < 0:
		return fmt.Errorf("fault: first must not be negative")
	case f.Probability != nil && (math.IsNaN(*f.Probability) || *f.Probability < 0 || *f.Probability > 1):
		return fmt.Errorf("fault: probability must be in [0,1]")
	case f.Delay < 0:
		return fmt.Errorf("fault: delay must not be negative")
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("fault: status must be an HTTP error status (400-599)")
	}
	return nil
}

// String renders the fault in ParseFault's syntax, parameters in a fixed order, zero values
// left out. ParseFault(f.String()) gives back f's kind, matchers and parameters.
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	add := func(k, v string) { b.WriteString(";" + k + "=" + v) }
	if f.Op != "" {
		add("op", f.Op)
	}
	if f.Bank != "" {
		add("bank", f.Bank)
	}
	if f.CardNo != "" {
		add("card", f.CardNo)
	}
	if f.MinAmount != 0 {
		add("min", strconv.FormatInt(f.MinAmount, 10))
	}
	if f.MaxAmount != 0 {
		add("max", strconv.FormatInt(f.MaxAmount, 10))
	}
	if f.First != 0 {
		add("first", strconv.Itoa(f.First))
	}
	if f.Probability != nil {
		add("p", strconv.FormatFloat(*f.Probability, 'g', -1, 64))
	}
	if f.Delay != 0 {
		add("delay", f.Delay.String())
	}
	if f.Status != 0 {
		add("status", strconv.Itoa(f.Status))
	}
	return b.String()
}

// Ref is "<source>:<id>", as the journal, Error.Fault and X-Bankmock-Fault-Fired show it.
func (f Fault) Ref() string { return f.Source + ":" + f.ID }
