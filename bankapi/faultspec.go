package bankapi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// knownOps are the operations a fault may name.
var knownOps = map[string]bool{
	OpBanks: true, OpVerify: true, OpBind: true, OpConfirm: true, OpUnbind: true,
	OpDebit: true, OpCredit: true, OpTransaction: true, OpStatement: true,
}

func knownKind(k FaultKind) bool {
	_, ok := LookupFaultKind(k)
	return ok
}

// commonFaultParams are the parameters of every kind: the matchers and the firing rule.
var commonFaultParams = []SpecParam[Fault]{
	{Key: "op", Set: func(f *Fault, v string) error { f.Op = v; return nil }, Get: func(f *Fault) string { return f.Op }},
	{Key: "bank", Set: func(f *Fault, v string) error { f.Bank = v; return nil }, Get: func(f *Fault) string { return f.Bank }},
	{Key: "card", Set: func(f *Fault, v string) error { f.CardNo = v; return nil }, Get: func(f *Fault) string { return f.CardNo }},
	{Key: "min", Set: func(f *Fault, v string) (err error) { f.MinAmount, err = strconv.ParseInt(v, 10, 64); return err },
		Get: func(f *Fault) string { return formatNonZero(f.MinAmount) }},
	{Key: "max", Set: func(f *Fault, v string) (err error) { f.MaxAmount, err = strconv.ParseInt(v, 10, 64); return err },
		Get: func(f *Fault) string { return formatNonZero(f.MaxAmount) }},
	{Key: "first", Set: func(f *Fault, v string) (err error) { f.First, err = strconv.Atoi(v); return err },
		Get: func(f *Fault) string { return formatNonZero(int64(f.First)) }},
	{Key: "p", Set: func(f *Fault, v string) error {
		p, err := strconv.ParseFloat(v, 64)
		f.Probability = &p // p=0 is kept: it never fires, unlike an absent p
		return err
	}, Get: func(f *Fault) string {
		if f.Probability == nil {
			return ""
		}
		return strconv.FormatFloat(*f.Probability, 'g', -1, 64)
	}},
}

func commonFaultParam(key string) bool { return FindParam(commonFaultParams, key) != nil }

// faultParams are every parameter a spec may carry, in the order String writes them.
func faultParams() []SpecParam[Fault] {
	return append(append([]SpecParam[Fault](nil), commonFaultParams...), kindParams()...)
}

func formatNonZero(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
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
// Amounts are fen; p is a probability in [0,1] (p=0 never fires; without p the fault always
// fires); the kinds add their own parameters (delay= a Go duration, status= an HTTP status
// 400-599). Unknown kinds and keys, repeated keys and empty values are errors.
func ParseFault(spec string) (Fault, error) {
	kind, params, err := SplitSpec(spec)
	if err != nil {
		return Fault{}, fmt.Errorf("fault: %w", err)
	}
	f := Fault{Kind: FaultKind(kind)}
	if !knownKind(f.Kind) {
		if len(FaultKinds) == 0 {
			// A program that parses specs must link the kinds: they register from bankmock/faults.
			return Fault{}, fmt.Errorf("fault: unknown kind %q (no fault kinds are registered: import github.com/walletctl/walletctl/bankmock/faults)", f.Kind)
		}
		return Fault{}, fmt.Errorf("fault: unknown kind %q (want one of %s)", f.Kind, strings.Join(FaultKindNames(), ", "))
	}
	all := faultParams()
	for _, kv := range params {
		k, v := kv[0], kv[1]
		p := FindParam(all, k)
		if p == nil {
			return Fault{}, fmt.Errorf("fault: unknown parameter %q (want %s)", k, strings.Join(ParamKeys(all), ", "))
		}
		if err := p.Set(&f, v); err != nil {
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
	}
	// The kinds' parameters are fields of every fault: a value present is checked whatever the kind.
	for _, p := range kindParams() {
		if p.Check != nil {
			if err := p.Check(&f); err != nil {
				return err
			}
		}
	}
	return nil
}

// String renders the fault in ParseFault's syntax, parameters in a fixed order, zero values
// left out. ParseFault(f.String()) gives back f's kind, matchers and parameters.
func (f Fault) String() string { return FormatSpec(string(f.Kind), &f, faultParams()) }

// Ref is "<source>:<id>", as the journal, Error.Fault and X-Bankmock-Fault-Fired show it.
func (f Fault) Ref() string { return f.Source + ":" + f.ID }
