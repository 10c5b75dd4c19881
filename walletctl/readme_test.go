package walletctl

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The README's code table is what users read; it must say what the code does.
func TestREADMECodeTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, r := range Codes() {
		row := fmt.Sprintf("| `%s` | %d | %d | %s |", r.Code, r.Exit, r.Status, r.Hint)
		if !strings.Contains(readme, row) {
			t.Errorf("README.md lacks or misstates the row:\n%s", row)
		}
	}
}
