package scaler

import (
	"reflect"
	"testing"
	"time"
)

func TestPolicyByName(t *testing.T) {
	cfg := DefaultPolicyConfig()
	cfg.Min, cfg.Max = 2, 40
	stable := StablePolicy{Min: 2, Max: 40, TargetUtilisation: 0.7, LowUtilisation: 0.3, StabilizationWindow: 10 * time.Minute, MaxScaleDownFactor: 0.5}
	tests := []struct {
		name string
		cfg  PolicyConfig
		want Policy
		err  []string
	}{
		{"seed", cfg, SeedPolicy{Min: 2, Max: 40, High: 0.8, Low: 0.3, Score: DefaultScoreConfig()}, nil},
		{"stable", cfg, stable, nil},
		{"predictive", cfg, PredictivePolicy{StablePolicy: stable, Lead: time.Minute}, nil},
		{"tracking", cfg, TrackingPolicy{Min: 2, Max: 40, TrackingTarget: 0.7}, nil},
		{"Seed", cfg, nil, []string{`scaler: unknown policy "Seed" (known: inflight, predictive, seed, stable, tracking)`}},
		{"", cfg, nil, []string{`unknown policy ""`}},
		{"stable", PolicyConfig{}, nil, []string{"min:", "max_scale_down_factor:"}},
		{"tracking", func() PolicyConfig { c := cfg; c.TargetUtilisation = 0.999; return c }(), nil, []string{"tracking_target"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PolicyByName(tt.name, tt.cfg)
			wantErr(t, err, tt.err...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("policy %#v, want %#v", got, tt.want)
			}
		})
	}
	if names := PolicyNames(); !reflect.DeepEqual(names, []string{"inflight", "predictive", "seed", "stable", "tracking"}) {
		t.Errorf("PolicyNames() = %v", names)
	}
}
