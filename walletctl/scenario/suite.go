package scenario

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/walletctl/walletctl/internal/atomicfile"
)

// Scenario file extensions.
var Extensions = []string{".txt", ".scn"}

// Options of a suite run.
type Options struct {
	World
	Paths      []string       // scenario files or directories (default: "scenarios")
	GoldenDir  string         // default: "golden"
	Run        *regexp.Regexp // only scenarios whose name matches
	Transports []string       // default: [World.Transport] or [inproc]; the first one writes goldens
	Update     bool           // rewrite goldens that differ, write missing ones, delete stale ones
	Workers    int            // default: GOMAXPROCS
	Progress   func(done, total int)
}

// Status of one scenario in one transport.
type Status string

const (
	StatusPass    Status = "pass"
	StatusFail    Status = "FAIL"    // transcript differs from the golden, or golden missing
	StatusError   Status = "ERROR"   // the scenario itself failed (unexpected exit code, bad line)
	StatusUpdated Status = "updated" // golden rewritten (--update)
	StatusCreated Status = "created" // golden written for the first time (--update)
	StatusStale   Status = "STALE"   // a golden with no scenario
	StatusDeleted Status = "deleted" // a stale golden removed (--update)
)

// Result of one scenario in one transport (or one stale golden).
type Result struct {
	Name      string
	Title     string
	Transport string
	Status    Status
	Message   string // why it failed: the diff, or the error
	Steps     int
	Duration  time.Duration
	Started   time.Time // when the run began (zero for a stale golden); with Duration, a suite's wall time
	Golden    string    // path of the golden file
}

// Failed reports whether the result fails the run.
func (r Result) Failed() bool {
	return r.Status == StatusFail || r.Status == StatusError || r.Status == StatusStale
}

// Report is a whole run.
type Report struct {
	Results  []Result
	Duration time.Duration
}

// Failed counts failing results.
func (r *Report) Failed() int {
	n := 0
	for _, x := range r.Results {
		if x.Failed() {
			n++
		}
	}
	return n
}

// Discover finds and parses scenarios under paths (files or directories, not recursive into
// testdata). It also returns the directories it scanned, for stale-golden detection.
func Discover(paths []string) ([]*Scenario, []string, error) {
	if len(paths) == 0 {
		paths = []string{"scenarios"}
	}
	var files, dirs []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		dirs = append(dirs, p)
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range entries {
			if !e.IsDir() && isScenarioFile(e.Name()) {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	var out []*Scenario
	var errs []error
	seen := map[string]string{}
	for _, f := range files {
		sc, err := ParseFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := seen[sc.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: scenario name %q also used by %s", f, sc.Name, prev))
			continue
		}
		seen[sc.Name] = f
		out = append(out, sc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, dirs, errors.Join(errs...)
}

func isScenarioFile(name string) bool {
	if strings.EqualFold(name, "README.md") || strings.HasPrefix(name, ".") {
		return false
	}
	for _, ext := range Extensions {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// GoldenPath is where a scenario's golden lives.
func GoldenPath(dir, name string) string { return filepath.Join(dir, name+".golden") }

// RunSuite runs every scenario found under opts.Paths in every transport, compares transcripts
// with goldens and, with Update, rewrites them.
func RunSuite(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	if opts.GoldenDir == "" {
		opts.GoldenDir = "golden"
	}
	all, dirs, err := Discover(opts.Paths)
	if err != nil {
		return nil, err
	}
	var scs []*Scenario
	for _, sc := range all {
		if opts.Run == nil || opts.Run.MatchString(sc.Name) {
			scs = append(scs, sc)
		}
	}
	if opts.Run != nil && len(scs) == 0 {
		// A filter that selects nothing is a typo, not a green run.
		where := strings.Join(opts.Paths, ", ")
		if where == "" {
			where = "scenarios"
		}
		return nil, fmt.Errorf("--run %q matches none of the %d scenarios in %s (list them: walletctl scenario list)",
			opts.Run.String(), len(all), where)
	}
	transports := opts.Transports
	if len(transports) == 0 {
		t := opts.Transport
		if t == "" {
			t = TransportInproc
		}
		transports = []string{t}
	}
	for _, t := range transports {
		if t != TransportInproc && t != TransportHTTP && t != TransportServe {
			return nil, fmt.Errorf("unknown transport %q (want inproc, http or serve)", t)
		}
	}
	opts.World.templates = &worldTemplates{}
	defer opts.World.templates.remove()
	outcomes := runAll(ctx, opts, scs, transports)

	rep := &Report{}
	for i, sc := range scs {
		gpath := GoldenPath(opts.GoldenDir, sc.Name)
		goldenBytes, gerr := os.ReadFile(gpath)
		golden, haveGolden := string(goldenBytes), gerr == nil
		for j, t := range transports {
			o := outcomes[i*len(transports)+j]
			r := Result{Name: sc.Name, Title: sc.Title, Transport: t, Steps: o.Steps, Duration: o.Duration, Started: o.Started, Golden: gpath}
			switch {
			case o.Err != nil:
				r.Status, r.Message = StatusError, o.Err.Error()
			case opts.Update && j == 0:
				r.Status = StatusPass
				if !haveGolden || golden != o.Transcript {
					r.Status = StatusUpdated
					if !haveGolden {
						r.Status = StatusCreated
					}
					if err := writeGolden(gpath, o.Transcript); err != nil {
						r.Status, r.Message = StatusError, err.Error()
					}
				}
				golden, haveGolden = o.Transcript, true
			case !haveGolden:
				r.Status = StatusFail
				r.Message = fmt.Sprintf("no golden %s (run with --update to create it)", gpath)
			case golden != o.Transcript:
				r.Status = StatusFail
				r.Message = Diff(gpath, sc.Name+" ("+t+")", golden, o.Transcript)
			default:
				r.Status = StatusPass
			}
			rep.Results = append(rep.Results, r)
		}
	}
	rep.Results = append(rep.Results, staleGoldens(opts, all, dirs)...)
	rep.Duration = time.Since(start)
	return rep, nil
}

// staleGoldens reports goldens with no scenario in the scanned directories; with Update they are
// deleted. Only whole-directory runs can tell what is stale, and a run filtered by Run looks only
// at goldens whose name it matches: the others are none of its business (never deleted).
func staleGoldens(opts Options, all []*Scenario, dirs []string) []Result {
	if len(dirs) == 0 {
		return nil
	}
	names := map[string]bool{}
	for _, sc := range all {
		names[sc.Name] = true
	}
	entries, err := os.ReadDir(opts.GoldenDir)
	if err != nil {
		return nil
	}
	var out []Result
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".golden")
		if e.IsDir() || !ok || names[name] || (opts.Run != nil && !opts.Run.MatchString(name)) {
			continue
		}
		p := filepath.Join(opts.GoldenDir, e.Name())
		r := Result{Name: name, Transport: "-", Status: StatusStale, Golden: p,
			Message: fmt.Sprintf("stale golden %s: no scenario %s.txt (delete it, or run with --update to delete it)", p, name)}
		if opts.Update {
			if err := os.Remove(p); err == nil {
				r.Status, r.Message = StatusDeleted, "deleted stale golden "+p
			}
		}
		out = append(out, r)
	}
	return out
}

func writeGolden(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, []byte(content), 0o644, false) // goldens live in git
}

// runAll runs every (scenario, transport) pair on a pool of workers; each has its own world.
func runAll(ctx context.Context, opts Options, scs []*Scenario, transports []string) []Outcome {
	type job struct {
		i  int
		sc *Scenario
		t  string
	}
	total := len(scs) * len(transports)
	out := make([]Outcome, total)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				world := opts.World
				world.Transport = j.t
				out[j.i] = RunScenario(ctx, j.sc, world)
				if opts.Progress != nil {
					mu.Lock()
					done++
					opts.Progress(done, total)
					mu.Unlock()
				}
			}
		}()
	}
	for i, sc := range scs {
		for k, t := range transports {
			jobs <- job{i*len(transports) + k, sc, t}
		}
	}
	close(jobs)
	wg.Wait()
	return out
}

// Diff is a unified diff from the golden (want) to the transcript (got).
func Diff(goldenPath, label, want, got string) string {
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(want),
		B:        difflib.SplitLines(got),
		FromFile: goldenPath,
		ToFile:   label,
		Context:  3,
	})
	return d
}

// RelPath shortens p relative to the working directory, for messages.
func RelPath(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return p
}
