package scaler

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// gen draws test cases from a stream of numbers: a seeded PRNG for the
// property tests, the fuzzer's bytes for the fuzz tests.
type gen struct{ next func() uint64 }

func (g gen) intn(n int) int { return int(g.next() % uint64(n)) }

func (g gen) pick(vals ...float64) float64 { return vals[g.intn(len(vals))] }

// unit returns a number in (0, 1).
func (g gen) unit() float64 { return (float64(g.next()%998) + 1) / 1000 }

// reading returns a metric that is often plausible and often not: missing,
// NaN, infinite, negative or absurdly large.
func (g gen) reading() Metric {
	switch g.intn(8) {
	case 0:
		return Metric{}
	case 1:
		return Metric{Value: float64(g.intn(100)), Valid: false}
	case 2:
		return Observed(g.pick(math.NaN(), math.Inf(1), math.Inf(-1), -1, -1e-9, 1e300, math.MaxFloat64, 0))
	default:
		return Observed(float64(g.intn(200)) * g.unit())
	}
}

func (g gen) samples(n int) []Sample {
	out := make([]Sample, n)
	at := t0
	for i := range out {
		// Mostly one period apart, sometimes jittered, gapped, repeated
		// or out of order.
		step := []time.Duration{time.Minute, time.Minute, time.Minute, time.Minute, time.Minute + time.Second, 3 * time.Minute, 0, -time.Minute}
		if i > 0 {
			at = at.Add(step[g.intn(len(step))])
		}
		out[i] = Sample{Time: at, ConcurrentExecutions: g.reading(), Invocations: g.reading(), DurationMs: g.reading(), MemMB: g.reading()}
	}
	return out
}

func (g gen) inputs() Inputs {
	counts := []int{-5, 0, 1, 2, 3, 7, 10, 20, 49, 50, 51, 100, 1 << 40, math.MaxInt}
	return Inputs{
		Samples:      g.samples(g.intn(16)),
		Period:       []time.Duration{time.Minute, time.Minute, 5 * time.Minute, 0, -time.Minute, time.Nanosecond}[g.intn(6)],
		Provisioned:  counts[g.intn(len(counts))],
		Available:    counts[g.intn(len(counts))],
		MemorySizeMB: []int{4096, 1024, 0, -1}[g.intn(4)],
		Forecast:     g.samples(g.intn(4)),
	}
}

// config returns a valid configuration.
func (g gen) config() PolicyConfig {
	c := DefaultPolicyConfig()
	c.Min = 1 + g.intn(20)
	c.Max = c.Min + g.intn(40)
	c.Limit = c.Max
	c.Low = g.unit() * 0.5
	c.High = c.Low + (1-c.Low)*g.unit()
	c.TargetUtilisation = 0.01 + 0.98*g.unit()
	c.LowUtilisation = c.TargetUtilisation * g.unit()
	c.StabilizationWindow = time.Duration(g.intn(20)) * time.Minute
	c.MaxScaleDownFactor = g.pick(0.1, 0.5, 0.5, 0.9, 1)
	c.Lead = time.Duration(g.intn(5)) * time.Minute
	c.Score.Window = 1 + g.intn(10)
	c.Score.Alpha = g.unit()
	c.Score.RPSCapacity = g.pick(0, 0, 1, 0.5, 20)
	w1, w2 := g.unit(), g.unit()
	c.Score.CPUWeight, c.Score.MemWeight, c.Score.RPSWeight = w1*w2, w1*(1-w2), 1-w1
	return c
}

// peakDemand recomputes, independently of the policy, the largest
// ceil(concurrency / target) over the samples with a possible reading.
func peakDemand(samples []Sample, target float64) float64 {
	var peak float64
	for _, s := range samples {
		c := s.ConcurrentExecutions
		if !c.Valid || math.IsNaN(c.Value) || math.IsInf(c.Value, 0) || c.Value < 0 {
			continue
		}
		peak = max(peak, math.Ceil(c.Value/target-1e-9))
	}
	return peak
}

// checkDecision asserts what must hold for every policy and every input.
func checkDecision(t *testing.T, name string, cfg PolicyConfig, now time.Time, in Inputs) {
	t.Helper()
	p, err := PolicyByName(name, cfg)
	if err != nil {
		t.Fatalf("%s: valid config %+v refused: %v", name, cfg, err)
	}
	d := p.Decide(now, in)
	if d.Target < cfg.Min || d.Target > cfg.Max {
		t.Fatalf("%s: target %d outside [%d, %d] (%s)\ninputs %+v", name, d.Target, cfg.Min, cfg.Max, d.Reason, in)
	}
	if d.Current != max(in.Provisioned, 0) || d.Policy != name || d.Reason == "" {
		t.Fatalf("%s: decision %+v", name, d)
	}
	// Pure: the same inputs decide the same, NaN nowhere (DeepEqual
	// fails on NaN, and so does JSON).
	if again := p.Decide(now, in); !reflect.DeepEqual(d, again) {
		t.Fatalf("%s: two decisions on the same inputs differ:\n%+v\n%+v", name, d, again)
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatalf("%s: decision does not encode: %v", name, err)
	}
	if d.Score < 0 || math.IsInf(d.Score, 0) || (name == PolicySeed && d.Score > 1) {
		t.Fatalf("%s: score %v", name, d.Score)
	}
	n := max(in.Provisioned, 0)
	if d.Hold {
		// Holding moves the count only into the bounds.
		if want := min(max(n, cfg.Min), cfg.Max); d.Target != want {
			t.Fatalf("%s: hold target %d, want %d", name, d.Target, want)
		}
		return
	}
	if name != PolicyStable && name != PolicyPredictive {
		return
	}
	// Never below the window's peak demand, as far as max allows.
	if floor := min(peakDemand(in.Samples, cfg.TargetUtilisation), float64(cfg.Max)); float64(d.Target) < floor {
		t.Fatalf("%s: target %d below peak demand %v (%s)\ninputs %+v", name, d.Target, floor, d.Reason, in)
	}
	// At most one scale-down step per tick: never below the step from N,
	// clamped like every target.
	clamped := func(x float64) int { return int(min(max(x, float64(cfg.Min)), float64(cfg.Max))) }
	if step := math.Ceil(float64(n)*cfg.MaxScaleDownFactor - 1e-9); d.Target < clamped(step) {
		t.Fatalf("%s: %d -> %d scales down more than factor %v (%s)", name, n, d.Target, cfg.MaxScaleDownFactor, d.Reason)
	}
	// A scale-down needs the newest sample to have data and be below the
	// low utilisation.
	if d.Target < clamped(float64(n)) {
		last := len(in.Samples) - 1
		c, ok := in.Samples[last].ConcurrentExecutions.get()
		if !ok || c/float64(max(n, 1)) >= cfg.LowUtilisation {
			t.Fatalf("%s: scaled down %d -> %d on newest sample %+v (%s)", name, n, d.Target, in.Samples[last], d.Reason)
		}
	}
}

// TestDecisionProperties runs the invariants over many generated cases,
// with a fixed seed so that every run checks the same ones.
func TestDecisionProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2026))
	g := gen{next: r.Uint64}
	cases := 5000
	if testing.Short() {
		cases = 500
	}
	for range cases {
		cfg := g.config()
		in := g.inputs()
		now := t0.Add(time.Duration(g.intn(30)) * time.Minute)
		for _, name := range PolicyNames() {
			checkDecision(t, name, cfg, now, in)
		}
	}
}

// FuzzDecide checks the same invariants on inputs built from the fuzzer's
// bytes: go test -fuzz FuzzDecide ./scaler.
func FuzzDecide(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("seed window with NaN and Inf readings"))
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN())))
	r := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := gen{next: func() uint64 {
			var buf [8]byte
			n := copy(buf[:], data)
			data = data[n:]
			return binary.LittleEndian.Uint64(buf[:])
		}}
		cfg := g.config()
		in := g.inputs()
		now := t0.Add(time.Duration(g.intn(30)) * time.Minute)
		for _, name := range PolicyNames() {
			checkDecision(t, name, cfg, now, in)
		}
	})
}

// FuzzLoadScore checks that any sample values give a score in [0, 1].
func FuzzLoadScore(f *testing.F) {
	f.Add(5.0, 100.0, 1000.0, 2048.0, 10, 4096)
	f.Add(math.NaN(), math.Inf(1), -1.0, 0.0, 0, 0)
	f.Add(1e308, 1e308, 1e308, 1e308, -3, 1)
	f.Fuzz(func(t *testing.T, conc, inv, dur, mem float64, n, memSize int) {
		s := Sample{Time: t0, ConcurrentExecutions: Observed(conc), Invocations: Observed(inv), DurationMs: Observed(dur), MemMB: Observed(mem)}
		in := Inputs{Period: time.Minute, Provisioned: n, MemorySizeMB: memSize, Samples: []Sample{s, s, s}}
		in.Samples[1].Time, in.Samples[2].Time = t0.Add(time.Minute), t0.Add(2*time.Minute)
		score, ok := LoadScore(in, DefaultScoreConfig())
		if !(score.Value >= 0 && score.Value <= 1) {
			t.Fatalf("score %v outside [0, 1]", score.Value)
		}
		if ok != (conc >= 0 && !math.IsInf(conc, 1) || mem >= 0 && !math.IsInf(mem, 1) && memSize > 0 ||
			inv == 0 || inv > 0 && !math.IsInf(inv, 1) && dur >= 0 && !math.IsInf(dur, 1)) {
			t.Fatalf("ok = %v for %v", ok, s)
		}
	})
}
