//go:build !unix

package docs

import (
	"os/exec"
	"time"
)

// group is a stub: the snippets are bash, and TestDocSnippets skips where there are no process
// groups.
type group struct{}

func newGroup(*exec.Cmd) *group                 { return &group{} }
func (*group) kill()                            {}
func (*group) waitEmpty(time.Duration) []string { return nil }
