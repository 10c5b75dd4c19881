package cli_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/httpapi"
)

// The README's code table is what users read; it must say what each code does in both transports.
func TestREADMECodeTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, c := range walletctl.Codes() {
		row := fmt.Sprintf("| `%s` | %d | %d | %s |", c, cli.ExitCode(c), httpapi.Status(c), walletctl.Hint(c))
		if !strings.Contains(readme, row) {
			t.Errorf("README.md lacks or misstates the row:\n%s", row)
		}
	}
}

// Every wallet code has an exit code and an HTTP status, and neither table names a code the
// domain does not have.
func TestEveryCodeMapped(t *testing.T) {
	codes := walletctl.Codes()
	if len(codes) < 30 {
		t.Fatalf("only %d codes", len(codes))
	}
	for _, c := range codes {
		if e := cli.ExitCode(c); e < 1 || e > 11 || (e == 1 && c != walletctl.CodeInternal) {
			t.Errorf("%s maps to exit %d", c, e)
		}
		if s := httpapi.Status(c); s < 200 || s > 599 || (s == 500 && c != walletctl.CodeInternal) {
			t.Errorf("%s has status %d", c, s)
		}
	}
	if cli.ExitCode("") != 0 || cli.ExitCode("NO_SUCH") != 1 || cli.ExitCode(walletctl.CodePending) != 10 {
		t.Error("ExitCode mapping wrong")
	}
}
