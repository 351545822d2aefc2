package redislimit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scfgate/scfgate/gateway"
	"github.com/scfgate/scfgate/gateway/redisconn"
)

// Operations counted in scfgate_redis_errors_total.
const (
	opLimit      = "limit"
	opBreakerGet = "breaker_get"
	opBreakerSet = "breaker_set"
)

// Indexes of the operations' counters.
const (
	idxLimit = iota
	idxBreakerGet
	idxBreakerSet
	numOps
)

var opNames = [numOps]string{opLimit, opBreakerGet, opBreakerSet}

// Indexes of the fallback counters.
const (
	idxFailOpen = iota
	idxFailClosed
	modeFallbacks
)

// Shared is one gateway instance's connection to Redis, with the health
// bookkeeping (back-off, metrics, rate-limited logs) its Limiter and
// BreakerSignal share. It is safe for concurrent use.
type Shared struct {
	cfg Config
	rdb *redis.Client
	log *slog.Logger

	downUntil  atomic.Int64 // unix ns until which Redis is not tried
	unhealthy  atomic.Bool  // the last call failed
	lastLog    atomic.Int64 // unix ns of the last outage log line
	suppressed atomic.Int64 // outage log lines not written since
	breakers   *BreakerSignal
	errs       [numOps]atomic.Uint64
	fallbacks  [modeFallbacks]atomic.Uint64 // fail_open, fail_closed decisions
}

// New validates cfg and connects lazily to Redis (nothing is dialled
// until the first decision). log may be nil.
func New(cfg Config, log *slog.Logger) (*Shared, error) {
	if !cfg.Enabled() {
		return nil, fmt.Errorf("gateway: config redis.addr: empty (Redis is not configured)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Shared{cfg: cfg, rdb: redisconn.NewClient(cfg.Conn), log: log}
	s.breakers = &BreakerSignal{s: s, known: map[string]seen{}}
	return s, nil
}

// Install puts the shared limiter (for limits), the breaker signal and
// the metrics into opts.
func (s *Shared) Install(opts *gateway.Options, limits gateway.Limits) {
	opts.Limiter = s.Limiter(limits)
	opts.BreakerSignal = s.Breakers()
	opts.Metrics = append(opts.Metrics, s)
}

// Close closes the connections.
func (s *Shared) Close() error { return s.rdb.Close() }

// Client is the Redis client (for health checks and tests).
func (s *Shared) Client() *redis.Client { return s.rdb }

// key returns a key under the prefix. Every key carries the {scfgate}
// hash tag so that a script's keys share a slot on cluster editions.
func (s *Shared) key(parts ...string) string {
	k := s.cfg.KeyPrefix + "{scfgate}"
	for _, p := range parts {
		k += ":" + p
	}
	return k
}

// ctx bounds one Redis call by the timeout.
func (s *Shared) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.Timeout)
}

// skip tells whether Redis is being left alone after a failure.
func (s *Shared) skip() bool {
	return s.cfg.Backoff > 0 && time.Now().UnixNano() < s.downUntil.Load()
}

// ok records a successful call.
func (s *Shared) ok() {
	if s.unhealthy.Load() && s.unhealthy.Swap(false) {
		s.log.Info("redis reachable again", "addr", s.cfg.Addr)
	}
}

// failed records a failed call: counter, back-off and a log line at most
// every LogEvery.
func (s *Shared) failed(op int, err error) {
	s.errs[op].Add(1)
	s.unhealthy.Store(true)
	now := time.Now().UnixNano()
	if s.cfg.Backoff > 0 {
		s.downUntil.Store(now + int64(s.cfg.Backoff))
	}
	last := s.lastLog.Load()
	if last != 0 && now-last < int64(s.cfg.LogEvery) || !s.lastLog.CompareAndSwap(last, now) {
		s.suppressed.Add(1)
		return
	}
	s.log.Warn("redis unavailable: shaping and shared breakers fall back", "addr", s.cfg.Addr, "op", opNames[op],
		"mode", s.cfg.Mode, "timeout", s.cfg.Timeout.String(), "error", err.Error(),
		"suppressed", s.suppressed.Swap(0))
}

// Errors reports the failed Redis calls so far, by operation.
func (s *Shared) Errors() map[string]uint64 {
	m := make(map[string]uint64, numOps)
	for i, n := range opNames {
		m[n] = s.errs[i].Load()
	}
	return m
}

// Fallbacks reports the limiter decisions made without Redis, by mode.
func (s *Shared) Fallbacks() map[string]uint64 {
	return map[string]uint64{FailOpen: s.fallbacks[idxFailOpen].Load(), FailClosed: s.fallbacks[idxFailClosed].Load()}
}

// WriteMetrics implements gateway.MetricsWriter.
func (s *Shared) WriteMetrics(w io.Writer) {
	up := 1
	if s.unhealthy.Load() {
		up = 0
	}
	fmt.Fprintf(w, "# HELP scfgate_redis_up Whether the last Redis call succeeded.\n# TYPE scfgate_redis_up gauge\nscfgate_redis_up %d\n", up)
	fmt.Fprintf(w, "# HELP scfgate_redis_errors_total Redis calls that failed or timed out, by operation.\n# TYPE scfgate_redis_errors_total counter\n")
	for i, n := range opNames {
		fmt.Fprintf(w, "scfgate_redis_errors_total{op=%q} %d\n", n, s.errs[i].Load())
	}
	fmt.Fprintf(w, "# HELP scfgate_redis_fallback_total Shaping decisions made without Redis, by mode.\n# TYPE scfgate_redis_fallback_total counter\n")
	fmt.Fprintf(w, "scfgate_redis_fallback_total{mode=%q} %d\n", FailOpen, s.fallbacks[idxFailOpen].Load())
	fmt.Fprintf(w, "scfgate_redis_fallback_total{mode=%q} %d\n", FailClosed, s.fallbacks[idxFailClosed].Load())
}
