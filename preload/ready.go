package preload

import (
	"context"
	"sync"
)

// Readiness is the model function's gate: closed until the plan has run,
// then open for good with the run's report, or failed with its error.
type Readiness struct {
	done   chan struct{}
	once   sync.Once
	report Report
	err    error
}

// NewReadiness returns a gate that is not ready.
func NewReadiness() *Readiness { return &Readiness{done: make(chan struct{})} }

// Finish records the run's outcome and releases every waiter; only the
// first call counts.
func (r *Readiness) Finish(rep Report, err error) {
	r.once.Do(func() {
		r.report, r.err = rep, err
		close(r.done)
	})
}

// Ready reports whether the plan completed without error.
func (r *Readiness) Ready() bool {
	select {
	case <-r.done:
		return r.err == nil
	default:
		return false
	}
}

// Outcome returns the run's report and error without waiting; done is
// false while the plan is still running.
func (r *Readiness) Outcome() (rep Report, done bool, err error) {
	select {
	case <-r.done:
		return r.report, true, r.err
	default:
		return Report{}, false, nil
	}
}

// Wait blocks until the plan has run (returning its report and error) or
// ctx is done (returning ctx.Err()).
func (r *Readiness) Wait(ctx context.Context) (Report, error) {
	if rep, done, err := r.Outcome(); done {
		return rep, err
	}
	select {
	case <-r.done:
		return r.report, r.err
	case <-ctx.Done():
		return Report{}, ctx.Err()
	}
}
