package scaler

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPolicyConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*PolicyConfig)
		want []string
	}{
		{"default", func(*PolicyConfig) {}, nil},
		{"one instance exactly", func(c *PolicyConfig) { c.Min, c.Max = 1, 1 }, nil},
		{"raised limit", func(c *PolicyConfig) { c.Max, c.Limit = 200, 200 }, nil},
		{"min 0", func(c *PolicyConfig) { c.Min = 0 }, []string{"scaler: min: invalid value 0 (allowed: >= 1)"}},
		{"min above max", func(c *PolicyConfig) { c.Min, c.Max = 10, 5 }, []string{"max: invalid value 5 (allowed: >= min (10))"}},
		{"max above the limit", func(c *PolicyConfig) { c.Max = 51 }, []string{"max: invalid value 51 (allowed: <= limit (50))"}},
		{"limit 0", func(c *PolicyConfig) { c.Limit = 0 }, []string{"limit: invalid value 0 (allowed: >= 1)"}},
		{"high 1", func(c *PolicyConfig) { c.High = 1 }, []string{"high: invalid value 1 (allowed: 0 < high < 1)"}},
		{"low 0", func(c *PolicyConfig) { c.Low = 0 }, []string{"low: invalid value 0 (allowed: 0 < low < 1)"}},
		{"low above high", func(c *PolicyConfig) { c.Low, c.High = 0.8, 0.3 }, []string{"low: invalid value 0.8 (allowed: below high (0.3))"}},
		{"low equal to high", func(c *PolicyConfig) { c.Low = 0.8 }, []string{"below high (0.8)"}},
		{"NaN threshold", func(c *PolicyConfig) { c.High = math.NaN() }, []string{"high: invalid value NaN"}},
		{"target utilisation 1", func(c *PolicyConfig) { c.TargetUtilisation = 1 }, []string{"target_utilisation: invalid value 1 (allowed: 0 < target_utilisation < 1)"}},
		{"low utilisation above target", func(c *PolicyConfig) { c.LowUtilisation = 0.75 }, []string{"low_utilisation: invalid value 0.75 (allowed: below target_utilisation (0.7))"}},
		{"negative stabilization window", func(c *PolicyConfig) { c.StabilizationWindow = -time.Minute }, []string{"stabilization_window: invalid value -1m0s (allowed: 0s to 24h0m0s)"}},
		{"scale-down factor 0", func(c *PolicyConfig) { c.MaxScaleDownFactor = 0 }, []string{"max_scale_down_factor: invalid value 0 (allowed: 0 < max_scale_down_factor <= 1)"}},
		{"scale-down factor above 1", func(c *PolicyConfig) { c.MaxScaleDownFactor = 2 }, []string{"max_scale_down_factor"}},
		{"lead of two days", func(c *PolicyConfig) { c.Lead = 48 * time.Hour }, []string{"lead: invalid value 48h0m0s"}},
		{"score window 0", func(c *PolicyConfig) { c.Score.Window = 0 }, []string{"score.window"}},
		{"every problem at once", func(c *PolicyConfig) { *c = PolicyConfig{} }, []string{
			"min:", "limit:", "high:", "low:", "target_utilisation:", "low_utilisation:", "max_scale_down_factor:", "score.alpha:", "score.window:",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultPolicyConfig()
			tt.edit(&c)
			wantErr(t, c.Validate(), tt.want...)
		})
	}
}

func TestDefaultsAreValid(t *testing.T) {
	for name, v := range map[string]interface{ Validate() error }{
		"score":      DefaultScoreConfig(),
		"policy":     DefaultPolicyConfig(),
		"seed":       DefaultSeedPolicy(),
		"stable":     DefaultStablePolicy(),
		"predictive": DefaultPredictivePolicy(),
		"tracking":   DefaultTrackingPolicy(),
	} {
		if err := v.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The decision is the scaler function's output: it must encode to JSON
// with the fields the log line and the timer's caller read.
func TestDecisionJSON(t *testing.T) {
	in := Inputs{Period: time.Minute, Provisioned: 10, MemorySizeMB: 1000, Samples: loads(0.5)}
	d := DefaultSeedPolicy().Decide(t0.Add(2*time.Minute), in)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		`"policy":"seed"`, `"target":10`, `"current":10`, `"hold":false`, `"score":0.5`,
		`"inputs":{"min":1,"max":50,"provisioned":10,`, `"period_s":60`,
		`"seed":{"high":0.8,"low":0.3,"load":{"value":0.5,"samples":[{"time":"2026-03-02T10:00:00Z","cpu":0.5,"has_cpu":true,`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON %s\nlacks %s", s, want)
		}
	}
	for _, unused := range []string{"tracking", "forecast", "stable", "utilisation"} {
		if strings.Contains(s, unused) {
			t.Errorf("JSON %s has %s, which seed does not use", s, unused)
		}
	}
	d = DefaultTrackingPolicy().Decide(t0, Inputs{Provisioned: 3})
	b, _ = json.Marshal(d)
	if want := `"tracking":{"provisioned_type":"ConcurrencyUtilizationTracking","tracking_target":0.7,"min_capacity":1,"max_capacity":50}`; !strings.Contains(string(b), want) {
		t.Errorf("JSON %s\nlacks %s", b, want)
	}
}
