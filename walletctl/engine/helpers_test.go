package engine_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/walletctl/walletctl/internal/testworld"
	"github.com/walletctl/walletctl/walletctl"
)

// world is one test's wallet (testworld's: a real SQLite file, the real bankmock engine
// in-process and one virtual clock shared by both) with this package's helpers as methods.
type world struct{ *testworld.World }

func newWorld(t testing.TB, opts ...testworld.Option) *world {
	t.Helper()
	return &world{testworld.New(t, opts...)}
}

// Short names for what most lines of these tests use.
var card = testworld.Card

const pw = testworld.Password

func must[T any](t testing.TB) func(T, error) T { return testworld.Must[T](t) }

// code asserts err is a wallet error with the code and returns it.
func code(t testing.TB, err error, want string) *walletctl.Error {
	t.Helper()
	var we *walletctl.Error
	if !errors.As(err, &we) {
		t.Fatalf("want %s, got %v", want, err)
	}
	if we.Code != want {
		t.Fatalf("want %s, got %s: %s (%v)", want, we.Code, we.Message, we.Details)
	}
	if we.Hint == "" {
		t.Errorf("%s has no hint", want)
	}
	return we
}

// events are the user's security events in the order they happened (the log lists newest first).
func (w *world) events(userID string) []string {
	w.T.Helper()
	var out []string
	for _, e := range must[[]walletctl.SecurityEvent](w.T)(walletctl.Items(w.Engine.SecurityLog(w.Ctx, userID, walletctl.MaxPage))) {
		out = append(out, e.Event)
	}
	slices.Reverse(out)
	return out
}
