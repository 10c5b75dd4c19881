package bankapi

import _ "embed"

// openapiDoc is the hand-written OpenAPI 3.0 document of the protocol, served by every bank
// server at /openapi.json. bankmock/server's tests check that it lists every route the mock
// serves, that its examples match its schemas, that real responses match them too, and that its
// test cards and magic amounts are the mock's.
//
//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the OpenAPI document (a copy).
func OpenAPI() []byte { return append([]byte(nil), openapiDoc...) }
