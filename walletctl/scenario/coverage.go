package scenario

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/internal/tablefit"
	"github.com/walletctl/walletctl/walletctl"
)

// BankCodes are the bank's error codes (bankmock/errors.go), for coverage.
var BankCodes = []string{
	bankapi.CodeInfoMismatch, bankapi.CodeBindingNotSupported, bankapi.CodeCNPNotEnabled,
	bankapi.CodeIssuerRestricted, bankapi.CodeCardExpired, bankapi.CodeInsufficientFunds,
	bankapi.CodeLimitExceeded, bankapi.CodeOTPInvalid, bankapi.CodeOTPExpired,
	bankapi.CodeOutcomeUnknown, bankapi.CodeIssuerUnavailable, bankapi.CodeDuplicate,
	bankapi.CodeIdempotencyMismatch, bankapi.CodeNotFound, bankapi.CodeInvalidRequest,
	bankapi.CodeCardUnknown, bankapi.CodeUnauthorized,
}

// CoverageItem is one thing the suite should exercise and the scenarios that do.
type CoverageItem struct {
	Name      string   `json:"name"`
	Covered   bool     `json:"covered"`
	Scenarios []string `json:"scenarios,omitempty"`
}

// Coverage is what `scenario coverage` reports.
type Coverage struct {
	BankCodes   []CoverageItem `json:"bank_codes"`
	WalletCodes []CoverageItem `json:"wallet_codes"`
	FaultKinds  []CoverageItem `json:"fault_kinds"`
	Commands    []CoverageItem `json:"commands"`
}

var faultRef = regexp.MustCompile(`\bmagic:(card|amount):([A-Za-z0-9_]+)`)

// ComputeCoverage reads the scenarios and their goldens. A code counts as exercised when it
// appears as a word in a golden (wallet errors name their code, bank errors and the journal name
// the bank's); a fault kind when a `bank fault add` names it or a golden shows a magic card or
// amount firing it; a command when a script runs it (resolved against root's command tree).
func ComputeCoverage(scs []*Scenario, goldenDir string, root *cobra.Command) *Coverage {
	goldens := map[string]string{}
	for _, sc := range scs {
		if b, err := os.ReadFile(GoldenPath(goldenDir, sc.Name)); err == nil {
			goldens[sc.Name] = string(b)
		}
	}
	hits := func(names []string, in func(sc *Scenario, name string) bool) []CoverageItem {
		var items []CoverageItem
		for _, n := range names {
			it := CoverageItem{Name: n}
			for _, sc := range scs {
				if in(sc, n) {
					it.Scenarios = append(it.Scenarios, sc.Name)
				}
			}
			it.Covered = len(it.Scenarios) > 0
			items = append(items, it)
		}
		return items
	}
	inGolden := func(sc *Scenario, code string) bool { return containsWord(goldens[sc.Name], code) }

	var walletCodes []string
	walletCodes = append(walletCodes, walletctl.Codes()...)
	sort.Strings(walletCodes)
	cov := &Coverage{
		BankCodes:   hits(BankCodes, inGolden),
		WalletCodes: hits(walletCodes, inGolden),
	}

	kindsOf := map[string]map[string]bool{} // scenario → fault kinds it fires
	for _, sc := range scs {
		k := map[string]bool{}
		for _, st := range sc.Steps {
			if st.Kind != StepCommand {
				continue
			}
			words, err := SplitWords(strings.TrimSpace(strings.TrimPrefix(st.Raw, "walletctl")), func(string) (string, error) { return "X", nil })
			if err != nil {
				continue
			}
			pos := positional(words)
			if len(pos) >= 4 && pos[0] == "bank" && pos[1] == "fault" && pos[2] == "add" {
				kind, _, _ := strings.Cut(pos[3], ";")
				kind, _, _ = strings.Cut(kind, ":")
				kind, _, _ = strings.Cut(kind, ",")
				k[kind] = true
			}
		}
		for _, m := range faultRef.FindAllStringSubmatch(goldens[sc.Name], -1) {
			if m[1] == "card" {
				for _, tc := range bankmock.TestCards {
					if tc.Key == m[2] && tc.Fault != "" {
						k[string(tc.Fault)] = true
					}
				}
			} else if n, err := strconv.ParseInt(m[2], 10, 64); err == nil {
				for _, ma := range bankmock.MagicAmounts {
					if ma.Amount == n {
						k[string(ma.Fault)] = true
					}
				}
			}
		}
		kindsOf[sc.Name] = k
	}
	var kinds []string
	for _, k := range bankapi.FaultKinds {
		kinds = append(kinds, string(k))
	}
	cov.FaultKinds = hits(kinds, func(sc *Scenario, k string) bool { return kindsOf[sc.Name][k] })

	if root != nil {
		used := map[string]map[string]bool{} // command path → scenarios
		for _, sc := range scs {
			// The runner's implicit first command.
			if c, _, err := root.Find([]string{"sandbox", "init"}); err == nil && c != nil && c != root {
				if used[c.CommandPath()] == nil {
					used[c.CommandPath()] = map[string]bool{}
				}
				used[c.CommandPath()][sc.Name] = true
			}
			for _, st := range sc.Steps {
				if st.Kind != StepCommand {
					continue
				}
				words, err := SplitWords(strings.TrimSpace(strings.TrimPrefix(st.Raw, "walletctl")), func(string) (string, error) { return "X", nil })
				if err != nil {
					continue
				}
				c, _, err := root.Find(words)
				if err != nil || c == nil {
					continue
				}
				p := c.CommandPath()
				if used[p] == nil {
					used[p] = map[string]bool{}
				}
				used[p][sc.Name] = true
			}
		}
		for _, p := range leafCommands(root) {
			it := CoverageItem{Name: p}
			for s := range used[p] {
				it.Scenarios = append(it.Scenarios, s)
			}
			sort.Strings(it.Scenarios)
			it.Covered = len(it.Scenarios) > 0
			cov.Commands = append(cov.Commands, it)
		}
	}
	return cov
}

// leafCommands lists the runnable commands a scenario could exercise (not help, completion or
// the scenario runner itself).
func leafCommands(root *cobra.Command) []string {
	var out []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		switch c.Name() {
		case "help", "completion", "scenario", "__complete", "__completeNoDesc":
			return
		}
		if c.Hidden {
			return
		}
		if c.Runnable() && c != root {
			out = append(out, c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	sort.Strings(out)
	return out
}

func containsWord(s, w string) bool {
	for i := 0; ; {
		k := strings.Index(s[i:], w)
		if k < 0 {
			return false
		}
		k += i
		before := k == 0 || !isAlnum(s[k-1])
		after := k+len(w) == len(s) || !isAlnum(s[k+len(w)])
		if before && after {
			return true
		}
		i = k + 1
	}
}

// WriteCoverage prints one table per category and a count of what is missed.
func WriteCoverage(w io.Writer, cov *Coverage, missingOnly bool) {
	section := func(title string, items []CoverageItem) {
		t := table.NewWriter()
		t.SetStyle(table.StyleLight)
		t.SetTitle(title)
		t.AppendHeader(table.Row{"name", "covered", "scenarios"})
		n := 0
		for _, it := range items {
			if it.Covered {
				n++
			}
			if missingOnly && it.Covered {
				continue
			}
			mark := "yes"
			if !it.Covered {
				mark = "MISSING"
			}
			sc := strings.Join(it.Scenarios, " ")
			if len(it.Scenarios) > 3 {
				sc = strings.Join(it.Scenarios[:3], " ") + fmt.Sprintf(" (+%d)", len(it.Scenarios)-3)
			}
			t.AppendRow(table.Row{it.Name, mark, sc})
		}
		t.AppendFooter(table.Row{fmt.Sprintf("%d of %d covered", n, len(items))})
		fmt.Fprintln(w, tablefit.Render(t, tablefit.Of(w, os.Getenv)))
		fmt.Fprintln(w)
	}
	section("bank error codes (bankmock/errors.go)", cov.BankCodes)
	section("wallet error codes (walletctl/errors.go)", cov.WalletCodes)
	section("fault kinds (bankapi.FaultKinds)", cov.FaultKinds)
	section("commands", cov.Commands)
}
