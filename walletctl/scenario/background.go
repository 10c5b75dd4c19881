package scenario

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// A background command ("walletctl listen … &") runs while the scenario goes on, until "wait".
// The runner starts it and waits for its first output (listen's "Ready:" line on standard error,
// written once it is registered), so that what the next lines do happens while it runs; "wait"
// waits for it to end (--max-events, --timeout) and records its output there. One at a time.

// bgStartTimeout bounds how long a background command may take to print its first line.
const bgStartTimeout = 30 * time.Second

type bgCommand struct {
	step           Step
	words          []string
	display        string
	stdout, stderr *lockedBuffer
	done           chan struct{}
	code           int
	cancel         context.CancelFunc
}

// lockedBuffer is a bytes.Buffer written by the command's goroutine and read by the runner.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

func (st *runState) background(ctx context.Context, step Step, words []string, display string, args []string, in io.Reader) error {
	if st.bg != nil {
		return &StepError{step.Line, fmt.Sprintf("a background command is running already (line %d): wait for it first", st.bg.step.Line)}
	}
	bctx, cancel := context.WithCancel(ctx)
	bg := &bgCommand{step: step, words: words, display: display, stdout: &lockedBuffer{}, stderr: &lockedBuffer{},
		done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(bg.done)
		bg.code = st.w.Exec(bctx, args, in, bg.stdout, bg.stderr, st.getenv)
	}()
	st.bg = bg
	prefix := "$ "
	if step.ExpectFail {
		prefix = "$ ! "
	}
	fmt.Fprintf(&st.out, "\n%s &\n(in the background until wait)\n", st.clean(prefix+display))
	deadline := time.NewTimer(bgStartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for bg.stdout.Len() == 0 && bg.stderr.Len() == 0 {
		select {
		case <-bg.done:
			return nil // it ended at once: wait records how
		case <-deadline.C:
			return &StepError{step.Line, fmt.Sprintf("the background command printed nothing within %s: %s", bgStartTimeout, st.clean(display))}
		case <-ctx.Done():
			return &StepError{step.Line, "scenario timed out: " + ctx.Err().Error()}
		case <-tick.C:
		}
	}
	return nil
}

// wait waits for the background command and records its output and exit code.
func (st *runState) wait(ctx context.Context, step Step) error {
	bg := st.bg
	if bg == nil {
		return &StepError{step.Line, "wait: no background command (… &) is running"}
	}
	select {
	case <-bg.done:
	case <-ctx.Done():
		st.stopBackground()
		return &StepError{step.Line, "scenario timed out waiting for: " + st.clean(bg.display)}
	}
	st.bg = nil
	bg.cancel()
	s := bg.step
	s.Line = step.Line
	return st.finish(s, bg.words, "$ wait  ("+bg.display+")", bg.display, bg.stdout.String(), bg.stderr.String(), bg.code)
}

// stopBackground ends a background command nobody waited for.
func (st *runState) stopBackground() {
	if st.bg != nil {
		st.bg.cancel()
		<-st.bg.done
		st.bg = nil
	}
}
