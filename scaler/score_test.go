package scaler

import (
	"math"
	"testing"
	"time"
)

func TestLoadScore(t *testing.T) {
	base := Inputs{Period: time.Minute, Provisioned: 10, MemorySizeMB: 1000}
	with := func(samples []Sample, edit func(*Inputs)) Inputs {
		in := base
		in.Samples = samples
		if edit != nil {
			edit(&in)
		}
		return in
	}
	cfg := DefaultScoreConfig()
	cfgWith := func(edit func(*ScoreConfig)) ScoreConfig {
		c := DefaultScoreConfig()
		edit(&c)
		return c
	}
	one := func(s Sample) []Sample { s.Time = t0; return []Sample{s} }
	tests := []struct {
		name string
		in   Inputs
		cfg  ScoreConfig
		want float64
		ok   bool
	}{
		{"one sample at half load", with(loads(0.5), nil), cfg, 0.5, true},
		{"idle", with(loads(0), nil), cfg, 0, true},
		{"components clamp to 1", with(one(Sample{
			ConcurrentExecutions: Observed(25), MemMB: Observed(4000),
			Invocations: Observed(1e6), DurationMs: Observed(1000),
		}), nil), cfg, 1, true},
		{"weights: cpu full, mem and rps idle", with(one(Sample{
			ConcurrentExecutions: Observed(10), MemMB: Observed(0), Invocations: Observed(0),
		}), nil), cfg, 0.4, true},
		{"weights: mem full only", with(one(Sample{
			ConcurrentExecutions: Observed(0), MemMB: Observed(1000), Invocations: Observed(0),
		}), nil), cfg, 0.3, true},

		// The moving average runs oldest to newest and starts at the
		// oldest valid load.
		{"ema rising: 0 then 1", with(loads(0, 1), nil), cfg, 0.7, true},
		{"ema falling: 1 then 0", with(loads(1, 0), nil), cfg, 0.3, true},
		{"ema of three", with(loads(0, 0, 1), nil), cfg, 0.7, true},
		{"ema of five", with(loads(1, 0, 0, 0, 0), nil), cfg, 0.3 * 0.3 * 0.3 * 0.3, true},
		{"alpha 1 is the newest load", with(loads(0.2, 0.9, 0.4), nil), cfgWith(func(c *ScoreConfig) { c.Alpha = 1 }), 0.4, true},
		{"only the newest window samples count", with(loads(1, 1, 0, 0, 0, 0, 0), nil), cfg, 0, true},
		{"window 1", with(loads(1, 0.25), nil), cfgWith(func(c *ScoreConfig) { c.Window = 1 }), 0.25, true},
		{"window longer than the samples", with(loads(0, 1), nil), cfgWith(func(c *ScoreConfig) { c.Window = 60 }), 0.7, true},

		// Missing data is "no data", not zero.
		{"a missing sample is skipped", with(loads(0, none, 1), nil), cfg, 0.7, true},
		{"missing oldest: ema starts at the first valid", with(loads(none, 1, 1), nil), cfg, 1, true},
		{"no data at all: hold", with(loads(none, none), nil), cfg, 0, false},
		{"empty window: hold", with(nil, nil), cfg, 0, false},
		{"missing components are reweighted", with(one(Sample{ConcurrentExecutions: Observed(5)}), nil), cfg, 0.5, true},
		{"no invocations is a known zero, without duration", with(one(Sample{
			ConcurrentExecutions: Observed(10), Invocations: Observed(0),
		}), nil), cfg, 0.4 / 0.7, true},
		{"invocations without duration: rps has no data", with(one(Sample{
			ConcurrentExecutions: Observed(10), Invocations: Observed(600),
		}), nil), cfg, 1, true},
		{"only a zero-weight component: no data", with(one(Sample{MemMB: Observed(500)}), nil),
			cfgWith(func(c *ScoreConfig) { c.CPUWeight, c.MemWeight = 0.7, 0 }), 0, false},

		// Sanitising: impossible readings count as no data.
		{"NaN, Inf and negative readings are no data", with(one(Sample{
			ConcurrentExecutions: Observed(math.NaN()), MemMB: Observed(-1),
			Invocations: Observed(math.Inf(1)), DurationMs: Observed(math.Inf(-1)),
		}), nil), cfg, 0, false},
		{"a bad reading leaves the good ones", with(one(Sample{
			ConcurrentExecutions: Observed(math.NaN()), MemMB: Observed(500),
		}), nil), cfg, 0.5, true},
		{"a value not marked valid is no data", with(one(Sample{ConcurrentExecutions: Metric{Value: 10}}), nil), cfg, 0, false},

		// The inputs the mapping depends on.
		{"N = 0 counts as 1", with(one(Sample{ConcurrentExecutions: Observed(1)}), func(in *Inputs) { in.Provisioned = 0 }), cfg, 1, true},
		{"negative N counts as 1", with(one(Sample{ConcurrentExecutions: Observed(0.5)}), func(in *Inputs) { in.Provisioned = -3 }), cfg, 0.5, true},
		{"unknown memorySize: mem has no data", with(one(Sample{MemMB: Observed(500)}), func(in *Inputs) { in.MemorySizeMB = 0 }), cfg, 0, false},
		{"unknown period: rps has no data", with(one(Sample{Invocations: Observed(600), DurationMs: Observed(1000)}), func(in *Inputs) { in.Period = 0 }), cfg, 0, false},
		{"five-minute period", with(one(Sample{Invocations: Observed(1500), DurationMs: Observed(1000)}), func(in *Inputs) { in.Period = 5 * time.Minute }), cfg, 0.5, true},
		{"configured per-instance capacity", with(one(Sample{Invocations: Observed(1200)}),
			nil), cfgWith(func(c *ScoreConfig) { c.RPSCapacity = 4 }), 0.5, true},
		// 20 rps at 250 ms keeps 5 of the 10 instances busy.
		{"capacity derived from a 250 ms duration", with(one(Sample{Invocations: Observed(1200), DurationMs: Observed(250)}),
			nil), cfg, 0.5, true},

		// Refusals.
		{"out of order: hold", with([]Sample{loaded(1, 0.5), loaded(0, 0.5)}, nil), cfg, 0, false},
		{"duplicate time: hold", with([]Sample{loaded(0, 0.5), loaded(0, 0.5)}, nil), cfg, 0, false},
		{"invalid config: hold", with(loads(0.5), nil), ScoreConfig{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := LoadScore(tt.in, tt.cfg)
			if ok != tt.ok || !near(got.Value, tt.want) {
				t.Errorf("LoadScore = %v, %v; want %v, %v", got.Value, ok, tt.want, tt.ok)
			}
			if got.Value < 0 || got.Value > 1 {
				t.Errorf("score %v outside [0, 1]", got.Value)
			}
		})
	}
}

func TestLoadScoreComponents(t *testing.T) {
	in := Inputs{
		Period:       time.Minute,
		Provisioned:  4,
		MemorySizeMB: 2048,
		Samples: []Sample{
			{Time: t0, ConcurrentExecutions: Observed(2), MemMB: Observed(1024), Invocations: Observed(120), DurationMs: Observed(500)},
			{Time: t0.Add(time.Minute)},
			{Time: t0.Add(2 * time.Minute), ConcurrentExecutions: Observed(8), MemMB: Observed(512)},
		},
	}
	got, ok := LoadScore(in, DefaultScoreConfig())
	if !ok {
		t.Fatal("LoadScore: no score")
	}
	want := []SampleScore{
		// 2 rps x 0.5 s / 4 instances = 0.25.
		{Time: t0, CPU: 0.5, HasCPU: true, Mem: 0.5, HasMem: true, RPS: 0.25, HasRPS: true, Load: 0.4*0.5 + 0.3*0.5 + 0.3*0.25, Valid: true},
		{Time: t0.Add(time.Minute)},
		// rps has no data: cpu and mem weighed 0.4 : 0.3.
		{Time: t0.Add(2 * time.Minute), CPU: 1, HasCPU: true, Mem: 0.25, HasMem: true, Load: (0.4*1 + 0.3*0.25) / 0.7, Valid: true},
	}
	if len(got.Samples) != len(want) {
		t.Fatalf("got %d sample scores, want %d", len(got.Samples), len(want))
	}
	for i := range want {
		g, w := got.Samples[i], want[i]
		if !near(g.Load, w.Load) {
			t.Errorf("sample %d: load %v, want %v", i, g.Load, w.Load)
		}
		g.Load = w.Load
		if g != w {
			t.Errorf("sample %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if ema := 0.7*want[2].Load + 0.3*want[0].Load; !near(got.Value, ema) {
		t.Errorf("score %v, want %v", got.Value, ema)
	}
}

// The scaler keeps nothing between ticks: the score depends on the window
// alone, whatever was computed before.
func TestLoadScoreIsAFunctionOfTheWindow(t *testing.T) {
	in := Inputs{Period: time.Minute, Provisioned: 10, MemorySizeMB: 1000, Samples: loads(0.2, 0.9, none, 0.4, 0.6)}
	first, _ := LoadScore(in, DefaultScoreConfig())
	for _, other := range [][]Sample{loads(1, 1, 1), loads(0), nil, loads(0.9, 0.1)} {
		LoadScore(Inputs{Period: time.Minute, Provisioned: 3, MemorySizeMB: 10, Samples: other}, DefaultScoreConfig())
	}
	again, _ := LoadScore(in, DefaultScoreConfig())
	if first.Value != again.Value {
		t.Errorf("same window scored %v, then %v", first.Value, again.Value)
	}
}

func TestScoreConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*ScoreConfig)
		want []string
	}{
		{"default", func(*ScoreConfig) {}, nil},
		{"cpu only", func(c *ScoreConfig) { c.CPUWeight, c.MemWeight, c.RPSWeight = 1, 0, 0 }, nil},
		{"alpha 1", func(c *ScoreConfig) { c.Alpha = 1 }, nil},
		{"negative weight", func(c *ScoreConfig) { c.MemWeight = -0.3 }, []string{"score.mem_weight: invalid value -0.3 (allowed: >= 0)"}},
		{"NaN weight", func(c *ScoreConfig) { c.RPSWeight = math.NaN() }, []string{"score.rps_weight: invalid value NaN"}},
		{"weights sum to 1.1", func(c *ScoreConfig) { c.CPUWeight = 0.5 }, []string{"score.cpu_weight+mem_weight+rps_weight", "weights summing to 1"}},
		{"alpha 0", func(c *ScoreConfig) { c.Alpha = 0 }, []string{"score.alpha: invalid value 0 (allowed: 0 < alpha <= 1)"}},
		{"alpha above 1", func(c *ScoreConfig) { c.Alpha = 1.5 }, []string{"score.alpha"}},
		{"window 0", func(c *ScoreConfig) { c.Window = 0 }, []string{"score.window: invalid value 0 (allowed: 1 to 1440 samples)"}},
		{"window too long", func(c *ScoreConfig) { c.Window = MaxWindow + 1 }, []string{"score.window"}},
		{"negative capacity", func(c *ScoreConfig) { c.RPSCapacity = -1 }, []string{"score.rps_capacity"}},
		{"infinite capacity", func(c *ScoreConfig) { c.RPSCapacity = math.Inf(1) }, []string{"score.rps_capacity"}},
		{"every problem at once", func(c *ScoreConfig) { *c = ScoreConfig{} }, []string{"weights summing to 1", "score.alpha", "score.window"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultScoreConfig()
			tt.edit(&c)
			wantErr(t, c.Validate(), tt.want...)
		})
	}
}
