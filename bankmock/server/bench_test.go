package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/banktest"
	"github.com/walletctl/walletctl/bankmock"
)

// The two benchmarks below drive their handler the same way: a real loopback server, parallel
// clients on keep-alive connections, one JSON POST per operation. BenchmarkDebitLoopback reports
// its throughput as a ratio of the minimal handler's, measured in the same run (goal: >= 0.6).

// minimalNsPerOp is the minimal handler's ns/op from this run (0 until measured).
var minimalNsPerOp atomic.Int64

type benchReq struct {
	Agreement string `json:"agreement"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
}

type benchResp struct {
	TxnID  string `json:"txn_id"`
	Status string `json:"status"`
	Amount int64  `json:"amount"`
}

// minimalHandler is the baseline: decode a JSON body, encode a JSON answer, nothing else.
func minimalHandler(w http.ResponseWriter, r *http.Request) {
	var req benchReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(benchResp{TxnID: "T000001", Status: "succeeded", Amount: req.Amount})
}

func benchClient(par int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4 * par
	t.MaxIdleConnsPerHost = 4 * par
	return &http.Client{Transport: t}
}

// postLoop runs b.N POSTs to url in parallel, each with a fresh Idempotency-Key.
func postLoop(b *testing.B, url string, body []byte) {
	b.Helper()
	hc := benchClient(runtime.GOMAXPROCS(0)) // RunParallel's goroutine count
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "bench-"+strconv.FormatInt(seq.Add(1), 10))
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	hc.CloseIdleConnections()
}

func BenchmarkMinimalJSONHandler(b *testing.B) {
	srv := serve(b, http.HandlerFunc(minimalHandler))
	body, _ := json.Marshal(benchReq{Agreement: "agr_1", Amount: 1, Currency: "CNY"})
	postLoop(b, srv.URL, body)
	minimalNsPerOp.Store(b.Elapsed().Nanoseconds() / int64(b.N))
}

func BenchmarkDebitLoopback(b *testing.B) {
	ctx := context.Background()
	eng := bankmock.New(bankmock.Config{Seed: 1, Customers: 10})
	ok := bankmock.TestCards[0].Customer
	_, agr := banktest.Bind(b, ctx, eng, ok)
	// 1 fen per debit: the balance and ICBC's daily limit (5,000,000 fen) cover any b.N a run reaches
	// in a bank day; the balance is raised anyway so funds are never the limit.
	if err := eng.SetBalance(ctx, ok.CardNo, 1_000_000_000_000); err != nil {
		b.Fatal(err)
	}
	bank, _ := bankmock.BankByCode(ok.Bank)
	if int64(b.N) > bank.DailyLimit {
		b.Fatalf("b.N %d debits of 1 fen exceed the daily limit %d", b.N, bank.DailyLimit)
	}
	srv := serve(b, New(eng, Options{}))
	body, _ := json.Marshal(bankapi.MoneyRequest{Agreement: agr.Agreement, Amount: 1, Currency: "CNY"})
	postLoop(b, srv.URL+"/v1/debits", body)

	// Every debit must have been a fresh, successful one.
	if c, _ := eng.Customer(ctx, ok.CardNo); c.Balance != 1_000_000_000_000-int64(b.N) {
		b.Fatalf("balance %d after %d debits of 1 fen", c.Balance, b.N)
	}
	ns := b.Elapsed().Nanoseconds() / int64(b.N)
	b.ReportMetric(1e9/float64(ns), "debits/s")
	base := minimalNsPerOp.Load()
	if base == 0 {
		// Run alone (-bench DebitLoopback): measure the baseline now with as many requests, from as
		// many goroutines. (testing.Benchmark cannot be called from inside a benchmark.)
		base = measureMinimal(b, b.N)
	}
	b.ReportMetric(float64(base)/float64(ns), "ratio_vs_minimal")
}

// measureMinimal times n requests to the minimal handler from GOMAXPROCS goroutines, as
// RunParallel would, and returns ns/op. Wall-clock time is what a benchmark measures.
func measureMinimal(b *testing.B, n int) int64 {
	srv := serve(b, http.HandlerFunc(minimalHandler))
	body, _ := json.Marshal(benchReq{Agreement: "agr_1", Amount: 1, Currency: "CNY"})
	par := runtime.GOMAXPROCS(0)
	hc := benchClient(par)
	defer hc.CloseIdleConnections()
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	start := time.Now()
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				resp, err := hc.Post(srv.URL, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	return time.Since(start).Nanoseconds() / int64(n)
}
