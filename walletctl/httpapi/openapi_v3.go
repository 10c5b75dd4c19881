package httpapi

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"

	"github.com/walletctl/walletctl/walletctl/v3api"
)

var v3PathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// v3Rule says how the v3 routes are authenticated.
const v3Rule = "No API key: every request carries a merchant's v3 signature (Authorization: WECHATPAY2-SHA256-RSA2048 " +
	`mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…" over METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n, ` +
	"the URL with or without the /tenants/{tenant} prefix), and every answer, errors included, carries the platform's " +
	"(Wechatpay-Serial, -Signature, -Timestamp, -Nonce, Request-ID). Errors are v3's {code,message,detail} with v3's statuses."

// v3SignedHeaders are on every v3 answer.
var v3SignedHeaders = []string{"Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature-Type", "Request-ID"}

// addV3 documents each tenant's WeChat Pay v3-shaped API (walletctl/v3api.Routes) under
// /tenants/{tenant}/v3/..., its schemas prefixed V3 (v3's Refund, Transaction, ... are not the
// wallet's).
func addV3(paths, schemas obj) {
	local := obj{}
	v3paths := obj{}
	local["Error"] = obj{"type": "object", "required": []string{"code", "message"}, "properties": obj{
		"code":    obj{"type": "string", "description": "v3's error code: PARAM_ERROR, INVALID_REQUEST, SIGN_ERROR, ORDER_NOT_EXIST, RESOURCE_NOT_EXISTS, ORDERPAID, ORDER_CLOSED, NOT_ENOUGH, NO_AUTH, TRADE_ERROR, APPID_MCHID_NOT_MATCH, FREQUENCY_LIMITED, USERPAYING, BANKERROR, SYSTEM_ERROR"},
		"message": obj{"type": "string"},
		"detail":  obj{"type": "object", "additionalProperties": true, "description": "issue (what was wrong), and field, value, location, wallet_code when known"},
	}}
	signed := obj{}
	for _, h := range v3SignedHeaders {
		signed[h] = obj{"description": "the platform's answer signature (Request-ID: the request's id)", "schema": obj{"type": "string"}}
	}
	errResp := func(desc string) obj {
		return obj{"description": desc, "headers": signed, "content": obj{"application/json": obj{"schema": obj{"$ref": "#/components/schemas/Error"}}}}
	}
	for _, rt := range v3api.Routes {
		path := "/tenants/{tenant}" + rt.Path
		op := obj{"operationId": "V3" + rt.Op, "summary": rt.Summary, "tags": []string{"v3"},
			"description": rt.Summary + ". " + v3Rule, "security": []obj{{"wechatpayV3": []string{}}}}
		params := []obj{}
		for _, m := range v3PathParam.FindAllStringSubmatch(path, -1) {
			params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": obj{"type": "string"}})
		}
		for i, q := range rt.Query {
			params = append(params, obj{"name": q, "in": "query", "required": i == 0, "schema": obj{"type": "string"}})
		}
		params = append(params, obj{"name": "Wechatpay-Serial", "in": "header", "required": false, "schema": obj{"type": "string"},
			"description": "the serial the client can verify: a PUB_KEY_ID_… makes the answer signed under it (a merchant created in public-key mode gets every answer under its PUB_KEY_ID_…, with or without this header)"})
		op["parameters"] = params
		if rt.Body != nil {
			op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": schemaOf(reflect.TypeOf(rt.Body), local)}}}
		}
		resps := obj{
			"default": errResp("a v3 error; the status follows v3 (400 PARAM_ERROR/INVALID_REQUEST/ORDERPAID/ORDER_CLOSED, 403 NOT_ENOUGH/NO_AUTH/TRADE_ERROR, 404 ORDER_NOT_EXIST/RESOURCE_NOT_EXISTS, 429, 500)"),
			"401":     errResp("SIGN_ERROR: the request's signature is missing or does not verify (detail.issue says why)"),
		}
		switch {
		case rt.Raw:
			resps["200"] = obj{"description": "the bill's bytes (their SHA1 is the tradebill's hash_value)",
				"headers": signed, "content": obj{"application/octet-stream": obj{"schema": obj{"type": "string", "format": "binary"}}}}
		case rt.Result == nil:
			resps["204"] = obj{"description": "done", "headers": signed}
		default:
			resps["200"] = obj{"description": "OK", "headers": signed, "content": obj{"application/json": obj{"schema": schemaOf(reflect.TypeOf(rt.Result), local)}}}
		}
		if rt.Op == "CodePay" {
			resps["202"] = errResp("USERPAYING: the payer must enter the password (or the bank's answer is awaited); query the order")
		}
		op["responses"] = resps
		p, _ := v3paths[path].(obj)
		if p == nil {
			p = obj{}
			v3paths[path] = p
		}
		p[strings.ToLower(rt.Method)] = op
	}
	// Prefix the schemas' names with V3, in their definitions and in every reference.
	b, err := json.Marshal(obj{"paths": v3paths, "schemas": local})
	if err != nil {
		panic(err)
	}
	b = []byte(strings.ReplaceAll(string(b), `"#/components/schemas/`, `"#/components/schemas/V3`))
	var all struct {
		Paths   obj `json:"paths"`
		Schemas obj `json:"schemas"`
	}
	if err := json.Unmarshal(b, &all); err != nil {
		panic(err)
	}
	for k, v := range all.Paths {
		paths[k] = v
	}
	for k, v := range all.Schemas {
		schemas["V3"+k] = v
	}
}
