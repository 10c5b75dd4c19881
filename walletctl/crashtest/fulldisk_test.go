//go:build linux

package crashtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
		{"topup", password + "\n", []string{"-o", "json", "--as", "u1", "topup", "--card", "c1", "--amount", "1.00", "--password-stdin"}},
		{"pay-card", password + "\n", []string{"-o", "json", "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "0.50", "--source", "card:c1", "--password-stdin"}},
		{"withdraw", password + "\n", []string{"-o", "json", "--as", "u1", "withdraw", "--card", "c1", "--amount", "0.30", "--password-stdin"}},
		{"pay-balance", password + "\n", []string{"-o", "json", "--as", "u1", "pay", "--merchant", "m-cafe", "--amount", "0.20", "--password-stdin"}},
	}
	failures := 0
	codes := map[string]int{}
	for _, leave := range []int64{0, 4 << 10, 16 << 10, 48 << 10, 96 << 10, 160 << 10} {
		home := filepath.Join(fs, "home")
		if err := os.CopyFS(home, os.DirFS(tpl)); err != nil {
			t.Fatal(err)
		}
		filler := testfs.Fill(t, fs, leave)
		var claimed []string
		for i := 0; i < 12; i++ {
			c := work[i%len(work)]
			cmd := exec.Command(bin, append([]string{"--home", home, "--no-color"}, c.args...)...)
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
		if err := os.RemoveAll(home); err != nil {
			t.Fatal(err)
		}
	}
	if failures == 0 {
		t.Fatal("no command failed: the disk never ran out, so nothing was tested")
	}
	t.Logf("%d commands failed on a full disk (%v); every other one is saved", failures, codes)
}
