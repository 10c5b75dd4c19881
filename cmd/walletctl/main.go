// Command walletctl drives a digital wallet on an embedded sandbox; see walletctl/cli.
package main

import (
	"os"

	"github.com/walletctl/walletctl/walletctl/cli"
)

func main() { os.Exit(cli.Main()) }
