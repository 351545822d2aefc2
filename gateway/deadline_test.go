package gateway

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLazyDeadline(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")

	t.Run("unused", func(t *testing.T) {
		var c lazyDeadline
		dl := time.Now().Add(time.Hour)
		c.init(parent, dl)
		if d, ok := c.Deadline(); !ok || !d.Equal(dl) {
			t.Errorf("Deadline = %v %v", d, ok)
		}
		if c.Err() != nil {
			t.Errorf("Err = %v", c.Err())
		}
		c.stop()
		if c.ctx != nil {
			t.Error("stop made the real context")
		}
		if !errors.Is(c.Err(), context.Canceled) || !errors.Is(context.Cause(&c), context.Canceled) {
			t.Errorf("after stop Err = %v, Cause = %v", c.Err(), context.Cause(&c))
		}
		select {
		case <-c.Done():
		default:
			t.Error("Done open after stop")
		}
		if c.Value(key{}) != "v" {
			t.Error("value lost")
		}
	})
	t.Run("deadline", func(t *testing.T) {
		var c lazyDeadline
		c.init(parent, time.Now().Add(10*time.Millisecond))
		defer c.stop()
		<-c.Done()
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("Err = %v", c.Err())
		}
	})
	t.Run("deadline passed unobserved", func(t *testing.T) {
		var c lazyDeadline
		c.init(parent, time.Now().Add(-time.Second))
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("Err = %v", c.Err())
		}
		c.stop()
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("after stop Err = %v", c.Err())
		}
		var d lazyDeadline
		d.init(parent, time.Now().Add(-time.Second))
		d.stop()
		if !errors.Is(d.Err(), context.DeadlineExceeded) {
			t.Errorf("stopped after its deadline: Err = %v", d.Err())
		}
	})
	t.Run("earlier parent deadline", func(t *testing.T) {
		pdl := time.Now().Add(time.Minute)
		p, cancel := context.WithDeadline(parent, pdl)
		defer cancel()
		var c lazyDeadline
		c.init(p, time.Now().Add(time.Hour))
		defer c.stop()
		if d, _ := c.Deadline(); !d.Equal(pdl) {
			t.Errorf("Deadline = %v, want the parent's %v", d, pdl)
		}
	})
	t.Run("parent canceled", func(t *testing.T) {
		cause := errors.New("client left")
		p, cancel := context.WithCancelCause(parent)
		var c lazyDeadline
		c.init(p, time.Now().Add(time.Hour))
		defer c.stop()
		done := c.Done()
		child, cancelChild := context.WithCancel(&c)
		defer cancelChild()
		cancel(cause)
		<-done
		<-child.Done()
		if !errors.Is(c.Err(), context.Canceled) || context.Cause(&c) != cause || context.Cause(child) != cause {
			t.Errorf("Err = %v, Cause = %v, child's = %v", c.Err(), context.Cause(&c), context.Cause(child))
		}
	})
	t.Run("parent canceled unobserved", func(t *testing.T) {
		p, cancel := context.WithCancel(parent)
		var c lazyDeadline
		c.init(p, time.Now().Add(time.Hour))
		cancel()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Errorf("Err = %v", c.Err())
		}
		c.stop()
	})
	t.Run("stop ends children", func(t *testing.T) {
		var c lazyDeadline
		c.init(parent, time.Now().Add(time.Hour))
		child, cancelChild := context.WithCancel(&c)
		defer cancelChild()
		c.stop()
		<-child.Done()
		if !errors.Is(child.Err(), context.Canceled) {
			t.Errorf("child Err = %v", child.Err())
		}
	})
}
