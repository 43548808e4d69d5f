package middleware

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// storeContext bounds a store call (every one the Guard makes) by
// Config.StoreTimeout as context.WithTimeout does, but arms the timer only
// when the store first waits on Done. A store that answers from memory (a
// pgstore.Cache hit) never waits, and WithTimeout's timer, its registration
// with the request's context and its allocations were about a quarter of a
// cached request's Go CPU. The bound is unchanged: it counts from the call,
// not from the first wait (Deadline and Err hold from the start), and a
// store that waits gets a context.WithDeadline with that deadline.
type storeContext struct {
	parent   context.Context
	deadline time.Time

	mu      sync.Mutex
	armed   context.Context // the WithDeadline context, from the first Done
	cancel  context.CancelFunc
	stopped bool // the call returned: Canceled, as after WithTimeout's cancel
}

// withStoreTimeout starts the bound of a store call; stop ends it.
func withStoreTimeout(parent context.Context, timeout time.Duration) *storeContext {
	c := new(storeContext)
	c.start(parent, timeout)
	return c
}

// start is withStoreTimeout for a storeContext allocated with others
// (requestContexts); c is new.
func (c *storeContext) start(parent context.Context, timeout time.Duration) {
	c.parent, c.deadline = parent, time.Now().Add(timeout)
}

// stop is the CancelFunc: the call is over, and the timer, if armed, is
// released.
func (c *storeContext) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.cancel != nil {
		c.cancel()
	}
}

// Deadline is the earlier of the parent's deadline and this call's.
func (c *storeContext) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

// Done arms the timer on the first call: context.WithDeadline of the
// parent, which also ends when the parent ends.
func (c *storeContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed == nil {
		if c.stopped {
			return stoppedContext.Done()
		}
		c.armed, c.cancel = context.WithDeadline(c.parent, c.deadline)
	}
	return c.armed.Done()
}

// Err is what Done's closing would say, without arming the timer: the
// parent's end, else the deadline's passing.
func (c *storeContext) Err() error {
	c.mu.Lock()
	armed, stopped := c.armed, c.stopped
	c.mu.Unlock()
	switch {
	case armed != nil:
		return armed.Err()
	case stopped:
		return context.Canceled
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value answers from the armed context once there is one, so that the
// context package finds its cancelCtx (context.Cause, and a child
// WithCancel joins it instead of starting a goroutine to watch Done), and
// from the parent before.
func (c *storeContext) Value(key any) any {
	c.mu.Lock()
	armed := c.armed
	c.mu.Unlock()
	if armed != nil {
		return armed.Value(key)
	}
	return c.parent.Value(key)
}

func (c *storeContext) String() string { return fmt.Sprint(c.parent) + ".WithStoreTimeout" }

// stoppedContext is the Done of a store call's context first waited on
// after the call returned: already closed.
var stoppedContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()
