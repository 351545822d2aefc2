package redissignal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReaderConfig configures the scaler's reading of one model (the scaler
// function's "gateway" keys, SCFGATE_SCALER_GATEWAY_*).
type ReaderConfig struct {
	// Model is the model name the gateways serve the scaled function
	// under (a gateway models[].name); "" reads no gateway signal.
	Model string `mapstructure:"model" json:"model"`
	// Stale is how old a reading with requests in flight may be and
	// still count; default 5 s, 100 ms to 1 min. Keep it a few publish
	// intervals.
	Stale time.Duration `mapstructure:"stale" json:"stale"`
	// TTL is how long an idle (0,0) reading counts, and how long the
	// history lives after the last tick; default 10 min, as the
	// gateways' signal.ttl.
	TTL time.Duration `mapstructure:"ttl" json:"ttl"`
	// History is how many fleet sums the list keeps, enough for the
	// policy's window at the tick period; default 120 (20 min of 10 s
	// ticks), 1 to 10000.
	History int `mapstructure:"history" json:"history"`
}

// DefaultReader returns the defaults documented on [ReaderConfig].
func DefaultReader() ReaderConfig {
	return ReaderConfig{Stale: 5 * time.Second, TTL: 10 * time.Minute, History: 120}
}

// Validate reports every invalid field, naming its key (under
// "gateway.").
func (c ReaderConfig) Validate() error {
	var errs []error
	bad := func(key string, val any, allowed string) {
		errs = append(errs, fmt.Errorf("scaler: config gateway.%s: invalid value %v (allowed: %s)", key, val, allowed))
	}
	if c.Stale < 100*time.Millisecond || c.Stale > time.Minute {
		bad("stale", c.Stale, "100ms to 1m0s")
	}
	if c.TTL < time.Minute || c.TTL > 24*time.Hour {
		bad("ttl", c.TTL, "1m0s to 24h0m0s")
	}
	if c.History < 1 || c.History > 10000 {
		bad("history", c.History, "1 to 10000")
	}
	return errors.Join(errs...)
}

// Fleet is the sum of a model's readings at one tick.
type Fleet struct {
	Time time.Time `json:"time"`
	// InFlight and Peak are summed over the instances that count: a
	// fleet's peak is at most their sum, so this errs on the side of
	// capacity.
	InFlight int `json:"in_flight"`
	Peak     int `json:"peak"`
	// Busy is how many instances had fresh readings with traffic, Idle
	// how many had nothing in flight (fresh, or their last word); Stale
	// readings, with requests in flight but too old, were left out.
	Busy  int `json:"busy"`
	Idle  int `json:"idle"`
	Stale int `json:"stale"`
}

// Reader reads one model's readings for the scaler.
type Reader struct {
	cfg    ReaderConfig
	rdb    redis.Cmdable
	prefix string
}

// NewReader returns the reader of cfg.Model's readings under prefix.
func NewReader(cfg ReaderConfig, rdb redis.Cmdable, prefix string) (*Reader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Model == "" {
		return nil, errors.New("scaler: config gateway.model: empty (no gateway signal to read)")
	}
	return &Reader{cfg: cfg, rdb: rdb, prefix: prefix}, nil
}

// Read sums the model's readings at now, and deletes the fields older
// than TTL (instances long gone). A field that does not parse is left
// out and reported in the error, after the sum of the others.
func (r *Reader) Read(ctx context.Context, now time.Time) (Fleet, error) {
	f, bad, err := r.read(ctx, now)
	if err != nil {
		return Fleet{}, err
	}
	return f, bad
}

// read is Read with Redis failing (err) told apart from fields left out
// (bad).
func (r *Reader) read(ctx context.Context, now time.Time) (f Fleet, bad, err error) {
	key := Key(r.prefix, r.cfg.Model)
	fields, err := r.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return Fleet{}, nil, fmt.Errorf("redissignal: read %s: %w", key, err)
	}
	f = Fleet{Time: now}
	var gone []string
	var problems []error
	for id, v := range fields {
		rd, err := ParseReading(v)
		if err != nil {
			problems = append(problems, fmt.Errorf("field %s: %w", id, err))
			continue
		}
		age := now.Sub(rd.Time)
		switch {
		case age > r.cfg.TTL:
			gone = append(gone, id)
		case age <= r.cfg.Stale && !rd.idle():
			f.Busy++
			f.InFlight += rd.InFlight
			f.Peak += rd.Peak
		case rd.InFlight == 0:
			// Fresh and idle, or the last word of an instance whose
			// traffic ended (its peak is past, and was read while fresh).
			f.Idle++
		default:
			f.Stale++
		}
	}
	if len(gone) > 0 {
		if err := r.rdb.HDel(ctx, key, gone...).Err(); err != nil {
			problems = append(problems, fmt.Errorf("redissignal: delete expired readings: %w", err))
		}
	}
	return f, errors.Join(problems...), nil
}

// counts reports whether the sum rests on any reading.
func (f Fleet) counts() bool { return f.Busy+f.Idle > 0 }

// Window reads the fleet at now, appends it to the history when any
// reading counts, and returns the history's sums within [now-window,
// now], oldest first. An unreadable field is reported with the window;
// Redis failing is an error with no window.
func (r *Reader) Window(ctx context.Context, now time.Time, window time.Duration) ([]Fleet, error) {
	f, bad, err := r.read(ctx, now)
	if err != nil {
		return nil, err
	}
	hist := HistoryKey(r.prefix, r.cfg.Model)
	var lr *redis.StringSliceCmd
	_, err = r.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		if f.counts() {
			b, err := json.Marshal(f)
			if err != nil {
				return err
			}
			pipe.LPush(ctx, hist, b)
			pipe.LTrim(ctx, hist, 0, int64(r.cfg.History-1))
			pipe.PExpire(ctx, hist, r.cfg.TTL)
		}
		lr = pipe.LRange(ctx, hist, 0, -1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redissignal: history %s: %w", hist, err)
	}
	from := now.Add(-window)
	var out []Fleet
	for _, s := range lr.Val() {
		var h Fleet
		if json.Unmarshal([]byte(s), &h) != nil || h.Time.Before(from) || h.Time.After(now) {
			continue
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Fleet) int { return a.Time.Compare(b.Time) })
	return out, bad
}
