package faults

import "github.com/walletctl/walletctl/bankapi"

func init() {
	Register(refuse{info: info{Kind: bankapi.FaultRefuse, Rank: 10, Help: "not processed, no answer"}})
}

// refuse: the connection is closed before the bank sees the request; the client reads EOF and
// cannot know that nothing happened.
type refuse struct {
	info
	notProcessed
	closes
}
