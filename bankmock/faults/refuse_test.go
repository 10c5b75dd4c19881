package faults_test

import (
	"testing"

	"github.com/walletctl/walletctl/bankapi"
)

func TestRefuse(t *testing.T) {
	newWorld(t, 0).check(t, debitCase{spec: "refuse", key: "k1", code: bankapi.CodeOutcomeUnknown, resp: "03",
		outcome: bankapi.CodeOutcomeUnknown, detail: "not processed", overHTTP: wantClosed})
}
