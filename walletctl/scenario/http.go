package scenario

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/bankmock/server"
)

// StartHTTPBank starts a real bankmock server on 127.0.0.1:0 for one scenario: the same seed and
// customers as the scenario's sandbox, its clock at the sandbox's epoch, so that the world is the
// one the in-process bank would have built.
func StartHTTPBank(ctx context.Context, seed int64, customers int) (string, func(), error) {
	eng := bankmock.New(bankmock.Config{
		Seed:      seed,
		Customers: customers,
		Clock:     bankmock.NewManualClock(bankmock.DefaultEpoch),
		// Sleep stays real: over HTTP a delay or a hang must really outlast the client's timeout
		// for the client to see what the in-process bank simulates.
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	h := server.New(eng, server.Options{})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop := func() {
		h.ReleaseHangs()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}
	return "http://" + ln.Addr().String(), stop, nil
}
