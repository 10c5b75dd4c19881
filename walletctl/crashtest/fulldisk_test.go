//go:build linux

package crashtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/walletctl/walletctl/internal/testbin"
	"github.com/walletctl/walletctl/internal/testfs"
)

var codeRe = regexp.MustCompile(`"code": "([A-Z_]+)"`)

var txnRe = regexp.MustCompile(`"id": "(t\d+)"[\s\S]*?"status": "succeeded"`)

// TestFullDisk runs money commands on a home whose small file system is nearly full, at several
// fill levels so that the disk runs out at different writes: every command either succeeds for
// real (its txn is there, succeeded, after the space is freed) or fails with a coded error, never
// INTERNAL and never a "succeeded" that was not saved; after freeing the space the home opens,
// reconciles, and every money invariant holds.
func TestFullDisk(t *testing.T) {
	bin := testbin.Build(t, walletctlPkg)
	tpl, _ := template(t, bin)
	ctx := context.Background()
	fs := testfs.Mount(t, "3m")
	work := []command{
		// A merchant refund to the card an order was paid with (through the bank): OUT is replaced
		// by a new out_refund_no each time.
		{"refund-card", "", []string{"-o", "json", "merchant", "refund", "--mchid", "1900000001", "--out-trade-no", "crash-paid-1",
			"--out-refund-no", "OUT", "--amount", "0.10"}},
		{"topup", password + "\n", []string{"-o", "json", "--as", "u1", "topup", "--card", "c1", "--amount", "1.00", "--password-stdin"}},
		{"pay-card", password + "\n", []string{"-o", "json", "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "0.50", "--source", "card:c1", "--password-stdin"}},
		{"withdraw", password + "\n", []string{"-o", "json", "--as", "u1", "withdraw", "--card", "c1", "--amount", "0.30", "--password-stdin"}},
		{"pay-balance", password + "\n", []string{"-o", "json", "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "0.20", "--password-stdin"}},
	}
	failures, refundsSeen := 0, 0
	codes := map[string]int{}
	for _, leave := range []int64{0, 4 << 10, 16 << 10, 48 << 10, 96 << 10, 160 << 10, 512 << 10} {
		home := filepath.Join(fs, "home")
		if err := os.CopyFS(home, os.DirFS(tpl)); err != nil {
			t.Fatal(err)
		}
		filler := testfs.Fill(t, fs, leave)
		var claimed, refunds []string
		for i := 0; i < 15; i++ {
			c := work[i%len(work)]
			args := slices.Clone(c.args)
			refundNo := ""
			if j := slices.Index(args, "OUT"); j >= 0 {
				refundNo = fmt.Sprintf("fulldisk-%d-%d", leave, i)
				args[j] = refundNo
			}
			cmd := exec.Command(bin, append([]string{"--home", home, "--no-color"}, args...)...)
			cmd.Stdin = strings.NewReader(c.stdin)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			var ee *exec.ExitError
			switch {
			case err == nil:
				if m := txnRe.FindStringSubmatch(out.String()); m != nil {
					claimed = append(claimed, m[1])
				}
				if refundNo != "" && strings.Contains(out.String(), `"refund_id"`) {
					refunds = append(refunds, refundNo) // SUCCESS, or PROCESSING when its settlement could not be written
				}
			case errors.As(err, &ee):
				failures++
				if m := codeRe.FindStringSubmatch(out.String() + errOut.String()); m != nil {
					codes[m[1]]++
				}
				if ee.ExitCode() == 1 || strings.Contains(errOut.String(), "INTERNAL") {
					t.Errorf("leave %d, %s: a full disk is the user's information, not a bug:\n%s", leave, c.name, errOut.String())
				}
			default:
				t.Fatal(err)
			}
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		vs, _, err := Audit(ctx, home)
		if err != nil {
			t.Fatalf("leave %d: after freeing the disk: %v", leave, err)
		}
		for _, v := range vs {
			t.Errorf("leave %d: %s", leave, v)
		}
		for _, id := range claimed {
			out, err := exec.Command(bin, "--home", home, "--as", "u1", "-o", "json", "tx", "show", id).Output()
			if err != nil || !strings.Contains(string(out), `"status": "succeeded"`) {
				t.Errorf("leave %d: %s was reported succeeded but is not, after the disk was freed: %v %s", leave, id, err, out)
			}
		}
		// A refund the command answered is settled by the audit's reconcile: the bank credited it
		// (SUCCESS) or never got it (CLOSED), never left in between.
		for _, no := range refunds {
			out, err := exec.Command(bin, "--home", home, "-o", "json", "merchant", "refund", "show", "--mchid", "1900000001", no).Output()
			switch {
			case err == nil && strings.Contains(string(out), `"status": "SUCCESS"`):
				refundsSeen++
			case err == nil && strings.Contains(string(out), `"status": "CLOSED"`):
			default:
				t.Errorf("leave %d: refund %s is not settled after the disk was freed and reconciled: %v %s", leave, no, err, out)
			}
		}
		if err := os.RemoveAll(home); err != nil {
			t.Fatal(err)
		}
	}
	if failures == 0 {
		t.Fatal("no command failed: the disk never ran out, so nothing was tested")
	}
	if refundsSeen == 0 {
		t.Error("no merchant refund to a card succeeded at any fill level: the refund path was not tested")
	}
	t.Logf("%d commands failed on a full disk (%v); every other one is saved (%d card refunds among them)", failures, codes, refundsSeen)
}
