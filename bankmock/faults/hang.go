package faults

import (
	"context"
	"time"

	"github.com/walletctl/walletctl/bankapi"
)

func init() {
	Register(hang{info: info{Kind: bankapi.FaultHang, Rank: 40, Help: "never answered, never processed"}})
}

// hang: the bank never sees the request and never answers; the client waits until it gives up.
type hang struct {
	info
	notProcessed
}

// Answer: the server holds the connection; an in-process caller waits until it gives up.
func (hang) Answer(ctx context.Context, f *bankapi.Fault, c Caller) *bankapi.Error {
	if c.Server {
		return nil
	}
	_ = c.Sleep(ctx, c.ClientTimeout)
	return noAnswer(f)
}

// Network holds the connection until the client gives up (its context ends when it closes the
// connection), the server shuts down (Release), or HangTimeout as a backstop, then closes it.
func (hang) Network(x *Exchange) bool {
	t := time.NewTimer(x.HangTimeout)
	select {
	case <-x.Ctx.Done():
	case <-x.Release:
	case <-t.C:
	}
	t.Stop()
	x.Close()
	return true
}
