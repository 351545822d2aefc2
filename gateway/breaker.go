package gateway

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// errNotCounted marks an outcome the breaker neither counts as a success
// nor as a failure: client errors, cancellations and upstream backpressure.
var errNotCounted = errors.New("gateway: outcome not counted by the breaker")

// errFailed marks an outcome the breaker counts as a failure.
var errFailed = errors.New("gateway: backend failure")

// breaker is one backend's circuit breaker: gobreaker's two-step form,
// with the time it opened kept so that a refused request learns how long
// to wait.
type breaker struct {
	name    string
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
	openFor time.Duration
	now     func() time.Time

	// signal, when set, shares openings with other instances.
	signal BreakerSignal

	mu          sync.Mutex
	openedAt    time.Time
	sharedUntil time.Time // another instance holds it open until then
}

func newBreaker(name string, c BreakerConfig, now func() time.Time, m *metrics, log *slog.Logger) *breaker {
	b := &breaker{name: name, openFor: c.OpenFor, now: now}
	trip := func(n gobreaker.Counts) bool { return int(n.ConsecutiveFailures) >= c.Failures }
	if c.Mode == BreakerRatio {
		trip = func(n gobreaker.Counts) bool {
			counted := n.TotalSuccesses + n.TotalFailures
			return int(counted) >= c.MinRequests && float64(n.TotalFailures) >= c.Ratio*float64(counted)
		}
	}
	interval := c.Interval
	if c.Mode == BreakerConsecutive {
		interval = 0 // consecutive failures are never forgotten by time
	}
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: uint32(c.Probes),
		Interval:    interval,
		Timeout:     c.OpenFor,
		ReadyToTrip: trip,
		IsSuccessful: func(err error) bool {
			return err == nil
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errNotCounted) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.mu.Lock()
				b.openedAt = b.now()
				b.mu.Unlock()
				if b.signal != nil {
					b.signal.Opened(name, c.OpenFor) // must not block: gobreaker's lock is held
				}
			}
			m.breakerTransition(name, from.String(), to.String())
			log.Warn("breaker state change", "backend", name, "from", from.String(), "to", to.String())
		},
	})
	return b
}

// allow asks to pass one request; done reports its outcome: nil for a
// success, errNotCounted or errFailed.
// A backend another instance holds open (signal) is refused first.
func (b *breaker) allow() (done func(error), err error) {
	if b.signal != nil {
		if d := b.signal.OpenFor(b.name); d > 0 {
			b.mu.Lock()
			b.sharedUntil = b.now().Add(d)
			b.mu.Unlock()
			return nil, errSharedOpen
		}
	}
	return b.cb.Allow()
}

// retryAfter is the time left until the open breaker lets a probe through;
// at least one second, so that Retry-After is never 0.
func (b *breaker) retryAfter() time.Duration {
	b.mu.Lock()
	now := b.now()
	left := max(b.openedAt.Add(b.openFor).Sub(now), b.sharedUntil.Sub(now))
	b.mu.Unlock()
	return max(left, time.Second)
}

// state is the breaker's state: "closed", "half-open" or "open".
func (b *breaker) state() string { return b.cb.State().String() }
