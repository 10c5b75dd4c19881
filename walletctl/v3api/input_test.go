package v3api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"github.com/walletctl/walletctl/walletctl"
)

// Issue 18's bad inputs, refused with their code on both APIs of walletctl serve: v3's 400
// PARAM_ERROR (sent through the official SDK, detail.field naming the field) and the wallet
// API's 400 INVALID_ARGUMENT (details.field). notify_url values that are not an absolute http(s)
// URL of at most 256 bytes used to be accepted and burn 16 attempts; control characters in a
// description forged rows in the trade bill; a merchant name held NUL.
func TestUnsafeInputRefusedOverHTTP(t *testing.T) {
	ctx := context.Background()
	s := newShop(t, "input shop")
	svc, m, creds := s.svc, s.m, s.creds
	sdk := sdkClient(t, "pubkey", s.v3, creds)

	order := func(edit func(map[string]any)) map[string]any {
		b := map[string]any{"appid": creds.AppID, "mchid": m.ID, "description": "tea", "out_trade_no": "input-v3-0001",
			"notify_url": "http://127.0.0.1:8090/notify", "amount": map[string]any{"total": 100, "currency": "CNY"}}
		edit(b)
		return b
	}
	long := "http://127.0.0.1:8090/" + strings.Repeat("a", 257-len("http://127.0.0.1:8090/"))
	type bad struct {
		name, field string
		v3          string // v3 path ("" = none)
		v1          string // wallet API path
		body        map[string]any
	}
	var cases []bad
	for _, u := range []string{"http://a b/c", "http://", "ftp://x", long} {
		body := order(func(b map[string]any) { b["notify_url"] = u })
		cases = append(cases, bad{"notify_url " + u[:min(len(u), 20)], "notify_url", "/v3/pay/transactions/native", "", body})
		cases = append(cases, bad{"v1 notify_url " + u[:min(len(u), 20)], "notify_url", "", "/v1/orders",
			map[string]any{"mchid": m.ID, "trade_type": "NATIVE", "out_trade_no": "input-v1-0001", "description": "tea", "amount": 100, "notify_url": u}})
	}
	cases = append(cases,
		bad{"description", "description", "/v3/pay/transactions/native", "", order(func(b map[string]any) { b["description"] = "tea\r\n`forged,row" })},
		bad{"attach", "attach", "/v3/pay/transactions/h5", "", order(func(b map[string]any) {
			b["attach"] = "x\x1b[2J"
			b["scene_info"] = map[string]any{"payer_client_ip": "127.0.0.1", "h5_info": map[string]any{"type": "Wap"}}
		})},
		bad{"reason", "reason", "/v3/refund/domestic/refunds", "", map[string]any{"out_trade_no": "input-v3-0001", "out_refund_no": "input-r-0001",
			"reason": "tab\tin", "amount": map[string]any{"refund": 100, "total": 100, "currency": "CNY"}}},
		bad{"refund notify_url", "notify_url", "/v3/refund/domestic/refunds", "", map[string]any{"out_trade_no": "input-v3-0001", "out_refund_no": "input-r-0001",
			"notify_url": "http://", "amount": map[string]any{"refund": 100, "total": 100, "currency": "CNY"}}},
		bad{"v1 description", "description", "", "/v1/orders",
			map[string]any{"mchid": m.ID, "trade_type": "NATIVE", "out_trade_no": "input-v1-0001", "description": "a\nb", "amount": 100}},
		bad{"v1 reason", "reason", "", "/v1/refunds",
			map[string]any{"mchid": m.ID, "out_trade_no": "input-v1-0001", "out_refund_no": "input-r-0001", "amount": 100, "reason": "del\x7f"}},
		bad{"v1 merchant name", "name", "", "/v1/merchants", map[string]any{"name": "nul\x00shop"}},
		bad{"v1 forward", "url", "", "/v1/notifications/forward", map[string]any{"url": "http://a b/c", "ttl": "30s"}},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.v3 != "" {
				_, err := sdk.Post(ctx, "https://api.mch.weixin.qq.com"+c.v3, c.body)
				var apiErr *core.APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "PARAM_ERROR" {
					t.Fatalf("POST %s: %v; want 400 PARAM_ERROR", c.v3, err)
				}
				if d, _ := apiErr.Detail.(map[string]any); d["field"] != c.field {
					t.Errorf("POST %s: detail %v; want field %s", c.v3, apiErr.Detail, c.field)
				}
				return
			}
			method := "POST"
			if strings.HasSuffix(c.v1, "/forward") {
				method = "PUT"
			}
			b, _ := json.Marshal(c.body)
			req, _ := http.NewRequest(method, s.url+c.v1, strings.NewReader(string(b)))
			req.Header.Set("Authorization", "Bearer "+s.apiKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var env struct {
				Error struct {
					Code    string         `json:"code"`
					Details map[string]any `json:"details"`
				} `json:"error"`
			}
			json.Unmarshal(raw, &env)
			if resp.StatusCode != http.StatusBadRequest || env.Error.Code != walletctl.CodeInvalidArgument || env.Error.Details["field"] != c.field {
				t.Fatalf("%s %s: %d %s; want 400 INVALID_ARGUMENT field=%s", method, c.v1, resp.StatusCode, raw, c.field)
			}
		})
	}
	if ms, err := walletctl.Items(svc.Merchants(ctx, walletctl.MaxPage)); err != nil {
		t.Fatal(err)
	} else {
		for _, x := range ms {
			if strings.ContainsRune(x.Name, 0) {
				t.Errorf("a merchant named %q was made", x.Name)
			}
		}
	}
}
