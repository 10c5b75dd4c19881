package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/postgres"
)

// walletctl --store postgres://…: the sandbox's wallet records live in the schema of the DSN's
// search_path (nothing in wallet.db), a second home on the same schema sees the same wallet, and
// sandbox init --force empties the schema.
func TestCLIStore(t *testing.T) {
	base := os.Getenv("WALLETCTL_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but WALLETCTL_TEST_POSTGRES is not: .ci/run starts a server with .ci/postgres.sh")
		}
		t.Skip("no PostgreSQL server: set WALLETCTL_TEST_POSTGRES=postgres://... or run `make test-postgres` (starts one)")
	}
	schema := fmt.Sprintf("cli_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	dsn := base + "&search_path=" + schema
	t.Cleanup(func() {
		if st, err := postgres.Open(context.Background(), dsn); err == nil {
			st.DropSchema(context.Background())
			st.Close()
		}
	})
	home := t.TempDir()
	run := func(home string, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		env := map[string]string{"WALLETCTL_HOME": home, "WALLETCTL_STORE": dsn, "WALLETCTL_SANDBOX_THROWAWAY": "1"}
		code := cli.Run(context.Background(), args, &cli.IOStreams{Out: &out, ErrOut: &errOut}, func(k string) string { return env[k] })
		if code != 0 {
			t.Fatalf("walletctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
		}
		return out.String()
	}
	run(home, "sandbox", "init", "--seed", "3", "--customers", "5")
	run(home, "flow", "open-wallet")
	if _, err := os.Stat(home + "/wallet.db"); !os.IsNotExist(err) {
		t.Fatalf("wallet.db exists with --store (%v)", err)
	}
	bal := run(home, "--as", "u1", "balance", "-o", "json")
	// The records are in PostgreSQL: a store opened on the schema sees the user.
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var users []walletctl.UserRecord
	st.View(context.Background(), func(tx walletctl.StoreTx) error { users, err = tx.ListUsers(); return err })
	if len(users) != 1 || users[0].ID != "u1" {
		t.Fatalf("users in schema %s: %+v", schema, users)
	}
	// Another home on the same schema is refused rather than emptying the wallet; --force empties it.
	var out, errOut bytes.Buffer
	env := map[string]string{"WALLETCTL_HOME": t.TempDir(), "WALLETCTL_STORE": dsn}
	if code := cli.Run(context.Background(), []string{"sandbox", "init"}, &cli.IOStreams{Out: &out, ErrOut: &errOut}, func(k string) string { return env[k] }); code == 0 ||
		!strings.Contains(errOut.String(), walletctl.CodeAlreadyExists) {
		t.Fatalf("init of another home on a used schema: exit %d\n%s", code, errOut.String())
	}
	if !strings.Contains(bal, `"available"`) {
		t.Fatalf("balance output %s", bal)
	}
	run(home, "sandbox", "init", "--force")
	st.View(context.Background(), func(tx walletctl.StoreTx) error { users, err = tx.ListUsers(); return err })
	if len(users) != 0 {
		t.Fatalf("users after init --force: %+v", users)
	}
}
