package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/bankmock"
)

// TestCardsAndHelpFit80Columns: bankmock cards (its one table command) and every command's
// help fit 80 columns (Chinese names count two); --wide and --json still carry every field.
func TestCardsAndHelpFit80Columns(t *testing.T) {
	t.Setenv("COLUMNS", "80")
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Run(context.Background(), args, &out, &errb); code != 0 {
			t.Fatalf("bankmock %s: exit %d %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	wide := func(s string, width int) (n int, first string) {
		for _, l := range strings.Split(s, "\n") {
			if runewidth.StringWidth(l) > width {
				if n == 0 {
					first = l
				}
				n++
			}
		}
		return n, first
	}
	out := run("cards")
	if n, l := wide(out, 80); n > 0 {
		t.Errorf("bankmock cards: %d lines wider than 80, e.g.\n%s\n%s", n, l, out)
	}
	for _, tc := range bankmock.TestCards {
		if !strings.Contains(out, tc.Customer.CardNo) {
			t.Errorf("bankmock cards at 80 columns lacks the card number of %s", tc.Key)
		}
	}
	out = run("cards", "--wide")
	if n, _ := wide(out, 80); n == 0 || !strings.Contains(out, bankmock.TestCards[0].Customer.Phone) {
		t.Errorf("bankmock cards --wide shows every column:\n%s", out)
	}

	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	var o, e bytes.Buffer
	walk(newRoot(&o, &e), nil)
	for _, p := range paths {
		args := append(append([]string{}, p...), "--help")
		if n, l := wide(run(args...), 80); n > 0 {
			t.Errorf("bankmock %s: %d lines wider than 80, e.g.\n%s", strings.Join(args, " "), n, l)
		}
	}
}
