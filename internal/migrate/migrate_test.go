package migrate

import (
	"errors"
	"strings"
	"testing"
)

func TestApplyRunsPendingStepsInOrder(t *testing.T) {
	var log []string
	steps := []Step[*[]string]{
		{SQL: "a"},
		{SQL: "b", Fn: func(l *[]string) error { *l = append(*l, "fn-b"); return nil }, Post: "b-post"},
		{SQL: "c"},
	}
	exec := func(s string) error { log = append(log, s); return nil }
	mark := func(n int) error { log = append(log, "v"+string(rune('0'+n))); return nil }
	if err := Apply(steps, 1, &log, exec, mark); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, " "); got != "b fn-b b-post v2 c v3" {
		t.Fatalf("ran %q", got)
	}
}

func TestApplyStopsAtTheFailingStep(t *testing.T) {
	boom := errors.New("boom")
	marked := 0
	steps := []Step[struct{}]{{SQL: "ok"}, {SQL: "bad"}, {SQL: "never"}}
	err := Apply(steps, 0, struct{}{}, func(s string) error {
		if s == "never" {
			t.Fatal("ran a step after the failing one")
		}
		if s == "bad" {
			return boom
		}
		return nil
	}, func(n int) error { marked = n; return nil })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "migration 2") || marked != 1 {
		t.Fatalf("err %v, marked %d", err, marked)
	}
}
