package sim

import (
	"testing"
	"time"
)

// TestGatewayAdmit pins the gateway's bucket in front of SCF: full at
// the start, refilled at GatewayRPS up to GatewayBurst (at least 1), and
// a refused request takes nothing.
func TestGatewayAdmit(t *testing.T) {
	type step struct {
		at   time.Duration
		want bool
	}
	tests := []struct {
		name     string
		rps      float64
		burst    int
		arrivals []step
	}{
		{"no gateway", 0, 0, []step{{0, true}, {0, true}, {0, true}}},
		{"burst then rate", 2, 3, []step{
			{0, true}, {0, true}, {0, true}, {0, false},
			{400 * time.Millisecond, false}, // 0.8 tokens
			{500 * time.Millisecond, true},  // the refusal took nothing
			{500 * time.Millisecond, false},
			{time.Second, true},
			{time.Minute, true}, {time.Minute, true}, {time.Minute, true}, {time.Minute, false}, // full again, no more
		}},
		{"burst below 1 counts as 1", 1, 0, []step{{0, true}, {0, false}, {time.Second, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.GatewayRPS, c.GatewayBurst = tc.rps, tc.burst
			e := &engine{cfg: c, gateway: newGateway(c)}
			for i, s := range tc.arrivals {
				if got := e.admit(int64(s.at)); got != s.want {
					t.Errorf("arrival %d at %v: admitted %v, want %v", i, s.at, got, s.want)
				}
			}
		})
	}
}
