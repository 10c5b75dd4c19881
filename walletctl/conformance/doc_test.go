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
	_, sec, ok := strings.Cut(string(data), "## 6. The conformance suite")
	if !ok {
		t.Fatal("docs/partners.md has no section 6")
	}
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
	want := slices.Clone(BankChecks)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("docs/partners.md lists checks %v\nthe kit runs %v", got, want)
	}
}
