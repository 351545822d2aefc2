package scaler

import (
	"strings"
	"testing"
	"time"
)

// cpuOnly scores the newest sample's concurrency utilisation alone, so a
// test sets the score exactly: conc / N.
var cpuOnly = ScoreConfig{CPUWeight: 1, Alpha: 1, Window: 1}

func TestSeedPolicy(t *testing.T) {
	seed := DefaultSeedPolicy()
	seed.Score = cpuOnly
	withBounds := func(minN, maxN int) SeedPolicy {
		p := seed
		p.Min, p.Max = minN, maxN
		return p
	}
	// at builds inputs with N provisioned and one sample of concurrency c,
	// so the score is c / max(N, 1).
	at := func(n int, c float64) Inputs {
		return Inputs{Period: time.Minute, Provisioned: n, MemorySizeMB: 1000, Samples: concs(c)}
	}
	tests := []struct {
		name   string
		policy SeedPolicy
		in     Inputs
		want   int
		hold   bool
		reason string
	}{
		{"exactly high is stay", seed, at(10, 8), 10, false, "within [0.3, 0.8]"},
		{"exactly low is stay", seed, at(10, 3), 10, false, "within"},
		{"just above high", seed, at(10, 8.5), 15, false, "> high"}, // 10 x 2^0.5 = 14.1
		{"score 0.9 doubles", seed, at(10, 9), 20, false, "> high"},
		{"score 1.0 gives factor 4", seed, at(10, 10), 40, false, "ceil(10 x 4.000) = 40"},
		{"factor 4 on 12", seed, at(12, 12), 48, false, ""},
		{"overload clamps the score to 1", seed, at(10, 30), 40, false, ""},
		{"factor 4 clamped at 50", seed, at(13, 13), 50, false, "clamped to [1, 50]"},
		{"50 at full load stays 50", seed, at(50, 50), 50, false, "clamped"},
		{"floor(sqrt(50)) = 7", seed, at(50, 0), 7, false, "floor(sqrt(50)) = 7"},
		{"floor(sqrt(9)) = 3", seed, at(9, 2), 3, false, "< low"},
		{"floor(sqrt(10)) = 3", seed, at(10, 2.9), 3, false, ""},
		{"1 stays 1 when idle", seed, at(1, 0), 1, false, ""},
		{"3 falls to 1", seed, at(3, 0), 1, false, ""},
		{"middle band stays", seed, at(20, 10), 20, false, "stay at 20"},
		{"nothing provisioned, idle: clamp up to min", seed, at(0, 0), 1, false, "clamped to [1, 50]"},
		{"nothing provisioned, busy: 0 x 4 = 0, clamp to min", seed, at(0, 1), 1, false, "clamped"},
		{"above max in the band: clamp down", seed, at(60, 30), 50, false, "clamped"},
		{"scale-down clamped at min", withBounds(5, 50), at(9, 0), 5, false, "clamped to [5, 50]"},
		{"scale-up clamped at a lower max", withBounds(1, 20), at(10, 10), 20, false, "clamped to [1, 20]"},

		{"no data: hold at N", seed, at(10, none), 10, true, "no load data"},
		{"no data above max: hold, clamped", seed, at(60, none), 50, true, "clamped to [1, 50]"},
		{"no data, none provisioned: hold at min", seed, at(0, none), 1, true, ""},
		{"out of order: hold", seed, Inputs{Provisioned: 4, Samples: []Sample{concs(0, 0)[1], concs(0, 0)[0]}}, 4, true, "out of order"},
		{"invalid config: hold at N", SeedPolicy{}, at(7, 7), 7, true, "invalid configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := after(len(tt.in.Samples))
			d := tt.policy.Decide(now, tt.in)
			if d.Target != tt.want || d.Hold != tt.hold {
				t.Errorf("target %d hold %v, want %d hold %v (%s)", d.Target, d.Hold, tt.want, tt.hold, d.Reason)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q, want it to mention %q", d.Reason, tt.reason)
			}
			if d.Policy != PolicySeed || !d.Time.Equal(now) || d.Current != max(tt.in.Provisioned, 0) {
				t.Errorf("policy %q time %v current %d, want seed, %v, %d", d.Policy, d.Time, d.Current, now, tt.in.Provisioned)
			}
		})
	}
}

// The decision carries the score and every sample's components, so the
// log line explains it.
func TestSeedPolicyReportsInputs(t *testing.T) {
	in := Inputs{Period: time.Minute, Provisioned: 10, Available: 9, MemorySizeMB: 1000, Samples: loads(0.9, none, 0.95)}
	d := DefaultSeedPolicy().Decide(after(3), in)
	wantScore := 0.7*0.95 + 0.3*0.9
	if !near(d.Score, wantScore) || !near(d.Inputs.Seed.Load.Value, wantScore) {
		t.Errorf("score %v (inputs %v), want %v", d.Score, d.Inputs.Seed.Load.Value, wantScore)
	}
	got := d.Inputs
	if got.Min != 1 || got.Max != 50 || got.Seed.High != 0.8 || got.Seed.Low != 0.3 ||
		got.Provisioned != 10 || got.Available != 9 || got.MemorySizeMB != 1000 || got.PeriodSeconds != 60 ||
		got.Samples != 3 || got.ValidSamples != 2 || len(got.Seed.Load.Samples) != 3 ||
		!got.Oldest.Equal(t0) || !got.Newest.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("inputs %+v", got)
	}
}
