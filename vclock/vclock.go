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

// Settable is a clock a sandbox can move: Manual (virtual time), or Offset (real time).
type Settable interface {
	Clock
	// Advance moves the clock forward by d and returns the new time.
	Advance(d time.Duration) time.Time
	// Set puts the clock at t.
	Set(t time.Time)
}

var (
	_ Settable = (*Manual)(nil)
	_ Settable = (*Offset)(nil)
)

// Offset is real time moved ahead by an offset, like a payment processor's test clock: it runs
// with the wall, and Advance adds to the offset. Safe for concurrent use.
type Offset struct {
	mu   sync.Mutex
	wall func() time.Time
	off  time.Duration
}

// NewOffset returns wall time (wall; nil is time.Now) plus off.
func NewOffset(wall func() time.Time, off time.Duration) *Offset {
	if wall == nil {
		wall = time.Now
	}
	return &Offset{wall: wall, off: off}
}

// Now is the wall's time plus the offset, in Shanghai.
func (c *Offset) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall().Add(c.off).In(Shanghai).Round(0)
}

// Advance adds d to the offset and returns the new time.
func (c *Offset) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
	return c.Now()
}

// Set moves the offset so that the clock reads t now.
func (c *Offset) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = t.Sub(c.wall())
}

// Offset is how far ahead of the wall the clock is.
func (c *Offset) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.off
}

// Day is the Shanghai calendar date of t (yyyy-mm-dd): a bank day.
func Day(t time.Time) string { return t.In(Shanghai).Format("2006-01-02") }

// StartOfDay is the start of t's calendar day in Shanghai.
func StartOfDay(t time.Time) time.Time {
	s := t.In(Shanghai)
	return time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, Shanghai)
}
