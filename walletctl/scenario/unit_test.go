package scenario

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	src := `# title: bind a card
# seed: 42
# customers: 7
# tags: bind, seed-3.4
# Free text in the header is just a comment.

# a comment
walletctl user register --phone 13800000001
capture U = .id
capture-customer C1 = bank=ICBC status=active
set AMT = 12.50
secret PW = 135790
walletctl --as $U password set --password-stdin <<< "$PW"
! walletctl --as $U pay --merchant m1 --amount 1
# title: not a header any more
`
	sc, err := Parse("bind", src)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Title != "bind a card" || sc.Seed != 42 || sc.Customers != 7 || !reflect.DeepEqual(sc.Tags, []string{"bind", "seed-3.4"}) {
		t.Fatalf("header: %+v", sc)
	}
	kinds := []StepKind{StepCommand, StepCapture, StepCustomer, StepSet, StepSecret, StepCommand, StepCommand}
	if len(sc.Steps) != len(kinds) {
		t.Fatalf("got %d steps, want %d", len(sc.Steps), len(kinds))
	}
	for i, k := range kinds {
		if sc.Steps[i].Kind != k {
			t.Errorf("step %d kind %v, want %v", i, sc.Steps[i].Kind, k)
		}
	}
	pw := sc.Steps[5]
	if !pw.HasStdin || pw.Stdin != `"$PW"` || pw.Raw != "walletctl --as $U password set --password-stdin" || pw.Line != 13 {
		t.Errorf("stdin step: %+v", pw)
	}
	if !sc.Steps[6].ExpectFail || sc.Steps[1].Expr != ".id" || sc.Steps[2].Expr != "bank=ICBC status=active" {
		t.Errorf("steps: %+v", sc.Steps)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"walletctl balance\n", "missing header"},
		{"# title: x\nwalletcl balance\n", "line 2: unknown line"},
		{"# title: x\ncapture = .id\n", "line 2: want \"capture NAME"},
		{"# title: x\n# seed: many\n", "line 2: seed"},
		{"# title: x\n! capture X = .id\n", "only goes before a walletctl"},
		{"# title: x\nwalletctl password set <<<\n", "<<< needs a value"},
	} {
		_, err := Parse("x", tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.src, err, tc.want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	vars := map[string]string{"B": "b1", "C1.name": "张 伟", "EMPTY": ""}
	lookup := func(ref string) (string, error) {
		if v, ok := vars[ref]; ok {
			return v, nil
		}
		return "", fmt.Errorf("undefined variable $%s", ref)
	}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`card confirm --binding $B --otp x`, []string{"card", "confirm", "--binding", "b1", "--otp", "x"}},
		{`kyc submit --name ${C1.name}`, []string{"kyc", "submit", "--name", "张 伟"}},
		{`a 'it''s $B' "say \"$B\"" \$B`, []string{"a", "its $B", `say "b1"`, "$B"}},
		{`x="$EMPTY" '' y$B.z`, []string{"x=", "", "yb1.z"}},
		{`cost $ 5`, []string{"cost", "$", "5"}},
	} {
		got, err := SplitWords(tc.in, lookup)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`a 'b`, `a "b`, `$NOPE`, `${B`, `a\`} {
		if _, err := SplitWords(bad, lookup); err == nil {
			t.Errorf("SplitWords(%q): want an error", bad)
		}
	}
	words := []string{"fault", "add", "drop_after;op=debit", "张伟", "", "it's"}
	line := QuoteWords(words)
	if line != `fault add 'drop_after;op=debit' 张伟 '' 'it'\''s'` {
		t.Errorf("QuoteWords = %s", line)
	}
	back, err := SplitWords(line, lookup)
	if err != nil || !reflect.DeepEqual(back, words) {
		t.Errorf("round trip: %q, %v", back, err)
	}
}

func TestCapture(t *testing.T) {
	js := `{"binding_id":"b7","n":12,"ok":true,"cards":[{"id":"c1","bank":"ICBC"},{"id":"c2","bank":"CCB"}],"none":null}`
	for _, tc := range []struct{ expr, want string }{
		{".binding_id", "b7"},
		{".n", "12"},
		{".ok", "true"},
		{".cards[1].id", "c2"},
		{".cards[-1].bank", "CCB"},
		{".cards[bank=ICBC].id", "c1"},
		{".cards[0]", `{"bank":"ICBC","id":"c1"}`},
		{`/"binding_id":"(b\d+)"/`, "b7"},
		{`/b\d/`, "b7"},
	} {
		got, err := Capture(tc.expr, js)
		if err != nil || got != tc.want {
			t.Errorf("Capture(%s) = %q, %v; want %q", tc.expr, got, err, tc.want)
		}
	}
	arr := `[{"id":"t1"},{"id":"t2"}]`
	if got, err := Capture(".[1].id", arr); err != nil || got != "t2" {
		t.Errorf("array root: %q %v", got, err)
	}
	for _, tc := range []struct{ expr, out, want string }{
		{".x", js, `no field "x"`},
		{".none", js, "null"},
		{".cards[5]", js, "out of range"},
		{".cards[bank=ABC]", js, "no element"},
		{".id", "id  phone\nu1  138", "not JSON (run it with -o json)"},
		{"/zzz/", js, "no match"},
		{"id", js, "want a .json.path"},
	} {
		_, err := Capture(tc.expr, tc.out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Capture(%s) error %v, want %q", tc.expr, err, tc.want)
		}
	}
}

func TestMasker(t *testing.T) {
	m := NewMasker()
	m.AddCard("6222020000000000018")
	m.AddID("33010619880520135X")
	m.AddSecret("135790")
	in := strings.Join([]string{
		"card 6222020000000000018 and 6222 0200 0000 0000 018",
		"id 33010619880520135X / 33010619880520135x",
		"unknown luhn card 4392250000000108, not luhn 4392250000000109",
		"unknown id 110105198503071230 and short 12345678901",
		"password 135790 but not 1357901 or a135790",
		"phone 13800138000 txn t-6222020000000000018x",
	}, "\n")
	want := strings.Join([]string{
		"card 622202*********0018 and 6222 02** **** ***0 018",
		"id 3301**********135X / 3301**********135X",
		"unknown luhn card 439225******0108, not luhn 4392250000000109",
		"unknown id 1101**********1230 and short 12345678901",
		"password ****** but not 1357901 or a135790",
		"phone 13800138000 txn t-622202*********0018x",
	}, "\n")
	if got := m.Mask(in); got != want {
		t.Errorf("Mask:\n%s\nwant:\n%s", got, want)
	}
	// Without any known value the scan alone still hides cards and IDs.
	if got := NewMasker().Mask("6217000000000000020 310104199008151247"); got != "621700*********0020 3101**********1247" {
		t.Errorf("scan: %s", got)
	}
}

func TestLockWaitLineIsNotRecorded(t *testing.T) {
	in := "walletctl: waiting for another walletctl using /tmp/h (pid 12)…\nerror: X\n"
	if got := lockWaitLine.ReplaceAllString(in, ""); got != "error: X\n" {
		t.Fatalf("got %q", got)
	}
}
