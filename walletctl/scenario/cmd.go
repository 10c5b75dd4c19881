package scenario

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/walletctl/walletctl/internal/tablefit"
	"github.com/walletctl/walletctl/walletctl"
)

// CodeScenarioFailed is the error code of a `scenario run` with failures (exit 11, checks failed:
// walletctl's code table lists it).
const CodeScenarioFailed = walletctl.CodeScenarioFailed

// NewCommand returns `walletctl scenario` (run, list, coverage). exec runs one walletctl command
// line in-process; the CLI passes an adapter over cli.Run (package cli cannot be imported from
// here, as it imports this package).
func NewCommand(exec Exec) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenario",
		Short: "Run golden scenarios: scripts of walletctl commands checked against golden transcripts",
		Long: `A scenario is a script of walletctl commands in scenarios/<name>.txt; running it in a fresh
deterministic world gives a transcript that must equal golden/<name>.golden byte for byte.
The format is documented in scenarios/README.md.`,
	}
	cmd.AddCommand(runCmd(exec), listCmd(), coverageCmd())
	return cmd
}

func jsonOutput(cmd *cobra.Command) bool {
	f := cmd.Flag("output")
	return f != nil && f.Value.String() == "json"
}

func runCmd(exec Exec) *cobra.Command {
	var (
		update           bool
		junit, transport string
		runRE, golden    string
		workers          int
		timeout          string
	)
	c := &cobra.Command{
		Use:   "run [PATH...]",
		Short: "Run scenarios (default: every file in scenarios/) and compare with golden/",
		Example: `  walletctl scenario run
  walletctl scenario run --run 'bind-' --transport http
  walletctl scenario run scenarios/pay-wrong-password.txt --update
  walletctl scenario run --junit report.xml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := Options{Paths: args, GoldenDir: golden, Update: update, Workers: workers}
			opts.Exec = exec
			opts.StartBank = StartHTTPBank
			opts.StartWallet = StartHTTPWallet
			switch transport {
			case "both":
				opts.Transports = []string{TransportInproc, TransportHTTP}
			case "all":
				opts.Transports = []string{TransportInproc, TransportHTTP, TransportServe}
			default:
				opts.Transports = []string{transport}
			}
			if timeout != "" {
				d, err := time.ParseDuration(timeout)
				if err != nil {
					return badArg("--timeout: %v", err)
				}
				opts.Timeout = d
			}
			if runRE != "" {
				re, err := regexp.Compile(runRE)
				if err != nil {
					return badArg("--run: %v", err)
				}
				opts.Run = re
			}
			errOut := cmd.ErrOrStderr()
			if f, ok := errOut.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				opts.Progress = ProgressBar(errOut)
			}
			rep, err := RunSuite(cmd.Context(), opts)
			if err != nil {
				return &walletctl.Error{Code: walletctl.CodeInvalidArgument, Message: err.Error(),
					Hint: "scenarios live in scenarios/*.txt; see scenarios/README.md for the format"}
			}
			if junit != "" {
				if err := WriteJUnit(junit, rep); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if jsonOutput(cmd) {
				writeJSON(out, rep.Results)
			} else {
				WriteSummary(out, rep)
			}
			if n := rep.Failed(); n > 0 {
				return &walletctl.Error{Code: CodeScenarioFailed,
					Message: fmt.Sprintf("%d of %d results failed", n, len(rep.Results)),
					Hint:    "read the diffs above; if the new behaviour is right, rewrite the goldens: walletctl scenario run --update"}
			}
			return nil
		},
	}
	f := c.Flags()
	f.BoolVar(&update, "update", false, "rewrite goldens that differ, create missing ones, delete stale ones")
	f.StringVar(&junit, "junit", "", "write a JUnit XML report to this file")
	f.StringVar(&transport, "transport", TransportInproc, "inproc (bank in-process), http (real bankmock server on loopback), serve (real walletctl serve as --backend, over a real bankmock server), both (inproc and http) or all")
	f.StringVar(&runRE, "run", "", "only scenarios whose name matches this regular expression")
	f.StringVar(&golden, "golden", "golden", "folder of the golden transcripts")
	f.IntVar(&workers, "workers", 0, "scenarios run at once (default GOMAXPROCS)")
	f.StringVar(&timeout, "timeout", "2m", "give up on one scenario after this long")
	return c
}

func listCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list [PATH...]",
		Short: "List scenarios with their title, seed and tags",
		RunE: func(cmd *cobra.Command, args []string) error {
			scs, _, err := Discover(args)
			if err != nil {
				return &walletctl.Error{Code: walletctl.CodeInvalidArgument, Message: err.Error(), Hint: "see scenarios/README.md for the format"}
			}
			out := cmd.OutOrStdout()
			if jsonOutput(cmd) {
				type row struct {
					Name      string   `json:"name"`
					Title     string   `json:"title"`
					Seed      int64    `json:"seed"`
					Customers int      `json:"customers"`
					Tags      []string `json:"tags"`
					Steps     int      `json:"steps"`
				}
				rows := []row{}
				for _, sc := range scs {
					rows = append(rows, row{sc.Name, sc.Title, sc.Seed, sc.Customers, sc.Tags, len(sc.Steps)})
				}
				writeJSON(out, rows)
				return nil
			}
			t := table.NewWriter()
			t.SetStyle(table.StyleLight)
			t.AppendHeader(table.Row{"scenario", "title", "seed", "tags"})
			for _, sc := range scs {
				t.AppendRow(table.Row{sc.Name, sc.Title, sc.Seed, strings.Join(sc.Tags, ", ")})
			}
			t.AppendFooter(table.Row{fmt.Sprintf("%d scenarios", len(scs))})
			fmt.Fprintln(out, tablefit.Render(t, tablefit.Of(out, os.Getenv)))
			return nil
		},
	}
}

func coverageCmd() *cobra.Command {
	var golden string
	var missingOnly bool
	c := &cobra.Command{
		Use:   "coverage [PATH...]",
		Short: "Which bank and wallet error codes, fault kinds and commands the suite exercises, and which it misses",
		RunE: func(cmd *cobra.Command, args []string) error {
			scs, _, err := Discover(args)
			if err != nil {
				return &walletctl.Error{Code: walletctl.CodeInvalidArgument, Message: err.Error(), Hint: "see scenarios/README.md for the format"}
			}
			cov := ComputeCoverage(scs, golden, cmd.Root())
			if jsonOutput(cmd) {
				writeJSON(cmd.OutOrStdout(), cov)
				return nil
			}
			WriteCoverage(cmd.OutOrStdout(), cov, missingOnly)
			return nil
		},
	}
	c.Flags().StringVar(&golden, "golden", "golden", "folder of the golden transcripts")
	c.Flags().BoolVar(&missingOnly, "missing", false, "list only what the suite misses")
	return c
}

func badArg(format string, args ...any) error {
	return &walletctl.Error{Code: walletctl.CodeInvalidArgument, Message: fmt.Sprintf(format, args...), Hint: walletctl.Hint(walletctl.CodeInvalidArgument)}
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
