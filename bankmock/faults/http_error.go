package faults

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/walletctl/walletctl/bankapi"
)

func init() {
	Register(httpError{info{Kind: bankapi.FaultHTTPError, Rank: 50, Help: "not processed, an HTTP status=, 503 by default",
		Params: []bankapi.SpecParam[bankapi.Fault]{param("status", "the HTTP status, 400-599 (default 503)",
			func(f *bankapi.Fault) *int { return &f.Status }, strconv.Atoi, strconv.Itoa,
			func(s int) bool { return s >= 400 && s <= 599 }, "fault: status must be an HTTP error status (400-599)")},
		Sample: func(f *bankapi.Fault, _ time.Duration) { f.Status = http.StatusServiceUnavailable },
	}})
}

// httpError: the bank does not process the request and answers an HTTP error status=
// (503 by default) with ISSUER_UNAVAILABLE: a clear refusal, safe to retry.
type httpError struct{ info }

// status is the fault's HTTP status, 503 by default.
func status(f *bankapi.Fault) int {
	if f.Status == 0 {
		return http.StatusServiceUnavailable
	}
	return f.Status
}

func (httpError) Plan(f *bankapi.Fault) Plan {
	return Plan{When: Never, Outcome: bankapi.CodeIssuerUnavailable, RespCode: "96",
		Detail: "HTTP " + strconv.Itoa(status(f)) + ", not processed"}
}

// Answer is the same in-process and for the server, which writes it with the fault's status.
func (httpError) Answer(_ context.Context, f *bankapi.Fault, _ Caller) *bankapi.Error {
	return &bankapi.Error{Code: bankapi.CodeIssuerUnavailable, RespCode: "96", Fault: f.Ref(),
		Message: fmt.Sprintf("issuer unavailable (HTTP %d); not processed, safe to retry", status(f))}
}

func (httpError) Network(x *Exchange) bool {
	e := x.Err
	if e == nil {
		e = &bankapi.Error{Code: bankapi.CodeIssuerUnavailable, RespCode: "96", Message: "issuer unavailable (injected)"}
	}
	if e.Fault == "" {
		e.Fault = x.Fault.Ref()
	}
	x.WriteError(status(x.Fault), e)
	return true
}
