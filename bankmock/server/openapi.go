package server

import _ "embed"

// openapiDoc is the hand-written OpenAPI 3.0 document served at /openapi.json. Tests check that
// it lists every route of routeTable, that its examples match its schemas, that real responses
// match them too, and that its test cards and magic amounts are the engine's.
//
//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the OpenAPI document (a copy).
func OpenAPI() []byte { return append([]byte(nil), openapiDoc...) }
