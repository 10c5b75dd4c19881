package cli

import (
	"fmt"
	"sync"
	"time"
)

// slowAfter is how long a command waits on the bank in silence before it says so.
const slowAfter = time.Second

// whileWaiting runs call and, when it has not returned after f.SlowAfter (a second by default),
// says once on standard error what the command is waiting for: a slow bank (the 999.99 hang) is
// otherwise seconds of silence. Only on a terminal, never with -o json: scripts and goldens see
// nothing. The line is ended when call returns, so the command's own output starts on a new line.
func whileWaiting[T any](f *Factory, what string, call func() (T, error)) (T, error) {
	if f.IO == nil || !f.IO.ErrTTY || (f.Out != nil && f.Out.JSON()) {
		return call()
	}
	var mu sync.Mutex
	said, done := false, false
	after := f.SlowAfter
	if after <= 0 {
		after = slowAfter
	}
	t := time.AfterFunc(after, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			fmt.Fprintf(f.IO.ErrOut, "… %s", what)
			said = true
		}
	})
	v, err := call()
	t.Stop()
	mu.Lock()
	done = true
	if said {
		fmt.Fprintln(f.IO.ErrOut)
	}
	mu.Unlock()
	return v, err
}
