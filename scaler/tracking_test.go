package scaler

import (
	"testing"
	"time"
)

func TestTrackingCapacity(t *testing.T) {
	tests := []struct {
		name                               string
		current, demand, peak, lo, hi, out int
	}{
		{"scale out at once", 2, 9, 9, 1, 50, 9},
		{"scale out capped", 2, 90, 90, 1, 50, 50},
		{"hold while the window peak is high", 9, 3, 9, 1, 50, 9},
		{"scale in to the window peak", 9, 3, 4, 1, 50, 4},
		{"never below min", 9, 0, 0, 2, 50, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := TrackingCapacity(tc.current, tc.demand, tc.peak, tc.lo, tc.hi); got != tc.out {
				t.Errorf("TrackingCapacity = %d, want %d", got, tc.out)
			}
		})
	}
}

func TestTrackingWindowStep(t *testing.T) {
	start := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	var w TrackingWindow
	steps := []struct {
		at      time.Duration
		busy    int
		current int
		want    int
	}{
		{0, 7, 1, 10},                            // 7 / 0.7 is exactly 10: no extra instance from rounding
		{10 * time.Second, 2, 10, 10},            // quiet, but the window still holds 10
		{9 * time.Minute, 0, 10, 10},             // 10 is 9 minutes old
		{10*time.Minute + time.Second, 1, 10, 3}, // 10 left the window; the peak is now 2 / 0.7 -> 3
		{11 * time.Minute, 40, 3, 50},            // scale out at once, clamped to hi
		{12 * time.Minute, 0, 50, 50},            // scale in waits for the window
	}
	for _, s := range steps {
		if got := w.Step(start.Add(s.at), s.busy, 0.7, s.current, 1, 50); got != s.want {
			t.Errorf("at %s busy %d from %d: got %d, want %d", s.at, s.busy, s.current, got, s.want)
		}
	}
}
