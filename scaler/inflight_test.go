package scaler

import (
	"strings"
	"testing"
	"time"
)

func TestInFlightPolicy(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := DefaultInFlightPolicy()
	p.InstanceConcurrency, p.Max = 8, 100
	at := func(ago time.Duration, inFlight, queued, peak int) GatewaySignal {
		return GatewaySignal{Time: now.Add(-ago), InFlight: inFlight, Queued: queued, PeakInFlight: peak}
	}
	for _, tt := range []struct {
		name     string
		in       Inputs
		want     int
		hold     bool
		contains string
	}{
		{"no readings, no samples: hold", Inputs{Provisioned: 5}, 5, true, "no gateway reading"},
		{"stale readings, no samples: hold", Inputs{Provisioned: 5, Gateway: []GatewaySignal{at(2*time.Minute, 64, 0, 0)}}, 5, true, "no concurrency data"},
		// on Cloud Monitor: 7 instances busy / 0.7 = 10
		{"no readings: scale up on monitor", Inputs{Provisioned: 5, Period: time.Minute, Samples: monitorAt(now, 3, 7)}, 10, false, "on cloud monitor"},
		// low for 3 minutes of the 10-minute stabilization: stay
		{"no readings: no quick scale-in on monitor", Inputs{Provisioned: 5, Period: time.Minute, Samples: monitorAt(now, 3, 0)}, 5, false, "stabilization"},
		{"no readings: missing monitor point is no data", Inputs{Provisioned: 5, Period: time.Minute,
			Samples: append(monitorAt(now, 12, 0), Sample{Time: now})}, 5, false, "no data"},
		// 64 in flight + 0 queued over 8 slots x 0.8 = 10 instances
		{"scale up to demand", Inputs{Provisioned: 9, Gateway: []GatewaySignal{at(10*time.Second, 64, 0, 0)}}, 10, false, "peak demand 10"},
		// the peak since the previous reading counts, and queued requests do
		{"peak and queue", Inputs{Provisioned: 11, Gateway: []GatewaySignal{at(10*time.Second, 10, 6, 80)}}, 13, false, "80 requests"},
		// scale in to the window's peak at once
		{"scale in to window peak", Inputs{Provisioned: 30, Gateway: []GatewaySignal{at(50*time.Second, 32, 0, 0), at(10*time.Second, 1, 0, 0)}}, 5, false, ""},
		{"idle: min", Inputs{Provisioned: 30, Gateway: []GatewaySignal{at(10*time.Second, 0, 0, 0)}}, 1, false, ""},
		{"broken counts are zero", Inputs{Provisioned: 3, Gateway: []GatewaySignal{at(10*time.Second, -5, -5, -5)}}, 1, false, ""},
		{"clamped to max", Inputs{Provisioned: 90, Gateway: []GatewaySignal{at(10*time.Second, 8000, 0, 0)}}, 100, false, "clamped"},
		// a step burst: 640 requests want 100 instances; 10 x 1.2 = 12
		{"step burst: raised by at most 1.2x", Inputs{Provisioned: 10, Gateway: []GatewaySignal{at(10*time.Second, 640, 0, 0)}}, 12, false, "peak demand 100 instances (640 requests in the last 1m0s at 8 x 0.8 per instance), raised by at most 1.2 x 10: 12"},
		{"step burst: at least one instance more", Inputs{Provisioned: 1, Gateway: []GatewaySignal{at(10*time.Second, 640, 0, 0)}}, 2, false, "at most 1.2 x 1: 2"},
		{"step burst: cap below min", Inputs{Provisioned: 0, Gateway: []GatewaySignal{at(10*time.Second, 640, 0, 0)}}, 1, false, "at most 1.2 x 0: 1"},
		// the forecast provisions ahead of the burst, not by steps
		{"forecast not limited", Inputs{Provisioned: 3, Gateway: []GatewaySignal{at(10*time.Second, 640, 0, 0)},
			Forecast: []Sample{{Time: now.Add(30 * time.Second), ConcurrentExecutions: Observed(40)}}}, 50, false, "forecast demand (a day earlier) 50"},
		{"forecast floor", Inputs{Provisioned: 3, Gateway: []GatewaySignal{at(10*time.Second, 8, 0, 0)},
			Forecast: []Sample{{Time: now.Add(30 * time.Second), ConcurrentExecutions: Observed(16)}}}, 20, false, "forecast"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(now, tt.in)
			if d.Target != tt.want || d.Hold != tt.hold || !strings.Contains(d.Reason, tt.contains) || d.Policy != PolicyInFlight {
				t.Errorf("target %d hold %v reason %q; want %d, %v, containing %q", d.Target, d.Hold, d.Reason, tt.want, tt.hold, tt.contains)
			}
			signal := SignalGateway
			if d.Inputs.InFlight.Readings == 0 {
				signal = SignalMonitor
			}
			if d.Inputs.InFlight.Signal != signal {
				t.Errorf("signal %q with %d readings, want %q", d.Inputs.InFlight.Signal, d.Inputs.InFlight.Readings, signal)
			}
		})
	}
	bad := p
	bad.TargetUtilisation, bad.InstanceConcurrency, bad.MaxScaleUp = 1.5, 200, 0.5
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "inflight_utilisation") || !strings.Contains(err.Error(), "instance_concurrency") ||
		!strings.Contains(err.Error(), "inflight_max_scale_up") {
		t.Errorf("Validate = %v", err)
	}
}

// monitorAt returns n one-minute samples of concurrency c (in instances)
// ending a minute before now.
func monitorAt(now time.Time, n int, c float64) []Sample {
	out := make([]Sample, n)
	for i := range out {
		out[i] = Sample{Time: now.Add(-time.Duration(n-i) * time.Minute), ConcurrentExecutions: Observed(c)}
	}
	return out
}
