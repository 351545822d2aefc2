package scaler

import (
	"strings"
	"testing"
	"time"
)

func TestPredictivePolicy(t *testing.T) {
	def := DefaultPredictivePolicy()
	// The tick runs a little after the newest of 11 one-minute samples.
	now := t0.Add(11*time.Minute + 30*time.Second)
	// forecast returns one forecast sample at now+offset, truncated to
	// the minute as Monitor's timestamps are.
	forecast := func(offset time.Duration, c float64) []Sample {
		return []Sample{{Time: now.Add(offset).Truncate(time.Minute), ConcurrentExecutions: metric(c)}}
	}
	idle := concs(repeat(1, 11)...)
	tests := []struct {
		name     string
		policy   PredictivePolicy
		in       Inputs
		want     int
		hold     bool
		reason   string
		forecast int
	}{
		{"no forecast: exactly stable", def, Inputs{Period: time.Minute, Provisioned: 20, Samples: idle}, 10, false, "scale down", 0},
		{"forecast peak ahead: scale up before it arrives", def,
			Inputs{Period: time.Minute, Provisioned: 2, Samples: concs(1, 1), Forecast: forecast(time.Minute, 14)},
			20, false, "forecast demand 20 > 2 provisioned: scale up at once", 20},
		{"forecast peak blocks a scale-down", def,
			Inputs{Period: time.Minute, Provisioned: 20, Samples: idle, Forecast: forecast(30*time.Second, 10)},
			15, false, "max(forecast demand 15, ceil(20 x 0.5)) = 15", 15},
		{"forecast below current demand changes nothing", def,
			Inputs{Period: time.Minute, Provisioned: 2, Samples: concs(7), Forecast: forecast(time.Minute, 1)},
			10, false, "peak demand 10", 2},
		{"forecast beyond lead + period is ignored", def,
			Inputs{Period: time.Minute, Provisioned: 2, Samples: concs(1), Forecast: forecast(5*time.Minute, 14)},
			2, false, "(no forecast data in [now, now+2m0s))", 0},
		{"a longer lead looks further", PredictivePolicy{StablePolicy: def.StablePolicy, Lead: 5 * time.Minute},
			Inputs{Period: time.Minute, Provisioned: 2, Samples: concs(1), Forecast: forecast(5*time.Minute, 14)},
			20, false, "forecast demand 20", 20},
		{"past forecast is ignored", def,
			Inputs{Period: time.Minute, Provisioned: 2, Samples: concs(1), Forecast: forecast(-2*time.Minute, 14)},
			2, false, "", 0},
		{"forecast without data is ignored", def,
			Inputs{Period: time.Minute, Provisioned: 2, Samples: concs(1), Forecast: forecast(time.Minute, none)},
			2, false, "", 0},
		{"forecast clamped at max", def,
			Inputs{Period: time.Minute, Provisioned: 2, Samples: concs(1), Forecast: forecast(time.Minute, 100)},
			50, false, "clamped to [1, 50]", 143},
		{"no current data: hold, whatever the forecast", def,
			Inputs{Period: time.Minute, Provisioned: 2, Samples: concs(none), Forecast: forecast(time.Minute, 14)},
			2, true, "no concurrency data", 20},
		{"invalid lead: hold", PredictivePolicy{StablePolicy: def.StablePolicy, Lead: -time.Second},
			Inputs{Period: time.Minute, Provisioned: 2, Samples: concs(7)},
			2, true, "lead: invalid value -1s (allowed: 0s to 24h0m0s)", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.policy.Decide(now, tt.in)
			if d.Target != tt.want || d.Hold != tt.hold {
				t.Errorf("target %d hold %v, want %d hold %v (%s)", d.Target, d.Hold, tt.want, tt.hold, d.Reason)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q, want it to mention %q", d.Reason, tt.reason)
			}
			if d.Policy != PolicyPredictive || d.Inputs.Forecast.Demand != tt.forecast {
				t.Errorf("policy %q forecast demand %d, want predictive, %d", d.Policy, d.Inputs.Forecast.Demand, tt.forecast)
			}
		})
	}
}

func TestTrackingPolicy(t *testing.T) {
	tests := []struct {
		name   string
		policy TrackingPolicy
		n      int
		want   int
		track  *TrackingConfig
		reason string
	}{
		{"default", DefaultTrackingPolicy(), 7, 7,
			&TrackingConfig{ProvisionedType: "ConcurrencyUtilizationTracking", TrackingTarget: 0.7, MinCapacity: 1, MaxCapacity: 50},
			"delegated to SCF ConcurrencyUtilizationTracking at utilisation 0.70 within [1, 50]"},
		{"target rounded to two decimals", TrackingPolicy{Min: 2, Max: 10, TrackingTarget: 0.6549}, 0, 2,
			&TrackingConfig{ProvisionedType: ProvisionedTypeTracking, TrackingTarget: 0.65, MinCapacity: 2, MaxCapacity: 10}, "0.65"},
		{"current above max", DefaultTrackingPolicy(), 70, 50,
			&TrackingConfig{ProvisionedType: ProvisionedTypeTracking, TrackingTarget: 0.7, MinCapacity: 1, MaxCapacity: 50}, ""},
		{"target rounding to 1 is invalid", TrackingPolicy{Min: 1, Max: 5, TrackingTarget: 0.996}, 3, 3, nil,
			"tracking_target: invalid value 0.996 (allowed: 0.01 to 0.99 after rounding to two decimals)"},
		{"target rounding to 0 is invalid", TrackingPolicy{Min: 1, Max: 5, TrackingTarget: 0.004}, 3, 3, nil, "tracking_target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Tracking needs no samples: SCF measures for itself.
			d := tt.policy.Decide(t0, Inputs{Provisioned: tt.n})
			if d.Target != tt.want || (d.Tracking == nil) != (tt.track == nil) || d.Hold != (tt.track == nil) {
				t.Fatalf("target %d tracking %+v hold %v, want %d %+v", d.Target, d.Tracking, d.Hold, tt.want, tt.track)
			}
			if tt.track != nil && *d.Tracking != *tt.track {
				t.Errorf("tracking %+v, want %+v", *d.Tracking, *tt.track)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q, want it to mention %q", d.Reason, tt.reason)
			}
		})
	}
}
