// Package redissignal shares each model's requests in flight between the
// gateway instances and the scaler through Redis: the fast demand signal
// the scaler's inflight policy provisions on, seconds old where Cloud
// Monitor's concurrency is minutes old.
//
// Each gateway instance ([Publisher]) writes its own reading of a model
// into the model's hash (key <prefix>{scfgate}:inflight:<model>), field =
// the instance's random id, value = "in_flight,peak,unix_ms" ([Reading]):
// the requests in flight now and the most in flight during the last
// PeakWindow. It writes every Interval while the model has traffic within
// the peak window, once more when the traffic has ended (a reading of
// 0,0), and refreshes the hash's TTL with every write. Redis being down
// never touches a request: the publisher runs on its own goroutine, counts
// the failure and logs at most once a minute.
//
// The scaler ([Reader]) sums a model's fields on every tick. A reading
// with requests in flight counts while it is at most Stale old: an
// instance that was killed stops writing, and its last count must not
// hold instances provisioned. A reading with nothing in flight is an
// instance's last word (SCF freezes an instance between requests) and
// reads as idle until the field is TTL old, so that an idle fleet reads
// as idle rather than as missing. The scaler function is a fresh
// process on every tick, so the reader keeps the window the policy needs
// in Redis itself: each tick's fleet sum is pushed onto a capped list
// (<prefix>{scfgate}:inflight-history:<model>) and the window is read back
// from it. No fresh field and no sum in the window means no signal, and
// the policy decides on Cloud Monitor instead.
package redissignal

import (
	"errors"
	"fmt"
	"time"
)

// Config configures a gateway instance's publishing (the gateway
// function's "signal" keys, SCFGATE_GATEWAY_SIGNAL_*). It is used when
// the gateway has a Redis address.
type Config struct {
	// Enabled publishes the readings; default true.
	Enabled bool `mapstructure:"enabled" json:"enabled"`
	// Interval is how often a model with traffic is published; default
	// 1 s, 100 ms to 1 min.
	Interval time.Duration `mapstructure:"interval" json:"interval"`
	// PeakWindow is how far back a reading's peak reaches: at least the
	// scaler's tick, so that no burst falls between two of its reads;
	// default 10 s, Interval to 10 min.
	PeakWindow time.Duration `mapstructure:"peak_window" json:"peak_window"`
	// TTL is how long a model's hash, and an idle instance's 0,0 reading
	// in it, lasts after the last write; default 10 min, 1 min to 24 h.
	TTL time.Duration `mapstructure:"ttl" json:"ttl"`
}

// Default returns the defaults documented on [Config].
func Default() Config {
	return Config{Enabled: true, Interval: time.Second, PeakWindow: 10 * time.Second, TTL: 10 * time.Minute}
}

// Validate reports every invalid field, naming its key (under
// "signal.").
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	bad := func(key string, val any, allowed string) {
		errs = append(errs, fmt.Errorf("gateway: config signal.%s: invalid value %v (allowed: %s)", key, val, allowed))
	}
	if c.Interval < 100*time.Millisecond || c.Interval > time.Minute {
		bad("interval", c.Interval, "100ms to 1m0s")
	}
	if c.PeakWindow < c.Interval || c.PeakWindow > 10*time.Minute {
		bad("peak_window", c.PeakWindow, "interval to 10m0s")
	}
	if c.TTL < time.Minute || c.TTL > 24*time.Hour {
		bad("ttl", c.TTL, "1m0s to 24h0m0s")
	}
	return errors.Join(errs...)
}

// Key is the hash of model's readings under prefix (the Redis key prefix
// the gateways' limits use). The {scfgate} hash tag keeps every key of a
// prefix in one slot on cluster editions.
func Key(prefix, model string) string { return prefix + "{scfgate}:inflight:" + model }

// HistoryKey is the scaler's list of model's fleet sums.
func HistoryKey(prefix, model string) string { return prefix + "{scfgate}:inflight-history:" + model }
