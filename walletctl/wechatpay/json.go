package wechatpay

import (
	"bytes"
	"encoding/json"
)

// JSON is v's JSON as WeChat Pay writes it: compact, and without the HTML escaping of Go's
// json.Marshal (which writes &, < and > as \u0026, \u003c and \u003e). WeChat Pay's answers and
// notifications carry a notify_url's query string or a description as they are; a client, or a
// proxy that decodes and re-encodes a body, then sees the bytes the signature covers.
func JSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
