// Package redislimit shares the gateway's shaping and circuit breaker
// openings between gateway instances through Redis.
//
// On SCF every gateway instance serves one request at a time and starts
// with a full token bucket, so a per-instance limit lets N instances
// through N times over. Limiter keeps the buckets in Redis instead: one
// Lua script per decision runs GCRA (a token bucket kept as a theoretical
// arrival time) on Redis's own clock, for the global bucket and the key's
// bucket together, and answers with the same data as the gateway's local
// limiter, so that the 429 and its RateLimit headers do not change.
// Token limits (tokens per minute) are more GCRA buckets in the same
// script run, each charged the request's reserved tokens instead of 1: a
// request is admitted by all its buckets or none, so concurrent requests
// on any number of instances never share the same tokens. A second
// script settles a reservation on the answer's usage.
//
// BreakerSignal shares breaker openings: when one instance's breaker opens
// for a backend it writes a key that expires when the breaker would let a
// probe through, and every instance refuses that backend while the key
// lives. Each instance keeps its own two-step breaker; no lock is held in
// Redis, least of all across an upstream call.
//
// Redis is never waited for longer than Config.Timeout. When it fails or
// is slow, fail_open decides with a local bucket sized limit / expected
// instances, fail_closed answers 503; either way a counter in /metrics
// and a rate-limited log line say so.
package redislimit

import (
	"errors"
	"fmt"
	"time"

	"github.com/scfgate/scfgate/gateway/redisconn"
)

// Modes when Redis cannot decide.
const (
	FailOpen   = "fail_open"   // decide with a local bucket of limit / expected instances
	FailClosed = "fail_closed" // refuse with 503
)

// Config configures the gateway's Redis connection and what happens
// without it. Start from Default; an empty Addr means Redis is not used.
type Config struct {
	redisconn.Conn `mapstructure:",squash"`
	// Mode is fail_open (default) or fail_closed.
	Mode string `mapstructure:"mode" json:"mode"`
	// ExpectedInstances divides the limits of the local fallback bucket
	// (fail_open); default 1.
	ExpectedInstances int `mapstructure:"expected_instances" json:"expected_instances"`
	// Backoff is how long Redis is left alone after a failure before it is
	// tried again (meanwhile the mode decides at once); default 500 ms, so
	// that limits hold in Redis again well within a second of its return;
	// 0 tries Redis on every request.
	Backoff time.Duration `mapstructure:"backoff" json:"backoff"`
	// BreakerCache is how long a backend seen closed in Redis is believed
	// closed without asking again; default 100 ms; 0 asks every time.
	BreakerCache time.Duration `mapstructure:"breaker_cache" json:"breaker_cache"`
	// LogEvery bounds the "Redis unavailable" log lines to one per period;
	// default 10 s.
	LogEvery time.Duration `mapstructure:"log_every" json:"log_every"`
}

// Default returns the defaults: Redis disabled (no Addr), 50 ms timeout,
// fail_open with one expected instance, key prefix "scfgate:".
func Default() Config {
	return Config{Conn: redisconn.DefaultConn(), Mode: FailOpen,
		ExpectedInstances: 1, Backoff: 500 * time.Millisecond, BreakerCache: 100 * time.Millisecond, LogEvery: 10 * time.Second}
}

// Validate reports every invalid field, naming its key (under "redis.").
// A disabled configuration (no Addr) is valid.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	errs = append(errs, c.Conn.Validate())
	bad := func(key string, val any, allowed string) {
		errs = append(errs, fmt.Errorf("gateway: config redis.%s: invalid value %v (allowed: %s)", key, val, allowed))
	}
	if c.Mode != FailOpen && c.Mode != FailClosed {
		bad("mode", fmt.Sprintf("%q", c.Mode), "fail_open, fail_closed")
	}
	if c.ExpectedInstances < 1 {
		bad("expected_instances", c.ExpectedInstances, ">= 1")
	}
	if c.Backoff < 0 {
		bad("backoff", c.Backoff, ">= 0")
	}
	if c.BreakerCache < 0 {
		bad("breaker_cache", c.BreakerCache, ">= 0")
	}
	if c.LogEvery < 0 {
		bad("log_every", c.LogEvery, ">= 0")
	}
	return errors.Join(errs...)
}
