package metrics

import (
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// t0 is a multiple of 300 s in Unix time, so every period starts on it.
var t0 = time.Unix(1_699_999_800, 0)

func atMS(ms int64) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
func at(sec int64) time.Time  { return atMS(sec * 1000) }

// pt is a point relative to t0, for readable expectations.
type pt struct {
	sec int64
	v   float64
}

func rel(points []Point) []pt {
	out := []pt{}
	for _, p := range points {
		out = append(out, pt{p.Time.Unix() - t0.Unix(), p.Value})
	}
	return out
}

// every returns points every step seconds from..to with value v.
func every(from, to, step int64, v float64) []pt {
	var out []pt
	for s := from; s <= to; s += step {
		out = append(out, pt{s, v})
	}
	return out
}

var (
	keyMain = Key{Namespace: "default", Function: "chat", Version: "$LATEST"}
	keyLong = Key{Namespace: "default", Function: "chat", Version: "3"}
	keyOOO  = Key{Namespace: "default", Function: "ooo", Version: "1"}
	keyIns  = Key{Namespace: "default", Function: "ins", Version: "1"}
)

// recordTimeline records the explicit instants the table below expects.
func recordTimeline(s *Store) {
	// keyMain: a short burst, a long request, a straggler.
	s.Concurrency(keyMain, at(5), 1)
	s.Concurrency(keyMain, at(7), 2)
	s.Invocation(keyMain, at(8), 100*time.Millisecond, OK)
	s.Concurrency(keyMain, at(8), 1)
	s.Invocation(keyMain, at(12), 300*time.Millisecond, FunctionError)
	s.Throttled(keyMain, at(15))
	s.Memory(keyMain, at(25), 40)
	s.Memory(keyMain, at(26), 55.5)
	s.Memory(keyMain, at(27), 30)
	s.Invocation(keyMain, atMS(59_999), 200*time.Millisecond, OK) // last instant of bucket 50
	s.Invocation(keyMain, at(60), 400*time.Millisecond, OK)       // first instant of bucket 60
	s.Invocation(keyMain, at(130), 125*time.Second, OK)
	s.Concurrency(keyMain, at(130), 0)
	s.Invocation(keyMain, at(305), 50*time.Millisecond, OK)

	// keyLong: one level set at 5 s, unchanged until it drops at 130 s.
	s.Concurrency(keyLong, at(5), 1)
	s.Concurrency(keyLong, at(130), 0)

	// keyOOO: the change at 15 s arrives after the one at 17 s.
	s.Concurrency(keyOOO, at(17), 1)
	s.Concurrency(keyOOO, at(15), 2)

	// keyIns: buckets arrive out of order and are inserted in place.
	s.Invocation(keyIns, at(35), time.Millisecond, OK)
	s.Invocation(keyIns, at(15), time.Millisecond, OK)
	s.Invocation(keyIns, at(25), time.Millisecond, OK)
	s.Invocation(keyIns, at(5), time.Millisecond, OK)
}

func TestTimeline(t *testing.T) {
	s := NewStore(0)
	recordTimeline(s)
	const p10, p60, p300 = 10 * time.Second, 60 * time.Second, 300 * time.Second
	tests := []struct {
		name     string
		key      Key
		metric   string
		period   time.Duration
		from, to int64 // seconds after t0
		want     []pt
	}{
		{"invocation 10s", keyMain, "Invocation", p10, 0, 399,
			zeroFilled(0, 390, 10, pt{0, 1}, pt{10, 1}, pt{50, 1}, pt{60, 1}, pt{130, 1}, pt{300, 1})},
		{"invocation 60s", keyMain, "Invocation", p60, 0, 399, zeroFilled(0, 360, 60, pt{0, 3}, pt{60, 1}, pt{120, 1}, pt{300, 1})},
		{"invocation 300s", keyMain, "Invocation", p300, 0, 399, []pt{{0, 5}, {300, 1}}},
		{"error 10s", keyMain, "Error", p10, 0, 399,
			zeroFilled(0, 390, 10, pt{10, 1})},
		{"error 60s", keyMain, "Error", p60, 0, 399, zeroFilled(0, 360, 60, pt{0, 1})},
		{"error 300s", keyMain, "Error", p300, 0, 399, []pt{{0, 1}, {300, 0}}},
		{"throttle 10s", keyMain, "Throttle", p10, 0, 399,
			zeroFilled(0, 390, 10, pt{10, 1})},
		{"throttle 60s", keyMain, "Throttle", p60, 0, 399, zeroFilled(0, 360, 60, pt{0, 1})},
		{"throttle 300s", keyMain, "Throttle", p300, 0, 399, []pt{{0, 1}, {300, 0}}},
		// Bucket 20 has no invocation, so no average.
		{"duration 10s", keyMain, "Duration", p10, 0, 399,
			[]pt{{0, 100}, {10, 300}, {50, 200}, {60, 400}, {130, 125000}, {300, 50}}},
		{"duration 60s is total/count", keyMain, "Duration", p60, 0, 399,
			[]pt{{0, 200}, {60, 400}, {120, 125000}, {300, 50}}},
		{"duration 300s is total/count", keyMain, "Duration", p300, 0, 399, []pt{{0, 25200}, {300, 50}}},
		{"mem 10s", keyMain, "Mem", p10, 0, 399, []pt{{20, 55.5}}},
		{"mem 60s", keyMain, "Mem", p60, 0, 399, []pt{{0, 55.5}}},
		{"mem 300s", keyMain, "Mem", p300, 0, 399, []pt{{0, 55.5}}},
		// Level 1 from 8 s carries through the empty buckets 30..120 and
		// into 130, where it drops; the function is idle (0) after that.
		{"concurrency 10s", keyMain, "ConcurrentExecutions", p10, 0, 399,
			zeroFilled(0, 390, 10, append([]pt{{0, 2}}, every(10, 130, 10, 1)...)...)},
		{"concurrency 60s", keyMain, "ConcurrentExecutions", p60, 0, 399, zeroFilled(0, 360, 60, pt{0, 2}, pt{60, 1}, pt{120, 1})},
		{"concurrency 300s", keyMain, "ConcurrentExecutions", p300, 0, 399, []pt{{0, 2}, {300, 0}}},

		{"long level 10s", keyLong, "ConcurrentExecutions", p10, 0, 399, zeroFilled(0, 390, 10, every(0, 130, 10, 1)...)},
		{"long level 60s", keyLong, "ConcurrentExecutions", p60, 0, 399, zeroFilled(0, 360, 60, every(0, 120, 60, 1)...)},
		{"long level 300s", keyLong, "ConcurrentExecutions", p300, 0, 399, []pt{{0, 1}, {300, 0}}},
		{"idle function reads zero invocations", keyLong, "Invocation", p60, 0, 399, zeroFilled(0, 360, 60)},
		{"long level no duration", keyLong, "Duration", p10, 0, 399, []pt{}},

		{"unaligned start aligns down", keyMain, "Invocation", p60, 61, 61, []pt{{60, 1}}},
		{"end on a period start includes it", keyMain, "Invocation", p60, 59, 60, []pt{{0, 3}, {60, 1}}},
		{"level carries in from before start", keyMain, "ConcurrentExecutions", p10, 100, 125,
			[]pt{{100, 1}, {110, 1}, {120, 1}}},
		{"quiet gap reads zero concurrency", keyMain, "ConcurrentExecutions", p10, 140, 290, zeroFilled(140, 290, 10)},
		{"quiet gap reads zero invocations", keyMain, "Invocation", p10, 140, 290, zeroFilled(140, 290, 10)},
		{"quiet gap has no duration", keyMain, "Duration", p10, 140, 290, []pt{}},
		{"end before start", keyMain, "Invocation", p10, 60, 0, []pt{}},
		{"unknown key", Key{Namespace: "default", Function: "nope", Version: "$LATEST"}, "Invocation", p10, 0, 399, []pt{}},
		{"monitor spelling of $LATEST and default namespace",
			Key{Function: "chat", Version: "$latest"}, "Invocation", p300, 0, 399, []pt{{0, 5}, {300, 1}}},

		{"out-of-order changes end at the later one", keyOOO, "ConcurrentExecutions", p10, 10, 30,
			[]pt{{10, 2}, {20, 1}, {30, 1}}},
		{"out-of-order buckets inserted", keyIns, "Invocation", p10, 0, 60,
			zeroFilled(0, 60, 10, pt{0, 1}, pt{10, 1}, pt{20, 1}, pt{30, 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Query(tt.key, tt.metric, tt.period, at(tt.from), at(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			if g := rel(got); !slices.Equal(g, tt.want) && !(len(g) == 0 && len(tt.want) == 0) {
				t.Errorf("got  %v\nwant %v", g, tt.want)
			}
			for _, p := range got {
				if p.Time.Unix()%int64(tt.period/time.Second) != 0 {
					t.Errorf("point %v not aligned to %v", p.Time, tt.period)
				}
			}
		})
	}
}

func TestRetention(t *testing.T) {
	kA := Key{Namespace: "default", Function: "a", Version: "1"}
	kB := Key{Namespace: "default", Function: "b", Version: "1"}
	s := NewStore(time.Minute) // 6 buckets
	s.Invocation(kB, at(0), time.Millisecond, OK)
	s.Concurrency(kA, at(0), 3)
	s.Invocation(kA, at(0), time.Millisecond, OK)
	s.Invocation(kA, at(55), time.Millisecond, OK) // buckets 0..50 retained
	s.Invocation(kA, at(60), time.Millisecond, OK) // bucket 0 dropped
	s.Invocation(kA, at(5), time.Millisecond, OK)  // too old: ignored
	s.Memory(kA, at(9), 10)                        // too old: ignored

	tests := []struct {
		name   string
		key    Key
		metric string
		period time.Duration
		want   []pt
	}{
		// A level from the dropped bucket is still in force, so the
		// function reads zero, not absent, where nothing finished.
		{"dropped bucket gone", kA, "Invocation", 10 * time.Second, zeroFilled(10, 90, 10, pt{50, 1}, pt{60, 1})},
		{"partly dropped period", kA, "Invocation", time.Minute, []pt{{0, 1}, {60, 1}}},
		{"too old sample ignored", kA, "Mem", 10 * time.Second, []pt{}},
		// The level set in the dropped bucket is still in force.
		{"level outlives its bucket", kA, "ConcurrentExecutions", 10 * time.Second, every(10, 90, 10, 3)},
		{"level outlives its bucket 60s", kA, "ConcurrentExecutions", time.Minute, []pt{{0, 3}, {60, 3}}},
		// kB was never written again, yet ages with the store.
		{"idle series ages", kB, "Invocation", 10 * time.Second, []pt{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Query(tt.key, tt.metric, tt.period, at(0), at(90))
			if err != nil {
				t.Fatal(err)
			}
			if g := rel(got); !slices.Equal(g, tt.want) && !(len(g) == 0 && len(tt.want) == 0) {
				t.Errorf("got  %v\nwant %v", g, tt.want)
			}
		})
	}
}

func TestRetentionKeepsMemoryBounded(t *testing.T) {
	tests := []struct {
		name      string
		retention time.Duration
		keep      int64
		fill      bool // record three retentions' worth and check the bounds
	}{
		{"default", 0, 8640, true},
		{"negative is default", -time.Second, 8640, false},
		{"rounded up", 15 * time.Second, 2, true},
		{"one minute", time.Minute, 6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(tt.retention)
			if s.keep != tt.keep {
				t.Fatalf("keep = %d, want %d", s.keep, tt.keep)
			}
			if !tt.fill {
				return
			}
			k := Key{Namespace: "default", Function: "f", Version: "1"}
			// Three times the retention, one record per second, with a
			// late record now and then.
			n := 3 * tt.keep * bucketSeconds
			for i := range n {
				s.Invocation(k, at(i), time.Millisecond, OK)
				if i%7 == 0 && i > 20 {
					s.Invocation(k, at(i-20), time.Millisecond, OK)
				}
			}
			ser := s.lookup(k)
			if live := int64(len(ser.buf) - ser.head); live > tt.keep {
				t.Errorf("%d live buckets, want <= %d", live, tt.keep)
			}
			if c := int64(cap(ser.buf)); c > 2*tt.keep+8 {
				t.Errorf("buffer capacity %d, want <= %d", c, 2*tt.keep+8)
			}
			got, err := s.Query(k, "Invocation", 10*time.Second, at(0), at(n))
			if err != nil {
				t.Fatal(err)
			}
			// The retained buckets, plus the quiet period holding end.
			if int64(len(got)) != tt.keep+1 {
				t.Errorf("%d points, want %d", len(got), tt.keep+1)
			}
		})
	}
}

func TestInputsSanitized(t *testing.T) {
	k := Key{Namespace: "default", Function: "f", Version: "1"}
	s := NewStore(0)
	s.Invocation(k, at(0), -time.Second, OK)
	s.Concurrency(k, at(0), -4)
	s.Memory(k, at(0), math.NaN())
	s.Memory(k, at(0), -1)
	tests := []struct {
		metric string
		want   []pt
	}{
		{"Duration", []pt{{0, 0}}},
		{"ConcurrentExecutions", []pt{{0, 0}}},
		{"Mem", []pt{}},
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			got, err := s.Query(k, tt.metric, 10*time.Second, at(0), at(9))
			if err != nil {
				t.Fatal(err)
			}
			if g := rel(got); !slices.Equal(g, tt.want) && !(len(g) == 0 && len(tt.want) == 0) {
				t.Errorf("got %v, want %v", g, tt.want)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	s := NewStore(0)
	tests := []struct {
		metric  string
		period  time.Duration
		want    error
		mention string
	}{
		{"invocation", time.Minute, ErrUnknownMetric, `"invocation"`},
		{"BillDuration", time.Minute, ErrUnknownMetric, `"BillDuration"`},
		{"", time.Minute, ErrUnknownMetric, `""`},
		{"Invocation", 0, ErrBadPeriod, "0s"},
		{"Mem", 30 * time.Second, ErrBadPeriod, "30s"},
		{"Duration", time.Hour, ErrBadPeriod, "1h0m0s"},
		{"Error", 10*time.Second + time.Millisecond, ErrBadPeriod, "10.001s"},
	}
	for _, tt := range tests {
		t.Run(tt.metric+"/"+tt.period.String(), func(t *testing.T) {
			_, err := s.Query(keyMain, tt.metric, tt.period, at(0), at(60))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err %q does not mention %s", err, tt.mention)
			}
		})
	}
}

func TestMetricsAllQueryable(t *testing.T) {
	s := NewStore(0)
	s.Invocation(keyMain, at(0), time.Second, OK)
	names := Metrics()
	if len(names) != 7 {
		t.Fatalf("Metrics() = %v", names)
	}
	names[0] = "changed"
	if Metrics()[0] != "Invocation" {
		t.Fatal("Metrics() shares its slice")
	}
	for _, m := range Metrics() {
		for _, p := range []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute} {
			if _, err := s.Query(keyMain, m, p, at(0), at(600)); err != nil {
				t.Errorf("%s at %v: %v", m, p, err)
			}
		}
	}
}

// TestConcurrentUse records from many goroutines while others query, then
// checks exact totals. Run with -race.
func TestConcurrentUse(t *testing.T) {
	const goroutines, perG = 16, 1000
	keys := []Key{
		{Namespace: "default", Function: "a", Version: "$LATEST"}, {Namespace: "default", Function: "a", Version: "1"},
		{Namespace: "ns2", Function: "a", Version: "$LATEST"}, {Namespace: "default", Function: "b", Version: "$LATEST"},
	}
	type totals struct {
		inv, errs, thr float64
		mem, conc      float64
	}
	// step is what goroutine g does in iteration i; the expected totals
	// replay it.
	step := func(g, i int) (k int, sec int64, fail, throttle bool, level int, mb float64) {
		return (g + i) % len(keys), int64(i % 600), i%3 == 0, i%5 == 0, (g*7 + i) % 10, float64((g + i) % 100)
	}
	want := make([]totals, len(keys))
	for g := range goroutines {
		for i := range perG {
			k, _, fail, throttle, level, mb := step(g, i)
			want[k].inv++
			if fail {
				want[k].errs++
			}
			if throttle {
				want[k].thr++
			}
			want[k].mem = max(want[k].mem, mb)
			want[k].conc = max(want[k].conc, float64(level))
		}
	}

	s := NewStore(0)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				k, sec, fail, throttle, level, mb := step(g, i)
				o := OK
				if fail {
					o = FunctionError
				}
				s.Concurrency(keys[k], at(sec), level)
				s.Invocation(keys[k], at(sec), 7*time.Millisecond, o)
				if throttle {
					s.Throttled(keys[k], at(sec))
				}
				s.Memory(keys[k], at(sec), mb)
			}
		})
	}
	for r := range 2 {
		wg.Go(func() {
			for i := range 100 {
				_, err := s.Query(keys[(r+i)%len(keys)], Metrics()[i%6], 10*time.Second, at(0), at(600))
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()

	sum := func(k Key, m string, period time.Duration) (total, peak float64, n int) {
		got, err := s.Query(k, m, period, at(0), at(600))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range got {
			total += p.Value
			peak = max(peak, p.Value)
		}
		return total, peak, len(got)
	}
	for i, k := range keys {
		for _, period := range []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute} {
			var got totals
			got.inv, _, _ = sum(k, "Invocation", period)
			got.errs, _, _ = sum(k, "Error", period)
			got.thr, _, _ = sum(k, "Throttle", period)
			_, got.mem, _ = sum(k, "Mem", period)
			_, got.conc, _ = sum(k, "ConcurrentExecutions", period)
			if got != want[i] {
				t.Errorf("%v at %v: got %+v, want %+v", k, period, got, want[i])
			}
			dsum, dpeak, n := sum(k, "Duration", period)
			if dpeak != 7 || dsum != 7*float64(n) {
				t.Errorf("%v at %v: Duration points not all 7 ms (sum %v over %d)", k, period, dsum, n)
			}
		}
	}
}

// TestInvocationDoesNotAllocate pins the hot path's steady state: time
// moves on, buckets expire, and recording allocates nothing.
func TestInvocationDoesNotAllocate(t *testing.T) {
	s := NewStore(time.Minute)
	k := Key{Namespace: "default", Function: "f", Version: "1"}
	var ms int64
	record := func() {
		ms += 250
		s.Invocation(k, atMS(ms), 5*time.Millisecond, OK)
	}
	for range 10_000 {
		record()
	}
	if n := testing.AllocsPerRun(10_000, record); n != 0 {
		t.Errorf("Invocation allocates %v times per call", n)
	}
}

func BenchmarkInvocation(b *testing.B) {
	s := NewStore(time.Hour)
	k := Key{Namespace: "default", Function: "chat", Version: "$LATEST"}
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		// A thousand invocations a second of simulated time, so buckets
		// roll over and expire as on a busy function.
		i++
		s.Invocation(k, atMS(i), 5*time.Millisecond, OK)
	}
}

func BenchmarkInvocationParallel(b *testing.B) {
	s := NewStore(time.Hour)
	keys := []Key{{Namespace: "default", Function: "a", Version: "$LATEST"}, {Namespace: "default", Function: "b", Version: "$LATEST"}, {Namespace: "default", Function: "c", Version: "1"}, {Namespace: "default", Function: "d", Version: "1"}}
	b.ReportAllocs()
	var next sync.Mutex
	g := 0
	b.RunParallel(func(pb *testing.PB) {
		next.Lock()
		k := keys[g%len(keys)]
		g++
		next.Unlock()
		i := int64(0)
		for pb.Next() {
			i++
			s.Invocation(k, atMS(i), 5*time.Millisecond, OK)
		}
	})
}

// zeroFilled is every period from..to (step apart) at 0, except the given
// points: an existing function's quiet periods read zero.
func zeroFilled(from, to, step int64, pts ...pt) []pt {
	out := every(from, to, step, 0)
	for i := range out {
		for _, p := range pts {
			if p.sec == out[i].sec {
				out[i] = p
			}
		}
	}
	return out
}

// MemDuration sums billed MB x ms per period and reads zero in quiet
// periods of a function that exists.
func TestMemDuration(t *testing.T) {
	s := NewStore(0)
	s.MemDuration(keyMain, at(5), 256*1000)
	s.MemDuration(keyMain, at(15), 256*500)
	s.MemDuration(keyMain, at(15), 0)  // ignored
	s.MemDuration(keyMain, at(15), -1) // ignored
	s.MemDuration(keyMain, at(125), 128)
	pts, err := s.Query(keyMain, MetricMemDuration, time.Minute, at(0), at(179))
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{256 * 1500, 0, 128}
	if len(pts) != len(want) {
		t.Fatalf("points = %+v, want values %v", pts, want)
	}
	for i, p := range pts {
		if p.Value != want[i] {
			t.Errorf("period %d = %v, want %v", i, p.Value, want[i])
		}
	}
}
