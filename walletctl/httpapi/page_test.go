package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/tenant"
)

// TestListsArePagedOverHTTP: every list route answers {"data":[…],"has_more":…}, newest first, at
// most limit items; limit, starting_after and ending_before are read from the query; bad ones are
// 400 INVALID_ARGUMENT with a hint; and the Go client walks the same pages.
func TestListsArePagedOverHTTP(t *testing.T) {
	ctx := context.Background()
	s, hs := startServer(t, Options{}, tenant.Options{})
	ct := createTenant(t, s, walletctl.TenantSpec{Customers: 1})
	c := NewClient(hs.URL, ct.APIKey, ClientOptions{})
	for i := 0; i < 25; i++ {
		if _, err := c.Register(ctx, fmt.Sprintf("138%08d", i)); err != nil {
			t.Fatal(err)
		}
	}
	get := func(query string) (int, string) {
		return testworld.Call(t, "GET", hs.URL+"/v1/users"+query, ct.APIKey, "")
	}
	var page struct {
		Data    []walletctl.User `json:"data"`
		HasMore *bool            `json:"has_more"`
	}
	decode := func(body string) {
		t.Helper()
		page.Data, page.HasMore = nil, nil
		if err := json.Unmarshal([]byte(body), &page); err != nil || page.HasMore == nil || page.Data == nil {
			t.Fatalf("not a page: %v %s", err, body)
		}
	}
	st, body := get("")
	decode(body)
	if st != http.StatusOK || len(page.Data) != 20 || !*page.HasMore || page.Data[0].ID != "u25" || page.Data[19].ID != "u6" {
		t.Fatalf("first page: %d, %d users from %s, has_more %v", st, len(page.Data), page.Data[0].ID, *page.HasMore)
	}
	_, body = get("?limit=10&starting_after=u6")
	decode(body)
	if len(page.Data) != 5 || *page.HasMore || page.Data[0].ID != "u5" || page.Data[4].ID != "u1" {
		t.Fatalf("last page: %+v", page)
	}
	_, body = get("?limit=2&ending_before=u5")
	decode(body)
	if len(page.Data) != 2 || !*page.HasMore || page.Data[0].ID != "u7" || page.Data[1].ID != "u6" {
		t.Fatalf("ending_before u5: %+v", page)
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=abc", "?limit=-1", "?starting_after=u404", "?ending_before=t1", "?starting_after=u1&ending_before=u2"} {
		st, body := get(q)
		var e struct {
			Error walletctl.Error `json:"error"`
		}
		if json.Unmarshal([]byte(body), &e); st != http.StatusBadRequest || e.Error.Code != walletctl.CodeInvalidArgument || e.Error.Hint == "" {
			t.Errorf("%s: %d %s", q, st, body)
		}
	}
	// The client sends the same query and walks every page.
	all, err := walletctl.All(ctx, c.Users, func(u walletctl.User) string { return u.ID })
	if err != nil || len(all) != 25 || all[0].ID != "u25" || all[24].ID != "u1" {
		t.Fatalf("client walk: %d users, %v", len(all), err)
	}
	if _, err := c.Users(ctx, walletctl.Page{StartingAfter: "u404"}); walletctl.ErrorCode(err) != walletctl.CodeInvalidArgument {
		t.Fatalf("client, unknown cursor: %v", err)
	}
	// Notifications take their filters from the query too.
	st, body = testworld.Call(t, "GET", hs.URL+"/v1/notifications?status=pending&event=transaction.success&mchid=1900000001&limit=5", ct.APIKey, "")
	if st != http.StatusOK || !strings.HasPrefix(body, `{"data":[]`) {
		t.Fatalf("filtered notifications: %d %s", st, body)
	}
	// Every list route takes the paging query in the OpenAPI document.
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	lists := 0
	for _, rt := range Routes {
		if !rt.listRoute() {
			continue
		}
		lists++
		got := map[string]bool{}
		for _, p := range doc.Paths[rt.Path][strings.ToLower(rt.Method)].Parameters {
			got[p.In+":"+p.Name] = true
		}
		if !got["query:limit"] || !got["query:starting_after"] || !got["query:ending_before"] {
			t.Errorf("%s %s: the document lacks the paging parameters: %v", rt.Method, rt.Path, got)
		}
	}
	if lists != 9 {
		t.Errorf("%d list routes, want 9 (users, cards, transactions, transfers, security log, merchants, orders, refunds, notifications)", lists)
	}
}
