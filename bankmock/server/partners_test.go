package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/banktest"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock"
)

// routePath fills a route pattern's wildcards with harmless values.
func routePath(pattern string) string {
	r := strings.NewReplacer("{id}", "f999", "{agreement}", "agr_none", "{key}", "k-none", "{date}", "2026-01-05",
		"{card_no}", bankmock.TestCards[0].Customer.CardNo)
	return r.Replace(pattern)
}

func routeBody(rt Route) string {
	switch rt.Method + " " + rt.Path {
	case "POST /admin/clock":
		return `{"advance":"1m"}`
	case "POST /admin/faults":
		return `{"spec":"refuse;op=statement;first=1"}`
	case "PATCH /admin/customers/{card_no}":
		return `{"balance":100}`
	case "POST /admin/partners":
		return `{"name":"x"}`
	case "POST /v1/debits", "POST /v1/credits":
		return `{"agreement":"agr_none","amount":1,"currency":"CNY"}`
	}
	if rt.Method == "POST" || rt.Method == "PUT" || rt.Method == "PATCH" {
		return `{}`
	}
	return ""
}

func createPartner(t *testing.T, h http.Handler, hdr map[string]string, name string) bankapi.PartnerCredentials {
	t.Helper()
	r := do(h, "POST", "/admin/partners", local, `{"name":"`+name+`"}`, hdr)
	if r.status != http.StatusCreated {
		t.Fatalf("POST /admin/partners: %d %s", r.status, r.body)
	}
	if err := loadDoc(t).validateResponse("POST", "/admin/partners", r.status, r.body); err != nil {
		t.Error(err)
	}
	var pc bankapi.PartnerCredentials
	if err := json.Unmarshal(r.body, &pc); err != nil || pc.Key == "" || pc.ID == "" {
		t.Fatalf("partner credentials %s: %v", r.body, err)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Error("the answer carrying a key may be cached")
	}
	return pc
}

// TestAuthPerRouteClass walks the whole route table with each kind of caller and checks the
// rules of the package comment, validating every refusal against the document.
func TestAuthPerRouteClass(t *testing.T) {
	doc := loadDoc(t)
	for _, withToken := range []bool{false, true} {
		name := "token made by New"
		opts := Options{}
		if withToken {
			name, opts.AdminToken = "admin token", "adm-1"
		}
		t.Run(name, func(t *testing.T) {
			h := New(newEngine(), opts)
			if h.AdminToken() == "" || (withToken && h.AdminToken() != "adm-1") {
				t.Fatalf("admin token %q", h.AdminToken())
			}
			admin := map[string]string{"Authorization": "Bearer " + h.AdminToken()}
			nobody := map[string]string{}
			pc := createPartner(t, h, admin, "tenant-a")
			partner := map[string]string{"Authorization": "Bearer " + pc.Key}
			for _, rt := range routeTable {
				if rt.Path == "/admin/reset" || rt.Path == "/admin/snapshot" && rt.Method == "PUT" {
					continue // below, last: they would drop the partner (restore) or the world
				}
				key := rt.Method + " " + rt.Path
				path, body := routePath(rt.Path), routeBody(rt)
				check := func(who string, hdr map[string]string, remote string, want int, code string) {
					t.Helper()
					r := do(h, rt.Method, path, remote, body, hdr)
					switch {
					case want == 0 && (r.status == 401 || r.status == 403):
						t.Errorf("%s as %s: refused %d %s", key, who, r.status, r.body)
					case want != 0 && r.status != want:
						t.Errorf("%s as %s: status %d, want %d: %s", key, who, r.status, want, r.body)
					case want != 0:
						if e := r.err(t); e.Code != code || e.Message == "" {
							t.Errorf("%s as %s: %s, want %s with a message", key, who, r.body, code)
						}
						if want == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
							t.Errorf("%s as %s: 401 without WWW-Authenticate: Bearer", key, who)
						}
						if err := doc.validateResponse(rt.Method, rt.Path, r.status, r.body); err != nil {
							t.Errorf("%s as %s: %v", key, who, err)
						}
					}
				}
				// An unknown bearer is 401 everywhere, from anywhere.
				check("a wrong key", map[string]string{"Authorization": "Bearer bmk_0000"}, local, 401, bankapi.CodeUnauthenticated)
				check("a Basic header", map[string]string{"Authorization": "Basic YWRtOjE="}, local, 401, bankapi.CodeUnauthenticated)
				check("the admin", admin, "10.1.2.3:4", 0, "")
				check("the admin on loopback", admin, local, 0, "")
				switch rt.Access {
				case Open, Protocol, Helper, Catalogue:
					check("a partner", partner, "10.1.2.3:4", 0, "")
					check("a partner on loopback", partner, local, 0, "")
				case BankAdmin:
					check("a partner", partner, "10.1.2.3:4", 403, bankapi.CodeUnauthorized)
					check("a partner on loopback", partner, local, 403, bankapi.CodeUnauthorized)
				}
				// Loopback is not a credential: nobody may change anything at /admin/*, and may
				// read only the default partner's own things there.
				switch {
				case rt.Access == Open || rt.Access == Protocol:
					check("nobody", nobody, "10.1.2.3:4", 0, "")
				case rt.Access == Helper && rt.Method == "GET":
					check("nobody on loopback", nobody, local, 0, "")
					check("nobody from afar", nobody, "10.1.2.3:4", 0, "")
				default:
					check("nobody on loopback", nobody, local, 401, bankapi.CodeUnauthenticated)
					check("nobody from afar", nobody, "10.1.2.3:4", 401, bankapi.CodeUnauthenticated)
				}
			}
			for _, p := range []string{"/admin/reset", "/admin/snapshot"} {
				m := map[string]string{"/admin/reset": "POST", "/admin/snapshot": "PUT"}[p]
				if r := do(h, m, p, local, routeBody(Route{Method: m, Path: p}), partner); r.status != 403 {
					t.Errorf("%s %s as a partner: %d, want 403", m, p, r.status)
				}
			}
			// The partner's key still works after a reset by the admin: partners are credentials.
			if r := do(h, "POST", "/admin/reset", local, "", nobody); r.status != 401 {
				t.Fatalf("reset from loopback without the token: %d %s", r.status, r.body)
			}
			if r := do(h, "POST", "/admin/reset", "10.1.2.3:4", "", admin); r.status != 204 {
				t.Fatalf("reset: %d %s", r.status, r.body)
			}
			if r := do(h, "GET", "/admin/journal", "10.1.2.3:4", "", partner); r.status != 200 {
				t.Errorf("partner key after reset: %d %s", r.status, r.body)
			}
		})
	}
}

// TestPartnersOverHTTP runs two partners and the default one through the real client against
// the real server and checks that each sees only its own things.
func TestPartnersOverHTTP(t *testing.T) {
	eng := bankmock.New(bankmock.Config{Seed: 3, Customers: 5})
	srv := serve(t, New(eng, Options{AdminToken: "adm-1"}))
	ctx := context.Background()
	adm := client.New(srv.URL, client.Options{AdminToken: "adm-1", Retries: -1})
	pa, err := adm.CreatePartner(ctx, "wallet A")
	if err != nil {
		t.Fatal(err)
	}
	pb, err := adm.CreatePartner(ctx, "wallet B")
	if err != nil {
		t.Fatal(err)
	}
	if pa.ID != "p1" || pb.ID != "p2" || pa.Key == pb.Key || !strings.HasPrefix(pa.Key, bankmock.KeyPrefix) {
		t.Fatalf("partners %+v %+v", pa, pb)
	}
	list, err := adm.Partners(ctx)
	if err != nil || len(list) != 3 || list[0].ID != bankapi.DefaultPartner || list[1].ID != "p1" || list[2].Name != "wallet B" {
		t.Fatalf("partners list %+v %v", list, err)
	}
	a := client.New(srv.URL, client.Options{PartnerKey: pa.Key, Retries: -1})
	b := client.New(srv.URL, client.Options{PartnerKey: pb.Key, Retries: -1})
	anon := client.New(srv.URL, client.Options{Retries: -1})
	c := bankmock.TestCards[0].Customer
	notFound := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, bankapi.ErrNotFound) {
			t.Errorf("%s: want NOT_FOUND, got %v", what, err)
		}
	}

	bindA, err := a.CreateBinding(ctx, banktest.CardRequest(c))
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.LastOTP(ctx, c.Phone)
	notFound("B reads the OTP of A's binding", err)
	otpA, err := a.LastOTP(ctx, c.Phone)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.ConfirmBinding(ctx, bindA.BindingID, otpA)
	notFound("B confirms A's binding", err)
	agrA, err := a.ConfirmBinding(ctx, bindA.BindingID, otpA)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Debit(ctx, "k1", bankapi.MoneyRequest{Agreement: agrA.Agreement, Amount: 100, Currency: "CNY"})
	notFound("B debits A's agreement", err)
	_, err = anon.Debit(ctx, "k1", bankapi.MoneyRequest{Agreement: agrA.Agreement, Amount: 100, Currency: "CNY"})
	notFound("the default partner debits A's agreement", err)
	notFound("B unbinds A's agreement", b.Unbind(ctx, agrA.Agreement))

	bindB, agrB := banktest.Bind(t, ctx, b, c)
	if bindA.BindingID == bindB.BindingID || agrA.Agreement == agrB.Agreement {
		t.Fatalf("two partners binding one card got the same id or token: %s %s", bindA.BindingID, agrA.Agreement)
	}
	// One idempotency key, two partners: two transactions.
	ta, err := a.Debit(ctx, "wlt-t1", bankapi.MoneyRequest{Agreement: agrA.Agreement, Amount: 100, Currency: "CNY"})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Debit(ctx, "wlt-t1", bankapi.MoneyRequest{Agreement: agrB.Agreement, Amount: 250, Currency: "CNY"})
	if err != nil {
		t.Fatalf("B's wlt-t1: %v", err)
	}
	if ta.TxnID == tb.TxnID {
		t.Fatal("two partners' wlt-t1 are one transaction")
	}
	qa, err := a.Transaction(ctx, "wlt-t1")
	if err != nil || qa.TxnID != ta.TxnID || qa.Amount != 100 {
		t.Errorf("A's query: %+v %v", qa, err)
	}
	qb, err := b.Transaction(ctx, "wlt-t1")
	if err != nil || qb.TxnID != tb.TxnID || qb.Amount != 250 {
		t.Errorf("B's query: %+v %v", qb, err)
	}
	_, err = anon.Transaction(ctx, "wlt-t1")
	notFound("the default partner's query of wlt-t1", err)
	day := ta.Time.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	for _, x := range []struct {
		who  string
		c    *client.Client
		want string
	}{{"A", a, ta.TxnID}, {"B", b, tb.TxnID}} {
		s, err := x.c.Statement(ctx, day)
		if err != nil || len(s.Transactions) != 1 || s.Transactions[0].TxnID != x.want || s.DebitCount != 1 {
			t.Errorf("%s's statement: %+v %v", x.who, s, err)
		}
	}
	if s, err := anon.Statement(ctx, day); err != nil || len(s.Transactions) != 0 {
		t.Errorf("the default partner's statement: %+v %v", s, err)
	}

	// Fault rules: A's match only A's traffic; B cannot see or delete them; the admin sees all.
	fa, err := a.AddFaultSpec(ctx, "http_error;op=debit")
	if err != nil || fa.Partner != pa.ID {
		t.Fatalf("A's rule: %+v %v", fa, err)
	}
	if fs, err := b.Faults(ctx); err != nil || len(fs) != 0 {
		t.Errorf("B lists %+v %v", fs, err)
	}
	notFound("B deletes A's rule", b.DeleteFault(ctx, fa.ID))
	if err := b.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Debit(ctx, "wlt-t2", bankapi.MoneyRequest{Agreement: agrB.Agreement, Amount: 1, Currency: "CNY"}); err != nil {
		t.Errorf("A's rule fired on B's debit: %v", err)
	}
	if _, err := a.Debit(ctx, "wlt-t2", bankapi.MoneyRequest{Agreement: agrA.Agreement, Amount: 1, Currency: "CNY"}); !errors.Is(err, bankapi.ErrIssuerUnavailable) {
		t.Errorf("A's rule did not fire on A's debit: %v", err)
	}
	if fs, err := adm.Faults(ctx); err != nil || len(fs) != 1 || fs[0].Partner != pa.ID {
		t.Errorf("the admin lists %+v %v", fs, err)
	}

	// Journals: each partner its own entries; the admin all, each naming its partner.
	ja, _ := bankapi.AllJournal(ctx, a)
	jb, _ := bankapi.AllJournal(ctx, b)
	jall, _ := bankapi.AllJournal(ctx, adm)
	if len(ja) == 0 || len(jb) == 0 || len(jall) < len(ja)+len(jb)+2 {
		t.Fatalf("journals: A %d, B %d, all %d", len(ja), len(jb), len(jall))
	}
	for _, j := range ja {
		if j.Partner != pa.ID {
			t.Errorf("A's journal shows %+v", j)
		}
	}
	seen := map[string]bool{}
	for _, j := range jall {
		seen[j.Partner] = true
	}
	if !seen[pa.ID] || !seen[pb.ID] || !seen[bankapi.DefaultPartner] {
		t.Errorf("the bank-wide journal names partners %v", seen)
	}
	snap, err := adm.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(jall)
	for _, k := range []string{pa.Key, pb.Key, strings.TrimPrefix(pa.Key, bankmock.KeyPrefix)} {
		if strings.Contains(string(snap), k) || strings.Contains(string(raw), k) {
			t.Error("a partner key in clear in the snapshot or the journal")
		}
	}
	// A partner key on bank-wide admin: refused even though the client would send it nowhere.
	r := do(New(eng, Options{}), "GET", "/admin/snapshot", local, "", map[string]string{"Authorization": "Bearer " + pa.Key})
	if r.status != 403 {
		t.Errorf("snapshot with a partner key from loopback: %d", r.status)
	}
}
