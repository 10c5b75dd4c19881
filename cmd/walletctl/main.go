// Command walletctl drives a digital wallet on an embedded sandbox; see walletctl/cli.
package main

import (
	"os"
	"runtime"

	"github.com/walletctl/walletctl/walletctl/cli"
)

func init() {
	// WALLETCTL_ONE_THREAD=1 keeps the command on one OS thread (with GOMAXPROCS=1): a tracer
	// that counts a thread's syscalls (strace's fault injection, used by the crash tests to kill
	// the command at its n-th write, rename or fsync) then counts the whole command's, in order.
	if os.Getenv("WALLETCTL_ONE_THREAD") == "1" {
		runtime.LockOSThread()
	}
}

func main() { os.Exit(cli.Main()) }
