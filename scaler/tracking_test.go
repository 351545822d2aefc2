package scaler

import "testing"

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
