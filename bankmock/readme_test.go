package bankmock

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The README lists the test cards and magic amounts partners code against; keep it true.
func TestREADMETestCards(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, c := range TestCards {
		row := fmt.Sprintf("| `%s` | `%s` | %s | %s | `%s` | %s | %s |", c.Key, c.Customer.CardNo, c.Customer.Bank,
			c.Customer.Name, c.Customer.IDNo, c.Customer.Phone, c.Expect)
		if !strings.Contains(readme, row) {
			t.Errorf("README.md lacks or misstates test card %s:\n%s", c.Key, row)
		}
	}
	for _, m := range MagicAmounts {
		if !strings.Contains(readme, fmt.Sprintf("| %d | %s", m.Amount, m.Fault)) {
			t.Errorf("README.md lacks magic amount %d (%s)", m.Amount, m.Fault)
		}
	}
}
