package gateway

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// BreakerSignal shares circuit breaker openings between gateway
// instances. Each instance keeps its own breakers; the signal only makes
// every instance refuse a backend that one of them saw fail. Its methods
// are called on the request path and must be quick and safe for
// concurrent use.
type BreakerSignal interface {
	// OpenFor tells how long another instance holds backend open; 0 means
	// it is not held open (or the signal cannot tell).
	OpenFor(backend string) time.Duration
	// Opened announces that this instance's breaker for backend opened
	// for d. It is called with the breaker's lock held, so it must not
	// block (publish asynchronously).
	Opened(backend string, d time.Duration)
}

// MetricsWriter appends series in the Prometheus text format to /metrics.
type MetricsWriter interface {
	WriteMetrics(w io.Writer)
}

// errSharedOpen refuses a backend that another instance holds open.
var errSharedOpen = errors.New("circuit breaker is open on another gateway instance")

// writeLimiterUnavailable answers 503 when the limiter could not decide
// (Decision.Unavailable).
func writeLimiterUnavailable(w http.ResponseWriter, d Decision) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(d.RetryAfter))))
	writeError(w, http.StatusServiceUnavailable, errServer,
		"the rate limiter is unavailable; retry later", "", "rate_limiter_unavailable")
}

// refusalMessage is the 429's message for the bucket that refused.
func refusalMessage(d Decision) string {
	switch d.Scope {
	case "key":
		return "rate limit reached for this API key; retry later"
	case scopeKeyTokens, scopeKeyOutput:
		return "token rate limit reached for this API key (tokens per minute); retry later"
	case scopeGlobalTokens, scopeGlobalOutput:
		return "token rate limit reached for this gateway (tokens per minute); retry later"
	}
	return "rate limit reached for this gateway; retry later"
}
