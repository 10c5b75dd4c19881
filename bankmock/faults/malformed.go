package faults

import (
	"net/http"

	"github.com/walletctl/walletctl/bankapi"
)

func init() {
	Register(malformed{
		info:          info{Kind: bankapi.FaultMalformed, Rank: 60, Help: "processed, garbage answer"},
		processedLost: processedLost{detail: "garbage response", what: "the response was garbage"},
	})
}

// malformed: the bank processes the request and the answer is garbage (200 with a truncated
// body, as from a proxy that gave up mid-body).
type malformed struct {
	info
	processedLost
}

func (malformed) Network(x *Exchange) bool {
	b := x.Body()
	x.WriteRaw(http.StatusOK, "application/json", b[:len(b)/2])
	return true
}
