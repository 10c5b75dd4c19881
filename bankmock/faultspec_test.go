package bankmock

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
)

func TestParseFault(t *testing.T) {
	full := "drop_after;op=debit;bank=ICBC;card=6222020000000000018;min=100;max=5000;first=2;p=0.2;delay=500ms;status=502"
	f, err := bankapi.ParseFault(full)
	if err != nil {
		t.Fatal(err)
	}
	want := bankapi.Fault{Kind: bankapi.FaultDropAfter, Op: bankapi.OpDebit, Bank: "ICBC", CardNo: "6222020000000000018", MinAmount: 100, MaxAmount: 5000,
		First: 2, Probability: bankapi.Chance(0.2), Delay: 500 * time.Millisecond, Status: 502}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("%+v", f)
	}
	if f.String() != full {
		t.Fatalf("String %q", f.String())
	}
	if g, _ := bankapi.ParseFault(" hang ; op = credit "); g.Kind != bankapi.FaultHang || g.Op != bankapi.OpCredit || g.String() != "hang;op=credit" {
		t.Fatalf("%+v", g)
	}
	for _, bad := range []string{"", "boom", "refuse;op", "refuse;op=", "refuse;op=pay", "refuse;x=1", "refuse;op=debit;op=credit",
		"refuse;min=-1", "refuse;min=5;max=4", "refuse;p=2", "refuse;p=NaN", "refuse;first=-1", "delay;delay=soon",
		"delay;delay=-1s", "http_error;status=200", "http_error;status=abc", "Refuse"} {
		if _, err := bankapi.ParseFault(bad); err == nil {
			t.Errorf("ParseFault(%q) accepted", bad)
		}
	}
}

func FuzzParseFault(f *testing.F) {
	for _, s := range []string{
		"refuse", "hang;op=credit", "drop_after;op=debit;first=2;bank=ICBC;card=6222020000000000018;min=100;max=5000;p=0.2;delay=500ms;status=502",
		"delay;delay=1h2m3.5s", "http_error;status=503", "malformed;p=1", "refuse;p=0.30000000000000004", "delay;delay=9223372036854775807ns",
		"refuse;bank=a=b", "refuse;;", "refuse;min=1e3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		a, err := bankapi.ParseFault(spec)
		if err != nil {
			return
		}
		b, err := bankapi.ParseFault(a.String())
		if err != nil {
			t.Fatalf("String of a valid fault does not parse: %q -> %q: %v", spec, a.String(), err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip: %+v != %+v (%q)", a, b, a.String())
		}
	})
}

// BenchmarkDebit measures in-process debit throughput with faults off.
func BenchmarkDebit(b *testing.B) {
	e := New(Config{Seed: 1, Customers: 50})
	agr := bind(b, e, testCard(b, "ok"))
	e.SetBalance(bg, testCard(b, "ok").CardNo, maxAmount)
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = "bench-" + itoa(int64(i))
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%1000 == 0 {
			e.Advance(ctx, 24*time.Hour) // stay under the daily limit
		}
		if _, err := e.Debit(ctx, keys[i], cny(agr, 1)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestore measures restoring a 1,000-customer world, as every CLI invocation does.
func BenchmarkRestore(b *testing.B) {
	snap, _ := New(Config{Seed: 1, Customers: 1000}).Snapshot(bg)
	e := New(Config{Seed: 1, Customers: 1})
	b.SetBytes(int64(len(snap)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.Restore(bg, snap); err != nil {
			b.Fatal(err)
		}
	}
}
