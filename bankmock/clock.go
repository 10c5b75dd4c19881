package bankmock

import (
	"sync"
	"time"
)

// Shanghai is the banks' time zone (UTC+8, no DST). A fixed zone, so that no tzdata is needed.
var Shanghai = time.FixedZone("CST", 8*3600)

// DefaultEpoch is where every virtual clock starts unless told otherwise: Monday 2026-01-05 09:00
// in Shanghai.
var DefaultEpoch = time.Date(2026, 1, 5, 9, 0, 0, 0, Shanghai)

// ManualClock is a virtual clock that moves only when told to. Safe for concurrent use.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock standing at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and returns the new time.
func (c *ManualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// Set puts the clock at t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// bankDay is the Shanghai calendar date of t, the unit of daily limits and statements.
func bankDay(t time.Time) string { return t.In(Shanghai).Format("2006-01-02") }
