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

// The table of codes: each code's exit code and HTTP status, as the README and `walletctl codes`
// show it; and `walletctl version`, the other command that needs no sandbox.

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

func TestCodes(t *testing.T) {
	k := newFake("json")
	k.must(t, cli.NewCmdCodes(k.f, nil))
	var rows []struct {
		Code   string `json:"code"`
		Exit   int    `json:"exit"`
		Status int    `json:"http_status"`
		Hint   string `json:"hint"`
	}
	if k.decode(t, &rows); len(rows) != len(walletctl.Codes()) {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range rows {
		if r.Exit != cli.ExitCode(r.Code) || r.Status == 0 || r.Status != httpapi.Status(r.Code) || r.Hint != walletctl.Hint(r.Code) {
			t.Errorf("row %+v", r)
		}
		if i > 0 && r.Exit < rows[i-1].Exit {
			t.Errorf("not sorted by exit code: %+v after %+v", r, rows[i-1])
		}
	}
	k = newFake("table")
	contains(t, "codes table", k.must(t, cli.NewCmdCodes(k.f, nil), "--wide"), walletctl.Codes()...)
	refusesArgs(t, cli.NewCmdCodes, []string{"NOT_FOUND"})
}

func TestVersion(t *testing.T) {
	k := newFake("json")
	k.must(t, cli.NewCmdVersion(k.f, nil))
	var v struct{ Version, Commit, Go string }
	if k.decode(t, &v); v.Version == "" || v.Commit == "" || !strings.HasPrefix(v.Go, "go") {
		t.Fatalf("%+v", v)
	}
	k = newFake("table")
	if want := "walletctl " + v.Version + " (commit " + v.Commit + ", " + v.Go + ")\n"; k.must(t, cli.NewCmdVersion(k.f, nil)) != want {
		t.Fatalf("version: %q, want %q", k.out.String(), want)
	}
	refusesArgs(t, cli.NewCmdVersion, []string{"now"})
}
