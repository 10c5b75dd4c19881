package faults_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock/faults"
)

// The registries agree: every kind the protocol lists has behaviour here, in the same order,
// with help, and a kind that never processes answers an in-process caller (who would otherwise
// get a zero result and no error).
func TestRegistry(t *testing.T) {
	var names []string
	for _, k := range faults.All() {
		info := k.Info()
		names = append(names, string(info.Kind))
		if info.Help == "" || info.Kind.Help() != info.Help {
			t.Errorf("%s: help %q, bankapi says %q", info.Kind, info.Help, info.Kind.Help())
		}
		f := bankapi.Fault{Kind: info.Kind, ID: "h1", Source: bankapi.SourceHeader}
		if info.Sample != nil {
			info.Sample(&f, time.Second)
			if err := f.Validate(); err != nil {
				t.Errorf("%s: its chaos sample is invalid: %v", info.Kind, err)
			}
		}
		noWait := func(context.Context, time.Duration) error { return nil }
		if p := k.Plan(&f); p.When == faults.Never && k.Answer(context.Background(), &f, faults.Caller{Sleep: noWait}) == nil {
			t.Errorf("%s: never processes, yet gives an in-process caller no error", info.Kind)
		}
	}
	if !slices.Equal(names, bankapi.FaultKindNames()) || len(bankapi.FaultKinds) != len(names) {
		t.Fatalf("faults %v, bankapi %v", names, bankapi.FaultKindNames())
	}
	for i, k := range bankapi.FaultKinds {
		if string(k) != names[i] {
			t.Fatalf("FaultKinds %v, want %v", bankapi.FaultKinds, names)
		}
	}
	// The order every list showed before the registry; new kinds come after.
	if want := []string{"refuse", "drop_after", "delay", "hang", "http_error", "malformed"}; !slices.Equal(names[:len(want)], want) {
		t.Errorf("order %v", names)
	}
	_, err := bankapi.ParseFault("refuse;colour=red")
	if err == nil || !strings.Contains(err.Error(), "(want op, bank, card, min, max, first, p, delay, status)") {
		t.Errorf("unknown parameter: %v", err)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	k, _ := faults.Of(bankapi.FaultRefuse)
	defer func() {
		if recover() == nil {
			t.Error("a second refuse registered")
		}
		if len(bankapi.FaultKinds) != len(faults.All()) {
			t.Error("the failed registration left a trace")
		}
	}()
	faults.Register(k)
}

// The documents partners read list every kind: the OpenAPI enum and header, and the README.
func TestDocumentsListEveryKind(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				FaultKind struct {
					Enum []string `json:"enum"`
				} `json:"FaultKind"`
			} `json:"schemas"`
			Parameters struct {
				FaultHeader struct {
					Description string `json:"description"`
				} `json:"FaultHeader"`
			} `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(bankapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	names := bankapi.FaultKindNames()
	if !slices.Equal(doc.Components.Schemas.FaultKind.Enum, names) {
		t.Errorf("openapi.json FaultKind enum %v, want %v", doc.Components.Schemas.FaultKind.Enum, names)
	}
	if !strings.HasSuffix(doc.Components.Parameters.FaultHeader.Description, "kinds: "+strings.Join(names, ", ")) {
		t.Errorf("openapi.json X-Bankmock-Fault: %q does not end with the kinds %v", doc.Components.Parameters.FaultHeader.Description, names)
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The Faults section only: the test cards' table has rows named after kinds too.
	_, section, _ := strings.Cut(string(b), "\n### Faults\n")
	section, _, _ = strings.Cut(section, "\n### ")
	for _, n := range names {
		if !strings.Contains(section, "\n| `"+n+"` | ") {
			t.Errorf("README.md's table of fault kinds lacks %s", n)
		}
	}
}
