package gateway

import (
	"context"
	"sync"
	"time"
)

// lazyDeadline is context.WithDeadline(parent, deadline) whose real
// context (a timer, and a registration with parent) is made only when
// something needs it: Done, Value (which child contexts and context.Cause
// go through) or an Err that is no longer nil. Deadline and an Err still
// nil are answered without it, so that a backend that answers without
// waiting on its context costs neither timer nor allocation. The zero
// value is not usable: call init, and stop when done, as with the
// CancelFunc of context.WithDeadline.
type lazyDeadline struct {
	parent   context.Context
	deadline time.Time

	mu       sync.Mutex
	ctx      context.Context // the real context, once made
	cancel   context.CancelFunc
	stopped  bool
	canceled bool // stopped before its end and before the real context was made
}

var _ context.Context = (*lazyDeadline)(nil)

func (c *lazyDeadline) init(parent context.Context, deadline time.Time) {
	c.parent, c.deadline = parent, deadline
}

// real makes the real context if it is not made yet.
func (c *lazyDeadline) real() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		if c.canceled {
			// What context.WithDeadline's context is once canceled: Err
			// and Cause are Canceled, values are parent's.
			c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(c.parent))
			c.cancel()
		} else {
			c.ctx, c.cancel = context.WithDeadline(c.parent, c.deadline)
		}
	}
	return c.ctx
}

// stop releases the context like the CancelFunc of context.WithDeadline:
// from then on it has ended, canceled unless it had ended before.
func (c *lazyDeadline) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	c.stopped = true
	if c.ctx != nil {
		c.cancel()
		return
	}
	if c.parent.Err() == nil && time.Until(c.deadline) > 0 {
		c.canceled = true
		return
	}
	// It had ended: the real context ends at once, as it would have.
	c.ctx, c.cancel = context.WithDeadline(c.parent, c.deadline)
	c.cancel()
}

// Deadline is the earlier of parent's deadline and c's, as for
// context.WithDeadline.
func (c *lazyDeadline) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *lazyDeadline) Done() <-chan struct{} { return c.real().Done() }

// Err is nil while c is neither stopped nor past its deadline nor has a
// parent that ended; otherwise it is the real context's error, which is
// then set (context.WithDeadline ends a context at once when its parent
// has ended or its deadline has passed).
func (c *lazyDeadline) Err() error {
	c.mu.Lock()
	made, stopped := c.ctx != nil, c.stopped
	c.mu.Unlock()
	if !made && !stopped && c.parent.Err() == nil && time.Until(c.deadline) > 0 {
		return nil
	}
	return c.real().Err()
}

func (c *lazyDeadline) Value(key any) any { return c.real().Value(key) }

func (c *lazyDeadline) String() string { return "gateway.lazyDeadline(" + c.deadline.String() + ")" }
