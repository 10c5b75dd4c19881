package bankapi

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Fault kinds are values in a registry, one file per kind (Toxiproxy's toxics/ shape): a kind
// registers its name, parameters and help at init, and everything that lists, parses, documents
// or picks kinds reads the registry instead of switching on names. The bank's kinds register
// from github.com/walletctl/walletctl/bankmock/faults, where each file also holds what the mock
// bank and its server do when the kind fires; the wallet's notification faults use the same
// shapes (Kinds, SpecParam) and the same syntax (SplitSpec).

// Kinds is a registry of fault kinds by name, listed in documentation order (rank, then name,
// so that the order does not depend on which file's init ran first). Registering is for init;
// reading is safe at any time.
type Kinds[K any] struct {
	mu     sync.RWMutex
	byName map[string]K
	order  []rankedName
}

type rankedName struct {
	rank int
	name string
}

// Add registers k under name. An empty or repeated name is a programming error and panics, as
// Toxiproxy's Register and net/http's Handle do.
func (r *Kinds[K]) Add(name string, rank int, k K) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" || strings.ContainsAny(name, ";= \t") {
		panic(fmt.Sprintf("fault kind %q: a name is one word", name))
	}
	if _, dup := r.byName[name]; dup {
		panic(fmt.Sprintf("fault kind %q registered twice", name))
	}
	if r.byName == nil {
		r.byName = map[string]K{}
	}
	r.byName[name] = k
	r.order = append(r.order, rankedName{rank, name})
	slices.SortStableFunc(r.order, func(a, b rankedName) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return strings.Compare(a.name, b.name)
	})
}

// Get returns the kind registered under name.
func (r *Kinds[K]) Get(name string) (K, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.byName[name]
	return k, ok
}

// Names are the registered names, in documentation order.
func (r *Kinds[K]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := make([]string, len(r.order))
	for i, o := range r.order {
		s[i] = o.name
	}
	return s
}

// SpecParam is one key=value parameter of a fault spec, for faults of type F (Fault, or the
// wallet's NotifyFault): how to read it into a fault, print it back and check it.
type SpecParam[F any] struct {
	Key  string
	Help string
	// Example is a value for syntax hints ("TRANSACTION.SUCCESS", "10s"); "" for none.
	Example string
	// Set reads v into f; its error says what a good value is.
	Set func(f *F, v string) error
	// Get is f's value as the spec writes it, "" when unset (then left out of the spec).
	Get func(f *F) string
	// Check validates the value already in f (a fault built in code, or from JSON); nil: none.
	Check func(f *F) error
}

// FindParam returns the parameter with key, or nil.
func FindParam[F any](params []SpecParam[F], key string) *SpecParam[F] {
	for i := range params {
		if params[i].Key == key {
			return &params[i]
		}
	}
	return nil
}

// FormatSpec writes kind and then each set parameter, in the order of params: the inverse of
// SplitSpec followed by the parameters' Set.
func FormatSpec[F any](kind string, f *F, params []SpecParam[F]) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, p := range params {
		if v := p.Get(f); v != "" {
			b.WriteString(";" + p.Key + "=" + v)
		}
	}
	return b.String()
}

// ParamKeys lists the parameters' keys, for "want one of" messages.
func ParamKeys[F any](params []SpecParam[F]) []string {
	s := make([]string, len(params))
	for i, p := range params {
		s[i] = p.Key
	}
	return s
}

// FaultKindInfo is what the protocol knows of a bank fault kind: its name, where it is listed,
// what it does, and the parameters it adds to the spec.
type FaultKindInfo struct {
	Kind FaultKind
	// Rank orders the kinds in help, completion, errors and chaos (lower first).
	Rank int
	// Help says in a few words what the kind does: the one text that spec errors, the CLI's help
	// and completion, and chaos's help read.
	Help string
	// Params are the kind's own parameters (delay=, status=). They are fields of every Fault, so
	// the parser accepts and checks them whatever the kind; only this kind acts on them.
	Params []SpecParam[Fault]
	// Sample sets the kind's parameters on a rule meant to exercise it against a caller who
	// waits patience for an answer (chaos installs one such rule per kind); nil: none needed.
	Sample func(f *Fault, patience time.Duration)
}

var faultKinds Kinds[FaultKindInfo]

// RegisterFaultKind adds a kind to the protocol's registry; bankmock/faults calls it from each
// kind's init. It panics on a repeated kind or parameter key.
func RegisterFaultKind(info FaultKindInfo) {
	for _, p := range info.Params {
		if commonFaultParam(p.Key) || FindParam(kindParams(), p.Key) != nil {
			panic(fmt.Sprintf("fault kind %s: parameter %q is already defined", info.Kind, p.Key))
		}
	}
	faultKinds.Add(string(info.Kind), info.Rank, info)
	names := faultKinds.Names()
	kinds := make([]FaultKind, len(names))
	for i, n := range names {
		kinds[i] = FaultKind(n)
	}
	FaultKinds = kinds
}

// LookupFaultKind returns what the registry knows of kind k.
func LookupFaultKind(k FaultKind) (FaultKindInfo, bool) { return faultKinds.Get(string(k)) }

// kindParams are the parameters the registered kinds add, in the kinds' order.
func kindParams() []SpecParam[Fault] {
	var ps []SpecParam[Fault]
	for _, n := range faultKinds.Names() {
		info, _ := faultKinds.Get(n)
		ps = append(ps, info.Params...)
	}
	return ps
}
