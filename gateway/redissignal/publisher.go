package redissignal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Demand is one model's requests in flight at a gateway instance now, and
// their peak since the previous reading (at least InFlight); the
// gateway's ModelDemand, which the function's wiring hands over.
type Demand struct {
	Model    string
	InFlight int
	Peak     int
}

// Source is the gateway whose demand is published. The package does not
// import the gateway, so that the scaler, which reads the readings, links
// none of it.
type Source interface {
	Demand() []Demand
	// DemandChanged signals that a model's traffic started or ended.
	DemandChanged() <-chan struct{}
}

// logEvery bounds the publisher's failure log lines.
const logEvery = time.Minute

// Publisher writes one gateway instance's readings. Its metrics
// (scfgate_signal_*) go into the gateway's /metrics.
type Publisher struct {
	cfg    Config
	rdb    redis.Cmdable
	prefix string
	id     string
	log    *slog.Logger
	now    func() time.Time

	// models is Run's bookkeeping, touched by its goroutine only.
	models map[string]*published

	writes, errs atomic.Uint64
	lastLog      time.Time // Run's goroutine only
	suppressed   int
}

// published is what a model's previous readings were.
type published struct {
	// peaks are the peaks of the readings within the peak window, oldest
	// first, those less than an Interval apart merged.
	peaks []stamped
	// busy: the last reading written had traffic, so an idle one is due.
	busy bool
}

type stamped struct {
	at   time.Time
	peak int
}

// add records a reading's peak at now and returns the peak window's.
func (m *published) add(now time.Time, peak int, c Config) int {
	if n := len(m.peaks); n > 0 && now.Sub(m.peaks[n-1].at) < c.Interval {
		m.peaks[n-1].peak = max(m.peaks[n-1].peak, peak)
	} else {
		m.peaks = append(m.peaks, stamped{now, peak})
	}
	from := now.Add(-c.PeakWindow)
	i := 0
	for i < len(m.peaks)-1 && !m.peaks[i].at.After(from) {
		i++
	}
	m.peaks = append(m.peaks[:0], m.peaks[i:]...)
	out := 0
	for _, s := range m.peaks {
		out = max(out, s.peak)
	}
	return out
}

// NewPublisher returns the publisher of one gateway instance, writing
// under prefix (the gateway's Redis key prefix) with rdb, as a fresh
// random instance id. log may be nil; now nil means time.Now.
func NewPublisher(cfg Config, rdb redis.Cmdable, prefix string, log *slog.Logger, now func() time.Time) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("redissignal: instance id: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Publisher{cfg: cfg, rdb: rdb, prefix: prefix, id: hex.EncodeToString(b[:]), log: log, now: now,
		models: map[string]*published{}}, nil
}

// ID is the instance's field in the models' hashes.
func (p *Publisher) ID() string { return p.id }

// Run publishes src's demand every Interval, and at once when a model's
// traffic starts or ends, until ctx is done.
func (p *Publisher) Run(ctx context.Context, src Source) {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-src.DemandChanged():
		}
		p.Publish(ctx, src.Demand())
	}
}

// Publish writes the readings of the models that have had traffic within
// the peak window, or whose traffic has just ended, in one pipeline, and
// reports whether Redis took them (no write due is success). Call it from
// one goroutine.
func (p *Publisher) Publish(ctx context.Context, demand []Demand) bool {
	now := p.now()
	var due []Demand
	for _, d := range demand {
		m := p.models[d.Model]
		if m == nil {
			m = &published{}
			p.models[d.Model] = m
		}
		peak := max(m.add(now, d.Peak, p.cfg), d.InFlight)
		if peak == 0 && !m.busy {
			continue
		}
		due = append(due, Demand{Model: d.Model, InFlight: d.InFlight, Peak: peak})
	}
	if len(due) == 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Interval)
	defer cancel()
	_, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, d := range due {
			key := Key(p.prefix, d.Model)
			pipe.HSet(ctx, key, p.id, Reading{InFlight: d.InFlight, Peak: d.Peak, Time: now}.String())
			pipe.PExpire(ctx, key, p.cfg.TTL)
		}
		return nil
	})
	if err != nil {
		p.failed(now, err)
		return false
	}
	p.writes.Add(1)
	for _, d := range due {
		p.models[d.Model].busy = d.Peak > 0
	}
	return true
}

// failed counts a failed publish and logs at most once per logEvery.
func (p *Publisher) failed(now time.Time, err error) {
	p.errs.Add(1)
	if !p.lastLog.IsZero() && now.Sub(p.lastLog) < logEvery {
		p.suppressed++
		return
	}
	p.log.Warn("redis unavailable: in-flight readings not published", "error", err.Error(), "suppressed", p.suppressed)
	p.lastLog, p.suppressed = now, 0
}

// WriteMetrics writes the publisher's metrics (the gateway's
// MetricsWriter).
func (p *Publisher) WriteMetrics(w io.Writer) {
	fmt.Fprintf(w, "# HELP scfgate_signal_publishes_total In-flight readings written to Redis for the scaler.\n# TYPE scfgate_signal_publishes_total counter\nscfgate_signal_publishes_total %d\n", p.writes.Load())
	fmt.Fprintf(w, "# HELP scfgate_signal_publish_errors_total In-flight readings Redis did not take.\n# TYPE scfgate_signal_publish_errors_total counter\nscfgate_signal_publish_errors_total %d\n", p.errs.Load())
}
