// Package promwrite pushes a process's Prometheus metrics to a
// remote-write endpoint (Prometheus remote write 1.0: a snappy-compressed
// protobuf WriteRequest per POST), such as Tencent Cloud's managed
// Prometheus. It is for where nothing scrapes: an SCF instance lives for
// minutes behind a Function URL, and one instance's /metrics is not
// reachable from a Prometheus server.
//
// A [Pusher] reads its source, anything that writes the Prometheus text
// format (the gateway's WriteMetrics), every interval, parses it
// ([Parse]), stamps the series with the read's time and the instance's
// labels (function name, instance id), queues them and sends the queue in
// batches. Requests never wait on it: it runs on its own goroutine and
// reads the source as a scrape would. The queue is bounded: when the
// endpoint is slow or down the oldest samples are dropped and counted
// ([Stats], and pushed as [DroppedSeries]); a failed batch the endpoint may take later (network
// failure, 429, 5xx) goes back to the queue's front, one it refused (any
// other status) is dropped.
//
// On SCF an instance runs only while it serves: between invocations it
// is frozen, timers included, and it may be thawed minutes later or never.
// So a push happens only while the instance runs (a tick that fell due
// during the freeze runs after the thaw, with whatever a failed push left
// queued), and once more when it is stopped: a web function gets SIGTERM and [Pusher.Run]
// then reads and pushes one last time within Timeout. An event function
// is never told it stops, so its last interval may be lost; counters
// are cumulative per instance (the instance label keeps them apart), so
// rate() over the pushed series still holds, with gaps.
package promwrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang/snappy"

	"github.com/scfgate/scfgate/internal/clock"
)

// Options are a Pusher's collaborators; the zero value uses the real
// clock and http.DefaultClient, and logs nothing.
type Options struct {
	// Labels are added to every series that does not have them (the
	// instance's function and id).
	Labels []Label
	// Client sends the requests.
	Client *http.Client
	// Now reads the clock for the samples' timestamps.
	Now func() time.Time
	// Sleep waits between pushes.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger is told of failed reads and pushes.
	Logger *slog.Logger
}

// Stats are a Pusher's counters.
type Stats struct {
	Queued  int    // samples waiting
	Sent    uint64 // samples the endpoint accepted
	Dropped uint64 // samples dropped: queue full, or refused by the endpoint
}

// Pusher reads a source and pushes its series. Its methods are safe for
// concurrent use.
type Pusher struct {
	cfg    Config
	source func(io.Writer)
	opts   Options

	mu    sync.Mutex
	queue []point // oldest first, at most cfg.MaxQueue
	stats Stats
}

// New returns a pusher of what source writes, for a valid, enabled cfg.
func New(cfg Config, source func(io.Writer), opts Options) (*Pusher, error) {
	if !cfg.Enabled() {
		return nil, errors.New("promwrite: no remote_write.url")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Client == nil {
		opts.Client = http.DefaultClient
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = clock.Sleep
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pusher{cfg: cfg, source: source, opts: opts}, nil
}

// Run reads and pushes every interval until ctx is done, then reads and
// pushes once more, within Timeout, so that a stopping instance's last
// counts are sent.
func (p *Pusher) Run(ctx context.Context) {
	for p.opts.Sleep(ctx, p.cfg.Interval) == nil {
		p.cycle(ctx)
	}
	last, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
	defer cancel()
	p.cycle(last)
}

func (p *Pusher) cycle(ctx context.Context) {
	if err := p.Collect(); err != nil {
		p.opts.Logger.Warn("remote write: reading the metrics", "error", err.Error())
	}
	if err := p.Flush(ctx); err != nil {
		st := p.Stats()
		p.opts.Logger.Warn("remote write: push failed", "error", err.Error(), "queued", st.Queued, "dropped", st.Dropped)
	}
}

// Collect reads the source once and queues its series and the pusher's
// counters ([SentSeries], [DroppedSeries]), stamped with the time of the
// read and the instance labels.
func (p *Pusher) Collect() error {
	var buf bytes.Buffer
	p.source(&buf)
	series, err := Parse(&buf)
	if err != nil {
		return err
	}
	ms := p.opts.Now().UnixMilli()
	p.mu.Lock()
	defer p.mu.Unlock()
	// The pusher's own counters go with the series, so that drops show
	// where the metrics are read.
	series = append(series,
		Series{Labels: []Label{{Name: "__name__", Value: SentSeries}}, Value: float64(p.stats.Sent)},
		Series{Labels: []Label{{Name: "__name__", Value: DroppedSeries}}, Value: float64(p.stats.Dropped)})
	for _, s := range series {
		p.queue = append(p.queue, point{labels: p.withLabels(s.Labels), value: s.Value, ms: ms})
	}
	p.trim()
	return nil
}

// The pusher's counters, pushed with every read: samples the endpoint
// accepted, and samples dropped (queue full, or refused).
const (
	SentSeries    = "scfgate_remote_write_samples_sent_total"
	DroppedSeries = "scfgate_remote_write_samples_dropped_total"
)

// withLabels adds the instance labels the series lacks and sorts them by
// name, as remote write requires.
func (p *Pusher) withLabels(labels []Label) []Label {
	for _, l := range p.opts.Labels {
		if !slices.ContainsFunc(labels, func(x Label) bool { return x.Name == l.Name }) {
			labels = append(labels, l)
		}
	}
	slices.SortFunc(labels, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	return labels
}

// trim drops the oldest samples above MaxQueue. p.mu is held.
func (p *Pusher) trim() {
	if over := len(p.queue) - p.cfg.MaxQueue; over > 0 {
		n := copy(p.queue, p.queue[over:])
		clear(p.queue[n:])
		p.queue = p.queue[:n]
		p.stats.Dropped += uint64(over)
	}
}

// Flush sends the queue, oldest first, in requests of at most MaxPerSend
// samples, until it is empty or a request fails. A batch the endpoint
// may take later goes back to the front of the queue; one it refused is
// dropped.
func (p *Pusher) Flush(ctx context.Context) error {
	for {
		p.mu.Lock()
		n := min(len(p.queue), p.cfg.MaxPerSend)
		batch := slices.Clone(p.queue[:n])
		p.queue = p.queue[n:]
		p.mu.Unlock()
		if n == 0 {
			return nil
		}
		err := p.send(ctx, batch)
		p.mu.Lock()
		var perm *refusedError
		switch {
		case err == nil:
			p.stats.Sent += uint64(n)
		case errors.As(err, &perm):
			p.stats.Dropped += uint64(n)
		default:
			p.queue = append(batch, p.queue...)
			p.trim()
		}
		p.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// refusedError is an answer that sending again would not change.
type refusedError struct{ status int }

func (e *refusedError) Error() string {
	return fmt.Sprintf("promwrite: the endpoint refused the samples: HTTP %d", e.status)
}

// send POSTs one WriteRequest.
func (p *Pusher) send(ctx context.Context, batch []point) error {
	body := snappy.Encode(nil, encodeWriteRequest(nil, batch))
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("promwrite: request: %w", err)
	}
	h := req.Header
	h.Set("Content-Encoding", "snappy")
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	h.Set("User-Agent", "scfgate")
	switch {
	case p.cfg.BearerToken != "":
		h.Set("Authorization", "Bearer "+p.cfg.BearerToken)
	case p.cfg.Username != "":
		req.SetBasicAuth(p.cfg.Username, p.cfg.Password)
	}
	resp, err := p.opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("promwrite: push: %w", err) // the URL is in err, never the credentials
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("promwrite: push: HTTP %d", resp.StatusCode)
	}
	return &refusedError{status: resp.StatusCode}
}

// Stats returns the counters.
func (p *Pusher) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats
	st.Queued = len(p.queue)
	return st
}
