package conformance

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPartnerGuideListsEveryCheck keeps docs/partners.md's table of checks equal to BankChecks, so
// that a partner reading a failed check's name finds it explained.
func TestPartnerGuideListsEveryCheck(t *testing.T) {
	data, err := os.ReadFile("../../docs/partners.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		section string
		want    []string
	}{
		{"## 6. The conformance suite", BankChecks},
		{"## 9. Merchants: the v3 checks and the receiver kit", append(slices.Clone(V3Checks), MerchantChecks...)},
	} {
		_, sec, ok := strings.Cut(string(data), "\n"+c.section+"\n")
		if !ok {
			t.Errorf("docs/partners.md has no section %q", c.section)
			continue
		}
		if i := strings.Index(sec, "\n## "); i >= 0 {
			sec = sec[:i]
		}
		got := checkNames(sec)
		want := slices.Clone(c.want)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("docs/partners.md %s lists checks %v\nthe kit runs %v", c.section, got, want)
		}
	}
}

// checkNames are the names in the first column of a section's check tables.
func checkNames(sec string) []string {
	name := regexp.MustCompile("`([a-z0-9.-]+)`")
	var got []string
	for _, line := range strings.Split(sec, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " |")
		for _, m := range name.FindAllStringSubmatch(first, -1) {
			got = append(got, m[1])
		}
	}
	return got
}
