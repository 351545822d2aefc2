// Package clock holds the one context-aware sleep that scfgate's packages
// share. Decision logic never reads the clock itself: it takes a time or a
// func() time.Time; code that waits takes a sleep func with Sleep's
// signature so that tests can replace it.
package clock

import (
	"context"
	"time"
)

// Sleep waits d or until ctx is done, whichever comes first, and returns
// ctx.Err() in the second case. A d <= 0 returns ctx.Err() at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
