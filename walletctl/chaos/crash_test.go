//go:build unix

package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walletctl/walletctl/bankapi"
	"github.com/walletctl/walletctl/bankapi/client"
	"github.com/walletctl/walletctl/bankmock"
	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/vclock"
	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/sqlite"
)

// The crash test re-executes this test binary as the child: TestMain sends it to crashChild
// when this variable is set.
const crashChildEnv = "WALLETCTL_CHAOS_CRASH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		if err := crashChild(); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashPlan is what the parent tells a child: where the wallet and the bank are, who the users
// are, and how this run dies.
type crashPlan struct {
	DB      string       `json:"db"`
	Bank    string       `json:"bank"`
	Token   string       `json:"bank_token"` // the bank's admin token (loopback is not a credential)
	Seed    int64        `json:"seed"`
	Run     int          `json:"run"`
	Actors  []actorState `json:"actors"`
	Acks    string       `json:"acks"`
	KillAt  int          `json:"kill_at"`    // > 0: the child kills itself at this debit/credit ...
	KillPre bool         `json:"kill_pre"`   // ... before sending it (else after the bank answered)
	MaxOps  int          `json:"max_ops"`    // stop (exit 0) after this many operations
	Timeout Millis       `json:"timeout_ms"` // the bank client's timeout
}

type actorState struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Password string   `json:"password"`
	Cards    []string `json:"cards"`
}

// remoteClock is the child wallet's clock: the bank's virtual clock, read at start and moved
// through the bank's admin API, so that wallet and bank keep one time across restarts.
type remoteClock struct {
	admin bankapi.Admin
	mu    sync.Mutex
	t     time.Time
}

func (c *remoteClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *remoteClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.admin.Advance(context.Background(), d)
	if err != nil {
		panic(fmt.Sprintf("advance the bank clock: %v", err)) // the child dies; the parent sees exit 2
	}
	c.t = t
	return t
}

// killer is the real bank client with a kill switch: at the KillAt-th debit or credit the process
// SIGKILLs itself, before the request leaves or after the bank's answer arrived and before the
// wallet records it, which are the two windows where a crash could lose or double money.
type killer struct {
	bankapi.API
	mu  sync.Mutex
	n   int
	at  int
	pre bool
}

func (k *killer) money(ctx context.Context, op func(context.Context, string, bankapi.MoneyRequest) (*bankapi.Transaction, error),
	key string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	k.mu.Lock()
	k.n++
	hit := k.at > 0 && k.n == k.at
	k.mu.Unlock()
	if hit && k.pre {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	t, err := op(ctx, key, req)
	if hit {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	return t, err
}

func (k *killer) Debit(ctx context.Context, key string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return k.money(ctx, k.API.Debit, key, req)
}

func (k *killer) Credit(ctx context.Context, key string, req bankapi.MoneyRequest) (*bankapi.Transaction, error) {
	return k.money(ctx, k.API.Credit, key, req)
}

// crashChild runs the workload until it is killed (or MaxOps), appending an ack line for every
// money movement the engine answered for: the parent checks that none of them is lost.
func crashChild() error {
	var plan crashPlan
	if err := json.Unmarshal([]byte(os.Getenv(crashChildEnv)), &plan); err != nil {
		return err
	}
	ctx := context.Background()
	// Two clients: the protocol one gives up quickly (hangs cost that much wall time), the admin
	// one (clock, customers, OTPs: never faulted) is patient, so a busy machine is not a failure.
	cl := client.New(plan.Bank, client.Options{Timeout: time.Duration(plan.Timeout)})
	admin := client.New(plan.Bank, client.Options{Timeout: 30 * time.Second, AdminToken: plan.Token})
	now, err := admin.Now(ctx)
	if err != nil {
		return err
	}
	acks, err := os.OpenFile(plan.Acks, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	st, err := sqlite.Open(plan.DB)
	if err != nil {
		return err
	}
	bank := &killer{API: cl, at: plan.KillAt, pre: plan.KillPre}
	eng, err := NewEngine(st, bank, admin, &remoteClock{admin: admin, t: now}, plan.Seed)
	if err != nil {
		return err
	}
	// A restarted wallet first settles what its previous life left pending (faults may be on:
	// whatever stays pending waits for the next reconciliation).
	_, _ = eng.Reconcile(ctx, "")
	wl := &workload{w: &World{Store: st, Engine: eng, Bank: bank, Admin: admin}, keyPrefix: fmt.Sprintf("r%d-", plan.Run),
		rep: &Report{Operations: map[string]map[string]int{}, FaultsFired: map[string]int{}}}
	for _, a := range plan.Actors {
		wl.actors = append(wl.actors, &actor{id: a.ID, name: a.Name, password: a.Password, cards: a.Cards})
	}
	wl.ack = func(op, id, status string) {
		// One write(2) per line: it reaches the page cache, which survives SIGKILL.
		fmt.Fprintf(acks, "%s %s %s\n", id, status, strings.ReplaceAll(op, " ", "_"))
	}
	fmt.Println("ready")
	rng := rand.New(rand.NewPCG(uint64(plan.Seed), uint64(plan.Run)))
	for i := 0; i < plan.MaxOps; i++ {
		if err := wl.step(ctx, rng, i); err != nil {
			return err
		}
	}
	return nil
}

// TestCrashSafety runs the workload in a child process on a SQLite file against a bankmock
// server in this process (so the bank outlives the child), kills the child with SIGKILL at
// seeded random points, and after each kill reconciles with the faults off and checks every
// invariant: nothing acknowledged is lost, no bank key is settled twice, the ledger sums to
// zero, nothing stays pending, wallet and bank agree.
func TestCrashSafety(t *testing.T) {
	kills := envInt(t, "CHAOS_CRASH_KILLS", 24)
	const seed = 2026
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0xdead))
	served := testworld.NewBank(t, testworld.Seed(seed), testworld.Customers(12), testworld.ClientTimeout(bankClientTimeout),
		testworld.InstantSleep(), testworld.Loopback(""), func(c *testworld.Config) { c.Server.HangTimeout = 2 * time.Second })
	clock, bank := served.Clock, served.Mock

	dir := testDir(t)
	dbPath := filepath.Join(dir, "wallet.db")
	initial, err := Balances(ctx, bank)
	if err != nil {
		t.Fatal(err)
	}
	// Set-up in this process, faults off: users, cards, passwords.
	st, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(st, bank, bank, clock, seed)
	if err != nil {
		t.Fatal(err)
	}
	wl := &workload{w: &World{Store: st, Engine: eng, Bank: bank, Admin: bank, Clock: clock},
		rep: &Report{Operations: map[string]map[string]int{}, FaultsFired: map[string]int{}}}
	if err := wl.setup(ctx, rng, 8); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var actors []actorState
	for _, a := range wl.actors {
		actors = append(actors, actorState{ID: a.id, Name: a.name, Password: a.password, Cards: a.cards})
	}
	if len(actors) < 5 {
		t.Fatalf("only %d users set up", len(actors))
	}
	acksPath := filepath.Join(dir, "acks.log")

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	killedInBank, killedByParent, totalAcks := 0, 0, 0
	for run := 1; run <= kills; run++ {
		if err := InstallFaults(ctx, bank, 0.2, bankapi.FaultKinds); err != nil {
			t.Fatal(err)
		}
		plan := crashPlan{DB: dbPath, Bank: served.URL, Token: served.AdminToken, Seed: seed + int64(run), Run: run, Actors: actors, Acks: acksPath,
			MaxOps: 100_000, Timeout: Millis(150 * time.Millisecond)}
		selfKill := run%2 == 1
		if selfKill {
			plan.KillAt, plan.KillPre = 1+rng.IntN(12), rng.IntN(2) == 0
		}
		pj, _ := json.Marshal(plan)
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+string(pj))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			ok := false
			for sc.Scan() {
				if sc.Text() == "ready" && !ok {
					ok = true
					ready <- true
				}
			}
			if !ok {
				ready <- false
			}
		}()
		// A child that never reaches its kill point is a broken test, not a pass.
		hung := time.AfterFunc(60*time.Second, func() { cmd.Process.Signal(syscall.SIGKILL) })
		if !selfKill {
			if <-ready {
				time.Sleep(time.Duration(20+rng.IntN(300)) * time.Millisecond) // seeded point in the child's life
			}
			cmd.Process.Signal(syscall.SIGKILL)
		}
		werr := cmd.Wait()
		if !hung.Stop() {
			t.Fatalf("run %d: the child was still alive after 60 s\n%s", run, stderr.String())
		}
		var ee *exec.ExitError
		if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: the child did not die by SIGKILL: %v\n%s", run, werr, stderr.String())
		}
		if selfKill {
			killedInBank++
		} else {
			killedByParent++
		}

		// Restart: the wallet opens the file the child left, the bank is reachable, faults off.
		if err := bank.ClearFaults(ctx); err != nil {
			t.Fatal(err)
		}
		n, vs := recoverAndCheck(t, dbPath, bank, clock, initial, acksPath, seed)
		totalAcks = n
		for _, v := range vs {
			t.Errorf("run %d (seed %d, self-kill %v at bank call %d, before=%v): %s", run, plan.Seed, selfKill, plan.KillAt, plan.KillPre, v)
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("%d SIGKILLs (%d inside a bank call, %d at a random instant), %d acknowledged movements checked", kills, killedInBank, killedByParent, totalAcks)
	if totalAcks == 0 {
		t.Errorf("the children acknowledged nothing: the test checked nothing")
	}
}

// recoverAndCheck reconciles the wallet in dbPath against the bank until nothing is pending, runs
// the checker, and checks that every acknowledged movement is in the wallet with a compatible
// status. It returns how many acks it checked and the violations.
func recoverAndCheck(t *testing.T, dbPath string, bank *bankmock.Engine, clock *vclock.Manual, initial map[string]int64,
	acksPath string, seed int64) (int, []Violation) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := NewEngine(st, bank, bank, clock, seed)
	if err != nil {
		t.Fatal(err)
	}
	w := &World{Store: st, Engine: eng, Bank: bank, Admin: bank, Clock: clock, Start: vclock.DefaultEpoch, Initial: initial}
	rep := &Report{Operations: map[string]map[string]int{}}
	if err := Settle(ctx, w, rep); err != nil {
		t.Fatal(err)
	}
	vs, _, err := Check(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	vs = append(rep.Violations, vs...)

	data, err := os.ReadFile(acksPath)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	n := 0
	err = st.View(ctx, func(tx walletctl.StoreTx) error {
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) != 3 {
				continue // a line torn by the kill is not an acknowledgement
			}
			n++
			id, status, op := f[0], f[1], f[2]
			rec, err := tx.GetTxn(id)
			if err != nil {
				return err
			}
			switch {
			case rec == nil:
				vs = append(vs, Violation{Check: "lost", Detail: fmt.Sprintf("acknowledged %s %s (%s) is not in the wallet", op, id, status)})
			case strings.HasPrefix(op, "transfer"):
				// A transfer may have been accepted, cancelled or refunded since: any status is fine.
			case status != walletctl.TxnPending && rec.Status != status:
				vs = append(vs, Violation{Check: "lost", Detail: fmt.Sprintf("%s %s was acknowledged %s but is now %s", op, id, status, rec.Status)})
			case rec.Status == walletctl.TxnPending:
				vs = append(vs, Violation{Check: "pending", Detail: fmt.Sprintf("%s %s is still pending after reconciliation", op, id)})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, vs
}

// TestRemoteClockFollowsBank checks the child's clock: it moves the bank's clock, so that a
// restarted wallet reads the time where the last one left it.
func TestRemoteClockFollowsBank(t *testing.T) {
	bank := testworld.NewBank(t, testworld.Seed(1), testworld.Customers(1), testworld.Loopback(""))
	clock := bank.Clock
	rc := &remoteClock{admin: bank.Client, t: clock.Now()}
	got := rc.Advance(90 * time.Minute)
	if want := vclock.DefaultEpoch.Add(90 * time.Minute); !got.Equal(want) || !clock.Now().Equal(want) || !rc.Now().Equal(want) {
		t.Errorf("advance: got %v, bank %v, want %v", got, clock.Now(), want)
	}
}
