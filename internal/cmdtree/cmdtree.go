// Package cmdtree is the one convention of both binaries (walletctl, bankmock) for a word that
// names no command: `x nosuch`, `x group nosuch` and `x help group nosuch` all fail with cobra's
// own wording, `unknown command "nosuch" for "x group"`, and its "Did you mean this?"
// suggestions; each binary turns that into its usage error (exit 2).
package cmdtree

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Unknown makes a binary's usage error for word, which names no subcommand of parent; message is
// Message(parent, word).
type Unknown func(parent *cobra.Command, word, message string) error

// Message is cobra's wording for a word that names no subcommand of parent, with its suggestions.
func Message(parent *cobra.Command, word string) string {
	if parent.SuggestionsMinimumDistance <= 0 {
		parent.SuggestionsMinimumDistance = 2 // cobra's default, which it sets only on its own path
	}
	msg := fmt.Sprintf("unknown command %q for %q", word, parent.CommandPath())
	if s := parent.SuggestionsFor(word); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return msg
}

// RejectUnknown makes every command of the tree that only groups subcommands (the root
// included) refuse any other word with unknown instead of printing its help and succeeding;
// given nothing, it still prints its help. A group with an action of its own (walletctl's
// transfer) refuses a first word its own arguments refuse.
func RejectUnknown(c *cobra.Command, unknown Unknown) {
	for _, sub := range c.Commands() {
		RejectUnknown(sub, unknown)
	}
	if !c.HasSubCommands() {
		return
	}
	reject := func(cmd *cobra.Command, word string) error { return unknown(cmd, word, Message(cmd, word)) }
	if c.Runnable() {
		own := c.Args
		if own == nil {
			own = cobra.ArbitraryArgs
		}
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := own(cmd, args); err != nil && len(args) > 0 {
				return reject(cmd, args[0])
			} else if err != nil {
				return err
			}
			return nil
		}
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return reject(cmd, args[0])
		}
		return nil
	}
	c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
}

// Topic is the command that `help args...` is about: each word names a subcommand (or an alias)
// of the one before, else unknown says which word named none below which command.
func Topic(root *cobra.Command, args []string, unknown Unknown) (*cobra.Command, error) {
	c := root
	for _, w := range args {
		var next *cobra.Command
		for _, sub := range c.Commands() {
			if sub.Name() == w || sub.HasAlias(w) {
				next = sub
				break
			}
		}
		if next == nil {
			return nil, unknown(c, w, Message(c, w))
		}
		c = next
	}
	return c, nil
}

// HelpCommand is cobra's help command with Topic's refusal of an unknown topic: `help` alone is
// the root's help.
func HelpCommand(root *cobra.Command, unknown Unknown) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help provides help for any command in the application.\nSimply type " + root.Name() + " help [path to command] for full details.",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			parent, err := Topic(root, args, func(*cobra.Command, string, string) error { return fmt.Errorf("none") })
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, sub := range parent.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					names = append(names, sub.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			return ShowHelp(root, args, unknown)
		},
	}
}

// ShowHelp prints the help of the command args name below root, or fails as unknown says.
func ShowHelp(root *cobra.Command, args []string, unknown Unknown) error {
	target, err := Topic(root, args, unknown)
	if err != nil {
		return err
	}
	target.InitDefaultHelpFlag()
	target.InitDefaultVersionFlag()
	return target.Help()
}
