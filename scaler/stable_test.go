package scaler

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestStablePolicy(t *testing.T) {
	def := DefaultStablePolicy()
	with := func(edit func(*StablePolicy)) StablePolicy {
		p := DefaultStablePolicy()
		edit(&p)
		return p
	}
	in := func(n int, samples []Sample) Inputs {
		return Inputs{Period: time.Minute, Provisioned: n, Available: n, Samples: samples}
	}
	// jittered moves every other sample one second late.
	jittered := func(s []Sample) []Sample {
		for i := 1; i < len(s); i += 2 {
			s[i].Time = s[i].Time.Add(time.Second)
		}
		return s
	}
	// withGap drops the sample at index i, as if Monitor lost the point
	// altogether.
	withGap := func(s []Sample, i int) []Sample { return append(s[:i:i], s[i+1:]...) }

	tests := []struct {
		name   string
		policy StablePolicy
		in     Inputs
		want   int
		hold   bool
		reason string
	}{
		// Scale-up: to the demand at once.
		{"scale up at once", def, in(2, concs(1, 1, 1, 7)), 10, false, "peak demand 10 > 2 provisioned: scale up at once"},
		{"scale up to the window's peak, not the newest", def, in(2, concs(14, 1, 1)), 20, false, "peak demand 20"},
		{"scale up clamped at max", def, in(10, concs(70)), 50, false, "clamped to [1, 50]"},
		{"demand rounds up", def, in(2, concs(5)), 8, false, "peak demand 8"}, // 5 / 0.7 = 7.1
		{"21 / 0.7 is 30, not 31", def, in(30, concs(21)), 30, false, "peak demand 30 = 30 provisioned: stay"},
		{"nothing provisioned: up from 0", def, in(0, concs(0, 3)), 5, false, "scale up"},
		{"lower target utilisation asks for more", with(func(p *StablePolicy) { p.TargetUtilisation = 0.5 }), in(2, concs(7)), 14, false, ""},

		// Scale-down: only after the whole stabilization window.
		{"no scale-down inside the stabilization window", def, in(20, concs(repeat(1, 9)...)), 20, false,
			"utilisation below 0.3 for 9m0s of the 10m0s stabilization window: stay at 20"},
		{"scale down after the window, at most halving", def, in(20, concs(repeat(1, 10)...)), 10, false,
			"utilisation below 0.3 for 10m0s (window 10m0s): scale down to max(peak demand 2, ceil(20 x 0.5)) = 10"},
		{"idle: halve", def, in(40, concs(repeat(0, 12)...)), 20, false, "scale down"},
		{"3 halves to 2", def, in(3, concs(repeat(0, 10)...)), 2, false, ""},
		{"never below the peak demand", with(func(p *StablePolicy) { p.MaxScaleDownFactor = 0.1 }),
			in(40, concs(repeat(4, 10)...)), 6, false, "max(peak demand 6, ceil(40 x 0.1)) = 6"},
		{"never below the peak of the whole fetched window", with(func(p *StablePolicy) { p.MaxScaleDownFactor = 0.1 }),
			in(40, concs(cat([]float64{11, 11}, repeat(1, 10))...)), 16, false, "peak demand 16"},
		{"scale-down clamped at min", with(func(p *StablePolicy) { p.Min = 15 }), in(20, concs(repeat(0, 10)...)), 15, false, "clamped to [15, 50]"},
		{"stabilization window 0: down on the first low sample", with(func(p *StablePolicy) { p.StabilizationWindow = 0 }),
			in(20, concs(5, 1)), 10, false, "scale down"},
		{"max scale-down factor 1 never scales down", with(func(p *StablePolicy) { p.MaxScaleDownFactor = 1 }),
			in(20, concs(repeat(0, 10)...)), 20, false, "scale down to max(peak demand 0, ceil(20 x 1)) = 20"},
		{"timestamps a second late still join", def, in(20, jittered(concs(repeat(1, 10)...))), 10, false, "scale down"},

		// What keeps load from counting as low.
		{"newest sample not low", def, in(20, concs(cat(repeat(1, 10), []float64{6})...)), 20, false, "utilisation 0.300 not below 0.3: stay at 20"},
		{"a busy sample inside the window", def, in(20, concs(cat(repeat(1, 8), []float64{10}, repeat(1, 2))...)), 20, false,
			"below 0.3 for 2m0s of the 10m0s"},
		{"a missing point inside the window is not low load", def, in(20, concs(cat(repeat(1, 5), []float64{none}, repeat(1, 5))...)), 20, false,
			"below 0.3 for 5m0s of the 10m0s"},
		{"a dropped point inside the window is not low load", def, in(20, withGap(concs(repeat(1, 11)...), 5)), 20, false,
			"below 0.3 for 5m0s of the 10m0s"},
		{"newest sample missing", def, in(20, concs(cat(repeat(1, 10), []float64{none})...)), 20, false, "the newest sample has no data: stay"},
		{"window shorter than the stabilization window", def, in(20, concs(repeat(0, 5)...)), 20, false, "for 5m0s of the 10m0s"},
		{"unknown period: no scale-down", def, Inputs{Provisioned: 20, Samples: concs(repeat(0, 12)...)}, 20, false, "the period is unknown: stay"},
		{"unknown period: scale-up still works", def, Inputs{Provisioned: 2, Samples: concs(7)}, 10, false, "scale up"},
		{"five-minute periods", def, Inputs{Period: 5 * time.Minute, Provisioned: 20, Samples: []Sample{
			{Time: t0, ConcurrentExecutions: Observed(1)},
			{Time: t0.Add(5 * time.Minute), ConcurrentExecutions: Observed(1)},
		}}, 10, false, "for 10m0s"},

		// Staying put and holding.
		{"between the thresholds: stay", def, in(20, concs(repeat(8, 12)...)), 20, false, "not below"},
		{"in the band above max: clamp down", def, in(60, concs(repeat(30, 3)...)), 50, false, "clamped to [1, 50]"},
		{"idle at 0: stay, clamped to min", def, in(0, concs(0)), 1, false, "peak demand 0 = 0 provisioned: stay, clamped to [1, 50]"},
		{"no concurrency data: hold", def, in(20, concs(none, none)), 20, true, "no concurrency data in the window: hold"},
		{"other metrics do not count", def, in(20, []Sample{{Time: t0, MemMB: Observed(100), Invocations: Observed(0)}}), 20, true, "no concurrency data"},
		{"empty window: hold, clamped", def, in(80, nil), 50, true, "80 clamped to [1, 50]"},
		{"out of order: hold", def, in(20, []Sample{concs(1, 1)[1], concs(1, 1)[0]}), 20, true, "samples out of order"},
		{"invalid config: hold", with(func(p *StablePolicy) { p.LowUtilisation = 0.9 }), in(20, concs(0)), 20, true,
			"invalid configuration: scaler: low_utilisation: invalid value 0.9 (allowed: below target_utilisation (0.7)): hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.policy.Decide(after(len(tt.in.Samples)), tt.in)
			if d.Target != tt.want || d.Hold != tt.hold {
				t.Errorf("target %d hold %v, want %d hold %v (%s)", d.Target, d.Hold, tt.want, tt.hold, d.Reason)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q, want it to mention %q", d.Reason, tt.reason)
			}
			if d.Policy != PolicyStable {
				t.Errorf("policy %q", d.Policy)
			}
		})
	}
}

func TestStablePolicyReportsInputs(t *testing.T) {
	in := Inputs{Period: time.Minute, Provisioned: 20, Available: 18, MemorySizeMB: 4096, Samples: concs(cat([]float64{3}, repeat(2, 10))...)}
	d := DefaultStablePolicy().Decide(after(11), in)
	got := d.Inputs
	want := DecisionInputs{
		Min: 1, Max: 50, Provisioned: 20, Available: 18, MemorySizeMB: 4096, PeriodSeconds: 60,
		Samples: 11, ValidSamples: 11, Oldest: t0, Newest: t0.Add(10 * time.Minute),
		Stable: StableInputs{
			TargetUtilisation: 0.7, LowUtilisation: 0.3, StabilizationSeconds: 600, MaxScaleDownFactor: 0.5,
			Concurrency: 2, Utilisation: 0.1, Demand: 3, PeakDemand: 5, LowForSeconds: 660, DownFloor: 10,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inputs:\n got %+v\nwant %+v", got, want)
	}
	if d.Target != 10 || d.Score != 0.1 {
		t.Errorf("target %d score %v, want 10, 0.1", d.Target, d.Score)
	}
}

// A timeline of ticks, each seeing the newest samples as Monitor would
// return them, with the decision applied before the next tick: the load
// jumps, then stops.
func TestStablePolicyTimeline(t *testing.T) {
	p := DefaultStablePolicy()
	const lookback = 12 // samples fetched per tick
	// Concurrency per minute: 10 minutes of 14 in flight, then idle.
	load := cat(repeat(1, 3), repeat(14, 10), repeat(0, 40))
	n := 2
	var got []int
	for minute := range load {
		window := concs(load[:minute+1]...)
		window = window[max(len(window)-lookback, 0):]
		d := p.Decide(after(minute+1), Inputs{Period: time.Minute, Provisioned: n, Samples: window})
		n = d.Target
		got = append(got, n)
	}
	want := cat(
		[]float64{2, 2, 2},
		repeat(20, 10), // 14 / 0.7: up in the first tick that sees the load
		repeat(20, 9),  // idle, but not yet for ten minutes
		repeat(20, 2),  // idle for ten, but the peak is still in the fetched twelve
		[]float64{10, 5, 3, 2, 1},
	)
	want = append(want, repeat(1, len(load)-len(want))...)
	if len(got) != len(want) {
		t.Fatalf("%d ticks, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != int(want[i]) {
			t.Fatalf("minute %d: %d instances, want %v\n got %v\nwant %v", i, got[i], want[i], got, want)
		}
	}
}
