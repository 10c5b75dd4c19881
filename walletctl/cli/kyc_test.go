package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
)

func TestKYCSubmitFlags(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     string
		name, id string
	}{
		{args: []string{"--name", "张伟", "--id", "110105198503071230"}, name: "张伟", id: "110105198503071230"},
		{args: []string{"--name", "张伟"}, code: walletctl.CodeInvalidArgument},
		{args: []string{"--id", "110105198503071230"}, code: walletctl.CodeInvalidArgument},
		{args: []string{"--name", "a", "--id", "b", "extra"}, code: walletctl.CodeInvalidArgument},
		{args: []string{"--nmae", "a"}, code: walletctl.CodeInvalidArgument},
	} {
		var got *cli.KYCSubmitOptions
		cmd := cli.NewCmdKYCSubmit(newFake("table").f, func(_ context.Context, o *cli.KYCSubmitOptions) error { got = o; return nil })
		if code := runCmd(t, cmd, tc.args...); code != tc.code {
			t.Errorf("%q: code %q, want %q", tc.args, code, tc.code)
			continue
		}
		if tc.code == "" && (got == nil || got.Name != tc.name || got.ID != tc.id) {
			t.Errorf("%q: options %+v", tc.args, got)
		}
		if tc.code != "" && got != nil {
			t.Errorf("%q: ran despite the error", tc.args)
		}
	}
}

func TestKYCSubmitRun(t *testing.T) {
	k := newFake("table")
	var gotUser, gotName, gotID string
	k.svc.SubmitKYCFn = func(_ context.Context, uid, name, id string) (*walletctl.KYC, error) {
		gotUser, gotName, gotID = uid, name, id
		return &walletctl.KYC{UserID: uid, Verified: true, NameMasked: "*伟", IDMasked: "1101**********1230", Class: 2,
			Checks: []string{"id", "phone"}, LimitFen: 10_000_000, UsedFen: 1250, LimitPeriod: "year"}, nil
	}
	if code := runCmd(t, cli.NewCmdKYCSubmit(k.f, nil), "--name", "张伟", "--id", "110105198503071230"); code != "" {
		t.Fatalf("code %s, stderr %s", code, k.errOut.String())
	}
	if gotUser != "u1" || gotName != "张伟" || gotID != "110105198503071230" {
		t.Fatalf("SubmitKYC(%q, %q, %q)", gotUser, gotName, gotID)
	}
	for _, want := range []string{"VERIFIED", "yes", "*伟", "id, phone", "12.50 of 100000.00 (year)"} {
		if !strings.Contains(k.out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, k.out.String())
		}
	}
	if strings.Contains(k.out.String(), "110105198503071230") {
		t.Errorf("the full ID number is shown:\n%s", k.out.String())
	}
}

func TestKYCStatusJSONAndErrors(t *testing.T) {
	k := newFake("json")
	k.svc.KYCStatusFn = func(_ context.Context, uid string) (*walletctl.KYC, error) {
		return &walletctl.KYC{UserID: uid, Class: 1}, nil
	}
	if code := runCmd(t, cli.NewCmdKYCStatus(k.f, nil)); code != "" {
		t.Fatal(code)
	}
	var got walletctl.KYC
	if err := json.Unmarshal(k.out.Bytes(), &got); err != nil || got.UserID != "u1" || got.Class != 1 {
		t.Fatalf("%v: %s", err, k.out.String())
	}
	// The service's error is the command's, code and all.
	k = newFake("table")
	k.svc.KYCStatusFn = func(context.Context, string) (*walletctl.KYC, error) {
		return nil, walletctl.Errorf(walletctl.CodeNotFound, "no user")
	}
	if code := runCmd(t, cli.NewCmdKYCStatus(k.f, nil)); code != walletctl.CodeNotFound {
		t.Fatalf("code %q", code)
	}
	if k.out.Len() != 0 {
		t.Fatalf("printed on failure: %s", k.out.String())
	}
}
