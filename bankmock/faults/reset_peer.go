package faults

import "github.com/walletctl/walletctl/bankapi"

// ResetPeer names the kind (bankapi names the older kinds; a kind added here needs no line there).
const ResetPeer bankapi.FaultKind = "reset_peer"

func init() {
	Register(resetPeer{info: info{Kind: ResetPeer, Rank: 70, Help: "not processed, connection reset"}})
}

// resetPeer: the connection is reset (a TCP RST: the client's read fails with ECONNRESET,
// "connection reset by peer") before the bank sees the request, as a firewall or a crashed
// load balancer does. In-process it is refuse: nothing was processed and no answer came.
type resetPeer struct {
	info
	notProcessed
}

// Network closes the connection with SO_LINGER 0, so that the kernel sends a RST instead of a
// FIN. A connection that is not TCP (a test's pipe) is only closed.
func (resetPeer) Network(x *Exchange) bool {
	conn := x.Hijack()
	if tc := TCPConn(conn); tc != nil {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
	return true
}
