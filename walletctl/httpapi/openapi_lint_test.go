package httpapi

import (
	"testing"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/internal/openapivalidate"
)

// TestOpenAPILint holds every document we serve (the wallet's at walletctl serve's /openapi.json,
// the bank's at bankmock's) to the rules of Redocly's recommended set that they once broke
// (`npx @redocly/cli lint --extends recommended` warned of them): every operation declares a
// 4XX response, and every component is referenced.
func TestOpenAPILint(t *testing.T) {
	for _, d := range []struct {
		name string
		doc  []byte
	}{{"wallet", OpenAPI()}, {"bank", bankapi.OpenAPI()}} {
		problems, err := openapivalidate.Lint(d.doc)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		for _, p := range problems {
			t.Errorf("%s document: %s", d.name, p)
		}
	}
}
