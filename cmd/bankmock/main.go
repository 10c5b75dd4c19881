// Command bankmock serves the deterministic mock bank over HTTP. See bankmock/cli.
package main

import "github.com/walletctl/walletctl/bankmock/cli"

func main() { cli.Main() }
