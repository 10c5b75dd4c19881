package scenario

import (
	"strings"
	"testing"
)

// A table whose latency column is 1 or 4 digits wide is drawn the same once masked, a CJK cell
// after it included.
func TestMaskTableColumnLatency(t *testing.T) {
	table := func(ms string) string {
		w := max(len(ms), 2)
		return "┌───┬" + strings.Repeat("─", w+2) + "┬──────┐\n" +
			"│ N │ MS" + strings.Repeat(" ", w-2) + " │ OK   │\n" +
			"├───┼" + strings.Repeat("─", w+2) + "┼──────┤\n" +
			"│ 1 │ " + strings.Repeat(" ", w-len(ms)) + ms + " │ 成功 │\n" +
			"└───┴" + strings.Repeat("─", w+2) + "┴──────┘\n"
	}
	a, b := maskNotifyValues(table("3"), false), maskNotifyValues(table("5012"), false)
	if a != b {
		t.Fatalf("masked tables differ:\n%s\n%s", a, b)
	}
	want := "┌───┬────┬──────┐\n│ N │ MS │ OK   │\n├───┼────┼──────┤\n│ 1 │  N │ 成功 │\n└───┴────┴──────┘\n"
	if a != want {
		t.Errorf("got\n%s\nwant\n%s", a, want)
	}
	// A table without the column is left alone unless a value in it was shortened.
	plain := "┌───┐\n│ x │\n└───┘\n"
	if got := maskNotifyValues(plain, false); got != plain {
		t.Errorf("a plain table changed:\n%s", got)
	}
}

// One loopback port can be the prefix of another: each address is replaced whole.
func TestCleanReplacesLongestAddressFirst(t *testing.T) {
	st := &runState{home: "/tmp/h", workdir: "/tmp/w", masker: NewMasker(), bankURL: "http://127.0.0.1:4000",
		recv: map[string]*scenarioReceiver{"R": {name: "R", host: "127.0.0.1:40001"}}}
	got := st.clean("bank http://127.0.0.1:4000/v1 receiver http://127.0.0.1:40001/notify dial 127.0.0.1:40001 /tmp/w/keys /tmp/h")
	want := "bank $BANK/v1 receiver http://receiver-R/notify dial receiver-R $WORKDIR/keys $HOME"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
