package redissignal

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scfgate/scfgate/internal/redistest"
)

// testRedis returns a client of the test Redis and a key prefix of the
// test's own (internal/redistest).
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	redistest.Require(t)
	c := redis.NewClient(&redis.Options{Addr: redistest.Addr(), MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c, redistest.Prefix(t)
}

// clock is a settable clock for the publisher and the reader; Redis's
// TTLs run on Redis's own, and are long enough not to matter here.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestPublishAndRead(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	clk := &clock{t: time.Now().Truncate(time.Millisecond)}
	cfg := Default()
	pubs := make([]*Publisher, 3)
	for i := range pubs {
		p, err := NewPublisher(cfg, rdb, prefix, nil, clk.now)
		if err != nil {
			t.Fatal(err)
		}
		pubs[i] = p
	}
	rc := DefaultReader()
	rc.Model = "m"
	rd, err := NewReader(rc, rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	d := func(inFlight, peak int) []Demand {
		return []Demand{{Model: "m", InFlight: inFlight, Peak: peak}, {Model: "idle"}}
	}
	read := func(want Fleet) {
		t.Helper()
		got, err := rd.Read(ctx, clk.t)
		want.Time = clk.t
		if err != nil || got != want {
			t.Errorf("Read = %+v, %v; want %+v", got, err, want)
		}
	}

	// Nothing published: no reading counts.
	read(Fleet{})
	// Two instances busy, one never had traffic (writes nothing).
	pubs[0].Publish(ctx, d(3, 5))
	pubs[1].Publish(ctx, d(2, 2))
	pubs[2].Publish(ctx, d(0, 0))
	if n, _ := rdb.Exists(ctx, Key(prefix, "idle")).Result(); n != 0 {
		t.Errorf("a model without traffic was published")
	}
	read(Fleet{InFlight: 5, Peak: 7, Busy: 2})

	// The peak is kept for the peak window (10 s), not only one publish.
	clk.t = clk.t.Add(time.Second)
	pubs[0].Publish(ctx, d(1, 1))
	read(Fleet{InFlight: 3, Peak: 7, Busy: 2})

	// Instance 1 dies: after Stale its count no longer holds instances.
	clk.t = clk.t.Add(5 * time.Second)
	pubs[0].Publish(ctx, d(1, 1))
	read(Fleet{InFlight: 1, Peak: 5, Busy: 1, Stale: 1})

	// Instance 0's traffic ends: its peak window runs out, then it writes
	// 0,0 once, which stands while it is silent.
	clk.t = clk.t.Add(11 * time.Second)
	pubs[0].Publish(ctx, d(0, 0))
	read(Fleet{Idle: 1, Stale: 1})
	v0, _ := rdb.HGet(ctx, Key(prefix, "m"), pubs[0].ID()).Result()
	clk.t = clk.t.Add(time.Minute)
	pubs[0].Publish(ctx, d(0, 0))
	if v, _ := rdb.HGet(ctx, Key(prefix, "m"), pubs[0].ID()).Result(); v != v0 {
		t.Errorf("idle instance rewrote %q as %q", v0, v)
	}
	read(Fleet{Idle: 1, Stale: 1})

	// After the TTL the reader deletes what is left.
	clk.t = clk.t.Add(cfg.TTL)
	read(Fleet{})
	if n, _ := rdb.HLen(ctx, Key(prefix, "m")).Result(); n != 0 {
		t.Errorf("%d fields left after the TTL", n)
	}
	if ttl, _ := rdb.PTTL(ctx, Key(prefix, "m")).Result(); ttl > cfg.TTL {
		t.Errorf("hash TTL %v, want at most %v", ttl, cfg.TTL)
	}

	// A foreign field is reported, the others still summed.
	rdb.HSet(ctx, Key(prefix, "m"), "x", "garbage")
	pubs[0].Publish(ctx, d(4, 4))
	if got, err := rd.Read(ctx, clk.t); err == nil || got.InFlight != 4 {
		t.Errorf("Read = %+v, %v; want 4 in flight and an error", got, err)
	}
}

func TestWindowKeepsHistory(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	clk := &clock{t: time.Now().Truncate(time.Millisecond)}
	pub, err := NewPublisher(Default(), rdb, prefix, nil, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	rc := DefaultReader()
	rc.Model, rc.History = "m", 4
	rd, err := NewReader(rc, rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	// No reading: an empty window, nothing pushed.
	if w, err := rd.Window(ctx, clk.t, time.Minute); err != nil || len(w) != 0 {
		t.Fatalf("Window = %+v, %v", w, err)
	}
	start := clk.t
	for i := 1; i <= 6; i++ {
		pub.Publish(ctx, []Demand{{Model: "m", InFlight: i, Peak: i}})
		if _, err := rd.Window(ctx, clk.t, time.Minute); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(10 * time.Second)
	}
	// The list keeps the newest 4; the window is the last 30 s of them.
	clk.t = start.Add(55 * time.Second)
	w, err := rd.Window(ctx, clk.t, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 4 || !w[0].Time.Equal(start.Add(30*time.Second)) || !w[3].Time.Equal(clk.t) || w[0].InFlight != 4 || w[2].InFlight != 6 {
		t.Errorf("window = %+v", w)
	}
	if n, _ := rdb.LLen(ctx, HistoryKey(prefix, "m")).Result(); n != 4 {
		t.Errorf("history holds %d, want 4", n)
	}
}

func TestPublishWithoutRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 50 * time.Millisecond})
	defer rdb.Close()
	clk := &clock{t: time.Now()}
	pub, err := NewPublisher(Default(), rdb, "p:", nil, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if pub.Publish(context.Background(), []Demand{{Model: "m", InFlight: 1, Peak: 1}}) {
			t.Fatal("publish to a closed port succeeded")
		}
	}
	var b strings.Builder
	pub.WriteMetrics(&b)
	if !strings.Contains(b.String(), "scfgate_signal_publish_errors_total 3") {
		t.Errorf("metrics:\n%s", b.String())
	}
}

func TestConfigValidate(t *testing.T) {
	c := Default()
	c.Interval, c.PeakWindow, c.TTL = time.Millisecond, time.Hour, time.Second
	err := c.Validate()
	for _, key := range []string{"signal.interval", "signal.peak_window", "signal.ttl"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate = %v, want %s named", err, key)
		}
	}
	c.Enabled = false
	if c.Validate() != nil {
		t.Error("a disabled publisher's keys are checked")
	}
	r := DefaultReader()
	r.Stale, r.TTL, r.History = 0, 0, 0
	err = r.Validate()
	for _, key := range []string{"gateway.stale", "gateway.ttl", "gateway.history"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate = %v, want %s named", err, key)
		}
	}
	if _, err := NewReader(DefaultReader(), nil, "p:"); err == nil || !strings.Contains(err.Error(), "gateway.model") {
		t.Errorf("NewReader without a model: %v", err)
	}
}
