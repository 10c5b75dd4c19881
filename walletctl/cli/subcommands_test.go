package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl/cli"
)

// nearMiss is name with one letter dropped (list -> lst), or "" when that is another child's
// name or alias, or too short to be a typo of anything.
func nearMiss(parent *cobra.Command, name string) string {
	if len(name) < 4 {
		return ""
	}
	typo := name[:len(name)/2] + name[len(name)/2+1:]
	for _, c := range parent.Commands() {
		if c.Name() == typo || c.HasAlias(typo) {
			return ""
		}
	}
	return typo
}

// TestUnknownSubcommandEveryLevel walks the whole command tree: every command that groups
// subcommands refuses a word that is none of them with exit 2 (not its help and exit 0), and a
// near-miss of a real child names that child ("Did you mean this?").
func TestUnknownSubcommandEveryLevel(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	var parents int
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		var children []*cobra.Command
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || strings.HasPrefix(sub.Name(), "__") {
				continue
			}
			children = append(children, sub)
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
		if len(children) == 0 {
			return
		}
		parents++
		name := strings.Join(append([]string{"walletctl"}, path...), " ")
		t.Run(name, func(t *testing.T) {
			r := runIn(home, "", nil, append(append([]string{}, path...), "nosuchthing")...)
			if r.code != 2 || !strings.Contains(r.errOut, "INVALID_ARGUMENT") || !strings.Contains(r.errOut, `unknown command "nosuchthing"`) {
				t.Fatalf("%s nosuchthing: %s", name, r)
			}
			// With nothing after it, a parent with no action of its own still shows its help.
			// (transfer and paycode have an action of their own, which needs flags or --as.)
			if name == "walletctl transfer" || name == "walletctl paycode" {
			} else if r := runIn(home, "", nil, path...); r.code != 0 || !strings.Contains(r.out, "Available Commands") {
				t.Fatalf("%s: %s", name, r)
			}
			for _, child := range children {
				typo := nearMiss(c, child.Name())
				if typo == "" {
					continue
				}
				r := runIn(home, "", nil, append(append([]string{}, path...), typo)...)
				if r.code != 2 || !strings.Contains(r.errOut, "Did you mean this?") || !strings.Contains(r.errOut, "\t"+child.Name()) {
					t.Fatalf("%s %s: want exit 2 suggesting %s: %s", name, typo, child.Name(), r)
				}
				break
			}
		})
	}
	walk(cli.CommandTree(), nil)
	if parents < 5 {
		t.Fatalf("only %d parent commands found", parents)
	}
}

// TestUnknownSubcommandWithItsFlags: the mistyped word is the error, not the flags that belong
// to the subcommand meant; the examples of the issue.
func TestUnknownSubcommandWithItsFlags(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "regster", "--phone", "13900000001"}, "register"},
		{[]string{"card", "lst"}, "list"},
		{[]string{"sandbox", "stat"}, "status"},
		{[]string{"completion", "tcsh"}, ""},
		{[]string{"cardd", "list"}, "card"},
	} {
		r := runIn(home, "", nil, c.args...)
		if r.code != 2 || !strings.Contains(r.errOut, "unknown command") || strings.Contains(r.errOut, "unknown flag") {
			t.Fatalf("%v: %s", c.args, r)
		}
		if c.want != "" && !strings.Contains(r.errOut, "Did you mean this?\n\t"+c.want) {
			t.Fatalf("%v: no suggestion of %s: %s", c.args, c.want, r)
		}
	}
}

// TestHelpOfUnknownCommand (issue 22 item 3): help about a word that names no command is refused
// as the command line refuses it (exit 2, cobra's message and suggestions on stderr), never
// answered with the root's help; help of a real command still prints it.
func TestHelpOfUnknownCommand(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	for _, c := range []struct {
		args      []string
		msg, want string
	}{
		{[]string{"help", "nosuchthing"}, `unknown command "nosuchthing" for "walletctl"`, ""},
		{[]string{"help", "card", "lst"}, `unknown command "lst" for "walletctl card"`, "list"},
		{[]string{"help", "cardd"}, `unknown command "cardd" for "walletctl"`, "card"},
		{[]string{"help", "merchant", "order", "creat"}, `unknown command "creat" for "walletctl merchant order"`, "create"},
	} {
		r := runIn(home, "", nil, c.args...)
		if r.code != 2 || r.out != "" || !strings.Contains(r.errOut, "INVALID_ARGUMENT: "+c.msg) {
			t.Errorf("%v: want exit 2 with %s: %s", c.args, c.msg, r)
		}
		if c.want != "" && !strings.Contains(r.errOut, "Did you mean this?\n\t"+c.want) {
			t.Errorf("%v: no suggestion of %s: %s", c.args, c.want, r)
		}
	}
	for _, args := range [][]string{{"help"}, {"help", "card"}, {"help", "card", "list"}, {"help", "codes"}} {
		if r := runIn(home, "", nil, args...); r.code != 0 || r.out == "" {
			t.Errorf("%v: %s", args, r)
		}
	}
}
