package faults_test

import (
	"testing"

	"github.com/walletctl/walletctl/bankapi"
)

func TestDropAfter(t *testing.T) {
	newWorld(t, 0).check(t, debitCase{spec: "drop_after", key: "k1", code: bankapi.CodeOutcomeUnknown, resp: "05",
		processed: true, outcome: "ok", detail: "processed; response dropped", overHTTP: wantClosed})
}
