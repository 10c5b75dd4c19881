// Package vclock is the toolkit's one notion of time: the virtual clock that the sandbox, the
// wallet and the mock bank share, the instant every new world starts at, and the banks' time zone
// whose calendar days are the unit of daily limits and statements.
package vclock

import (
	"sync"
	"time"
)

// Shanghai is the banks' and the wallet's time zone (China Standard Time, UTC+8, no DST). A fixed
// zone, so that no tzdata is needed.
var Shanghai = time.FixedZone("CST", 8*3600)

// DefaultEpoch is where every virtual clock starts unless told otherwise: Monday 2026-01-05 09:00
// in Shanghai.
var DefaultEpoch = time.Date(2026, 1, 5, 9, 0, 0, 0, Shanghai)

// Clock is a source of time. Production code takes one instead of calling time.Now.
type Clock interface {
	Now() time.Time
}

// Manual is a virtual clock that moves only when told to. Safe for concurrent use.
type Manual struct {
	mu sync.Mutex
	t  time.Time
}

// NewManual returns a clock standing at t.
func NewManual(t time.Time) *Manual { return &Manual{t: t} }

// Now returns the clock's time.
func (c *Manual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Manual) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// Set puts the clock at t.
func (c *Manual) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Day is the Shanghai calendar date of t (yyyy-mm-dd): a bank day.
func Day(t time.Time) string { return t.In(Shanghai).Format("2006-01-02") }

// StartOfDay is the start of t's calendar day in Shanghai.
func StartOfDay(t time.Time) time.Time {
	s := t.In(Shanghai)
	return time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, Shanghai)
}
