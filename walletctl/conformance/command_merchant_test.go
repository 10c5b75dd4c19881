package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/conformance"
	"github.com/walletctl/walletctl/walletctl/notify/receiver"
)

// `walletctl conformance merchant` on the embedded sandbox: the merchant is created with the CLI,
// its files written by `merchant keys`, the reference receiver loads them (as a merchant's code
// does) and passes; a careless receiver fails exactly its four checks, exit 11.
func TestCommandMerchant(t *testing.T) {
	home := t.TempDir()
	run := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := cli.Run(context.Background(), append([]string{"--home", home}, args...), &cli.IOStreams{Out: &out, ErrOut: &errOut},
			func(string) string { return "" })
		return code, out.String(), errOut.String()
	}
	// No merchant yet: NOT_FOUND, saying how to make one.
	if code, _, errOut := run("conformance", "merchant", "--notify-url", "http://127.0.0.1:9/notify"); code == 0 || !strings.Contains(errOut, "merchant create") {
		t.Fatalf("without a merchant: exit %d\n%s", code, errOut)
	}
	code, out, errOut := run("merchant", "create", "--name", "Receiver shop", "-o", "json")
	var m struct {
		ID string `json:"id"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil || m.ID == "" {
		t.Fatalf("merchant create: exit %d\n%s\n%s", code, out, errOut)
	}
	dir := filepath.Join(t.TempDir(), "keys")
	if code, out, errOut := run("merchant", "keys", m.ID, "--out", dir); code != 0 {
		t.Fatalf("merchant keys: exit %d\n%s\n%s", code, out, errOut)
	}
	keys, err := receiver.LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := receiver.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	good := httptest.NewServer(rc)
	defer good.Close()
	code, out, errOut = run("conformance", "merchant", "--notify-url", good.URL+"/notify", "--run-id", "cmd1", "-o", "json")
	var rep struct {
		OK     bool                `json:"ok"`
		Suite  string              `json:"suite"`
		URL    string              `json:"url"`
		Checks []conformance.Check `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.OK || len(rep.Checks) != len(conformance.MerchantChecks) || !strings.Contains(rep.URL, m.ID) {
		t.Fatalf("the reference receiver: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}

	careless := httptest.NewServer(receiver.NewWithParser(carelessParser(keys.APIv3Key)))
	defer careless.Close()
	code, out, errOut = run("conformance", "merchant", "--notify-url", careless.URL, "--mchid", m.ID)
	if code != 11 || !strings.Contains(errOut, "CONFORMANCE_FAILED") || !strings.Contains(errOut, "4 conformance check(s) failed") {
		t.Fatalf("a careless receiver: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, name := range conformance.MerchantChecks {
		want := "pass"
		if slices.Contains([]string{conformance.CheckMBadSignature, conformance.CheckMStaleTimestamp, conformance.CheckMWrongSerial, conformance.CheckMSignatureProbe}, name) {
			want = "fail"
		}
		if !strings.Contains(out, name) || !lineHas(out, name, want) {
			t.Errorf("%s should be %s:\n%s", name, want, out)
		}
	}
}

func lineHas(table, name, status string) bool {
	for _, l := range strings.Split(table, "\n") {
		if strings.Contains(l, name+" ") {
			return strings.Contains(l, " "+status+" ")
		}
	}
	return false
}
