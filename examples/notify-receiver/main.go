// Command notify-receiver is the reference receiver of WeChat Pay v3 notifications
// (package walletctl/notify/receiver) as a program:
//
//	walletctl merchant keys 1900000001 --out ./merchant
//	go run ./examples/notify-receiver --keys ./merchant --addr 127.0.0.1:8090 &
//	walletctl conformance merchant --mchid 1900000001 --notify-url http://127.0.0.1:8090/notify
//
// It prints its URL (http://ADDR/notify) on the first line of standard output.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/walletctl/walletctl/walletctl/notify/receiver"
)

func main() {
	keys := flag.String("keys", "", "the folder `walletctl merchant keys --out DIR` wrote (required)")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	if *keys == "" {
		fmt.Fprintln(os.Stderr, "notify-receiver: --keys DIR is required")
		os.Exit(2)
	}
	k, err := receiver.LoadKeys(*keys)
	if err != nil {
		log.Fatalf("notify-receiver: %v", err)
	}
	rc, err := receiver.New(k)
	if err != nil {
		log.Fatalf("notify-receiver: %v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("notify-receiver: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/notify", rc)
	fmt.Printf("http://%s/notify\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.Serve(ln))
}
