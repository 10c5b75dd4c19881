package faults

import "github.com/walletctl/walletctl/bankapi"

func init() {
	Register(dropAfter{
		info:          info{Kind: bankapi.FaultDropAfter, Rank: 20, Help: "processed, answer lost"},
		processedLost: processedLost{detail: "response dropped", what: "the response was lost"},
	})
}

// dropAfter: the bank processes the request and the answer is lost (the connection is closed
// before it is written): the nasty one, where only the query by key tells the truth.
type dropAfter struct {
	info
	processedLost
	closes
}
