package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/walletctl/walletctl/walletctl"
	"github.com/walletctl/walletctl/walletctl/cli"
	"github.com/walletctl/walletctl/walletctl/mock"
)

// The unit tests of one command's parsing and rendering run it on a fake (below): its flags with
// checkFlags, what it prints with must/refuses and the contains/lacks/within80 checks.

// fake is a Factory over a mock.Service, for unit tests of one command's parsing and rendering:
// no sandbox, no bank, no files. The --as user is u1 unless the test's UserFn says otherwise.
type fake struct {
	svc         *mock.Service
	f           *cli.Factory
	out, errOut bytes.Buffer
}

// newFake is a fake printing in format ("table" or "json"); each of stubs then sets the
// service's answers or the factory's fields.
func newFake(format string, stubs ...func(k *fake)) *fake {
	k := &fake{svc: &mock.Service{}}
	k.svc.UserFn = func(_ context.Context, ref string) (*walletctl.User, error) {
		return &walletctl.User{ID: ref, Phone: "13800138000"}, nil
	}
	ios := &cli.IOStreams{In: strings.NewReader(""), Out: &k.out, ErrOut: &k.errOut}
	k.f = &cli.Factory{IO: ios, Out: &cli.Output{IO: ios, Format: format}}
	k.f.Service = func(context.Context) (walletctl.Service, error) { return k.svc, nil }
	// As the remote backend does: the wallet sends what is due (the fake answers if stubbed).
	k.f.Settle = func(ctx context.Context) error {
		if k.svc.DeliverNotificationsFn == nil {
			return nil
		}
		_, err := k.svc.DeliverNotificationsFn(ctx)
		return err
	}
	k.f.Actor = func(ctx context.Context) (walletctl.Service, *walletctl.User, error) {
		u, err := k.svc.User(ctx, "u1")
		return k.svc, u, err
	}
	for _, stub := range stubs {
		stub(k)
	}
	return k
}

// failing is a stub under which the service's method (its name: "KYCStatus") fails with an
// error of code: its Fn field answers zero values and that error.
func failing(method, code string) func(k *fake) {
	return func(k *fake) {
		fn := reflect.ValueOf(k.svc).Elem().FieldByName(method + "Fn")
		if !fn.IsValid() {
			panic("mock.Service has no " + method + "Fn")
		}
		err := reflect.ValueOf(walletctl.Errorf(code, "%s refused by the test", method))
		fn.Set(reflect.MakeFunc(fn.Type(), func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, fn.Type().NumOut())
			for i := range out {
				out[i] = reflect.Zero(fn.Type().Out(i))
			}
			out[len(out)-1] = err.Convert(fn.Type().Out(len(out) - 1))
			return out
		}))
	}
}

// execute runs cmd with args as cobra would and returns its error and what cobra itself printed
// (help).
func execute(cmd *cobra.Command, args ...string) (string, error) {
	var help bytes.Buffer
	cli.Typed(cmd)
	cmd.SetArgs(args)
	cmd.SetOut(&help)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	return help.String(), err
}

// runCmd runs cmd with args as cobra would, and the error as the one error type's code ("" for none).
func runCmd(t *testing.T, cmd *cobra.Command, args ...string) string {
	t.Helper()
	if _, err := execute(cmd, args...); err != nil {
		return cli.ErrorCode(err)
	}
	return ""
}

// must runs cmd (built on k.f) with args, fails t unless it succeeds, and returns its stdout.
func (k *fake) must(t *testing.T, cmd *cobra.Command, args ...string) string {
	t.Helper()
	if code := runCmd(t, cmd, args...); code != "" {
		t.Fatalf("%s %q: code %s, stderr %s", cmd.Name(), args, code, k.errOut.String())
	}
	return k.out.String()
}

// refuses runs cmd (built on k.f) with args and wants it to fail with code, having printed
// nothing on stdout.
func (k *fake) refuses(t *testing.T, code string, cmd *cobra.Command, args ...string) {
	t.Helper()
	if got := runCmd(t, cmd, args...); got != code || k.out.Len() != 0 {
		t.Errorf("%s %q: code %q, want %q; printed %q", cmd.Name(), args, got, code, k.out.String())
	}
}

// decode reads the fake's stdout, which must be JSON, into v.
func (k *fake) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(k.out.Bytes(), v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, k.out.String())
	}
}

// keepErr makes cmd keep in *err what its RunE returned, for tests of a message or details.
func keepErr(cmd *cobra.Command, err *error) *cobra.Command {
	runE := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		*err = runE(c, args)
		return *err
	}
	return cmd
}

const invalid = walletctl.CodeInvalidArgument

// flagCase is one command line of a flag test: the code it fails with ("" for none) and a word
// of the message, or what the options it runs with must be: ok true of them, and check's own
// tests.
type flagCase[O any] struct {
	args  []string
	code  string
	msg   string
	ok    func(o O) bool
	check func(t *testing.T, o O)
}

// newCmdFunc builds a command whose options are O, as cli.NewCmdX: runF, when not nil, runs
// instead of the command's own run.
type newCmdFunc[O any] = func(f *cli.Factory, runF func(context.Context, O) error) *cobra.Command

// checkFlags runs every case on the command newCmd builds, with a runF that keeps the options:
// a failing line never runs, a good one runs with the options its check wants.
func checkFlags[O any](t *testing.T, newCmd newCmdFunc[O], cases []flagCase[O]) {
	t.Helper()
	for _, tc := range cases {
		var got O
		ran := false
		_, err := execute(newCmd(newFake("table").f, func(_ context.Context, o O) error { got, ran = o, true; return nil }), tc.args...)
		code := ""
		if err != nil {
			code = cli.ErrorCode(err)
		}
		switch {
		case code != tc.code:
			t.Errorf("%q: code %q (%v), want %q", tc.args, code, err, tc.code)
		case tc.code != "" && ran:
			t.Errorf("%q: ran despite %s", tc.args, code)
		case tc.code != "" && !strings.Contains(err.Error(), tc.msg):
			t.Errorf("%q: %q does not say %q", tc.args, err, tc.msg)
		case tc.code == "" && !ran:
			t.Errorf("%q: did not run", tc.args)
		case tc.ok != nil && !tc.ok(got):
			t.Errorf("%q: options %+v", tc.args, got)
		case tc.check != nil:
			tc.check(t, got)
		}
	}
}

// refusesArgs wants every one of argss refused as INVALID_ARGUMENT by the command newCmd builds,
// before it runs.
func refusesArgs[O any](t *testing.T, newCmd newCmdFunc[O], argss ...[]string) {
	t.Helper()
	cases := make([]flagCase[O], len(argss))
	for i, args := range argss {
		cases[i] = flagCase[O]{args: args, code: invalid}
	}
	checkFlags(t, newCmd, cases)
}

// contains fails t for each of want that s lacks.
func contains(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

// lacks fails t for each of these that s has.
func lacks(t *testing.T, what, s string, these ...string) {
	t.Helper()
	for _, w := range these {
		if strings.Contains(s, w) {
			t.Errorf("%s has %q:\n%s", what, w, s)
		}
	}
}

// within80 fails t when a line of s is wider than 80 columns (a terminal's default).
func within80(t *testing.T, what, s string) {
	t.Helper()
	if bad := tooWide(s, 80); len(bad) > 0 {
		t.Errorf("%s: %d lines wider than 80 columns, e.g.\n%s\n%s", what, len(bad), bad[0], s)
	}
}
